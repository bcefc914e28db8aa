"""The action server's lead store and delivery worker, created once per process."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Optional

from actions.inquiry.delivery import DeliveryWorker, Webhook
from actions.inquiry.store import LeadStore

logger = logging.getLogger(__name__)
_worker: Optional[DeliveryWorker] = None


@lru_cache(maxsize=1)
def lead_store() -> LeadStore:
    return LeadStore()


def start_delivery(interval: float = 30.0) -> Optional[DeliveryWorker]:
    """Start background delivery when a CRM webhook is configured; otherwise leads wait."""
    global _worker
    webhook = Webhook.from_env()
    if webhook is None:
        logger.info("LEADS_WEBHOOK_URL not set: leads are kept in the store for export")
        return None
    _worker = DeliveryWorker(lead_store(), webhook, interval)
    _worker.start()
    return _worker


def notify_delivery() -> None:
    if _worker is not None:
        _worker.notify()
