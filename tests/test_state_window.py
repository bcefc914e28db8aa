"""channels/state_window.py: the last dialogue states, built incrementally, are exactly the last
states of Rasa's own `Domain.states_for_tracker_history`, call after call, through forms (whose
repeated runs remove events from the applied history), reverts, hidden rule turns, a new
session, and trackers read back from the store (new event objects, same content)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from rasa.shared.core.constants import ACTION_UNLIKELY_INTENT_NAME, RULE_ONLY_LOOPS, RULE_ONLY_SLOTS, SLOTS, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    FollowupAction,
    SlotSet,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from channels import state_window
from channels.applied_events import MAX_IDLE_SECONDS
from channels.state_window import TAIL, Walks
from tests.conversations import DANA
from tests.form_events import FORM, details, form_start, session_start, stop, summary_and_submit, user
from tests.test_conversation_privacy import DOMAIN

# As RulePolicy's rule_only_data looks for a rule set where the form only runs in rules.
RULE_ONLY = {RULE_ONLY_SLOTS: ["confirming_stop"], RULE_ONLY_LOOPS: [FORM]}
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


def test_a_window_as_long_as_the_kept_tail_gets_rasas_states(walks):
    events = long_conversation()
    for number in range(20):
        events += question(f"again {number}", "ask_duration", "two years")
    tracker = DialogueStateTracker.from_events("visitor", events, DOMAIN.slots)
    assert len(rasas(tracker, TAIL + 1, False, None)) > TAIL  # the session has more states than the tail
    assert walks.last_states(tracker, DOMAIN, TAIL, False, None) == rasas(tracker, TAIL, False, None)


def test_a_conversation_idle_exactly_five_minutes_is_still_continued():
    now = [0.0]
    walks = Walks(clock=lambda: now[0])
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    walks.last_states(tracker, DOMAIN, 3, False, None)
    now[0] += MAX_IDLE_SECONDS
    walks.last_states(DialogueStateTracker.from_events("other", session_start(), DOMAIN.slots), DOMAIN, 3, False, None)
    assert sorted(key[0] for key in walks._walks) == ["other", "visitor"]


def test_asking_again_without_new_events_continues_the_walk(walks):
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    first = walks.last_states(tracker, DOMAIN, 3, True, RULE_ONLY)
    assert walks.last_states(tracker, DOMAIN, 3, True, RULE_ONLY) == first == rasas(tracker, 3, True, RULE_ONLY)
    assert walks.started == 1


def test_the_same_rule_only_data_in_another_key_order_shares_the_walk(walks):
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    reordered = {RULE_ONLY_LOOPS: RULE_ONLY[RULE_ONLY_LOOPS], RULE_ONLY_SLOTS: RULE_ONLY[RULE_ONLY_SLOTS]}
    walks.last_states(tracker, DOMAIN, 3, True, RULE_ONLY)
    assert walks.last_states(tracker, DOMAIN, 3, True, reordered) == rasas(tracker, 3, True, RULE_ONLY)
    assert (len(walks), walks.started) == (1, 1)


def test_rule_only_data_json_cannot_hold_still_gets_rasas_states(walks):
    """rule_only_data is the policy's own dict: sets work in Rasa's function, so here too."""
    as_sets = {RULE_ONLY_SLOTS: {"confirming_stop"}, RULE_ONLY_LOOPS: {FORM}}
    tracker = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    assert walks.last_states(tracker, DOMAIN, 9, True, as_sets) == rasas(tracker, 9, True, as_sets)


def test_a_conversation_with_an_action_unlikely_intent_is_left_to_rasa(walks):
    """Policies remove that action's states before taking their window: the walk cannot tell."""
    events = [*session_start(), *user("hi", "greet"), ActionExecuted(ACTION_UNLIKELY_INTENT_NAME)]
    events += question("how long?", "ask_duration", "two years")
    tracker = DialogueStateTracker.from_events("visitor", events, DOMAIN.slots)
    assert walks.last_states(tracker, DOMAIN, 3, False, None) is None


