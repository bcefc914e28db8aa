"""A conversation's applied events (Rasa's DialogueStateTracker.applied_events), extended turn
by turn instead of recomputed from the first event at every call.

Rasa computes them several times a turn (the processor, each policy's states), each time over
the whole session: after the dialogue states were windowed (channels/state_window.py) that was
the largest cost growing with the conversation. The computation is a left fold over the
events: it is continued over the events added since the previous call when the tracker's events
still start with the ones folded (the same objects, or, once the tracker was read back from the
store, events whose `as_dict()` is the same JSON, which are adopted: the store keeps events as
JSON, which turns tuples into lists, e.g. a message's token offsets). The fold also depends on the names
of every loop the session activated: a name seen for the first time, as any other difference,
starts the fold again from the first event, as Rasa does.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

MAX_CONVERSATIONS = 4000
MAX_REKEYED = 256
# A fold holds the live events of a conversation's last turn, as typed (the store masks contact
# details typed outside the form): it is let go after this long without a call, as the tracker
# store's cache lets go of the stored ones.
MAX_IDLE_SECONDS = 300.0


def same_as_stored(ours: Event, theirs: Event) -> bool:
    """Whether the events are the same once stored as JSON (as the SQL store keeps them)."""
    if type(ours) is not type(theirs):
        return False
    return bool(json.loads(json.dumps(ours.as_dict())) == json.loads(json.dumps(theirs.as_dict())))


def loop_names(events: Iterable[Event]) -> set[str]:
    return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}


@dataclass
class _Fold:
    loop_names: set[str]
    used: float = 0.0
    folded: list[Event] = field(default_factory=list)  # the tracker events folded so far
    applied: list[Event] = field(default_factory=list)

    def add(self, tracker: DialogueStateTracker, event: Event) -> None:
        """One step of Rasa's DialogueStateTracker.applied_events loop."""
        applied = self.applied
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            DialogueStateTracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            DialogueStateTracker._undo_till_previous(UserUttered, applied)
            DialogueStateTracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in self.loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            DialogueStateTracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
        self.folded.append(event)

    def continues(self, events: Iterable[Event]) -> bool:
        """Whether the events start with the ones folded (adopting equal ones read back)."""
        adopted: dict[int, Event] = {}
        checked = 0
        for index, (ours, theirs) in enumerate(zip(self.folded, events, strict=False)):  # events: longer
            checked += 1
            if ours is theirs:
                continue
            if len(adopted) >= MAX_REKEYED or not same_as_stored(ours, theirs):
                return False
            adopted[id(ours)] = theirs
            self.folded[index] = theirs
        if checked < len(self.folded):
            return False
        if adopted:
            self.applied = [adopted.get(id(event), event) for event in self.applied]
        return True


class AppliedEvents:
    """Each recent conversation's fold, by conversation id."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_conversations = max_conversations
        self.started = 0  # folds begun from the first event
        self._clock = clock
        self._folds: OrderedDict[str, _Fold] = OrderedDict()

    def __len__(self) -> int:
        return len(self._folds)

    def clear(self) -> None:
        self._folds.clear()

    def of(self, tracker: DialogueStateTracker) -> list[Event]:
        """tracker.applied_events(), as a new list."""
        events = tracker.events
        fold = self._folds.get(tracker.sender_id)
        if fold is not None and fold.continues(events):
            new = list(itertools.islice(events, len(fold.folded), None))
            if loop_names(new) - fold.loop_names:
                fold = None
        else:
            fold = None
        if fold is None:
            fold = _Fold(loop_names(events))
            new = list(events)
            self.started += 1
        for event in new:
            fold.add(tracker, event)
        fold.used = now = self._clock()
        self._folds[tracker.sender_id] = fold
        self._folds.move_to_end(tracker.sender_id)
        while (
            len(self._folds) > self.max_conversations or now - next(iter(self._folds.values())).used > MAX_IDLE_SECONDS
        ):
            self._folds.popitem(last=False)
        return list(fold.applied)
