"""channels/state_window.py: the last dialogue states, built incrementally, are exactly the last
states of Rasa's own `Domain.states_for_tracker_history`, call after call, through forms (whose
repeated runs remove events from the applied history), reverts, hidden rule turns, a new
session, and trackers read back from the store (new event objects, same content)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS, USER
from rasa.shared.core.domain import State
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    SlotSet,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from channels.applied_events import MAX_IDLE_SECONDS
from channels.state_window import Walks
from tests.conversations import DANA
from tests.form_events import details, form_start, session_start, stop, summary_and_submit, user
from tests.test_conversation_privacy import DOMAIN

RULE_ONLY = {RULE_ONLY_SLOTS: ["confirming_stop"], RULE_ONLY_LOOPS: []}
KINDS = [(False, None), (True, RULE_ONLY), (True, None)]  # RulePolicy's; MemoizationPolicy's


def question(text: str, intent: str, answer: str, *, hidden: bool = False) -> list[Event]:
    return [
        *user(text, intent),
        DefinePrevUserUtteredFeaturization(False),
        ActionExecuted(f"action_answer_{intent}", hide_rule_turn=hidden),
        SlotSet("last_topic", intent),
        BotUttered(answer),
        ActionExecuted("action_listen", hide_rule_turn=hidden),
    ]


def long_conversation() -> list[Event]:
    """A session with a form saved early, questions (some rule-only turns), a revert, a stopped form."""
    events: list[Event] = [*session_start(), *form_start(), *details(DANA), *summary_and_submit(DANA)]
    for number in range(6):
        events += question(f"question {number}", "ask_duration", f"answer {number}", hidden=number % 2 == 0)
    events += [*user("gibberish", "nlu_fallback"), ActionExecuted("action_answer_fallback"), UserUtteranceReverted()]
    events += [*form_start(), *details(DANA), *stop()]
    events += question("one more", "ask_delivery", "online")
    return events


def rasas(tracker: DialogueStateTracker, window: int, ignore: bool, rule_only: dict | None) -> list[State]:
    return DOMAIN.states_for_tracker_history(tracker, False, ignore, rule_only)[-window:]


@pytest.fixture
def walks() -> Iterator[Walks]:
    yield Walks()


@pytest.mark.parametrize(("ignore", "rule_only"), KINDS)
@pytest.mark.parametrize("window", [1, 3, 9])
def test_after_every_event_the_last_states_are_rasas(walks, ignore, rule_only, window):
    events = long_conversation()
    tracker = DialogueStateTracker("visitor", DOMAIN.slots)
    for event in events:
        tracker.update(event)
        assert walks.last_states(tracker, DOMAIN, window, ignore, rule_only) == rasas(
            tracker, window, ignore, rule_only
        )
    assert walks.started < len(events) // 4  # mostly continued, not restarted


def test_a_tracker_read_back_from_the_store_continues_the_walk(walks):
    """New event objects with the same content (as the store returns them) are adopted."""
    events = long_conversation()
    live = DialogueStateTracker.from_events("visitor", events[:60], DOMAIN.slots)
    walks.last_states(live, DOMAIN, 3, True, RULE_ONLY)
    started = walks.started
    read_back = DialogueStateTracker.from_dict("visitor", [event.as_dict() for event in events[:60]], DOMAIN.slots)
    for event in events[60:70]:
        read_back.update(event)
    assert walks.last_states(read_back, DOMAIN, 3, True, RULE_ONLY) == rasas(read_back, 3, True, RULE_ONLY)
    assert walks.started == started


def test_a_message_stored_masked_starts_a_new_walk(walks):
    """Read back, a message differs from what the walk replayed: its states may differ too."""
    events = [*session_start(), *question(f"write to {DANA.email}", "ask_duration", "sure")]
    live = DialogueStateTracker.from_events("visitor", events, DOMAIN.slots)
    walks.last_states(live, DOMAIN, 9, False, None)
    stored = [event.as_dict() for event in events]
    stored[3]["text"] = "write to [email]"
    read_back = DialogueStateTracker.from_dict("visitor", stored, DOMAIN.slots)
    after = walks.last_states(read_back, DOMAIN, 9, False, None)
    assert after == rasas(read_back, 9, False, None)
    assert walks.started == 2


def test_the_states_handed_out_are_copies_prediction_may_change(walks):
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    first = walks.last_states(tracker, DOMAIN, 9, False, None)
    expected = copy.deepcopy(first)
    for state in first:
        state.get(USER, {}).clear()
        state.clear()
    assert walks.last_states(tracker, DOMAIN, 9, False, None) == expected


def test_each_conversation_and_kind_of_states_has_its_own_walk(walks):
    one = DialogueStateTracker.from_events("one", long_conversation(), DOMAIN.slots)
    other = DialogueStateTracker.from_events(
        "other", [*session_start(), *question("hi", "greet", "hello")], DOMAIN.slots
    )
    for tracker in (one, other, one):
        for ignore, rule_only in KINDS:
            assert walks.last_states(tracker, DOMAIN, 3, ignore, rule_only) == rasas(tracker, 3, ignore, rule_only)
    assert len(walks) == 6


def test_the_least_recently_used_walks_leave_first():
    walks = Walks(max_walks=2)
    for sender in ("a", "b", "a", "c"):
        walks.last_states(
            DialogueStateTracker.from_events(sender, session_start(), DOMAIN.slots), DOMAIN, 3, False, None
        )
    assert sorted(key[0] for key in walks._walks) == ["a", "c"]


def test_a_window_longer_than_the_kept_tail_is_left_to_rasa(walks):
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    assert walks.last_states(tracker, DOMAIN, 65, False, None) is None


def test_a_conversation_idle_for_five_minutes_is_let_go():
    now = [0.0]
    walks = Walks(clock=lambda: now[0])
    walks.last_states(
        DialogueStateTracker.from_events("left", long_conversation(), DOMAIN.slots), DOMAIN, 3, False, None
    )
    now[0] += MAX_IDLE_SECONDS + 1
    walks.last_states(DialogueStateTracker.from_events("other", session_start(), DOMAIN.slots), DOMAIN, 3, False, None)
    assert [key[0] for key in walks._walks] == ["other"]
