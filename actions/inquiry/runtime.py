"""The action server's lead store and delivery worker, created once per process."""

from __future__ import annotations

import logging
import math
import os
from functools import lru_cache

from actions.inquiry.delivery import DeliveryWorker, Webhook
from actions.inquiry.store import LeadStore

logger = logging.getLogger(__name__)
_worker: DeliveryWorker | None = None
DELIVERY_INTERVAL_ENV = "LEADS_DELIVERY_INTERVAL"
DEFAULT_DELIVERY_INTERVAL = 30.0


@lru_cache(maxsize=1)
def lead_store() -> LeadStore:
    return LeadStore()


def delivery_interval() -> float:
    """Seconds between delivery rounds for leads the CRM has not taken yet."""
    raw = os.environ.get(DELIVERY_INTERVAL_ENV)
    if not raw:
        return DEFAULT_DELIVERY_INTERVAL
    try:
        interval = float(raw)
    except ValueError:
        interval = 0.0
    if not (math.isfinite(interval) and interval > 0):  # 0 would be a busy loop
        raise ValueError(f"{DELIVERY_INTERVAL_ENV} must be a positive number of seconds, not {raw!r}")
    return interval


def start_delivery() -> DeliveryWorker | None:
    """Start background delivery when a CRM webhook is configured; otherwise leads wait."""
    global _worker
    webhook = Webhook.from_env()
    if webhook is None:
        logger.info("LEADS_WEBHOOK_URL not set: leads are kept in the store for export")
        return None
    interval = delivery_interval()
    _worker = DeliveryWorker(lead_store(), webhook, interval)
    _worker.start()
    return _worker


def notify_delivery() -> None:
    if _worker is not None:
        _worker.notify()
