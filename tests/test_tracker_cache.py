"""channels/tracker_cache.py in the project's SQL tracker store, on a real SQLite file: a turn
gets exactly the tracker Rasa's own read of the store would give, without reading the
session's rows again, and reads them again whenever the store may hold something else: another
Rasa server answered a turn, a redaction, an erasure, a new session, a long pause."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from actions.privacy.conversations import ConversationStore
from channels import server, speedups
from channels.tracker_cache import DEFAULT_EVENTS, DEFAULT_SECONDS, CacheSettings, TrackerCache
from channels.tracker_store import SQLTrackerStore
from tests.conversations import DANA
from tests.form_events import session_start, stop, user
from tests.test_conversation_privacy import DOMAIN, converse_with_store, midway, sqlite_store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def cached_store(db: Path, clock: Clock) -> SQLTrackerStore:
    store = sqlite_store(db)
    assert store._cache is not None, "the speedups are installed: the store keeps conversations"
    store._cache = TrackerCache(store._cache.settings, clock)
    return store


@pytest.fixture
def store(with_speedups: None, db: Path, clock: Clock) -> Iterator[SQLTrackerStore]:
    created = cached_store(db, clock)
    yield created
    created.engine.dispose()


def rasas_read(store: SQLTrackerStore, sender: str) -> DialogueStateTracker | None:
    """What Rasa's own SQL store reads for the conversation (its `_retrieve`, on our store)."""
    return asyncio.run(rasa_stores.SQLTrackerStore._retrieve(store, sender, fetch_events_from_all_sessions=False))


def retrieve(store: SQLTrackerStore, sender: str) -> DialogueStateTracker | None:
    return asyncio.run(store.retrieve(sender))


def as_rasa_reads_it(found: DialogueStateTracker | None, store: SQLTrackerStore, sender: str) -> bool:
    return same_tracker(found, rasas_read(store, sender))


def same_tracker(found: DialogueStateTracker | None, expected: DialogueStateTracker | None) -> bool:
    if found is None or expected is None:
        return found is expected
    return (
        found.current_state(EventVerbosity.ALL) == expected.current_state(EventVerbosity.ALL)
        and found.current_slot_values() == expected.current_slot_values()
        and found.active_loop == expected.active_loop
    )


def event_reads(store: SQLTrackerStore) -> list[str]:
    """Statements that read stored event data, recorded from now on."""
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def reads_of_rows(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.lstrip().upper().startswith("SELECT") and "events.data" in sql]


def questions(count: int) -> list[list[Event]]:
    return [user(f"question {number}", "ask_duration") for number in range(count)]


def test_a_turn_gets_rasas_tracker_without_reading_the_session_again(store):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")], *questions(3))
    statements = event_reads(store)
    found = retrieve(store, "visitor")
    assert reads_of_rows(statements) == []  # one indexed count, no rows
    assert as_rasa_reads_it(found, store, "visitor")
    kept = store._cache.kept_events("visitor") if store._cache else None
    assert found is not None and kept is not None and list(found.events) == kept


def test_a_turn_answered_by_another_rasa_server_is_read_from_the_store(store, db, clock):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    other_server = cached_store(db, clock)
    converse_with_store(other_server, "visitor", user("how long is it?", "ask_duration"))
    other_server.engine.dispose()
    found = retrieve(store, "visitor")
    assert found is not None and found.latest_message is not None
    assert found.latest_message.text == "how long is it?"
    assert as_rasa_reads_it(found, store, "visitor")


def test_a_message_kept_is_kept_as_stored_with_contact_details_masked(store):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    converse_with_store(store, "visitor", user(f"write to {DANA.email}", "ask_duration"))
    found = retrieve(store, "visitor")
    assert found is not None and found.latest_message is not None
    assert found.latest_message.text == "write to [email]"
    assert as_rasa_reads_it(found, store, "visitor")


def test_after_a_redaction_the_redacted_conversation_is_read(store):
    converse_with_store(store, "visitor", *midway(), stop())
    found = retrieve(store, "visitor")
    assert found is not None and DANA.email not in str(found.current_state(EventVerbosity.ALL))
    assert as_rasa_reads_it(found, store, "visitor")


