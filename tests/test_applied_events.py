"""channels/applied_events.py: a conversation's applied events, extended turn by turn, are
exactly Rasa's DialogueStateTracker.applied_events after every event (forms, whose repeated runs
undo events, reverts, a new session), also for a tracker read back from the store, whose events
are new objects with the same content."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, ActionReverted, ActiveLoop, BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker

from channels import applied_events
from channels.applied_events import MAX_IDLE_SECONDS, AppliedEvents
from tests.conversations import DANA
from tests.form_events import session_start, user
from tests.test_conversation_privacy import DOMAIN
from tests.test_state_window import long_conversation, question, read_back


def folded_event_by_event(events: list[Event]) -> AppliedEvents:
    """The events added to a tracker one at a time; after each, the fold is Rasa's applied events."""
    folds = AppliedEvents()
    tracker = DialogueStateTracker("visitor", DOMAIN.slots)
    for event in events:
        tracker.update(event)
        assert folds.of(tracker) == tracker.applied_events()
    return folds


def test_after_every_event_the_applied_events_are_rasas():
    folds = folded_event_by_event(long_conversation())
    assert folds.started == 2  # the first event, and the form's name seen for the first time


def test_a_tracker_read_back_from_the_store_continues_the_fold_with_its_own_events():
    folds = AppliedEvents()
    events = long_conversation()
    folds.of(DialogueStateTracker.from_events("visitor", events[:50], DOMAIN.slots))
    read_back = DialogueStateTracker.from_dict("visitor", [event.as_dict() for event in events[:50]], DOMAIN.slots)
    for event in events[50:]:
        read_back.update(event)
    applied = folds.of(read_back)
    assert applied == read_back.applied_events() and folds.started == 1
    own = {id(event) for event in read_back.events}
    assert all(id(event) in own for event in applied)


def test_a_loop_named_for_the_first_time_refolds_from_the_first_event():
    """Rasa treats a loop's earlier runs by the names of every loop in the session."""
    events = [*session_start(), *user("hi", "greet"), ActionExecuted("other_form"), *user("more", "inform")]
    events += [ActionExecuted("other_form"), ActiveLoop("other_form")]
    assert folded_event_by_event(events).started == 2


def test_another_history_under_the_same_id_is_folded_afresh_and_the_list_is_a_copy():
    folds = AppliedEvents()
    one = DialogueStateTracker.from_events("visitor", long_conversation(), DOMAIN.slots)
    other = DialogueStateTracker.from_events("visitor", [*session_start(), *user("hi", "greet")], DOMAIN.slots)
    folds.of(one).clear()
    assert folds.of(one) == one.applied_events()
    assert folds.of(other) == other.applied_events()
    assert folds.of(one) == one.applied_events() and folds.started == 3


def test_a_conversation_idle_for_five_minutes_is_let_go():
    """A fold holds the last turn's events as typed: not kept after the visitor left."""
    now = [0.0]
    folds = AppliedEvents(clock=lambda: now[0])
    folds.of(DialogueStateTracker.from_events("left", [*session_start(), *user("hi", "greet")], DOMAIN.slots))
    now[0] += MAX_IDLE_SECONDS + 1
    folds.of(DialogueStateTracker.from_events("other", session_start(), DOMAIN.slots))
    assert len(folds) == 1


def test_a_conversation_idle_exactly_five_minutes_is_still_kept():
    now = [0.0]
    folds = AppliedEvents(clock=lambda: now[0])
    folds.of(DialogueStateTracker.from_events("visitor", [*session_start(), *user("hi", "greet")], DOMAIN.slots))
    now[0] += MAX_IDLE_SECONDS
    folds.of(DialogueStateTracker.from_events("other", session_start(), DOMAIN.slots))
    assert len(folds) == 2


def test_the_least_recently_used_conversations_leave_first():
    folds = AppliedEvents(max_conversations=2)
    for sender in ("a", "b", "a", "c"):
        folds.of(DialogueStateTracker.from_events(sender, session_start(), DOMAIN.slots))
    assert list(folds._folds) == ["a", "c"]


def test_after_every_event_of_a_reverted_action_the_applied_events_are_rasas():
    """A custom action may revert itself (ActionReverted): its events leave the history."""
    events = [*session_start(), *question("hi", "greet", "hello"), *user("how long?", "ask_duration")]
    events += [ActionExecuted("action_answer_ask_duration"), BotUttered("two years"), ActionReverted()]
    events += [ActionExecuted("action_listen"), *user("online?", "ask_delivery"), ActionReverted()]
    assert folded_event_by_event(events).started == 1


def test_a_shorter_history_under_the_same_id_is_folded_afresh():
    folds = AppliedEvents()
    events = [*session_start(), *question("hi", "greet", "hello"), *user("how long?", "ask_duration")]
    folds.of(DialogueStateTracker.from_events("visitor", events, DOMAIN.slots))
    shorter = DialogueStateTracker.from_events("visitor", events[:-1], DOMAIN.slots)
    assert folds.of(shorter) == shorter.applied_events() and folds.started == 2


def test_a_message_stored_masked_is_folded_afresh():
    """Read back, an event differs from the one folded: nothing folded from it is kept."""
    folds = AppliedEvents()
    events = [*session_start(), *question(f"write to {DANA.email}", "ask_duration", "sure")]
    folds.of(DialogueStateTracker.from_events("visitor", events, DOMAIN.slots))
    stored = [event.as_dict() for event in events]
    stored[3]["text"] = "write to [email]"
    masked = DialogueStateTracker.from_dict("visitor", stored, DOMAIN.slots)
    assert folds.of(masked) == masked.applied_events() and folds.started == 2


def test_at_most_max_rekeyed_events_read_back_are_adopted(monkeypatch):
    """Comparing by content is bounded per call; adopted events are compared by identity after."""
    monkeypatch.setattr(applied_events, "MAX_REKEYED", 3)
    folds = AppliedEvents()
    events = [*session_start(), *question("hi", "greet", "hello"), *question("how long?", "ask_duration", "2y")]
    folds.of(DialogueStateTracker.from_events("visitor", events, DOMAIN.slots))
    three = DialogueStateTracker.from_events("visitor", read_back(events, 3), DOMAIN.slots)
    for _ in range(2):
        applied = folds.of(three)
        assert applied == three.applied_events() and folds.started == 1
        own = {id(event) for event in three.events}
        assert all(id(event) in own for event in applied)
    four = DialogueStateTracker.from_events("visitor", read_back(events, 4), DOMAIN.slots)
    assert folds.of(four) == four.applied_events() and folds.started == 2
