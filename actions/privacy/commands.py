"""`python -m actions.leads purge|erase`: retention and erasure as staff run them.

They print counts and lead ids only, never contact details; a database error is reported by
its type (its message may quote stored values) and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

import sqlalchemy as sa

from actions.inquiry import runtime
from actions.inquiry.store import LeadStore, StoreUnavailable, utc_now
from actions.privacy import erasure, retention
from actions.privacy.conversations import ConversationStore, endpoints_file


def run(args: argparse.Namespace, leads: LeadStore, out: TextIO) -> int:
    try:
        task = (
            _purge(runtime.retention_policy(), args.dry_run) if args.command == "purge" else _erase(_identifier(args))
        )
    except ValueError as error:  # a bad setting or identifier; neither message repeats what was typed
        print(error, file=sys.stderr)
        return 2
    conversations = ConversationStore.from_endpoints()
    if conversations is None:
        print(f"{endpoints_file()}: no SQL conversation store: only leads are handled", file=sys.stderr)
    try:
        out.write(task(leads, conversations))
    except (sa.exc.SQLAlchemyError, StoreUnavailable) as error:
        print(f"failed ({type(error).__name__}): run the command again", file=sys.stderr)
        return 1
    finally:
        if conversations is not None:
            conversations.dispose()
    return 0


Task = Callable[[LeadStore, ConversationStore | None], str]


def _purge(policy: retention.RetentionPolicy, dry_run: bool) -> Task:
    def purge(leads: LeadStore, conversations: ConversationStore | None) -> str:
        counts = retention.purge(leads, conversations, policy, utc_now(), dry_run=dry_run)
        return counts.summary(dry_run=dry_run) + "\n"

    return purge


def _erase(identifier: erasure.Identifier) -> Task:
    def erase(leads: LeadStore, conversations: ConversationStore | None) -> str:
        done = erasure.erase(identifier, leads, conversations, erasure.salt(), utc_now())
        if not done.found:
            return f"no lead or conversation found for this {identifier.column}; the request is recorded\n"
        lines = [f"deleted {len(done.lead_ids)} lead(s) and {done.conversations} conversation(s)"]
        lines += [f"  lead {lead_id}" for lead_id in done.lead_ids]
        return "\n".join(lines) + "\n"

    return erase


def _identifier(args: argparse.Namespace) -> erasure.Identifier:
    """Raises validators.Invalid (a ValueError) when it is not an email address or phone number."""
    return erasure.Identifier.email(args.email) if args.email else erasure.Identifier.phone(args.phone)
