"""Conversations as the Rasa server stored them, streamed one at a time from its `events` table.

The store is found where the Rasa server finds it (the endpoints file's `tracker_store`, as
actions/privacy/conversations.py reads it). Rows come ordered by conversation and id, through
the `sender_id` index, and are grouped as they arrive: one conversation's events are in memory
at a time, however many the store holds. Only the event types and slots the report reads are
fetched; Rasa writes each event's `name` (a slot's name) into the `action_name` column.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from actions.privacy.conversations import endpoints_file, events, set_sqlite_pragmas, store_url
from actions.privacy.personal_slots import PERSONAL_SLOTS, REQUESTED_SLOT, STOP_QUESTION_SLOT

FEEDBACK_SLOT = "answer_feedback"  # the widget's thumbs (the feedback contract)
PROGRAM_SLOT, LAST_PROGRAMS_SLOT = "program", "last_programs"
EVENT_TYPES = ("user", "bot", "slot", "active_loop", "session_started")
# Personal slots too: their values are what the digest redacts wherever else they appear.
SLOTS = (REQUESTED_SLOT, STOP_QUESTION_SLOT, PROGRAM_SLOT, LAST_PROGRAMS_SLOT, FEEDBACK_SLOT, *PERSONAL_SLOTS)
BATCH = 5000  # rows fetched per round trip (PostgreSQL streams them through a server-side cursor)


class SourceError(RuntimeError):
    """A store that cannot be read; the message names it without its password."""


def shown(url: sa.engine.URL | str) -> str:
    """A database URL as it may be printed: never its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable URL)"


def engine_for(url: sa.engine.URL | str, what: str) -> sa.engine.Engine:
    """An engine that never creates a SQLite file: a missing file is a SourceError."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise SourceError(f"the {what} URL is not a database URL: {shown(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).is_file():
            raise SourceError(f"the {what} {shown(parsed)} does not exist")
        engine = sa.create_engine(parsed, future=True, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", set_sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(parsed, future=True)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise SourceError(f"the {what} {shown(parsed)} cannot be used ({type(error).__name__})") from None


def configured_store_url(endpoints: Path | None = None) -> sa.engine.URL | str:
    """The conversation store's URL from the endpoints file (ENDPOINTS_FILE, default endpoints.yml)."""
    path = endpoints or endpoints_file()
    url = store_url(path)
    if url is None:
        raise SourceError(f"{path} keeps no conversations in SQL (its tracker_store is not SQL): nothing to report on")
    return url


class ConversationSource:
    """The store's conversations in a period, each as its list of event dicts."""

    def __init__(self, url: sa.engine.URL | str) -> None:
        self.engine = engine_for(url, "conversation store")
        self._url = shown(url)

    def check(self) -> None:
        """SourceError unless the store is reachable and holds at least one conversation."""
        try:
            with self.engine.connect() as connection:
                if not sa.inspect(connection).has_table("events"):
                    raise SourceError(f"the conversation store {self._url} holds no conversations (no events table)")
                if connection.execute(sa.select(events.c.id).limit(1)).first() is None:
                    raise SourceError(f"the conversation store {self._url} holds no conversations")
        except sa.exc.SQLAlchemyError as error:
            raise SourceError(f"the conversation store {self._url} cannot be reached ({_kind(error)})") from None

    def conversations(self, start: datetime, end: datetime) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(conversation id, its events from `start` up to `end`, in order), one conversation at a time.

        Each event holds only the keys the report reads (digest.py's slim form). The database
        picks the texts out of each event's JSON (SQLite's JSON_EXTRACT, PostgreSQL's ->>):
        parsing the whole JSON of every message in Python took most of the report's time. A
        slot's value is parsed here, from its small JSON, because SQLite writes floats back with
        15 digits, and the feedback contract names an answer by its exact timestamp.
        """
        # PostgreSQL needs the text column cast to JSON; SQLite reads JSON from text as it is.
        postgres = self.engine.dialect.name == "postgresql"
        doc: Any = sa.cast(events.c.data, sa.JSON) if postgres else sa.type_coerce(events.c.data, sa.JSON)
        query = (
            sa.select(
                events.c.sender_id,
                events.c.type_name,
                events.c.timestamp,
                events.c.action_name,
                doc["text"].as_string(),
                doc[("parse_data", "intent", "name")].as_string(),
                doc[("metadata", "utter_action")].as_string(),
                doc[("metadata", "topic")].as_string(),
                sa.case((events.c.type_name.in_(("slot", "active_loop")), events.c.data), else_=sa.null()),
            )
            .where(
                events.c.type_name.in_(EVENT_TYPES),
                sa.or_(events.c.type_name != "slot", events.c.action_name.in_(SLOTS)),
                events.c.timestamp >= start.timestamp(),
                events.c.timestamp < end.timestamp(),
            )
            .order_by(events.c.sender_id, events.c.id)
        )
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(stream_results=True, max_row_buffer=BATCH).execute(query)
                rows = itertools.chain.from_iterable(iter(lambda: result.fetchmany(BATCH), []))
                for sender_id, group in itertools.groupby(rows, key=lambda row: row[0]):
                    yield sender_id, [_event(*row[1:]) for row in group]
        except sa.exc.SQLAlchemyError as error:
            raise SourceError(f"the conversation store {self._url} could not be read ({_kind(error)})") from None

    def dispose(self) -> None:
        self.engine.dispose()


def _kind(error: BaseException) -> str:
    """An error named by its type only: a database error's message can quote values."""
    return type(error).__name__


def _event(
    kind: str,
    timestamp: float,
    name: str | None,
    text: str | None,
    intent: str | None,
    response: str | None,
    topic: str | None,
    data: str | None,
) -> dict[str, Any]:
    """One row as the slim event dict digest.py reads (the keys Rasa's event JSON has)."""
    event: dict[str, Any] = {"event": kind, "timestamp": timestamp}
    if kind == "user":
        event["text"] = text
        event["parse_data"] = {"intent": {"name": intent}, "entities": []}
    elif kind == "bot":
        event["text"] = text
        event["metadata"] = {"utter_action": response, "topic": topic} if response else {}
    elif data is not None:  # slot, active_loop
        parsed = json.loads(data)
        event["name"] = parsed.get("name", name)
        event["value"] = parsed.get("value")
    return event
