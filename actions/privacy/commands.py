"""`python -m actions.leads purge|erase`: retention and erasure as staff run them.

They print counts and lead ids only, never contact details; a database error is reported by
its type (its message may quote stored values) and exits 1.
"""

from __future__ import annotations

import argparse
from typing import TextIO

import sqlalchemy as sa

from actions.inquiry import runtime, validators
from actions.inquiry.store import LeadStore, StoreUnavailable, utc_now
from actions.privacy import erasure, retention
from actions.privacy.conversations import ConversationStore, endpoints_file


def run(args: argparse.Namespace, leads: LeadStore, out: TextIO) -> int:
    try:
        policy = runtime.retention_policy() if args.command == "purge" else None
        identifier = None if args.command == "purge" else _identifier(args)
    except (ValueError, validators.Invalid) as error:
        out.write(f"{error}\n")
        return 2
    conversations = ConversationStore.from_endpoints()
    if conversations is None:
        out.write(f"{endpoints_file()}: conversations are not kept in an SQL store; only leads are handled\n")
    try:
        if policy is not None:
            counts = retention.purge(leads, conversations, policy, utc_now(), dry_run=args.dry_run)
            out.write(counts.summary(dry_run=args.dry_run) + "\n")
            return 0
        assert identifier is not None
        done = erasure.erase(identifier, leads, conversations, erasure.salt(), utc_now())
    except (sa.exc.SQLAlchemyError, StoreUnavailable) as error:
        out.write(f"failed ({type(error).__name__}): run the command again\n")
        return 1
    finally:
        if conversations is not None:
            conversations.dispose()
    if not done.found:
        out.write(f"no lead or conversation found for this {identifier.column}; the request is recorded\n")
        return 0
    out.write(f"deleted {len(done.lead_ids)} lead(s) and {done.conversations} conversation(s)\n")
    for lead_id in done.lead_ids:
        out.write(f"  lead {lead_id}\n")
    return 0


def _identifier(args: argparse.Namespace) -> erasure.Identifier:
    return erasure.Identifier.email(args.email) if args.email else erasure.Identifier.phone(args.phone)
