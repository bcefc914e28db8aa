"""Assemble a Lead from a finished form and the conversation that led to it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from rasa_sdk import Tracker

from actions.inquiry.store import Lead, utc_now

_QUESTION = re.compile(r"^ask_\w+$")
MAX_QUESTIONS = 20


def questions_asked(tracker: Tracker) -> list[str]:
    """What the visitor asked before the (latest) form began: what matters to them."""
    asked: list[str] = []
    before_form = 0
    for event in tracker.events:
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
    """The page the chat started on, as the website widget sends it in message metadata."""
    for event in tracker.events:
        metadata: dict[str, Any] = event.get("metadata") or {}
        url = metadata.get("page_url") if event.get("event") == "user" else None
        if isinstance(url, str) and url:
            return url[:2000]
    return None


def build_lead(tracker: Tracker) -> Lead:
    slot = tracker.get_slot
    sms = slot("lead_contact_method") == "text"
    return Lead(
        id=slot("lead_id") or str(uuid.uuid4()),
        conversation_id=tracker.sender_id,
        name=slot("lead_name"),
        email=slot("lead_email"),
        phone=slot("lead_phone"),
        program_id=slot("lead_program"),
        study_option=slot("lead_study_option"),
        contact_method=slot("lead_contact_method"),
        consent_text=slot("lead_consent_wording") or "",
        consent_given=slot("lead_consent") is True,
        consent_at=utc_now(),
        sms_consent_text=slot("lead_sms_consent_wording") if sms else None,
        sms_consent_given=(slot("lead_sms_consent") is True) if sms else None,
        page_url=page_url(tracker),
        questions=questions_asked(tracker),
    )
