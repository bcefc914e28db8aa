"""Hand saved leads to the admissions CRM over a signed webhook.

Every lead is POSTed as its versioned payload (payload.py) with `X-Signature:
sha256=<HMAC of the body>` and an `Idempotency-Key` (the lead id) that is the same on every
retry, so the CRM can drop repeats. A lead stays `pending` in the store until the CRM
answers 2xx: a CRM outage or a restart of this worker loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass, field

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from actions.inquiry.payload import build_payload
from actions.inquiry.store import Lead, LeadStore

logger = logging.getLogger(__name__)

WEBHOOK_URL_ENV = "LEADS_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "LEADS_WEBHOOK_SECRET"


class DeliveryFailed(RuntimeError):
    pass


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Webhook:
    url: str
    secret: str = field(repr=False)  # a credential: never in logs or tracebacks
    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 0.5

    @classmethod
    def from_env(cls) -> Webhook | None:
        url = os.environ.get(WEBHOOK_URL_ENV)
        return cls(url, os.environ.get(WEBHOOK_SECRET_ENV, "")) if url else None

    def send(self, client: httpx.Client, lead: Lead) -> None:
        body = json.dumps(build_payload(lead), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": lead.id,
            "X-Signature": sign(body, self.secret),
        }

        @retry(
            retry=retry_if_exception_type((httpx.TransportError, DeliveryFailed)),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=30),
            reraise=True,
        )
        def post() -> None:
            response = client.post(self.url, content=body, headers=headers, timeout=self.timeout)
            if response.status_code >= 300:
                raise DeliveryFailed(f"CRM answered HTTP {response.status_code}")

        post()


def deliver_pending(store: LeadStore, webhook: Webhook, client: httpx.Client | None = None) -> int:
    """Try every pending lead once (with the webhook's retries); returns how many arrived.

    The worker passes its own client, kept open across rounds; without one, a client lives
    for this round only.
    """
    if client is None:
        with httpx.Client() as own_client:
            return deliver_pending(store, webhook, own_client)
    delivered = 0
    for lead in store.pending():
        try:
            webhook.send(client, lead)
        except (httpx.TransportError, DeliveryFailed) as error:  # reraised after the last try
            reason = type(error).__name__ if isinstance(error, httpx.TransportError) else str(error)
            store.record_failure(lead.id, reason)
            logger.warning("lead %s not delivered yet: %s", lead.id, reason)
            continue
        store.mark_delivered(lead.id)
        delivered += 1
        logger.info("lead %s delivered", lead.id)
    return delivered


class DeliveryWorker(threading.Thread):
    """Background delivery in the action server: wakes on each new lead and every `interval`."""

    def __init__(self, store: LeadStore, webhook: Webhook, interval: float) -> None:
        super().__init__(name="lead-delivery", daemon=True)
        self._store, self._webhook, self._interval = store, webhook, interval
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        with httpx.Client() as client:
            while not self._stopping.is_set():
                try:
                    deliver_pending(self._store, self._webhook, client)
                except Exception:  # the worker must outlive a bad cycle; the lead stays pending
                    logger.exception("lead delivery cycle failed")
                self._wake.wait(self._interval)
                self._wake.clear()
