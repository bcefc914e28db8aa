"""The dialogue states a policy looks at, without rebuilding every state of the session each call.

Rasa's policies ask for the states of the whole session at every prediction (several per turn):
`Domain.states_for_tracker_history` replays every event into a fresh tracker and builds a state
at every action, then MemoizationPolicy keeps the last `max_history` and RulePolicy matches its
rules (a few states long) against the end. That grows with the conversation.

Here a policy gets exactly the last states Rasa's own function would have given it, computed
incrementally: per conversation a *walk* keeps the replayed tracker, the bookkeeping of Rasa's
loop (rule-only turns hidden from memoization, the last ML action, the previous state) and the
last TAIL states. A call continues the walk over the events added since the previous call.
A walk is reused only if the events it replayed are still the start of the tracker's applied
events: the same objects, or (after the tracker was read back from the store) events that are the
same once stored as JSON; anything else (a loop or a revert removed events, a masked message, a new
session) starts a new walk, which costs what Rasa's function costs.

Which states suffice is the policy's own business (channels/speedups.py decides, per policy).
"""

from __future__ import annotations

import copy
import json
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import ACTION_UNLIKELY_INTENT_NAME, PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State, SubState
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from channels.applied_events import MAX_IDLE_SECONDS, same_as_stored

TAIL = 64  # states kept per walk: more than any window asked for
MAX_WALKS = 4000  # conversations x policy kinds remembered (least recently used leave first)
MAX_REKEYED = 256  # events read back from the store compared by content, per call


@dataclass
class _Walk:
    domain: weakref.ref[Domain]
    tracker: DialogueStateTracker  # every event of `applied` replayed, as Rasa's loop does
    applied: list[Event] = field(default_factory=list)
    last_ml_action: SubState | None = None
    hidden: bool = False
    tail: deque[State] = field(default_factory=lambda: deque(maxlen=TAIL))
    unlikely_intent: bool = False  # an action_unlikely_intent was replayed
    used: float = 0.0

    def emit(
        self,
        tracker: DialogueStateTracker,
        hide_rule_turn: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> None:
        """The body of Rasa's loop in Domain.states_for_tracker_history, for one prior tracker."""
        domain = self.domain()
        assert domain is not None
        if ignore_rule_only_turns:
            if not self.hidden:
                self.last_ml_action = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
                self.hidden = hide_rule_turn
            if self.hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=False)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if self.tail:
                domain._substitute_rule_only_user_input(state, self.tail[-1])
            if self.last_ml_action:
                state[PREVIOUS_ACTION] = self.last_ml_action
        self.tail.append(domain._clean_state(state))

    def advance(self, event: Event, ignore_rule_only_turns: bool, rule_only_data: dict[str, Any] | None) -> None:
        """One event of Rasa's DialogueStateTracker.generate_all_prior_trackers."""
        if isinstance(event, ActionExecuted):
            self.unlikely_intent = self.unlikely_intent or event.action_name == ACTION_UNLIKELY_INTENT_NAME
            self.emit(self.tracker, event.hide_rule_turn, ignore_rule_only_turns, rule_only_data)
        self.tracker.update(event)
        self.applied.append(event)

    def continues(self, applied: Sequence[Event], domain: Domain) -> bool:
        """Whether `applied` starts with the events this walk replayed (adopting equal events
        read back from the store, so the next call compares objects only)."""
        if self.domain() is not domain or len(applied) < len(self.applied):
            return False
        rekeyed = 0
        for index, ours in enumerate(self.applied):
            theirs = applied[index]
            if ours is theirs:
                continue
            rekeyed += 1
            if rekeyed > MAX_REKEYED or not same_as_stored(ours, theirs):
                return False
            self.applied[index] = theirs
        return True


class Walks:
    """The walks of recent conversations, by conversation and kind of states asked for."""

    def __init__(self, max_walks: int = MAX_WALKS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_walks = max_walks
        self._clock = clock
        self.started = 0  # walks begun from the first event (the rest continued one)
        self._walks: OrderedDict[tuple[str, bool, str], _Walk] = OrderedDict()

    def __len__(self) -> int:
        return len(self._walks)

    def clear(self) -> None:
        self._walks.clear()

    def last_states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        window: int,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> list[State] | None:
        """`domain.states_for_tracker_history(tracker, False, ignore_rule_only_turns,
        rule_only_data)[-window:]`, as copies the caller may change; None when the walk cannot
        tell (an action_unlikely_intent, whose states policies remove before slicing)."""
        if window > TAIL:
            return None
        key = (tracker.sender_id, ignore_rule_only_turns, json.dumps(rule_only_data, sort_keys=True, default=str))
        applied = tracker.applied_events()
        walk = self._walks.get(key)
        if walk is None or not walk.continues(applied, domain):
            walk = _Walk(weakref.ref(domain), tracker.init_copy())
            self.started += 1
        walk.used = now = self._clock()
        self._walks[key] = walk
        self._walks.move_to_end(key)
        # Idle walks go (they hold the last turn's live events, see applied_events.MAX_IDLE_SECONDS).
        while len(self._walks) > self.max_walks or now - next(iter(self._walks.values())).used > MAX_IDLE_SECONDS:
            self._walks.popitem(last=False)
        for event in applied[len(walk.applied) :]:
            walk.advance(event, ignore_rule_only_turns, rule_only_data)
        if walk.unlikely_intent:
            return None
        # Rasa's last prior tracker (after every event), on a copy of the bookkeeping: the
        # next call's events decide whether this point is a state of the history.
        final = copy.copy(walk)
        final.tail = walk.tail.copy()
        final.emit(walk.tracker, False, ignore_rule_only_turns, rule_only_data)
        return [_copy(state) for state in list(final.tail)[-window:]]


def _copy(state: State) -> State:
    """States are dicts of sub-state dicts; prediction changes the last one in place."""
    return {name: dict(sub) for name, sub in state.items()}
