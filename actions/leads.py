"""Staff command line for leads: `python -m actions.leads export|list|retry|purge|erase`.

Reads LEADS_DATABASE_URL like the action server (default: runtime/leads.sqlite3), and for
purge and erase the conversation store of the endpoints file (ENDPOINTS_FILE, default
endpoints.yml) like the Rasa server.
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
from actions.inquiry.store import Lead, LeadStore, json_value, utc_now

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


def table(leads: list[Lead], out: TextIO) -> None:
    rows = [("created (UTC)", "id", "name", "program", "contact", "status")]
    rows += [
        (
            lead.created_at.strftime("%Y-%m-%d %H:%M"),
            lead.id[:8],
            lead.answers["name"],
            lead.answers["program_id"],
            lead.answers["contact_method"],
            lead.delivery_status,
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
    commands.add_parser("retry", help="deliver pending leads to LEADS_WEBHOOK_URL now")
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
        table(list(store.all(args.since)), sys.stdout)
    else:
        webhook = Webhook.from_env()
        if webhook is None:
            print("LEADS_WEBHOOK_URL is not set: nothing to deliver to.", file=sys.stderr)
            return 2
        pending = len(store.pending(limit=100000))
        delivered = deliver_pending(store, webhook)
        print(f"delivered {delivered} of {pending} pending lead(s)")
        return 0 if delivered == pending else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