def test_an_erased_conversation_is_gone(store, db):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")], *questions(2))
    erasing = ConversationStore(f"sqlite:///{db}")
    erasing.delete(["visitor"])
    erasing.dispose()
    assert retrieve(store, "visitor") is None


def test_a_conversation_idle_longer_than_the_cache_keeps_it_is_read_again(store, db, clock):
    """What the action server's expiry sweep rewrites in place (ids and number unchanged) is read."""
    converse_with_store(store, "visitor", *midway())
    clock.now += DEFAULT_SECONDS + 1
    sweeping = ConversationStore(f"sqlite:///{db}")
    assert sweeping.redact(["visitor"]) == 1
    sweeping.dispose()
    found = retrieve(store, "visitor")
    assert found is not None and found.get_slot("lead_email") != DANA.email
    assert as_rasa_reads_it(found, store, "visitor")


def test_never_kept_longer_than_the_session_expiry(store, clock):
    assert store.domain is not None
    expiry = store.domain.session_config.session_expiration_time * 60
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    store._cache = TrackerCache(CacheSettings(DEFAULT_EVENTS, expiry * 10), clock)
    retrieve(store, "visitor")
    clock.now += expiry + 1
    statements = event_reads(store)
    found = retrieve(store, "visitor")
    assert reads_of_rows(statements)  # read before the comparison below reads them too
    assert as_rasa_reads_it(found, store, "visitor")


def test_the_session_expiry_in_seconds_bounds_the_cache_and_no_expiry_leaves_the_cache_its_own(store):
    assert store.domain is not None and store._session_expiry_seconds() == 30 * 60
    store.domain = Domain.from_dict({"session_config": {"session_expiration_time": 0}})
    assert store._session_expiry_seconds() is None  # sessions never expire: no sweep rewrites rows


def test_a_new_session_is_read_as_rasa_reads_it(store):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")], *questions(2))
    converse_with_store(store, "visitor", [*session_start(), *user("hello again", "greet")])
    found = retrieve(store, "visitor")
    assert found is not None and [e.text for e in found.events if getattr(e, "text", None)] == ["hello again"]
    assert as_rasa_reads_it(found, store, "visitor")


def test_a_save_of_a_tracker_not_built_on_the_kept_events_drops_them(store):
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    assert store._cache is not None and store._cache.kept_events("visitor")
    stranger = DialogueStateTracker.from_events("visitor", [*session_start(), *user("hi", "greet")], store.domain.slots)
    for event in user("again", "greet"):
        stranger.update(event)
    asyncio.run(store.save(stranger))
    assert store._cache.kept_events("visitor") is None
    assert as_rasa_reads_it(retrieve(store, "visitor"), store, "visitor")


def test_the_turn_after_a_save_reads_no_rows_and_gets_what_was_saved(store):
    """The save keeps what it wrote: the next turn of the conversation reads one indexed count."""
    converse_with_store(store, "someone else", [*session_start(), *user("hello", "greet")])  # ids != counts
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    tracker = retrieve(store, "visitor")
    assert tracker is not None
    for event in user(f"how long is it? {DANA.email}", "ask_duration"):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    statements = event_reads(store)
    found = retrieve(store, "visitor")
    assert reads_of_rows(statements) == []
    assert found is not None and found.latest_message is not None
    assert found.latest_message.text == "how long is it? [email]"  # as stored, masked
    assert as_rasa_reads_it(found, store, "visitor")


def test_a_save_after_another_server_wrote_meanwhile_keeps_nothing_and_the_next_read_has_both(store, db, clock):
    """Only without the lock (e.g. held past its lifetime): the rows this save did not write are read."""
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    tracker = retrieve(store, "visitor")
    assert tracker is not None
    other_server = cached_store(db, clock)
    converse_with_store(other_server, "visitor", user("which campus?", "ask_campus"))
    other_server.engine.dispose()
    for event in user("how long is it?", "ask_duration"):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    assert store._cache is not None and store._cache.kept_events("visitor") is None
    found = retrieve(store, "visitor")
    assert found is not None
    assert [e.text for e in found.events if getattr(e, "text", None)] == ["hi", "which campus?", "how long is it?"]
    assert as_rasa_reads_it(found, store, "visitor")


