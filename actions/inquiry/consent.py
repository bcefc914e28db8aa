"""The consent record a TCPA review asks for: when a visitor said yes, to which version of the
wording, and on which channel.

The form captures it in the consent field's record slot at the moment the yes is heard (not at
submit, which may come much later, after corrections), and the lead keeps it in the columns
the field declares (fields.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker

AT, WORDING_VERSION, CHANNEL = "at", "wording_version", "channel"
VERSION_HASH_LENGTH = 10


def wording_version(domain: dict[str, Any], response: str) -> str:
    """The response's name and a short hash of its template: the template, not the filled text
    (which holds the visitor's phone number), so every visitor shown one wording gets one id."""
    template = domain["responses"][response][0]["text"]
    digest = hashlib.sha256(template.encode("utf-8")).hexdigest()[:VERSION_HASH_LENGTH]
    return f"{response}@{digest}"


def record_slot(slot: str) -> str:
    """Where the form keeps the record of a consent field's yes until the lead is saved."""
    return f"{slot}_record"


def capture(tracker: Tracker, domain: dict[str, Any], response: str) -> dict[str, Any]:
    """The record of a yes given in the latest message, now: a slot value, so plain JSON."""
    return {
        AT: datetime.now(timezone.utc).isoformat(),
        WORDING_VERSION: wording_version(domain, response),
        CHANNEL: tracker.get_latest_input_channel(),
    }


def read(record: Any) -> dict[str, Any]:
    """A captured record's values (the moment as a datetime); each None when nothing was captured."""
    captured: dict[str, Any] = record if isinstance(record, dict) else {}
    at = captured.get(AT)
    return {
        AT: datetime.fromisoformat(at) if isinstance(at, str) else None,
        WORDING_VERSION: captured.get(WORDING_VERSION),
        CHANNEL: captured.get(CHANNEL),
    }
