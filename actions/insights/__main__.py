"""`python -m actions.insights --since 2026-09-01 [--until 2026-09-30] --out DIR` (`make insights`).

Every problem (a bad date or setting, a store that cannot be reached or holds nothing for the
period) is one line on stderr and exit status 2, with nothing written to DIR.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from actions.insights import leads, names, output, report, settings, source
from actions.knowledge import KnowledgeError, load_knowledge


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m actions.insights", description=__doc__.splitlines()[0])
    p.add_argument("--since", required=True, help="first day of the report, YYYY-MM-DD (in TIMEZONE)")
    p.add_argument("--until", help="last day of the report, YYYY-MM-DD (default: today)")
    p.add_argument("--out", required=True, type=Path, help="folder for index.html, its charts and CSV files")
    return p


def run(args: argparse.Namespace) -> list[Path]:
    """The report written to args.out; raises the errors main() shows as one line."""
    zone = settings.time_zone()
    hours = settings.office_hours()
    period = settings.period(args.since, args.until, zone)
    if args.out.exists() and not args.out.is_dir():
        raise settings.SettingError(f"--out {args.out} is a file, not a folder")
    try:
        program_names = names.programs(load_knowledge())
    except KnowledgeError:
        program_names = {}  # programs are then shown by id: the report still serves
    statuses = leads.lead_statuses(leads.configured_url(), period.start)
    conversations = source.ConversationSource(source.configured_store_url())
    try:
        conversations.check()
        made = report.build(
            period, hours, conversations.conversations(period.start, period.end), statuses, program_names
        )
    finally:
        conversations.dispose()
    return output.write_report(made, args.out)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        written = run(args)
    except (settings.SettingError, source.SourceError, report.NoConversations, OSError) as error:
        print(f"insights: {error}", file=sys.stderr)
        return 2
    print(f"insights: wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
