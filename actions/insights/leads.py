"""Which conversations left a lead, and whether the CRM took it, from the lead store.

The store is the action server's (LEADS_DATABASE_URL, default runtime/leads.sqlite3, as
actions/inquiry/store.py reads it). Only ids and statuses are read: never an answer. A SQLite
store that does not exist yet (no lead has been saved) means no leads; one that cannot be
reached stops the report, which would otherwise count its leads as lost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from actions.insights.source import SourceError, engine_for, shown

# actions/inquiry/store.py's setting, default file and `leads` columns, the three read here
# (tests/test_insights_units.py checks they agree). Not imported: that module brings the form's
# fields and rasa_sdk, a second of start-up for a command that reads two columns.
DATABASE_URL_ENV = "LEADS_DATABASE_URL"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "runtime" / "leads.sqlite3"
DELIVERED = "delivered"
leads = sa.Table(
    "leads",
    sa.MetaData(),
    sa.Column("conversation_id", sa.String(255)),
    sa.Column("delivery_status", sa.String(16)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)


@dataclass(frozen=True)
class LeadStatus:
    """A conversation's leads: how many were saved, and how many of them were delivered."""

    saved: int = 0
    delivered: int = 0


def configured_url() -> str:
    """LEADS_DATABASE_URL, or the action server's default file (not created here)."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{DEFAULT_FILE}"


def lead_statuses(url: str, since: datetime) -> dict[str, LeadStatus]:
    """Conversation id -> its leads created at or after `since` (aware)."""
    parsed = sa.engine.make_url(url) if "://" in url else None
    if parsed is not None and parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return {}
    engine = engine_for(url, "lead store")
    query = sa.select(leads.c.conversation_id, leads.c.delivery_status).where(
        # In UTC, as every time is stored: SQLite compares times as text.
        leads.c.created_at >= since.astimezone(timezone.utc)
    )
    found: dict[str, LeadStatus] = {}
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("leads"):
                return {}
            for conversation_id, status in connection.execute(query):
                before = found.get(conversation_id, LeadStatus())
                found[conversation_id] = LeadStatus(before.saved + 1, before.delivered + (status == DELIVERED))
    except sa.exc.SQLAlchemyError as error:
        raise SourceError(f"the lead store {shown(url)} cannot be reached ({type(error).__name__})") from None
    finally:
        engine.dispose()
    return found
