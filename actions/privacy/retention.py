"""How long conversations and leads are kept, and the sweeps that enforce it (issue 9).

- A conversation idle longer than the session expiry (domain.yml) with a form left
  unfinished still holds what the visitor typed into it: the Rasa server redacts only when a
  form ends or a new session starts, and a visitor who never comes back starts none.
- A conversation whose last event is older than CONVERSATION_RETENTION_DAYS is deleted.
- A lead is deleted LEAD_RETENTION_DAYS after it was handed over (delivered to the CRM or
  exported), never before: until then it is the only copy.
Every function takes `now`, so tests set the clock; results are counts, never contact details.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from actions.inquiry.store import LeadStore, utc_now
from actions.privacy.conversations import ConversationStore

logger = logging.getLogger(__name__)

DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"
CONVERSATION_RETENTION_DAYS_ENV = "CONVERSATION_RETENTION_DAYS"
LEAD_RETENTION_DAYS_ENV = "LEAD_RETENTION_DAYS"
DEFAULT_CONVERSATION_RETENTION_DAYS = 30.0
DEFAULT_LEAD_RETENTION_DAYS = 365.0


def session_expiry(domain_file: Path = DOMAIN_FILE) -> timedelta:
    """The domain's session_config.session_expiration_time (minutes): the one setting of when
    Rasa considers a conversation over."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    minutes = (domain.get("session_config") or {}).get("session_expiration_time")
    if not isinstance(minutes, int | float) or minutes <= 0:
        raise ValueError(f"{domain_file.name}: session_config.session_expiration_time must be a positive number")
    return timedelta(minutes=minutes)


@dataclass(frozen=True)
class RetentionPolicy:
    conversation_days: float = DEFAULT_CONVERSATION_RETENTION_DAYS
    lead_days: float = DEFAULT_LEAD_RETENTION_DAYS


@dataclass(frozen=True)
class PurgeCounts:
    conversations: int
    leads: int

    def summary(self, dry_run: bool = False) -> str:
        verb = "would delete" if dry_run else "deleted"
        return f"{verb} {self.conversations} conversation(s) and {self.leads} lead(s)"


def purge(
    leads: LeadStore,
    conversations: ConversationStore | None,
    policy: RetentionPolicy,
    now: datetime,
    dry_run: bool = False,
) -> PurgeCounts:
    """Delete what the policy no longer keeps (with dry_run: only count it)."""
    old_conversations = (
        conversations.idle_since(now - timedelta(days=policy.conversation_days)) if conversations else []
    )
    old_leads = leads.handed_over_before(now - timedelta(days=policy.lead_days))
    if not dry_run:
        if conversations:
            conversations.delete(old_conversations)
        leads.delete(old_leads)
    return PurgeCounts(conversations=len(old_conversations), leads=len(old_leads))


def redact_expired(conversations: ConversationStore, expiry: timedelta, now: datetime) -> int:
    """Redact the conversations idle longer than the session expiry that still hold personal
    values (a form left unfinished); how many were redacted."""
    return conversations.redact(conversations.holding_personal_values(conversations.idle_since(now - expiry)))


class RetentionWorker(threading.Thread):
    """The action server's background enforcement: the expiry sweep every `sweep_interval`
    seconds, the retention purge every `purge_interval` seconds (both at start)."""

    def __init__(
        self,
        leads: LeadStore,
        conversations: ConversationStore | None,
        policy: RetentionPolicy,
        expiry: timedelta,
        purge_interval: float,
        sweep_interval: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(name="retention", daemon=True)
        self._leads, self._conversations, self._policy, self._expiry = leads, conversations, policy, expiry
        self._purge_interval, self._sweep_interval, self._clock = purge_interval, sweep_interval, clock
        self._stopping = threading.Event()
        self._next_purge: datetime | None = None

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(min(self._sweep_interval, self._purge_interval))

    def run_once(self) -> None:
        """One round: the sweep, and the purge when it is due. A failed round is logged by
        the error's type only (a database error's message may quote stored values)."""
        now = self._clock()
        try:
            if self._conversations is not None:
                redacted = redact_expired(self._conversations, self._expiry, now)
                if redacted:
                    logger.info("retention: redacted %d expired conversation(s) left with a form unfinished", redacted)
            if self._next_purge is None or now >= self._next_purge:
                counts = purge(self._leads, self._conversations, self._policy, now)
                self._next_purge = now + timedelta(seconds=self._purge_interval)
                logger.info("retention: %s", counts.summary())
        except Exception as error:  # the worker must outlive a bad round; the next one retries
            logger.error("retention round failed (%s)", type(error).__name__)
