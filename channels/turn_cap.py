"""How many messages a visitor has sent in their current session, counted cheaply.

Each turn costs more as a session grows (Rasa reads and featurizes the whole session), so
one endless conversation slows everyone; the REST channel offers a fresh start after
SESSION_TURN_CAP messages. A new session makes turns cheap again: Rasa's SQL store reads
only the events since the last `session_started`.

With an SQL store (the project's, or Rasa's `type: SQL`) the count is one indexed query on
the events table, not a tracker load. Any other store is asked for the tracker.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import SessionStarted, UserUttered


def _configured(store: TrackerStore) -> TrackerStore:
    # The agent holds the configured store inside Rasa's FailSafeTrackerStore (a store that is
    # not async, inside an AwaitableTrackerStore too: that one is asked for the tracker).
    return getattr(store, "_tracker_store", store)


def _expired(last_event: float | None, expiry_minutes: float) -> bool:
    """Rasa starts a new session on the next message after this much idle time."""
    return last_event is not None and expiry_minutes > 0 and time.time() - last_event > expiry_minutes * 60


def _count_in_sql(store: SQLTrackerStore, sender_id: str) -> tuple[int, float | None]:
    """(user messages since the last session start, time of the latest event), as Rasa's own
    `_event_query` delimits a session: by the latest `session_started` timestamp."""
    events = store.SQLEvent
    with store.session_scope() as session:
        session_start = (
            session.query(sa.func.max(events.timestamp))
            .filter(events.sender_id == sender_id, events.type_name == SessionStarted.type_name)
            .scalar()
        )
        query = session.query(sa.func.count(events.id)).filter(
            events.sender_id == sender_id, events.type_name == UserUttered.type_name
        )
        if session_start is not None:
            query = query.filter(events.timestamp >= session_start)
        latest = session.query(sa.func.max(events.timestamp)).filter(events.sender_id == sender_id).scalar()
        return int(query.scalar() or 0), latest


async def visitor_messages_in_session(store: TrackerStore, sender_id: str, expiry_minutes: float) -> int:
    """The visitor's messages in the session their next message belongs to (0: a new one)."""
    configured = _configured(store)
    if isinstance(configured, SQLTrackerStore):
        count, latest = _count_in_sql(configured, sender_id)
        return 0 if _expired(latest, expiry_minutes) else count
    tracker = await store.retrieve(sender_id)
    if tracker is None or not tracker.events:
        return 0
    if _expired(tracker.events[-1].timestamp, expiry_minutes):
        return 0
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += isinstance(event, UserUttered)
    return count
