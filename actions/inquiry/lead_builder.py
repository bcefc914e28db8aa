"""Assemble a Lead from a finished form and the conversation that led to it."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker

from actions.inquiry import fields
from actions.inquiry.page_address import origin_and_path
from actions.inquiry.store import Lead, utc_now
from actions.inquiry.transcript import transcript
from actions.privacy.personal_slots import PERSONAL_SLOTS
from actions.privacy.redaction import redact_events

logger = logging.getLogger(__name__)

_QUESTION = re.compile(r"^ask_\w+$")
MAX_QUESTIONS = 20


def questions_asked(tracker: Tracker) -> list[str]:
    """What the visitor asked before the (latest) form began: what matters to them. The
    visitor's name, email and phone from the form read "[name]"... there (they travel in the
    lead's own fields), as in the transcript."""
    asked: list[str] = []
    before_form = 0
    for event in redact_events(tracker.events, PERSONAL_SLOTS):
        if event.get("event") == "action" and event.get("name") == "action_start_inquiry":
            before_form = len(asked)
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        text = (event.get("text") or "").strip()
        if _QUESTION.match(intent) and text and not text.startswith("/"):
            asked.append(text[:500])
    return asked[:before_form][-MAX_QUESTIONS:]


def page_url(tracker: Tracker) -> str | None:
    """The page the chat started on: the `page_url` of the conversation's first message that
    has one (the widget sends it with each message, /greet first), as origin and path."""
    for event in tracker.events:
        metadata: dict[str, Any] = event.get("metadata") or {}
        url = metadata.get("page_url") if event.get("event") == "user" else None
        if isinstance(url, str) and url:
            return origin_and_path(url)
    return None


def answers(tracker: Tracker, checked: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each answer column's value from the form's slots (the `checked` value of a slot that was
    re-validated, revalidation.py); None for a field this visitor was not asked."""
    values: dict[str, Any] = {}
    checked = checked or {}
    for field in fields.FIELDS:
        asked = field.is_asked(tracker)
        for column, slot in ((field.column, field.slot), (field.wording, field.wording_slot)):
            if column and slot:
                value = checked[slot] if slot in checked else tracker.get_slot(slot)
                values[column.name] = value if asked else None
        if field.record and field.record_slot:
            values.update(field.record.values(tracker.get_slot(field.record_slot) if asked else None))
    return values


def lead_id(tracker: Tracker) -> str:
    """The id chosen when the form started (a retried submit stores once), if it is one: a new one otherwise."""
    chosen = tracker.get_slot("lead_id")
    try:
        return str(uuid.UUID(chosen)) if isinstance(chosen, str) else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


def build_lead(tracker: Tracker, checked: Mapping[str, Any] | None = None) -> Lead:
    lead = Lead(
        id=lead_id(tracker),
        conversation_id=tracker.sender_id,
        answers=answers(tracker, checked),
        page_url=page_url(tracker),
        questions=questions_asked(tracker),
        transcript=transcript(tracker.events),
    )
    if lead.answers[fields.CONSENT_AT.name] is None:
        # A form begun before the action server captured the moment of consent: the submit
        # time, as leads were stamped before, so the lead is still saved.
        logger.warning("lead %s: consent given before its moment was recorded; using the submit time", lead.id)
        lead.answers[fields.CONSENT_AT.name] = utc_now()
    return lead
