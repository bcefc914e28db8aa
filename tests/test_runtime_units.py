"""The action server's settings at their edges, fast: the longest durations accepted, what a
refusal tells the operator, the retry schedule the delivery worker really uses, and an
address limit of one lead an hour. tests/test_delivery.py and tests/test_abuse_delivery.py
cover the ordinary values and the refusals."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from actions.inquiry import intake, runtime
from actions.inquiry.store import PENDING, LeadStore, utc_now
from actions.rate_limits import RateLimit
from tests.conftest import wait_for
from tests.crm import SECRET, FakeCRM
from tests.test_delivery import action_server_env, started_delivery  # noqa: F401 (fixture)
from tests.test_lead_store import make_lead

DURATIONS = [
    (runtime.DELIVERY_BACKOFF_ENV, "seconds"),
    (runtime.DELIVERY_MAX_BACKOFF_ENV, "seconds"),
    (runtime.DELIVERY_MAX_AGE_ENV, "days"),
]


@pytest.mark.parametrize("setting, unit", DURATIONS)
def test_a_refused_duration_names_its_setting_and_its_unit(monkeypatch, setting, unit):
    monkeypatch.setenv(setting, "0")
    with pytest.raises(ValueError) as refused:
        runtime.retry_schedule()
    assert str(refused.value) == f"{setting} must be a positive number of {unit}, not '0'"


@pytest.mark.parametrize("setting, unit", DURATIONS)
def test_ten_years_is_the_longest_duration_accepted(monkeypatch, setting, unit):
    ten_years = runtime.MAX_DURATION / timedelta(**{unit: 1})
    monkeypatch.setenv(setting, f"{ten_years:.0f}")
    assert runtime.duration_setting(setting, timedelta(seconds=1), unit) == runtime.MAX_DURATION
    monkeypatch.setenv(setting, f"{ten_years + 1:.0f}")
    with pytest.raises(ValueError) as refused:
        runtime.duration_setting(setting, timedelta(seconds=1), unit)
    assert str(refused.value) == f"{setting} must be at most 3650 days, not '{ten_years + 1:.0f}' {unit}"


def test_the_worker_waits_the_configured_backoff_after_a_failed_attempt(action_server_env, monkeypatch):  # noqa: F811
    """LEAD_DELIVERY_BACKOFF reaches the worker the action server starts, not only the settings."""
    lead = make_lead(1)
    action_server_env.save(lead)
    with FakeCRM(SECRET, fail_first=1_000) as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv(runtime.DELIVERY_INTERVAL_ENV, "600")
        monkeypatch.setenv(runtime.DELIVERY_BACKOFF_ENV, "7777")
        monkeypatch.setenv(runtime.DELIVERY_MAX_BACKOFF_ENV, "9999")  # the default caps a wait at an hour
        before = utc_now()
        with started_delivery():
            assert wait_for(lambda: action_server_env.get(lead.id).delivery_attempts == 1, 10)
        after = utc_now()
    retried = action_server_env.get(lead.id)
    assert retried.delivery_status == PENDING
    assert before + timedelta(seconds=7777) <= retried.next_attempt_at <= after + timedelta(seconds=7777)


def test_without_a_webhook_the_log_says_leads_wait_for_export(action_server_env, monkeypatch, caplog):  # noqa: F811
    monkeypatch.delenv("LEADS_WEBHOOK_URL", raising=False)
    caplog.set_level(logging.INFO, logger="actions.inquiry.runtime")
    assert runtime.start_delivery() is None
    assert caplog.messages == ["LEADS_WEBHOOK_URL not set: leads are kept in the store for export"]


def test_a_limit_of_one_lead_an_hour_takes_one_and_refuses_the_next(tmp_path, monkeypatch):
    monkeypatch.setenv(intake.PER_ADDRESS_ENV, "1")
    limit = intake.address_limit()
    assert isinstance(limit, RateLimit) and limit.item.amount == 1
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    try:
        assert intake.take(store, make_lead(1), "client:c0ffee", limit) is intake.Outcome.SAVED
        assert intake.take(store, make_lead(2), "client:c0ffee", limit) is intake.Outcome.LIMITED
        assert len(list(store.all())) == 1
    finally:
        store.dispose()
