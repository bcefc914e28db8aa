"""One conversation's stored events -> what the report reads: visitor messages and their replies.

Everything read from a conversation goes through the privacy redaction first
(actions/privacy/redaction.py, with masking.py's email and phone masks): a message typed at a
personal form field (name, email, phone) is only its placeholder ("[email]"), and a personal
value anywhere else (the form's summary, a question) is replaced too. The events are slimmed to
the keys used here before that, so the redaction has little to walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actions.insights.source import FEEDBACK_SLOT, LAST_PROGRAMS_SLOT, PROGRAM_SLOT
from actions.privacy.personal_slots import PERSONAL_SLOTS, REQUESTED_SLOT, placeholder
from actions.privacy.redaction import mask_user_event, personal_inputs, redact_events, user_event_needs_masking

FORM = "inquiry_form"
OFFER_RESPONSE = "reply_inquiry_offer"
BUTTON_PREFIX = "/"  # a suggestion button sends its payload, an intent command ("/ask_duration")
# Commands that reset a conversation: the channel answers them with nothing (channels/visitor_rest.py).
SILENT_COMMANDS = frozenset({"/restart", "/session_start"})
RATINGS = ("up", "down")


@dataclass
class Reply:
    """One assistant message: when, its text, and the domain response it came from (Rasa keeps
    the name in the BotUttered metadata's `utter_action`; the channel's own replies have none)."""

    timestamp: float
    text: str
    response: str | None = None
    topic: str | None = None  # reply_unknown_topic's {topic}: the knowledge base's topic names


@dataclass
class Message:
    """One visitor message and what the assistant answered to it."""

    timestamp: float
    text: str  # redacted: a personal field's answer is its placeholder
    intent: str | None
    personal: bool  # typed at a personal form field: its text is only a placeholder
    button: str | None = None  # the payload, when a suggestion button sent it
    programs: list[str] = field(default_factory=list)  # program ids the answer was about
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Conversation:
    """What the report needs of one conversation (its events in the period)."""

    sender_id: str
    messages: list[Message] = field(default_factory=list)
    offers: int = 0  # follow-up offers made ("would you like an advisor to contact you?")
    form_started: bool = False
    fields_reached: list[str] = field(default_factory=list)  # form fields asked, first time each, in order
    last_field: str | None = None  # the field the form asked for last
    feedback: dict[float, str] = field(default_factory=dict)  # rated answer's timestamp -> last rating

    def reply_at(self, timestamp: float) -> tuple[Message, Reply] | None:
        """The answer with this timestamp, and the visitor message it answered."""
        for message in self.messages:
            for reply in message.replies:
                if reply.timestamp == timestamp:
                    return message, reply
        return None


def digest(sender_id: str, events: Sequence[Mapping[str, Any]]) -> Conversation:
    """The conversation these stored events make, redacted."""
    slim = [_slim(event) for event in events]
    typed = personal_inputs(slim, PERSONAL_SLOTS)
    conversation = Conversation(sender_id)
    current: Message | None = None
    for index, event in enumerate(_redacted(slim, typed)):
        kind = event.get("event")
        if kind == "user":
            current = _message(event, index in typed)
            if current is not None:
                conversation.messages.append(current)
        elif kind == "bot":
            reply = _reply(event)
            conversation.offers += reply.response == OFFER_RESPONSE
            if current is not None:
                current.replies.append(reply)
        elif kind == "session_started":
            current = None  # a new session's first reply answers nothing said before it
        elif kind == "active_loop" and event.get("name") == FORM:
            conversation.form_started = True
        elif kind == "slot":
            _slot(conversation, current, event.get("name"), event.get("value"))
    return conversation


def _redacted(slim: list[dict[str, Any]], typed: Mapping[int, str]) -> list[dict[str, Any]]:
    """The events redacted as actions/privacy/redaction.py redacts them.

    Most stored conversations hold no personal value (the form was never reached, or the store
    redacted the conversation when the form ended): then the redaction only puts the
    placeholder in place of each answer typed at a personal field and masks the other messages,
    done here without building and running its search for values.
    """
    if any(_personal_value(e) for e in slim):
        return redact_events(slim, PERSONAL_SLOTS)
    return [
        {**e, "text": placeholder(typed[i])} if i in typed else mask_user_event(e) if user_event_needs_masking(e) else e
        for i, e in enumerate(slim)
    ]


def _personal_value(event: Mapping[str, Any]) -> bool:
    """A personal slot set to a value that is not yet its placeholder."""
    kind = PERSONAL_SLOTS.get(event.get("name") or "") if event["event"] == "slot" else None
    value = event.get("value")
    return kind is not None and value is not None and value != placeholder(kind)


def _slot(conversation: Conversation, current: Message | None, name: Any, value: Any) -> None:
    if name == REQUESTED_SLOT and isinstance(value, str):
        conversation.last_field = value
        if value not in conversation.fields_reached:
            conversation.fields_reached.append(value)
    elif name == FEEDBACK_SLOT and isinstance(value, Mapping):
        rating, answer = value.get("rating"), value.get("answer")
        if rating in RATINGS and isinstance(answer, int | float) and not isinstance(answer, bool):
            conversation.feedback[float(answer)] = rating  # a later rating of the same answer replaces it
    elif current is not None and name == LAST_PROGRAMS_SLOT and isinstance(value, list):
        current.programs = [str(p) for p in value]
    elif current is not None and name == PROGRAM_SLOT and isinstance(value, str) and not current.programs:
        current.programs = [value]


def _message(event: Mapping[str, Any], personal: bool) -> Message | None:
    text = str(event.get("text") or "")
    if text.strip() in SILENT_COMMANDS:
        return None
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    button = text.strip() if text.startswith(BUTTON_PREFIX) and not personal else None
    return Message(float(event.get("timestamp") or 0), text, intent, personal, button)


def _reply(event: Mapping[str, Any]) -> Reply:
    metadata = event.get("metadata") or {}
    topic = metadata.get("topic")
    return Reply(
        float(event.get("timestamp") or 0),
        str(event.get("text") or ""),
        metadata.get("utter_action"),
        topic if isinstance(topic, str) else None,
    )


def _slim(event: Mapping[str, Any]) -> dict[str, Any]:
    """The keys read here (and those the redaction needs to know a form's fields)."""
    kind = event.get("event")
    slim: dict[str, Any] = {"event": kind, "timestamp": event.get("timestamp")}
    if kind == "user":
        parse_data = event.get("parse_data") or {}
        slim["text"] = event.get("text")
        slim["parse_data"] = {"intent": {"name": (parse_data.get("intent") or {}).get("name")}, "entities": []}
    elif kind == "bot":
        metadata = event.get("metadata") or {}
        slim["text"] = event.get("text")
        slim["metadata"] = {key: metadata[key] for key in ("utter_action", "topic") if key in metadata}
    elif kind in ("slot", "active_loop"):
        slim["name"] = event.get("name")
        slim["value"] = event.get("value")
    return slim
