"""The conversation before the inquiry form, for the advisor who calls the visitor back.

Built from the tracker events the action server receives (the current session's), it holds
what the visitor wrote and what the assistant answered before the form began, oldest first:
- masked by the privacy redaction (actions/privacy/redaction.py): the visitor's name, email
  and phone from the form wherever they appear ("[name]"...), and every email address and
  phone number in what the visitor wrote. The assistant's messages keep the college's own
  phone number: it is no visitor's contact detail;
- nothing from inside a form: its questions, answers and the questions asked mid-form;
- a suggestion button clicked is shown by its title, as the visitor saw it; commands such
  as "/greet" (the widget opening) are left out;
- capped: the last MAX_MESSAGES messages, each cut to MAX_MESSAGE_CHARS (ending with "…"),
  at most MAX_TOTAL_CHARS in all, the oldest dropped first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actions.privacy.personal_slots import PERSONAL_SLOTS
from actions.privacy.redaction import redact_events

MAX_MESSAGES = 20
MAX_MESSAGE_CHARS = 500
MAX_TOTAL_CHARS = 4000
VISITOR, ASSISTANT = "visitor", "assistant"
START_ACTION = "action_start_inquiry"  # the form's first step (actions/inquiry/form_actions.py)
CUT = "…"

Message = dict[str, str]


def form_start(events: Sequence[Mapping[str, Any]]) -> int | None:
    """Index of the latest form's start action; None when no form began (as questions_asked in
    lead_builder.py: a stale or made-up submit brings nothing of the conversation)."""
    starts = [i for i, e in enumerate(events) if e.get("event") == "action" and e.get("name") == START_ACTION]
    return starts[-1] if starts else None


def _button_title(payload: str, buttons: Iterable[Any]) -> str | None:
    for button in buttons:
        if isinstance(button, Mapping) and button.get("payload") == payload and isinstance(button.get("title"), str):
            return str(button["title"])
    return None


def conversation_messages(events: Sequence[Mapping[str, Any]]) -> list[Message]:
    """Visitor and assistant messages outside any form, in order (unmasked, uncapped)."""
    messages: list[Message] = []
    in_form = False
    buttons: list[Any] = []  # the buttons of the assistant's latest message
    for event in events:
        kind = event.get("event")
        if kind == "session_started":
            in_form = False
        elif kind == "action" and event.get("name") == START_ACTION:
            in_form = True  # its introduction is the form's already
        elif kind == "active_loop":
            in_form = bool(event.get("name"))
        elif kind == "bot" and not in_form:
            data = event.get("data") or {}
            buttons = list(data.get("buttons") or []) if isinstance(data, Mapping) else []
            text = str(event.get("text") or "").strip()
            if text:
                messages.append({"role": ASSISTANT, "text": text})
        elif kind == "user" and not in_form:
            text = str(event.get("text") or "").strip()
            if text.startswith("/"):
                text = _button_title(text, buttons) or ""
            if text:
                messages.append({"role": VISITOR, "text": text})
    return messages


def capped(messages: Sequence[Message]) -> list[Message]:
    """The last MAX_MESSAGES, each at most MAX_MESSAGE_CHARS, MAX_TOTAL_CHARS in all."""
    kept = [
        {**message, "text": message["text"][: MAX_MESSAGE_CHARS - len(CUT)] + CUT}
        if len(message["text"]) > MAX_MESSAGE_CHARS
        else dict(message)
        for message in messages[-MAX_MESSAGES:]
    ]
    while sum(len(message["text"]) for message in kept) > MAX_TOTAL_CHARS:
        kept.pop(0)
    return kept


def transcript(events: Sequence[Mapping[str, Any]]) -> list[Message]:
    """The conversation before the latest form began, masked and capped (see the module's doc)."""
    start = form_start(events)
    if start is None:
        return []
    before = redact_events(events, PERSONAL_SLOTS)[:start]  # the visitor's details, wherever they were
    return capped(conversation_messages(before))  # masked before it is cut: never half an address left
