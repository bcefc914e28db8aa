"""Visitors' thumbs up or down on the assistant's answers, kept on their conversation (issue 13).

Each message the REST channel returns carries `answer_id`: the timestamp of the BotUttered
event it came from (one answer split into several messages shares it). The widget sends a
rating back to the same webhook as a body with `feedback` instead of `message`:

    {"sender": "<visitor id>", "feedback": {"answer_id": 1795922809.7488117, "rating": "down"}}

The channel stores it as a SlotSet of `answer_feedback` ({"rating": "up"|"down", "answer":
<answer_id>}, the contract the insights report reads) at the end of the conversation, under
the conversation's lock, without NLU or policies: it never changes what the assistant says
next (a form goes on with the same question) and is answered with an empty list. One rating
per answer: a rating of an answer this conversation does not hold, or of one already rated,
is refused (404, 409) and nothing is stored. The value holds a timestamp and "up" or "down",
nothing personal, so the privacy redaction leaves it as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import BotUttered, Event, SlotSet

from actions.privacy.personal_slots import ANSWER_FEEDBACK_SLOT

FEEDBACK_KEY = "feedback"  # the body's field holding a rating (instead of "message")
ANSWER_ID_KEY = "answer_id"  # in each returned message, and in a rating: the rated answer
RATING_KEY = "rating"
RATINGS = ("up", "down")
FEEDBACK_SLOT = ANSWER_FEEDBACK_SLOT  # declared in domain.yml: influences nothing

NO_SUCH_ANSWER = "this conversation has no answer with that 'answer_id'"
ALREADY_RATED = "that answer was already rated"


@dataclass(frozen=True)
class Rating:
    """One visitor's verdict on one answer (the BotUttered with timestamp `answer`)."""

    answer: float
    rating: str

    def slot_value(self) -> dict[str, Any]:
        """The `answer_feedback` slot's value, as the insights report reads it."""
        return {"rating": self.rating, "answer": self.answer}


class Refused(Exception):
    """A rating that is not stored: the status and the reason the visitor's widget gets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_feedback(payload: Mapping[str, Any]) -> bool:
    """Whether a webhook body is a rating rather than a message."""
    return FEEDBACK_KEY in payload


def feedback_problem(payload: Mapping[str, Any]) -> str | None:
    """Why a rating body is unusable (a reason for a 400), or None when it is fine."""
    if "message" in payload:
        return "send either 'message' or 'feedback', not both"
    feedback = payload.get(FEEDBACK_KEY)
    if not isinstance(feedback, dict):
        return "'feedback' must be an object with 'answer_id' and 'rating'"
    answer = feedback.get(ANSWER_ID_KEY)
    # bool is an int in Python: true is no timestamp.
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer) or answer <= 0:
        return "'feedback.answer_id' must be the 'answer_id' of a message the assistant sent"
    if feedback.get(RATING_KEY) not in RATINGS:
        return "'feedback.rating' must be 'up' or 'down'"
    if set(feedback) - {ANSWER_ID_KEY, RATING_KEY}:
        return "'feedback' holds only 'answer_id' and 'rating'"
    return None


def rating_from(payload: Mapping[str, Any]) -> Rating:
    """The rating of a body feedback_problem found fine."""
    feedback = payload[FEEDBACK_KEY]
    return Rating(answer=float(feedback[ANSWER_ID_KEY]), rating=str(feedback[RATING_KEY]))


def rated_answers(events: Iterable[Event]) -> set[float]:
    """The answers (BotUttered timestamps) the conversation's ratings name."""
    rated: set[float] = set()
    for event in events:
        if isinstance(event, SlotSet) and event.key == FEEDBACK_SLOT and isinstance(event.value, dict):
            answer = event.value.get("answer")
            if isinstance(answer, (int, float)):
                rated.add(float(answer))
    return rated


def check(rating: Rating, events: Iterable[Event]) -> None:
    """Refused when the conversation's events hold no such answer, or it was rated already."""
    events = list(events)
    if not any(isinstance(event, BotUttered) and event.timestamp == rating.answer for event in events):
        raise Refused(404, NO_SUCH_ANSWER)
    if rating.answer in rated_answers(events):
        raise Refused(409, ALREADY_RATED)


def configured_store(store: TrackerStore) -> TrackerStore:
    """The store endpoints.yml configures, out of Rasa's FailSafeTrackerStore: a rating that
    cannot be written must fail, not land in the fallback's memory and be lost."""
    return getattr(store, "_tracker_store", store)


async def record(lock_store: LockStore, tracker_store: TrackerStore, sender_id: str, rating: Rating) -> None:
    """Append the rating to the conversation, once; Refused (nothing stored) when it cannot be.

    Under the conversation's lock, as Rasa handles a message, so it never lands between a
    message's read and its save. The answer is looked for in every session of the
    conversation (a widget left open past the session's 30 minutes still shows it); the
    event goes at the end of the current one, which Rasa's store appends to.
    """
    store = configured_store(tracker_store)
    async with lock_store.lock(sender_id):
        tracker = await store.retrieve(sender_id)
        if tracker is None:  # no conversation: no answer of it to rate
            raise Refused(404, NO_SUCH_ANSWER)
        everything = await store.retrieve_full_tracker(sender_id)
        check(rating, (everything or tracker).events)
        tracker.update(SlotSet(FEEDBACK_SLOT, rating.slot_value()))
        await store.save(tracker)


class AnswerIdCollector(CollectingOutputChannel):
    """Rasa's collector of the webhook's reply, each message marked with the id of its answer.

    Rasa hands each BotUttered to the output channel as `BotUttered.message()`, which holds the
    event's `timestamp`; Rasa's collector drops it (and splits a text at blank lines into
    several messages). Here every message made from it keeps it as `answer_id`, and nothing
    else of the reply changes. Messages the channel makes itself (the apology) have none.
    """

    def __init__(self, collector: CollectingOutputChannel) -> None:
        super().__init__()
        self.messages = collector.messages  # the same list: it is what the webhook returns

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        answer = message.get("timestamp")
        first = len(self.messages)
        await super().send_response(recipient_id, message)
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            for sent in self.messages[first:]:
                sent[ANSWER_ID_KEY] = answer
