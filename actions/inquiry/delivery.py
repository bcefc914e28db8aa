"""Hand saved leads to the admissions CRM, without one lead ever holding up another.

A delivery round walks the leads that are due (pending, `next_attempt_at` passed), oldest
first, once each, POSTing each once (webhook.py signs it). Every action server runs a round
over the same leads table, so each lead is first claimed (store.py `claim`): one process holds
it for a lease (LEADS_DELIVERY_LEASE) while it POSTs and records the outcome, and the others
pass it by. Without a crash each lead is POSTed once; a process killed mid-POST leaves its lead
claimed until the lease ends, then another process sends it again (at least once: the CRM
drops the repeat by its Idempotency-Key). What comes of the POST is written
to the store before the next lead: `delivered` on 2xx; `failed` when the CRM refuses the lead
for good (a 4xx other than 408/429) or it is too old to try again (schedule.py); otherwise it
stays `pending`, due again after its own backoff. So a CRM that refuses some leads, or a lead
that keeps failing, leaves the queue or waits its turn while newer leads go through, and a
CRM outage or a restart of this worker loses nothing.

The schedule lives in the store, not in an in-process retry loop (tenacity, used before):
a retry sleeping inside a round would hold every other lead up, and would be forgotten by a
restart.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx

from actions.inquiry.schedule import RetrySchedule
from actions.inquiry.store import Lead, LeadStore, utc_now
from actions.inquiry.webhook import WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV, Answer, Webhook, WebhookSettingError

__all__ = [
    "WEBHOOK_SECRET_ENV",
    "WEBHOOK_URL_ENV",
    "DeliveryWorker",
    "Round",
    "Webhook",
    "WebhookSettingError",
    "deliver_pending",
]
logger = logging.getLogger(__name__)
# How long a process holds a lead it is sending: far longer than a POST (webhook.py's timeout
# applies to connecting, sending and each read) and the outcome's write can take.
DEFAULT_LEASE = timedelta(minutes=5)


def process_claimant() -> str:
    """This process as a claim names it: host and process id (how an operator finds it)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def new_claim(claimant: str) -> str:
    """A token for one claim: the claimant and a random part, unique across every process."""
    return f"{claimant[:100]}:{uuid.uuid4().hex[:16]}"


@dataclass
class Round:
    """What one delivery round did: leads delivered, failed for good, and left pending."""

    delivered: int = 0
    failed: int = 0
    retrying: int = 0

    @property
    def tried(self) -> int:
        return self.delivered + self.failed + self.retrying


def deliver_pending(
    store: LeadStore,
    webhook: Webhook,
    client: httpx.Client | None = None,
    schedule: RetrySchedule | None = None,
    lease: timedelta = DEFAULT_LEASE,
    claimant: str | None = None,
) -> Round:
    """Try every lead due now once, oldest first, except those another process holds.

    Each lead is claimed for `lease` just before its POST, one at a time, so a lease never
    runs out while its lead waits behind others. `claimant` names this process in the claims
    (default: host and process id). The worker passes its own client, kept open across
    rounds; without one, a client lives for this round only.
    """
    if client is None:
        with httpx.Client() as own_client:
            return deliver_pending(store, webhook, own_client, schedule, lease, claimant)
    schedule = schedule or RetrySchedule()
    who = claimant or process_claimant()
    done = Round()
    now, last = utc_now(), None
    while True:
        claim = new_claim(who)
        lead = store.claim(now, claim, lease, after=last)
        if lead is None:
            return done
        _attempt(store, webhook, client, schedule, lead, done, claim)
        last = lead


def _attempt(
    store: LeadStore,
    webhook: Webhook,
    client: httpx.Client,
    schedule: RetrySchedule,
    lead: Lead,
    done: Round,
    claim: str,
) -> None:
    """POST one claimed lead and record what came of it, releasing the claim."""
    try:
        answer = webhook.send(client, lead)
    except Exception as error:  # e.g. a lead the payload cannot be built from: it must not stop the round
        # Its type only: an exception's text may quote the lead.
        answer = Answer("retry", f"could not be sent ({type(error).__name__})")
        logger.error("lead %s could not be sent: %s", lead.id, type(error).__name__)
    if answer.outcome == "delivered":
        store.mark_delivered(lead.id, claim)
        done.delivered += 1
        logger.info("lead %s delivered", lead.id)
        return
    reason = answer.reason or "not delivered"
    now = utc_now()
    next_attempt = None if answer.outcome == "refused" else schedule.next_attempt(lead, now, answer.retry_after)
    if next_attempt is None:
        if answer.outcome != "refused":
            reason = f"{schedule.gave_up(lead, now)} (last: {reason})"
        store.mark_failed(lead.id, reason, claim)
        done.failed += 1
        logger.warning("lead %s failed, not retried: %s", lead.id, reason)
        return
    store.schedule_retry(lead.id, reason, next_attempt, claim)
    done.retrying += 1
    logger.warning("lead %s not delivered yet (%s); next attempt %s", lead.id, reason, next_attempt.isoformat())


class DeliveryWorker(threading.Thread):
    """Background delivery in the action server: wakes on each new lead and every `interval`."""

    def __init__(
        self,
        store: LeadStore,
        webhook: Webhook,
        interval: float,
        schedule: RetrySchedule | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        super().__init__(name="lead-delivery", daemon=True)
        self._store, self._webhook, self._interval = store, webhook, interval
        self._schedule = schedule or RetrySchedule()
        self._lease = lease
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
                    deliver_pending(self._store, self._webhook, client, self._schedule, self._lease)
                except Exception:  # the worker must outlive a bad cycle; the lead stays pending
                    logger.exception("lead delivery cycle failed")
                self._wake.wait(self._interval)
                self._wake.clear()