def test_an_erased_conversation_begun_again_with_as_many_events_is_read_anew(store, db):
    """Same sender, same number of rows: the highest row id tells the new conversation apart."""
    converse_with_store(store, "visitor", [*session_start(), *user("my email is in here", "greet")])
    assert retrieve(store, "visitor") is not None  # kept
    erasing = ConversationStore(f"sqlite:///{db}")
    erasing.delete(["visitor"])
    erasing.dispose()
    plain = sqlite_store(db)  # another server, another cache
    converse_with_store(plain, "visitor", [*session_start(), *user("a new start", "greet")])
    plain.engine.dispose()
    found = retrieve(store, "visitor")
    assert found is not None and [e.text for e in found.events if getattr(e, "text", None)] == ["a new start"]
    assert as_rasa_reads_it(found, store, "visitor")


def test_without_the_speedups_the_store_keeps_nothing(db):
    plain = sqlite_store(db)
    assert plain._cache is None
    plain.engine.dispose()


def test_a_cache_of_zero_events_is_no_cache(with_speedups, db, monkeypatch):
    monkeypatch.setenv("TRACKER_CACHE_EVENTS", "0")
    plain = sqlite_store(db)
    assert plain._cache is None
    plain.engine.dispose()


# The cache itself


def kept(count: int) -> list[Any]:
    return [object() for _ in range(count)]


def test_the_least_recently_used_conversations_leave_first_when_over_the_events_bound(clock):
    cache = TrackerCache(CacheSettings(max_events=10, max_idle_seconds=60), clock)
    cache.put("a", (4, 4, 1.0), kept(4))
    cache.put("b", (4, 8, 1.0), kept(4))
    assert cache.get("a", (4, 4, 1.0)) is not None  # a used last
    cache.put("c", (4, 12, 1.0), kept(4))
    assert (cache.kept_events("a") is not None, cache.kept_events("b"), cache.events) == (True, None, 8)
    cache.put("huge", (11, 30, 1.0), kept(11))
    assert cache.kept_events("huge") is None and cache.events == 8


def test_another_version_or_a_long_pause_drops_the_conversation(clock):
    cache = TrackerCache(CacheSettings(max_events=10, max_idle_seconds=60), clock)
    cache.put("a", (4, 4, 1.0), kept(4))
    assert cache.get("a", (5, 5, 1.0)) is None and cache.kept_events("a") is None
    cache.put("a", (4, 4, 1.0), kept(4))
    clock.now += 61
    assert cache.get("a", (4, 4, 1.0)) is None and cache.events == 0


def test_a_conversation_idle_exactly_the_cache_time_is_still_used(clock):
    cache = TrackerCache(CacheSettings(max_events=10, max_idle_seconds=60), clock)
    events = kept(4)
    cache.put("a", (4, 4, 1.0), events)
    clock.now += 60
    assert cache.get("a", (4, 4, 1.0)) is events


def test_conversations_filling_the_events_bound_exactly_are_all_kept(clock):
    cache = TrackerCache(CacheSettings(max_events=8, max_idle_seconds=60), clock)
    cache.put("a", (4, 4, 1.0), kept(4))
    cache.put("b", (4, 8, 1.0), kept(4))
    assert (len(cache), cache.events) == (2, 8)
    cache.put("whole", (8, 16, 1.0), kept(8))
    assert cache.kept_events("whole") is not None and (len(cache), cache.events) == (1, 8)


def test_a_conversation_kept_again_replaces_its_events_counted_once(clock):
    cache = TrackerCache(CacheSettings(max_events=10, max_idle_seconds=60), clock)
    cache.put("a", (4, 4, 1.0), kept(4))
    cache.put("a", (6, 6, 1.0), kept(6))
    assert (cache.version("a"), cache.events) == ((6, 6, 1.0), 6)
    cache.put("b", (4, 10, 1.0), kept(4))
    assert cache.kept_events("a") is not None and cache.events == 10


