"""The insights report reads a PostgreSQL conversation store as it reads SQLite: the same events
(PostgreSQL picks the texts out of the JSON with ->>), so the same tables."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from actions.insights import settings, tables
from actions.insights.report import build
from actions.insights.source import ConversationSource
from tests.insights_events import Events, write_events, write_store
from tests.servers import postgres_server

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
SEPTEMBER = settings.Period(date(2026, 9, 1), date(2026, 9, 30), NEW_YORK)
HOURS = settings.office_hours("Mon-Fri 08:00-17:00")


def conversations() -> dict[str, list[dict]]:
    made = {}
    for n in range(6):
        e = Events(datetime(2026, 9, 1 + n, 8 + n, tzinfo=NEW_YORK))
        e.user(f"how long is it? ({n})", "ask_duration")
        answer = e.bot("reply_duration", "It takes 15 months.")
        answer["timestamp"] += 0.123456789  # digits a JSON round trip in the database would lose
        e.slot("last_programs", ["healthcare_it"])
        e.user("what about tuition, “naïve” ça?", "ask_unknown_topic")
        e.bot("reply_unknown_topic", "I don't have information about tuition and costs.", topic="tuition and costs")
        e.rate(answer, "down" if n % 2 else "up")
        e.form_until("lead_email", {"lead_name": f"Visitor {n}", "lead_email": "v@example.org"})
        made[f"pg-{n}"] = e.list
    return made


def test_a_postgresql_store_gives_the_same_events_and_tables_as_sqlite(tmp_path):
    seeded = conversations()
    sqlite = ConversationSource(write_store(tmp_path / "c.sqlite3", seeded))
    with postgres_server() as server:
        postgres = ConversationSource(write_events(server.url, seeded))
        postgres.check()
        read = list(postgres.conversations(SEPTEMBER.start, SEPTEMBER.end))
        assert read == list(sqlite.conversations(SEPTEMBER.start, SEPTEMBER.end))
        assert len(read) == 6
        from_postgres = build(SEPTEMBER, HOURS, postgres.conversations(SEPTEMBER.start, SEPTEMBER.end), {}, {})
        postgres.dispose()
    from_sqlite = build(SEPTEMBER, HOURS, sqlite.conversations(SEPTEMBER.start, SEPTEMBER.end), {}, {})
    sqlite.dispose()
    rows = [{n: t.rows for n, t in tables.all_tables(r).items()} for r in (from_postgres, from_sqlite)]
    assert rows[0] == rows[1]
    assert len(from_sqlite.feedback.unhelpful) == 3 and len(from_sqlite.unanswered) == 6
