"""Rasa's SQL tracker store, with SQLite in write-ahead-log mode on a kept connection.

Profiling the Rasa server under load (README "Benchmark") put half its time in this store
with SQLite, all of it on the server's event loop, so every visitor waits for it:
- SQLite's defaults (rollback journal, synchronous=FULL) cost several fsyncs per saved turn.
  In WAL mode with synchronous=NORMAL a commit is one append to the log: conversations still
  survive a restart or crash of the Rasa server (only a power cut or OS crash can lose the
  last turns), and readers no longer wait for writers;
- SQLAlchemy 1.4 opens and closes a new SQLite connection for every session (NullPool), and
  closing the last connection checkpoints and deletes the log. A pool keeps one open;
- saving a turn first counts the conversation's stored events (to know which are new),
  although the turn began by reading exactly those events. With SQLite (one Rasa server
  per file) the count from that read is used, once; any other save counts as Rasa does.
Other databases (PostgreSQL...) are used exactly as by Rasa's SQL store.

With the speedups on (channels/speedups.py, started through channels/server.py), each
conversation's session events are also kept in memory between turns with the store's version
of the conversation, and used while the store still holds exactly them (channels/tracker_cache.py):
a turn then reads one indexed row instead of the whole session, on any database, and a turn
answered by another Rasa server sharing the database is read from the store.

Visitors' contact details leave the store (issue 9, actions/privacy/):
- an email address or phone number typed outside the form is masked as it is stored;
- what was typed into the form's personal fields stays while the form needs it (it survives
  a restart mid-form), and is redacted from the visitor's stored events, in one transaction,
  when the form ends with those slots cleared (lead saved, form stopped) and when a new
  session begins (an unfinished form is never resumed: slots are not carried over);
- with SQLite, redacted rows leave no trace in the file bytes: secure_delete zeroes what an
  update frees, and a TRUNCATE checkpoint after each redaction copies the rewritten pages
  into the database and empties the write-ahead log, which still held the old ones.
A normal turn only pays a cheap look at each new event (an "@" or 7 digits in a message);
the redaction runs when a form ends or a session starts.

endpoints.yml: `tracker_store: {type: channels.tracker_store.SQLTrackerStore, dialect: ..., db: ...}`
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.events import ActiveLoop, Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

from actions.privacy.conversations import checkpoint, redact_conversation, set_sqlite_pragmas
from actions.privacy.personal_slots import PERSONAL_SLOTS
from actions.privacy.redaction import mask_user_event, personal_inputs, user_event_needs_masking
from channels import speedups
from channels.tracker_cache import CacheSettings, TrackerCache, Version

logger = logging.getLogger(__name__)

# Conversations read and not yet saved (one per visitor being answered right now).
MAX_REMEMBERED_COUNTS = 10_000


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    engine: sa.engine.Engine  # set by Rasa's __init__, which declares no type for it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = CacheSettings.from_env(os.environ)  # checked at startup by channels/server.py
        self._cache = TrackerCache(settings) if speedups.installed() and settings.max_events else None
        self._stored_counts: OrderedDict[str, int] | None = None
        if self.engine.dialect.name == "sqlite":
            self._stored_counts = OrderedDict()
            # The server calls the store from its event loop thread only; the pool may
            # hand a connection to another thread, which is safe one session at a time.
            engine = sa.create_engine(
                self.engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(engine, "connect", set_sqlite_pragmas)
            self.engine.dispose()
            self.engine = engine
            self.sessionmaker.configure(bind=engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if self._cache is not None and not fetch_events_from_all_sessions:
            tracker = self._retrieve_session(sender_id, self._cache)
        else:
            tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if self._stored_counts is None:
            return tracker
        self._stored_counts.pop(sender_id, None)
        if tracker is not None and not fetch_events_from_all_sessions:
            # Exactly the events _additional_events would count: this session's, as stored.
            self._stored_counts[sender_id] = len(tracker.events)
            while len(self._stored_counts) > MAX_REMEMBERED_COUNTS:
                self._stored_counts.popitem(last=False)
        return tracker

    def _retrieve_session(self, sender_id: str, cache: TrackerCache) -> DialogueStateTracker | None:
        """Rasa's retrieve of the latest session (from_dict of its stored events), the events
        taken from the cache when the store's version of the conversation has not changed."""
        with self.session_scope() as session:
            # The version first: rows added after it only make the next version check fail.
            version = self._stored_version(session, sender_id)
            events = cache.get(sender_id, version, self._session_expiry_seconds())
            if events is None:
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
                if not rows:
                    return None
                events = deserialise_events([json.loads(row.data) for row in rows])
                cache.put(sender_id, version, events)
        if not self.domain:
            return None
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    def _stored_version(self, session: Any, sender_id: str) -> Version:
        count, last_id, last_time = (
            session.query(
                sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.id), sa.func.max(self.SQLEvent.timestamp)
            )
            .filter(self.SQLEvent.sender_id == sender_id)
            .one()
        )
        return int(count), last_id, last_time

    def _session_expiry_seconds(self) -> float | None:
        """After the session expiry the action server's sweep may redact stored rows in place;
        None when sessions never expire. (Rasa's store always has a domain: an empty one by default.)"""
        config = self.domain.session_config
        return config.session_expiration_time * 60 if config.are_sessions_enabled() else None

    def _update_cache(
        self, session: Any, tracker: DialogueStateTracker, first_new: int, stored: list[str], redacted: bool
    ) -> None:
        """After a save (before its commit): the conversation's kept events are the ones the
        saved tracker was built from plus the rows just added, if that is what the store now
        holds; otherwise it is dropped and read from the store next time."""
        assert self._cache is not None
        sender_id = tracker.sender_id
        kept = self._cache.kept_events(sender_id)
        built_on_kept = (
            kept is not None
            and len(kept) == first_new
            and all(ours is theirs for ours, theirs in zip(kept, tracker.events, strict=False))  # events: longer
        )
        new_events = deserialise_events([json.loads(text) for text in stored])  # as a read gets them
        if not built_on_kept or redacted or any(isinstance(event, SessionStarted) for event in new_events):
            self._cache.drop(sender_id)
            return
        assert kept is not None
        previous = self._cache.version(sender_id)
        version = self._stored_version(session, sender_id)
        if previous is None or version[0] != previous[0] + len(stored):  # someone else wrote too
            self._cache.drop(sender_id)
            return
        self._cache.put(sender_id, version, kept + new_events)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = self._stored_counts.pop(tracker.sender_id, None) if self._stored_counts is not None else None
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (appends the new events), with contact details masked or redacted."""
        await self.stream_events(tracker)
        redacted = False
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            first_new = len(tracker.events) - len(new_events)
            rows = [self._row(tracker.sender_id, data) for data in self._events_to_store(tracker, first_new)]
            session.add_all(rows)
            if _personal_data_no_longer_needed(tracker, new_events):
                session.flush()
                redacted = self._redact_stored_events(session, tracker.sender_id)
            if self._cache is not None:
                session.flush()
                self._update_cache(session, tracker, first_new, [row.data for row in rows], redacted)
            session.commit()
        if redacted:
            checkpoint(self.engine)

    def _events_to_store(self, tracker: DialogueStateTracker, first_new: int) -> list[dict[str, Any]]:
        """The new events as they are stored: a user event typed outside the form's personal
        fields has its contact details masked. Most turns have none and skip the form replay."""
        new = [event.as_dict() for event in itertools.islice(tracker.events, first_new, None)]
        if not any(user_event_needs_masking(data) for data in new):
            return new
        # Which messages answered a personal field: replayed over the session's events.
        session = [event.as_dict() for event in itertools.islice(tracker.events, first_new)] + new
        typed = personal_inputs(session, PERSONAL_SLOTS)
        return [
            mask_user_event(data) if user_event_needs_masking(data) and first_new + i not in typed else data
            for i, data in enumerate(new)
        ]

    def _row(self, sender_id: str, data: dict[str, Any]) -> Any:
        """A row of Rasa's `events` table, as Rasa's save makes it."""
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=data["event"],
            timestamp=data.get("timestamp"),
            intent_name=((data.get("parse_data") or {}).get("intent") or {}).get("name"),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _redact_stored_events(self, session: Any, sender_id: str) -> bool:
        """Rewrites the visitor's stored events without their contact details (in the session's
        transaction); whether any changed. Shared with the action server's expiry sweep."""
        return redact_conversation(session.connection(), sender_id)


def _personal_data_no_longer_needed(tracker: DialogueStateTracker, new_events: Sequence[Event]) -> bool:
    """Whether this save ends the use of the visitor's contact details in the conversation:
    a new session began (nothing is carried over), or a form ended this turn with its
    personal slots cleared (a lead that failed to save keeps them, to be confirmed again)."""
    if any(isinstance(event, SessionStarted) for event in new_events):
        return True
    form_ended = any(isinstance(event, ActiveLoop) and event.name is None for event in new_events)
    return (
        form_ended
        and tracker.active_loop_name is None
        and all(tracker.get_slot(slot) is None for slot in PERSONAL_SLOTS)
    )
