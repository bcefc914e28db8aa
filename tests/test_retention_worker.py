"""actions/privacy/retention.py piece by piece, with the clock in the test's hands: the session
expiry read from a domain file, the purge counts' wording, the purge without a conversation
store, and the background worker's schedule, thread and log lines (counts and error types only)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from actions.inquiry.store import DELIVERED, LeadStore, utc_now
from actions.privacy import retention
from actions.privacy.conversations import ConversationStore
from actions.privacy.retention import PurgeCounts, RetentionPolicy, RetentionWorker, purge, session_expiry
from tests.conversations import DANA
from tests.form_events import traces
from tests.test_conversation_privacy import converse_with_store, midway, sqlite_store
from tests.test_lead_store import make_lead
from tests.test_retention import age

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=utc_now().tzinfo)


@pytest.fixture
def leads(tmp_path: Path) -> Iterator[LeadStore]:
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield store
    store.dispose()


def domain_with(tmp_path: Path, expiry: str) -> Path:
    domain = tmp_path / "domain.yml"
    domain.write_text(f'version: "3.1"\nsession_config:\n  session_expiration_time: {expiry}\n')
    return domain


# The session expiry


def test_the_session_expiry_is_read_in_minutes(tmp_path):
    assert session_expiry(domain_with(tmp_path, "0.5")) == timedelta(seconds=30)
    assert session_expiry(domain_with(tmp_path, "90")) == timedelta(minutes=90)


@pytest.mark.parametrize("expiry", ["0", "-5", "soon", "null"])
def test_an_unusable_session_expiry_is_refused_naming_the_setting(tmp_path, expiry):
    with pytest.raises(ValueError, match=r"^domain\.yml: session_config\.session_expiration_time must be a positive"):
        session_expiry(domain_with(tmp_path, expiry))


# What a purge reports


def test_purge_counts_read_as_done_unless_a_dry_run():
    counts = PurgeCounts(conversations=3, leads=1)
    assert counts.summary() == "deleted 3 conversation(s) and 1 lead(s)"
    assert counts.summary(dry_run=True) == "would delete 3 conversation(s) and 1 lead(s)"


def test_purge_without_a_conversation_store_purges_leads(leads):
    old = make_lead(1, delivery_status=DELIVERED, delivered_at=T0 - timedelta(days=400))
    leads.save(old)
    assert purge(leads, None, RetentionPolicy(), T0) == PurgeCounts(conversations=0, leads=1)
    assert leads.get(old.id) is None


# The background worker


def worker_on(leads: LeadStore, conversations: ConversationStore | None, clock: list[datetime]) -> RetentionWorker:
    return RetentionWorker(
        leads, conversations, RetentionPolicy(), timedelta(minutes=30), 3600, 300, clock=lambda: clock[0]
    )


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == retention.__name__]


def test_the_purge_runs_at_start_then_each_purge_interval(leads, caplog):
    clock = [T0]
    worker = worker_on(leads, None, clock)
    purged = (logging.INFO, "retention: deleted 0 conversation(s) and 0 lead(s)")
    with caplog.at_level(logging.INFO, logger=retention.__name__):
        worker.run_once()
        assert messages(caplog) == [purged]
        clock[0] = T0 + timedelta(seconds=3599)
        worker.run_once()
        assert messages(caplog) == [purged]  # not due yet
        clock[0] = T0 + timedelta(seconds=3600)
        worker.run_once()
        assert messages(caplog) == [purged, purged]  # due on the second


def test_the_sweep_is_logged_with_its_count_only(leads, tmp_path, caplog):
    db = tmp_path / "conversations.sqlite3"
    rasa = sqlite_store(db)
    converse_with_store(rasa, "left", *midway(DANA))
    rasa.engine.dispose()
    age(db, "left", timedelta(hours=1))
    conversations = ConversationStore(f"sqlite:///{db}")
    with caplog.at_level(logging.INFO, logger=retention.__name__):
        worker_on(leads, conversations, [utc_now()]).run_once()
    conversations.dispose()
    assert messages(caplog)[0] == (
        logging.INFO,
        "retention: redacted 1 expired conversation(s) left with a form unfinished",
    )
    assert traces(DANA, caplog.text) == []


def test_a_failed_round_is_logged_by_the_errors_type_and_retried(tmp_path, caplog):
    broken = tmp_path / "leads-dir"
    broken.mkdir()  # SQLite cannot open a directory
    failing = LeadStore(f"sqlite:///{broken}")
    clock = [T0]
    worker = worker_on(failing, None, clock)
    with caplog.at_level(logging.INFO, logger=retention.__name__):
        worker.run_once()
        worker.run_once()  # the purge was never done: it is still due
    failing.dispose()
    assert [level for level, _ in messages(caplog)] == [logging.ERROR, logging.ERROR]
    assert {message for _, message in messages(caplog)} == {"retention round failed (StoreUnavailable)"}


def test_the_worker_is_a_daemon_thread_that_repeats_until_stopped(leads):
    """A daemon, so it never keeps the action server from exiting; it sleeps the shorter interval."""
    rounds: list[datetime] = []
    third = threading.Event()

    def clock() -> datetime:
        rounds.append(utc_now())
        if len(rounds) >= 3:
            third.set()
        return rounds[-1]

    worker = RetentionWorker(leads, None, RetentionPolicy(), timedelta(minutes=30), 3600, 0.01, clock=clock)
    assert worker.daemon and worker.name == "retention"
    worker.start()
    assert third.wait(10), "the worker stopped before its third round"
    worker.stop()
    worker.join(10)
    assert not worker.is_alive()
