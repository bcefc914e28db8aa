"""The action server's lead store and delivery worker, created once per process."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from functools import lru_cache

from actions.inquiry.delivery import DEFAULT_LEASE, DeliveryWorker, Webhook
from actions.inquiry.schedule import DEFAULT_FIRST_DELAY, DEFAULT_MAX_AGE, DEFAULT_MAX_DELAY, RetrySchedule
from actions.inquiry.store import LeadStore
from actions.privacy.conversations import ConversationStore
from actions.privacy.retention import (
    CONVERSATION_RETENTION_DAYS_ENV,
    DEFAULT_CONVERSATION_RETENTION_DAYS,
    DEFAULT_LEAD_RETENTION_DAYS,
    LEAD_RETENTION_DAYS_ENV,
    RetentionPolicy,
    RetentionWorker,
    session_expiry,
)

logger = logging.getLogger(__name__)
_worker: DeliveryWorker | None = None
_retention: RetentionWorker | None = None
DELIVERY_INTERVAL_ENV = "LEADS_DELIVERY_INTERVAL"
DEFAULT_DELIVERY_INTERVAL = 30.0
DELIVERY_BACKOFF_ENV = "LEAD_DELIVERY_BACKOFF"  # seconds before a failed lead's second attempt
DELIVERY_MAX_BACKOFF_ENV = "LEAD_DELIVERY_MAX_BACKOFF"  # the longest wait between two attempts
DELIVERY_MAX_AGE_ENV = "LEAD_DELIVERY_MAX_AGE"  # days after which an undelivered lead is given up on
MAX_DURATION = timedelta(days=3650)
DELIVERY_LEASE_ENV = "LEADS_DELIVERY_LEASE"  # seconds a process holds a lead it is sending
# A lease must outlast a POST: connecting, sending and reading may each take the webhook's timeout.
LEASE_TIMEOUTS = 3
RETENTION_INTERVAL_ENV = "RETENTION_INTERVAL"  # seconds between retention purges
DEFAULT_RETENTION_INTERVAL = 3600.0
EXPIRY_SWEEP_INTERVAL_ENV = "EXPIRY_SWEEP_INTERVAL"  # seconds between expired-session sweeps
DEFAULT_EXPIRY_SWEEP_INTERVAL = 300.0


@lru_cache(maxsize=1)
def lead_store() -> LeadStore:
    return LeadStore()


def positive_setting(name: str, default: float, unit: str) -> float:
    """A positive number from the environment; ValueError (the server does not start) otherwise."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of {unit}, not {raw!r}")
    return value


def delivery_interval() -> float:
    """Seconds between delivery rounds for leads the CRM has not taken yet."""
    return positive_setting(DELIVERY_INTERVAL_ENV, DEFAULT_DELIVERY_INTERVAL, "seconds")


def duration_setting(name: str, default: timedelta, unit: str) -> timedelta:
    """A positive duration in `unit` ("seconds" or "days") of at most ten years (a later date
    would not fit a datetime); ValueError (the server does not start) otherwise."""
    value = positive_setting(name, default / timedelta(**{unit: 1}), unit)
    if value > MAX_DURATION / timedelta(**{unit: 1}):
        raise ValueError(f"{name} must be at most {MAX_DURATION.days} days, not {os.environ[name]!r} {unit}")
    return timedelta(**{unit: value})


def retry_schedule() -> RetrySchedule:
    """LEAD_DELIVERY_BACKOFF, LEAD_DELIVERY_MAX_BACKOFF and LEAD_DELIVERY_MAX_AGE, or their defaults."""
    return RetrySchedule(
        first_delay=duration_setting(DELIVERY_BACKOFF_ENV, DEFAULT_FIRST_DELAY, "seconds"),
        max_delay=duration_setting(DELIVERY_MAX_BACKOFF_ENV, DEFAULT_MAX_DELAY, "seconds"),
        max_age=duration_setting(DELIVERY_MAX_AGE_ENV, DEFAULT_MAX_AGE, "days"),
    )


def delivery_lease(webhook_timeout: float) -> timedelta:
    """LEADS_DELIVERY_LEASE, or its default; ValueError when it is shorter than a POST may take
    (another process would send the lead again while the first is still sending it)."""
    lease = duration_setting(DELIVERY_LEASE_ENV, DEFAULT_LEASE, "seconds")
    shortest = timedelta(seconds=LEASE_TIMEOUTS * webhook_timeout)
    if lease < shortest:
        raise ValueError(
            f"{DELIVERY_LEASE_ENV} must be at least {shortest.total_seconds():g} seconds"
            f" ({LEASE_TIMEOUTS} times the CRM webhook's {webhook_timeout:g}-second timeout),"
            f" not {os.environ[DELIVERY_LEASE_ENV]!r}"
        )
    return lease


def retention_policy() -> RetentionPolicy:
    """CONVERSATION_RETENTION_DAYS and LEAD_RETENTION_DAYS, or their defaults."""
    return RetentionPolicy(
        conversation_days=positive_setting(
            CONVERSATION_RETENTION_DAYS_ENV, DEFAULT_CONVERSATION_RETENTION_DAYS, "days"
        ),
        lead_days=positive_setting(LEAD_RETENTION_DAYS_ENV, DEFAULT_LEAD_RETENTION_DAYS, "days"),
    )


def start_retention() -> RetentionWorker:
    """Start the background expiry sweep and retention purge; ValueError on a bad setting."""
    global _retention
    policy = retention_policy()
    _retention = RetentionWorker(
        lead_store(),
        ConversationStore.from_endpoints(),
        policy,
        session_expiry(),
        purge_interval=positive_setting(RETENTION_INTERVAL_ENV, DEFAULT_RETENTION_INTERVAL, "seconds"),
        sweep_interval=positive_setting(EXPIRY_SWEEP_INTERVAL_ENV, DEFAULT_EXPIRY_SWEEP_INTERVAL, "seconds"),
    )
    _retention.start()
    return _retention


def start_delivery() -> DeliveryWorker | None:
    """Start background delivery when a CRM webhook is configured; otherwise leads wait.

    ValueError (the server does not start) for an unusable webhook address or secret, or a
    bad delivery setting.
    """
    global _worker
    webhook = Webhook.from_env()
    if webhook is None:
        logger.info("LEADS_WEBHOOK_URL not set: leads are kept in the store for export")
        return None
    interval, schedule, lease = delivery_interval(), retry_schedule(), delivery_lease(webhook.timeout)
    _worker = DeliveryWorker(lead_store(), webhook, interval, schedule, lease)
    _worker.start()
    return _worker


def notify_delivery() -> None:
    if _worker is not None:
        _worker.notify()