def test_a_followup_action_does_not_change_whether_the_turn_is_hidden(walks):
    """Rasa keeps a rule turn's hiding through a followup action and the active loop's own runs."""
    events = [*session_start(), *question("hi", "greet", "hello"), *user("how long?", "ask_duration")]
    events += [ActionExecuted("action_answer_ask_duration"), FollowupAction("action_answer_ask_delivery")]
    events += [ActionExecuted("action_answer_ask_delivery", hide_rule_turn=True), BotUttered("online")]
    events += [*form_start(), ActionExecuted("action_listen", hide_rule_turn=True), *details(DANA)]
    tracker = DialogueStateTracker("visitor", DOMAIN.slots)
    for event in events:
        tracker.update(event)
        for ignore, rule_only in KINDS[1:]:
            assert walks.last_states(tracker, DOMAIN, 9, ignore, rule_only) == rasas(tracker, 9, ignore, rule_only)


def read_back(events: list[Event], count: int) -> list[Event]:
    """The events with the last `count` of them as the store gives them back: new, equal objects."""
    return [*events[:-count], *(Event.from_parameters(event.as_dict()) for event in events[-count:])]


def test_at_most_max_rekeyed_events_read_back_are_compared_by_content(walks, monkeypatch):
    """Comparing is bounded per call; the events adopted are compared by identity afterwards."""
    monkeypatch.setattr(state_window, "MAX_REKEYED", 3)
    events = [*session_start(), *question("hi", "greet", "hello"), *question("how long?", "ask_duration", "2y")]
    walks.last_states(DialogueStateTracker.from_events("visitor", events, DOMAIN.slots), DOMAIN, 3, True, None)
    three = DialogueStateTracker.from_events("visitor", read_back(events, 3), DOMAIN.slots)
    assert walks.last_states(three, DOMAIN, 3, True, None) == rasas(three, 3, True, None)
    assert walks.last_states(three, DOMAIN, 3, True, None) == rasas(three, 3, True, None)
    assert walks.started == 1
    four = DialogueStateTracker.from_events("visitor", read_back(events, 4), DOMAIN.slots)
    assert walks.last_states(four, DOMAIN, 3, True, None) == rasas(four, 3, True, None)
    assert walks.started == 2


def test_another_history_sharing_only_its_first_events_starts_a_new_walk(walks):
    shared = [*session_start(), *user("hi", "greet")]
    one = DialogueStateTracker.from_events("visitor", [*shared, *question("q", "ask_duration", "2y")], DOMAIN.slots)
    other = DialogueStateTracker.from_events("visitor", [*shared, *question("q", "ask_delivery", "ok")], DOMAIN.slots)
    walks.last_states(one, DOMAIN, 3, False, None)
    assert walks.last_states(other, DOMAIN, 3, False, None) == rasas(other, 3, False, None)
    assert walks.started == 2


# A domain of its own: a slot that influences the conversation from its initial value on.
RETURNING = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, ask_duration]
slots:
  returning:
    type: bool
    initial_value: true
    influence_conversation: true
    mappings: [{type: custom}]
"""
)


@pytest.mark.parametrize(
    ("ignore", "rule_only"), [(False, None), (True, None), (True, {RULE_ONLY_SLOTS: ["returning"]})]
)
def test_a_slot_never_set_counts_with_its_initial_value_as_in_rasa(walks, ignore, rule_only):
    events = [*session_start(), *question("hi", "greet", "hello"), *user("how long?", "ask_duration")]
    tracker = DialogueStateTracker("visitor", RETURNING.slots)
    for event in events:
        tracker.update(event)
        expected = RETURNING.states_for_tracker_history(tracker, False, ignore, rule_only)[-3:]
        assert walks.last_states(tracker, RETURNING, 3, ignore, rule_only) == expected
    assert any(SLOTS in state for state in expected) is (rule_only is None)
