"""Answer feedback (channels/answer_feedback.py) without servers: what a rating body must hold,
which answer ids the webhook's messages carry, and a rating recorded once through Rasa's own
lock store into the project's conversation store on a real SQLite file.

The whole path over the real servers is in test_answer_feedback.py; the widget's thumbs in
test_widget.py."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from actions.privacy.personal_slots import PERSONAL_SLOTS
from actions.privacy.redaction import redact_events
from channels import answer_feedback
from channels.answer_feedback import ALREADY_RATED, NO_SUCH_ANSWER, AnswerIdCollector, Rating, Refused
from channels.tracker_store import SQLTrackerStore
from channels.visitor_rest import RATING_NOT_STORED, problem_with
from tests.form_events import session_start, user
from tests.test_channels_units import Visitor, channel_lines, post
from tests.test_conversation_privacy import DOMAIN, converse_with_store, sqlite_store
from tests.test_tracker_store import stored_rows

ANSWER = 1795922809.7488117  # a BotUttered's timestamp, as the webhook returns it


def body(**fields: Any) -> bytes:
    return json.dumps({"sender": "visitor-1", **fields}).encode()


def rating_body(answer_id: Any = ANSWER, rating: Any = "down", **extra: Any) -> bytes:
    return body(feedback={"answer_id": answer_id, "rating": rating, **extra})


# What a rating must hold


@pytest.mark.parametrize("rating", ["up", "down"])
def test_a_rating_of_an_answer_is_a_usable_body(rating):
    assert problem_with(rating_body(rating=rating)) is None
    assert answer_feedback.rating_from(json.loads(rating_body(rating=rating))) == Rating(ANSWER, rating)


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (body(message="hi", feedback={"answer_id": ANSWER, "rating": "up"}), "either 'message' or 'feedback'"),
        (body(feedback="up"), "'feedback' must be an object"),
        (body(feedback=None), "'feedback' must be an object"),
        (rating_body(answer_id="1795922809.7"), "'feedback.answer_id' must be"),
        (rating_body(answer_id=True), "'feedback.answer_id' must be"),
        (rating_body(answer_id=-1), "'feedback.answer_id' must be"),
        (rating_body(answer_id=0), "'feedback.answer_id' must be"),
        (b'{"sender": "v", "feedback": {"answer_id": Infinity, "rating": "up"}}', "'feedback.answer_id' must be"),
        (body(feedback={"rating": "up"}), "'feedback.answer_id' must be"),
        (rating_body(rating="meh"), "'feedback.rating' must be 'up' or 'down'"),
        (rating_body(rating=None), "'feedback.rating' must be 'up' or 'down'"),
        (rating_body(comment="my email is dana@example.com"), "holds only 'answer_id' and 'rating'"),
    ],
)
def test_an_unusable_rating_is_refused_with_400_naming_what_is_wrong(sent, reason):
    found = problem_with(sent)
    assert found is not None
    status, said = found
    assert status == 400 and said in WHATS_WRONG and reason in said


# What the widget (or a developer) reads back, whole.
WHATS_WRONG = {
    "send either 'message' or 'feedback', not both",
    "'feedback' must be an object with 'answer_id' and 'rating'",
    "'feedback.answer_id' must be the 'answer_id' of a message the assistant sent",
    "'feedback.rating' must be 'up' or 'down'",
    "'feedback' holds only 'answer_id' and 'rating'",
}


def test_a_rating_still_needs_a_proper_sender():
    found = problem_with(json.dumps({"feedback": {"answer_id": ANSWER, "rating": "up"}}).encode())
    assert found is not None and "'sender'" in found[1]


def test_a_message_body_is_checked_as_before():
    assert problem_with(body(message="how long is it?")) is None
    assert problem_with(body(message="  ")) == (400, "'message' is empty")
    assert problem_with(body()) == (400, "'message' must be a string")


# The answer ids of the webhook's messages


def collected(message: dict[str, Any], collector: CollectingOutputChannel) -> list[dict[str, Any]]:
    asyncio.run(collector.send_response("visitor-1", message))
    return collector.messages


@pytest.mark.parametrize(
    ("data", "messages"),
    [({}, 2), ({"buttons": [{"title": "Is it online?", "payload": "/ask_delivery"}]}, 1)],
    ids=["split at the blank line", "with buttons: one message"],
)
def test_each_message_of_an_answer_carries_its_timestamp_and_is_otherwise_rasas(data, messages):
    answer = BotUttered("Fifteen months.\n\nAnything else?", data)
    answer.timestamp = ANSWER
    rasas = collected(answer.message(), CollectingOutputChannel())
    plain = CollectingOutputChannel()
    ours = collected(answer.message(), AnswerIdCollector(plain))
    assert ours is plain.messages  # the list the webhook returns
    assert [m.pop("answer_id") for m in ours] == [ANSWER] * messages
    assert ours == rasas


def test_a_message_without_a_timestamp_has_no_answer_id():
    messages = collected({"text": "Sorry, please call us."}, AnswerIdCollector(CollectingOutputChannel()))
    assert messages == [{"recipient_id": "visitor-1", "text": "Sorry, please call us."}]


def test_the_collector_keeps_the_channel_name_the_domain_writes_variations_for():
    assert AnswerIdCollector(CollectingOutputChannel()).name() == CollectingOutputChannel.name() == "collector"


# Which ratings are taken


def answered(text: str, at: float) -> list[Event]:
    reply = BotUttered(text)
    reply.timestamp = at
    return [*user("how long is it?", "ask_duration"), ActionExecuted("action_answer_duration"), reply]


def test_a_rating_names_an_answer_of_the_conversation_and_is_taken_once():
    events = [*session_start(), *answered("15 months.", ANSWER)]
    answer_feedback.check(Rating(ANSWER, "up"), events)  # fine
    with pytest.raises(Refused) as unknown:
        answer_feedback.check(Rating(ANSWER + 1e-6, "up"), events)
    assert (unknown.value.status, unknown.value.reason, str(unknown.value)) == (404, NO_SUCH_ANSWER, NO_SUCH_ANSWER)
    rated = [*events, SlotSet("answer_feedback", {"rating": "up", "answer": ANSWER})]
    for again in ("up", "down"):
        with pytest.raises(Refused) as twice:
            answer_feedback.check(Rating(ANSWER, again), rated)
        assert (twice.value.status, twice.value.reason) == (409, ALREADY_RATED)


def test_a_user_message_with_the_timestamp_is_no_answer():
    events = user("how long is it?", "ask_duration")
    events[-1].timestamp = ANSWER
    with pytest.raises(Refused):
        answer_feedback.check(Rating(ANSWER, "down"), events)


# Recorded through Rasa's lock store into the conversation store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLTrackerStore]:
    created = sqlite_store(tmp_path / "conversations.sqlite3")
    yield created
    created.engine.dispose()


def answer_times(store: SQLTrackerStore, sender: str) -> list[float]:
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    assert tracker is not None
    return [event.timestamp for event in tracker.events if isinstance(event, BotUttered)]


def record(store: SQLTrackerStore, sender: str, rating: Rating, locks: InMemoryLockStore | None = None) -> None:
    asyncio.run(answer_feedback.record(locks or InMemoryLockStore(), store, sender, rating))


def ratings_stored(db: Path, sender: str) -> list[dict[str, Any]]:
    return [
        json.loads(row["data"])
        for row in stored_rows(db)
        if row["sender_id"] == sender and row["type_name"] == "slot" and '"answer_feedback"' in row["data"]
    ]


def test_a_rating_is_appended_once_as_the_slot_the_insights_report_reads(store, tmp_path):
    converse_with_store(store, "visitor", [*session_start(), *answered("15 months.", time.time())])
    (answer,) = answer_times(store, "visitor")
    before = len(stored_rows(tmp_path / "conversations.sqlite3"))
    record(store, "visitor", Rating(answer, "down"))
    with pytest.raises(Refused) as again:
        record(store, "visitor", Rating(answer, "up"))
    assert again.value.status == 409
    rows = stored_rows(tmp_path / "conversations.sqlite3")
    assert len(rows) == before + 1  # nothing else written, nothing written twice
    (stored,) = ratings_stored(tmp_path / "conversations.sqlite3", "visitor")
    assert (stored["event"], stored["name"], stored["value"]) == (
        "slot",
        "answer_feedback",
        {"rating": "down", "answer": answer},
    )
    tracker = asyncio.run(store.retrieve("visitor"))
    assert tracker is not None and tracker.get_slot("answer_feedback") == {"rating": "down", "answer": answer}


def test_a_rating_of_another_conversations_answer_or_of_no_conversation_stores_nothing(store, tmp_path):
    converse_with_store(store, "visitor", [*session_start(), *answered("15 months.", time.time())])
    converse_with_store(store, "other", [*session_start(), *answered("Online too.", time.time())])
    (theirs,) = answer_times(store, "other")
    before = stored_rows(tmp_path / "conversations.sqlite3")
    for sender in ("visitor", "nobody-yet"):
        with pytest.raises(Refused) as refused:
            record(store, sender, Rating(theirs, "up"))
        assert (refused.value.status, refused.value.reason) == (404, NO_SUCH_ANSWER)
    assert stored_rows(tmp_path / "conversations.sqlite3") == before
    assert asyncio.run(store.retrieve("nobody-yet")) is None  # no conversation made for it


def test_an_answer_of_an_earlier_session_can_be_rated_and_the_rating_survives_the_redaction(store, tmp_path):
    """A new session redacts the stored conversation (channels/tracker_store.py): the rating stays as it was."""
    converse_with_store(
        store,
        "visitor",
        [*session_start(), *answered("15 months.", time.time())],
        [*session_start(), *answered("Yes, online.", time.time())],
    )
    first, second = answer_times(store, "visitor")
    record(store, "visitor", Rating(first, "up"))
    record(store, "visitor", Rating(second, "down"))
    converse_with_store(store, "visitor", [*session_start(), *answered("Augusta.", time.time())])  # redacts
    values = [event["value"] for event in ratings_stored(tmp_path / "conversations.sqlite3", "visitor")]
    assert values == [{"rating": "up", "answer": first}, {"rating": "down", "answer": second}]


def test_a_rating_is_never_taken_for_a_personal_value_by_the_redaction():
    """Even when a visitor's name reads like a rating, the rating is kept as it was."""
    events: list[dict[str, Any]] = [
        {"event": "slot", "name": "requested_slot", "value": "lead_name"},
        {"event": "user", "text": "Down"},
        {"event": "slot", "name": "lead_name", "value": "Down"},
        {"event": "slot", "name": "answer_feedback", "value": {"rating": "down", "answer": ANSWER}},
    ]
    redacted = redact_events(events, PERSONAL_SLOTS)
    assert redacted[2]["value"] == "[name]"  # the name goes...
    assert redacted[3] == events[3]  # ...the rating stays


