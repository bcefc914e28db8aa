"""The action server's retention start-up (actions/inquiry/runtime.py start_retention) and its
settings: the worker it starts works on the configured lead database and conversation store,
with the configured policy, the domain's session expiry and the configured intervals; a bad
setting stops start-up with its name and unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from actions.inquiry import runtime
from actions.inquiry.store import DELIVERED, LeadStore, utc_now
from actions.privacy.retention import RetentionPolicy, session_expiry
from tests.conversations import DANA
from tests.form_events import file_traces
from tests.test_conversation_privacy import converse_with_store, midway, sqlite_store, store_files
from tests.test_lead_store import make_lead
from tests.test_retention import age, greeting, senders

SETTINGS = ("RETENTION_INTERVAL", "EXPIRY_SWEEP_INTERVAL", "CONVERSATION_RETENTION_DAYS", "LEAD_RETENTION_DAYS")


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The action server's environment on the test's files; the conversation store's path."""
    db = tmp_path / "conversations.sqlite3"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: channels.tracker_store.SQLTrackerStore\n  db: {db}\n")
    monkeypatch.setenv("ENDPOINTS_FILE", str(endpoints))
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    runtime.lead_store.cache_clear()
    yield db
    if runtime._retention is not None:
        runtime._retention.stop()
        runtime._retention.join()
        runtime._retention = None
    runtime.lead_store().dispose()
    runtime.lead_store.cache_clear()


def test_start_retention_runs_a_worker_on_the_configured_stores(configured):
    rasa = sqlite_store(configured)
    converse_with_store(rasa, "left", *midway(DANA))
    converse_with_store(rasa, "old-chat", greeting())
    rasa.engine.dispose()
    age(configured, "left", session_expiry() + timedelta(minutes=1))
    age(configured, "old-chat", timedelta(days=31))
    ancient = utc_now() - timedelta(days=400)
    handed_over = make_lead(1, delivery_status=DELIVERED, delivered_at=ancient)
    runtime.lead_store().save(handed_over)

    worker = runtime.start_retention()
    assert worker is runtime._retention and worker.is_alive() and worker.daemon
    worker.stop()
    worker.join()
    worker.run_once()  # a round, whether or not the thread's first one ran before the stop

    assert senders(configured) == {"left"}  # the old conversation is purged...
    assert file_traces(DANA, store_files(configured)) == []  # ...the expired form redacted
    assert runtime.lead_store().get(handed_over.id) is None
    assert (worker._purge_interval, worker._sweep_interval) == (3600.0, 300.0)  # the defaults


def test_start_retention_uses_the_configured_policy_and_intervals(configured, monkeypatch):
    monkeypatch.setenv("RETENTION_INTERVAL", "120")
    monkeypatch.setenv("EXPIRY_SWEEP_INTERVAL", "15.5")
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "2")
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "10")
    worker = runtime.start_retention()
    worker.stop()
    worker.join()
    assert (worker._purge_interval, worker._sweep_interval) == (120.0, 15.5)
    assert worker._policy == RetentionPolicy(conversation_days=2, lead_days=10)
    assert worker._expiry == session_expiry()


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("RETENTION_INTERVAL", "seconds"),
        ("EXPIRY_SWEEP_INTERVAL", "seconds"),
        ("CONVERSATION_RETENTION_DAYS", "days"),
        ("LEAD_RETENTION_DAYS", "days"),
    ],
)
def test_a_bad_retention_setting_stops_start_up_naming_it_and_its_unit(configured, monkeypatch, name, unit):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ValueError, match=rf"^{name} must be a positive number of {unit}, not '0'$"):
        runtime.start_retention()
    assert runtime._retention is None


def test_a_bad_delivery_interval_names_it_and_its_unit(monkeypatch):
    monkeypatch.setenv("LEADS_DELIVERY_INTERVAL", "soon")
    with pytest.raises(ValueError, match=r"^LEADS_DELIVERY_INTERVAL must be a positive number of seconds, not 'soon'$"):
        runtime.delivery_interval()


def test_a_lead_store_is_made_once_per_process(configured):
    assert runtime.lead_store() is runtime.lead_store()
    assert isinstance(runtime.lead_store(), LeadStore)
