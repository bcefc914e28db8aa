"""The lead as the admissions CRM receives it: an explicit, versioned payload.

The payload is a contract with the CRM, documented field by field in
schemas/lead-payload-v<SCHEMA_VERSION>.schema.json (JSON Schema, Draft 2020-12). It is built
here from a Lead, apart from the table (store.py) and the staff export (leads.py), so each
can change without the others: the delivery bookkeeping (attempts, errors, status) stays
out of it. A field declared with `sent=True` (fields.py) is in it under its column name.
Adding an optional key keeps the version; renaming, removing or retyping a key needs a new
version and a new schema file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions.inquiry import fields
from actions.inquiry.store import Lead, json_value

SCHEMA_VERSION = "1"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / f"lead-payload-v{SCHEMA_VERSION}.schema.json"


def build_payload(lead: Lead) -> dict[str, Any]:
    answers = {column.name: json_value(lead.answers[column.name]) for column in fields.columns() if column.sent}
    return {
        "schema_version": SCHEMA_VERSION,
        "lead_id": lead.id,
        "created_at": json_value(lead.created_at),
        "conversation_id": lead.conversation_id,
        **answers,
        "page_url": lead.page_url,
        "questions": list(lead.questions),
        "transcript": [dict(message) for message in lead.transcript],
    }