def test_a_rating_waits_for_the_conversations_lock(store):
    """Never between a message's read and its save: the rating is written once the lock is free."""
    converse_with_store(store, "visitor", [*session_start(), *answered("15 months.", time.time())])
    (answer,) = answer_times(store, "visitor")
    locks = InMemoryLockStore()

    async def run() -> list[str]:
        order: list[str] = []

        async def message_turn() -> None:
            async with locks.lock("visitor"):
                order.append("turn starts")
                await asyncio.sleep(0.3)
                order.append("turn ends")

        async def rating() -> None:  # started second: the turn took the first ticket
            await answer_feedback.record(locks, store, "visitor", Rating(answer, "up"))
            order.append("rated")

        await asyncio.gather(message_turn(), rating())
        return order

    assert asyncio.run(run()) == ["turn starts", "turn ends", "rated"]


# The same through the REST webhook, in process (tests/test_channels_units.py's harness)


def answering(*texts: str) -> Any:
    """An agent's handling of a message: each text one answer, as Rasa sends a BotUttered."""

    async def handle(message: UserMessage) -> None:
        for n, text in enumerate(texts):
            answer = BotUttered(text)
            answer.timestamp = ANSWER + n
            await message.output_channel.send_response(message.sender_id, answer.message())

    return handle


