"""Erasure on request ("delete my data"): a person's leads and the conversations they came from.

The person is found by the email address or phone number they gave, normalised as the form
normalised it (so "(423) 555-0100" finds "+14235550100"). What is kept afterwards is proof
that the erasure was done, not who asked: a salted hash of the normalised identifier, the
time and the counts. The salt (ERASURE_SALT, or one generated once into runtime/) makes the
hash useless for guessing a phone number by trying them all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from actions.inquiry import validators
from actions.inquiry.store import RUNTIME_DIR, LeadStore
from actions.privacy.conversations import ConversationStore

SALT_ENV = "ERASURE_SALT"
SALT_FILE = RUNTIME_DIR / "erasure-salt"


@dataclass(frozen=True)
class Identifier:
    """What identifies the person: the lead column it is stored in, and its normalised value."""

    column: str  # "email" or "phone"
    value: str

    def __repr__(self) -> str:  # never show the identifier in logs or tracebacks
        return f"Identifier(column={self.column!r})"

    @classmethod
    def email(cls, text: str) -> Identifier:
        """Raises validators.Invalid when it is not an email address."""
        return cls("email", validators.email(text).lower())

    @classmethod
    def phone(cls, text: str) -> Identifier:
        """Any format phonenumbers parses; raises validators.Invalid otherwise."""
        return cls("phone", validators.phone(text))


@dataclass(frozen=True)
class Erasure:
    lead_ids: list[str]
    conversations: int  # conversations found and deleted

    @property
    def found(self) -> bool:
        return bool(self.lead_ids or self.conversations)


def salt(salt_file: Path = SALT_FILE) -> bytes:
    """ERASURE_SALT, else the salt generated into `salt_file` the first time (readable by its owner only)."""
    configured = os.environ.get(SALT_ENV)
    if configured:
        return configured.encode()
    salt_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return salt_file.read_bytes().strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    return salt_file.read_bytes().strip()


def identifier_hash(identifier: Identifier, salt_value: bytes) -> str:
    message = f"{identifier.column}:{identifier.value}".encode()
    return hmac.new(salt_value, message, hashlib.sha256).hexdigest()


def erase(
    identifier: Identifier,
    leads: LeadStore,
    conversations: ConversationStore | None,
    salt_value: bytes,
    now: datetime,
) -> Erasure:
    """Delete the person's leads and their conversations, and record the erasure.

    Conversations go first: if anything fails, the leads that lead to them are still there
    for the retried request. Erasing again finds nothing and records that too.
    """
    found = leads.matching(identifier.column, identifier.value)
    lead_ids = [lead.id for lead in found]
    linked = {lead.conversation_id for lead in found}
    existing = conversations.existing(linked) if conversations else []
    if conversations:
        conversations.delete(existing)
    leads.delete(lead_ids)
    leads.record_erasure(identifier_hash(identifier, salt_value), now, len(lead_ids), len(existing))
    return Erasure(lead_ids=lead_ids, conversations=len(existing))
