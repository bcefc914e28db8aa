"""How a checked lead enters the store: once per submission, once per person a day, a few per address an hour.

- A retried submit (same lead id) stores nothing new.
- The same email or phone (as the validators normalise them) within REPEAT_WINDOW of an
  earlier lead updates that lead instead of adding a second one; the CRM gets it again.
- Each address may write LEADS_PER_ADDRESS_PER_HOUR leads (new or updated) an hour. The
  address is the pseudonymous `client` the REST channel adds to a message's metadata;
  without it (`rasa shell`), the conversation. A lead refused for any reason, or a retried
  submit, is not counted.
"""

from __future__ import annotations

import enum
import os
from datetime import timedelta
from typing import Any

import limits
from rasa_sdk import Tracker

from actions.inquiry.store import Lead, LeadStore, utc_now
from actions.rate_limits import RateLimit

REPEAT_WINDOW = timedelta(hours=24)
PER_ADDRESS_ENV = "LEADS_PER_ADDRESS_PER_HOUR"
DEFAULT_PER_ADDRESS = 5
CLIENT_METADATA_KEY = "client"


class Outcome(enum.Enum):
    SAVED = "saved"  # a new lead, or this submission saved before
    UPDATED = "updated"  # the person's earlier lead, with these answers
    LIMITED = "limited"  # too many from this address: nothing stored


def address_limit() -> RateLimit:
    """LEADS_PER_ADDRESS_PER_HOUR (a whole number, at least 1) as a rate limit; ValueError otherwise."""
    raw = os.environ.get(PER_ADDRESS_ENV, "") or str(DEFAULT_PER_ADDRESS)
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{PER_ADDRESS_ENV} must be a whole number of leads, at least 1, not {raw!r}")
    return RateLimit("leads per address", limits.RateLimitItemPerHour(count))


def address(tracker: Tracker) -> str:
    """Whom the limit counts: the client address the channel recorded, else the conversation."""
    metadata: Any = (tracker.latest_message or {}).get("metadata")
    client = metadata.get(CLIENT_METADATA_KEY) if isinstance(metadata, dict) else None
    if isinstance(client, str) and client:
        return f"client:{client}"
    return f"conversation:{tracker.sender_id}"


def take(store: LeadStore, lead: Lead, address: str, limit: RateLimit) -> Outcome:
    """Store the lead as new, as an update of the person's earlier one, or not at all (the limit).

    StoreUnavailable when the store cannot be read or written: nothing was stored then.
    """
    if store.get(lead.id) is not None:
        return Outcome.SAVED  # a retried call: stored already, not counted again
    earlier = store.latest_repeat(lead, since=utc_now() - REPEAT_WINDOW)
    if limit.hit(address) is not None:
        return Outcome.LIMITED
    if earlier is not None and store.replace(earlier.id, lead):
        lead.id = earlier.id
        return Outcome.UPDATED
    store.save(lead)
    return Outcome.SAVED