def conversation(store: SQLTrackerStore, sender: str, *answers: float) -> None:
    """A stored conversation holding answers with these timestamps."""
    events: list[Event] = [*session_start(), *user("how long is it?", "ask_duration")]
    for at in answers:
        answer = BotUttered("15 months.")
        answer.timestamp = at
        events.append(answer)
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)))


def test_over_the_webhook_each_message_carries_the_id_of_its_answer(store):
    handle = answering("15 months.\n\nAnything else?", "Want admissions to follow up?")
    agent = Visitor(handle=handle, tracker_store=store)
    [response] = post(agent, {"sender": "v-1", "message": "how long is it?"})
    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "v-1", "text": "15 months.", "answer_id": ANSWER},
        {"recipient_id": "v-1", "text": "Anything else?", "answer_id": ANSWER},
        {"recipient_id": "v-1", "text": "Want admissions to follow up?", "answer_id": ANSWER + 1},
    ]


def test_over_the_webhook_a_rating_is_stored_once_and_never_handled_as_a_message(store, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    conversation(store, "v-2", ANSWER)
    agent = Visitor(tracker_store=store)
    first, again = post(agent, rating_json("v-2", "down"), rating_json("v-2", "up"))
    assert (first.status_code, first.json()) == (200, [])
    assert (again.status_code, again.json()) == (409, {"error": ALREADY_RATED})
    assert agent.handled == []  # neither reached NLU, policies or actions
    assert [e["value"] for e in ratings_stored(tmp_path / "conversations.sqlite3", "v-2")] == [
        {"rating": "down", "answer": ANSWER}
    ]
    assert (logging.INFO, "conversation v-2: an answer was rated down") in channel_lines(caplog)
    assert (logging.INFO, f"conversation v-2: a rating was refused ({ALREADY_RATED})") in channel_lines(caplog)


def test_a_rating_sent_before_the_server_has_its_assistant_gets_503_and_is_not_stored():
    """A Rasa server still loading (no agent yet) has no conversation store to write to."""
    [response] = post(None, rating_json("v-4", "up"))
    assert (response.status_code, response.json()) == (503, {"error": RATING_NOT_STORED})


def test_a_rating_the_store_cannot_take_gets_503_saying_so_and_logs_the_conversation_id_only(store, caplog):
    conversation(store, "v-3", ANSWER)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE events")  # the database lost its table
    [response] = post(Visitor(tracker_store=store), rating_json("v-3", "up"))
    assert (response.status_code, response.json()) == (503, {"error": RATING_NOT_STORED})
    assert (logging.ERROR, "conversation v-3: a rating could not be stored") in channel_lines(caplog)


def rating_json(sender: str, rating: str) -> dict[str, Any]:
    return {"sender": sender, "feedback": {"answer_id": ANSWER, "rating": rating}}