def test_the_version_kept_is_the_one_put_and_none_for_an_unknown_conversation(clock):
    cache = TrackerCache(CacheSettings(max_events=10, max_idle_seconds=60), clock)
    cache.put("a", (4, 4, 1.0), kept(4))
    assert (cache.version("a"), cache.version("unknown")) == ((4, 4, 1.0), None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRACKER_CACHE_EVENTS", "-1", "TRACKER_CACHE_EVENTS must be a whole number of events (0: no cache), not '-1'"),
        (
            "TRACKER_CACHE_EVENTS",
            "lots",
            "TRACKER_CACHE_EVENTS must be a whole number of events (0: no cache), not 'lots'",
        ),
        ("TRACKER_CACHE_SECONDS", "0", "TRACKER_CACHE_SECONDS must be a positive number of seconds, not '0'"),
        ("TRACKER_CACHE_SECONDS", "soon", "TRACKER_CACHE_SECONDS must be a positive number of seconds, not 'soon'"),
        ("TRACKER_CACHE_SECONDS", "inf", "TRACKER_CACHE_SECONDS must be a positive number of seconds, not 'inf'"),
    ],
)
def test_a_malformed_setting_is_refused_naming_it(name, value, message):
    with pytest.raises(ValueError) as refused:
        CacheSettings.from_env({name: value})
    assert str(refused.value) == message


def test_the_defaults(monkeypatch):
    assert CacheSettings.from_env({}) == CacheSettings(DEFAULT_EVENTS, DEFAULT_SECONDS)
    assert CacheSettings.from_env({"TRACKER_CACHE_EVENTS": "5", "TRACKER_CACHE_SECONDS": "1.5"}) == CacheSettings(
        5, 1.5
    )


def test_half_a_second_is_a_valid_cache_time():
    assert CacheSettings.from_env({"TRACKER_CACHE_SECONDS": "0.5"}) == CacheSettings(DEFAULT_EVENTS, 0.5)


def test_the_entry_point_refuses_a_malformed_cache_setting_before_rasa_starts(monkeypatch):
    monkeypatch.setenv(speedups.SWITCH, "off")
    monkeypatch.setenv("TRACKER_CACHE_SECONDS", "never")
    monkeypatch.setattr("sys.argv", ["rasa", "--version"])
    from channels import privacy_patches

    try:
        with pytest.raises(SystemExit) as stopped:
            server.main()
    finally:
        privacy_patches.uninstall()
    assert (
        stopped.value.code
        == "Cannot start Rasa: TRACKER_CACHE_SECONDS must be a positive number of seconds, not 'never'"
    )


# Two Rasa servers sharing PostgreSQL (as in a cluster)


@pytest.fixture(scope="module")
def postgres() -> Iterator[sa.engine.URL]:
    from tests.servers import postgres_server

    with postgres_server() as server:
        yield sa.engine.make_url(server.url)


def postgres_store(url: sa.engine.URL, clock: Clock) -> SQLTrackerStore:
    store = SQLTrackerStore(
        DOMAIN, dialect="postgresql", host=url.host, port=url.port, db=url.database, username=url.username
    )
    assert store._cache is not None
    store._cache = TrackerCache(store._cache.settings, clock)
    return store


@pytest.mark.slow
def test_two_rasa_servers_on_postgresql_each_read_the_others_turns(with_speedups, postgres, clock):
    one, other = postgres_store(postgres, clock), postgres_store(postgres, clock)
    try:
        turns = [[*session_start(), *user("hi", "greet")], *questions(6), *midway()[1:], stop()]
        for number, turn in enumerate(turns):
            answering = (one, other)[number % 2]
            converse_with_store(answering, "visitor", turn)
            for store in (one, other):
                assert as_rasa_reads_it(retrieve(store, "visitor"), store, "visitor")
        statements = event_reads(one)
        assert as_rasa_reads_it(retrieve(one, "visitor"), one, "visitor")
        assert len(reads_of_rows(statements)) == 1  # Rasa's own read, by the check; ours read no rows
    finally:
        for store in (one, other):
            store.engine.dispose()
