"""Staff command line for leads: `python -m actions.leads export|list|retry|new-secret|purge|erase`.

Reads LEADS_DATABASE_URL like the action server (default: runtime/leads.sqlite3); retry without
a lead id delivers to LEADS_WEBHOOK_URL, signed with LEADS_WEBHOOK_SECRET; purge and erase read
the conversation store of the endpoints file (ENDPOINTS_FILE, default endpoints.yml) like the
Rasa server.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from actions.inquiry import fields
from actions.inquiry.delivery import Webhook, deliver_pending
from actions.inquiry.store import FAILED, PENDING, STATUSES, Lead, LeadStore, json_value, utc_now
from actions.inquiry.webhook import new_secret

# The export's own columns: the lead's bookkeeping around the answers the fields declare as
# exported (fields.py), so the table, the CRM payload and the export can change apart.
EXPORT_COLUMNS = [
    "id",
    "created_at",
    "conversation_id",
    *(column.name for column in fields.columns() if column.exported),
    "page_url",
    "questions",
    "delivery_status",
    "delivery_attempts",
    "delivered_at",
    "last_error",
    "next_attempt_at",
]
# What a spreadsheet reads as the start of a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _since(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def export_row(lead: Lead) -> dict[str, Any]:
    """The lead's export columns, as JSON values (times in ISO 8601)."""
    values = lead.values()
    return {name: json_value(values[name]) for name in EXPORT_COLUMNS}


def spreadsheet_safe(value: Any) -> Any:
    """A spreadsheet must not run what a visitor typed as a formula: such text gets a leading '."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def export(leads: list[Lead], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for lead in leads:
            out.write(json.dumps(export_row(lead), ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for lead in leads:
        row = {**export_row(lead), "questions": " | ".join(lead.questions)}
        writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()})


def delivery_note(lead: Lead) -> str:
    """Where the lead is in its delivery: when it arrived, why it failed, when it is tried next."""
    if lead.delivery_status == FAILED:
        return lead.last_error or "failed"
    if lead.delivery_status == PENDING:
        if not lead.delivery_attempts:
            return "not tried yet"
        when = f"{lead.next_attempt_at:%Y-%m-%d %H:%M}" if lead.next_attempt_at else "now"
        return f"{lead.last_error}; next attempt {when}"
    return f"delivered {lead.delivered_at:%Y-%m-%d %H:%M}" if lead.delivered_at else "delivered"


def table(leads: list[Lead], out: TextIO) -> None:
    rows = [("created (UTC)", "id", "name", "program", "contact", "status", "note")]
    rows += [
        (
            lead.created_at.strftime("%Y-%m-%d %H:%M"),
            lead.id[:8],
            lead.answers["name"],
            lead.answers["program_id"],
            lead.answers["contact_method"],
            lead.delivery_status,
            delivery_note(lead),
        )
        for lead in leads
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() + "\n")
    out.write(f"{len(leads)} lead(s)\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.leads", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    export_cmd = commands.add_parser("export", help="write leads to standard output")
    export_cmd.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export_cmd.add_argument("--since", type=_since, help="only leads created on or after this date (YYYY-MM-DD)")
    list_cmd = commands.add_parser("list", help="a readable table of leads")
    list_cmd.add_argument("--since", type=_since)
    list_cmd.add_argument("--status", choices=STATUSES, help="only leads in this delivery state")
    retry_cmd = commands.add_parser(
        "retry", help="deliver pending leads to LEADS_WEBHOOK_URL now; with an id, re-queue that lead"
    )
    retry_cmd.add_argument("lead_id", nargs="?", help="a lead's id, or its start as `list` shows it")
    commands.add_parser("new-secret", help="print a new LEADS_WEBHOOK_SECRET (give the CRM the same value)")
    purge_cmd = commands.add_parser("purge", help="delete conversations and leads older than their retention")
    purge_cmd.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    erase_cmd = commands.add_parser("erase", help="delete a person's leads and their conversations")
    who = erase_cmd.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--phone", help="in any format; without a country code a US number")
    args = parser.parse_args(argv)

    store = LeadStore()
    if args.command in ("purge", "erase"):
        from actions.privacy import commands as privacy_commands  # only these need the conversation store

        return privacy_commands.run(args, store, sys.stdout)
    if args.command == "export":
        exported = list(store.all(args.since))
        export(exported, args.format, sys.stdout)
        store.mark_exported((lead.id for lead in exported), utc_now())
    elif args.command == "list":
        table([lead for lead in store.all(args.since) if args.status in (None, lead.delivery_status)], sys.stdout)
    elif args.command == "new-secret":
        print(new_secret())
    elif args.lead_id:
        return requeue(store, args.lead_id, sys.stdout, sys.stderr)
    else:
        return deliver_now(store, sys.stdout, sys.stderr)
    return 0


def requeue(store: LeadStore, given: str, out: TextIO, err: TextIO) -> int:
    """`retry ID`: make one failed or pending lead due now; 1 when no lead, or several, match."""
    ids = store.ids_starting_with(given)
    if len(ids) != 1:
        problem = "no lead has an id starting with" if not ids else "more than one lead has an id starting with"
        print(f"{problem} {given!r}: give the id as `python -m actions.leads list` shows it", file=err)
        return 1
    lead = store.get(ids[0])
    if lead is None or not store.requeue(lead.id, utc_now()):
        print(f"lead {ids[0]} was already delivered: nothing to retry", file=err)
        return 1
    was = f"{lead.delivery_status}: {lead.last_error}" if lead.last_error else lead.delivery_status
    print(
        f"lead {lead.id} re-queued (was {was}); it is sent in the action server's next delivery round,"
        " or now by `python -m actions.leads retry`",
        file=out,
    )
    return 0


def deliver_now(store: LeadStore, out: TextIO, err: TextIO) -> int:
    """`retry`: every pending lead tried now, whatever its schedule; 1 unless all were delivered."""
    from actions.inquiry import runtime  # its settings only; its workers are not started

    try:
        webhook = Webhook.from_env()
        schedule = runtime.retry_schedule()
        lease = runtime.delivery_lease(webhook.timeout) if webhook else None
    except ValueError as error:
        print(f"Cannot deliver: {error}", file=err)
        return 2
    if webhook is None or lease is None:
        print("LEADS_WEBHOOK_URL is not set: nothing to deliver to.", file=err)
        return 2
    pending = store.make_pending_due(utc_now())
    # A lead an action server is sending right now is left to it (its claim).
    done = deliver_pending(store, webhook, schedule=schedule, lease=lease)
    summary = f"delivered {done.delivered} of {pending} pending lead(s)"
    if done.failed:
        summary += f"; {done.failed} failed (see `python -m actions.leads list --status failed`)"
    if done.retrying:
        summary += f"; {done.retrying} still pending, retried later"
    print(summary, file=out)
    return 0 if done.delivered == pending else 1


if __name__ == "__main__":
    sys.exit(main())
