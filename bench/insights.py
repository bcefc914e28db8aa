"""Times the staff insights report over many synthetic conversations, and measures its memory.

    python -m bench.insights [--conversations 100000] [--url postgresql://...] [--fresh]

Makes the data once (bench/insights_data.py: SQLite in bench/results/tmp/ unless --url names
another store, e.g. PostgreSQL), then runs `python -m actions.insights` over the whole period
as staff would, in a child process: wall time from start to exit, and the child's peak resident
memory (its own rusage, from os.wait4, so the data generator does not count). Targets: under
60 s and under 1 GB for 100,000 conversations. The figures go to stdout and to
bench/results/latest-insights.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "bench" / "results" / "tmp"
RESULT = ROOT / "bench" / "results" / "latest-insights.md"
SINCE, DAYS = date(2026, 9, 1), 30
TARGET_SECONDS, TARGET_BYTES = 60, 1 << 30


def make_data(url: str, leads_url: str, conversations: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.insights_data",
            "--conversations",
            str(conversations),
            "--out",
            url,
            "--leads",
            leads_url,
            "--since",
            SINCE.isoformat(),
            "--days",
            str(DAYS),
        ],
        cwd=ROOT,
        check=True,
    )
    return time.monotonic() - started


def run_report(url: str, leads_url: str, out: Path) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak resident bytes, exit status) of one report run in a child process."""
    endpoints = out.parent / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: SQL\n  url: "{url}"\n')
    until = SINCE + timedelta(days=DAYS)  # the last conversations may run past midnight
    env = {**os.environ, "ENDPOINTS_FILE": str(endpoints), "LEADS_DATABASE_URL": leads_url}
    args = [sys.executable, "-m", "actions.insights", "--since", str(SINCE), "--until", str(until), "--out", str(out)]
    started = time.monotonic()
    child = subprocess.Popen(args, cwd=ROOT, env=env)
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss * 1024, child.returncode  # Linux: ru_maxrss in KiB


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__.splitlines()[0])
    p.add_argument("--conversations", type=int, default=100_000)
    p.add_argument("--url", help="the tracker store to fill and read (default: SQLite in bench/results/tmp/)")
    p.add_argument("--fresh", action="store_true", help="make the data again even if it is there")
    args = p.parse_args(argv)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    database = SCRATCH / f"insights-{args.conversations}.sqlite3"
    leads_file = SCRATCH / f"insights-{args.conversations}-leads.sqlite3"
    url, leads_url = args.url or f"sqlite:///{database}", f"sqlite:///{leads_file}"
    generated = None
    if args.fresh or args.url or not database.exists():
        for stale in (database, leads_file):
            stale.unlink(missing_ok=True)
        generated = make_data(url, leads_url, args.conversations)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as scratch:
        load_before = os.getloadavg()[0]
        seconds, cpu, peak, status = run_report(url, leads_url, Path(scratch) / "report")
    if status != 0:
        print(f"the report failed (exit {status})", file=sys.stderr)
        return 1
    backend = url.split(":", 1)[0]
    lines = [
        "# Insights report benchmark",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {backend} store.",
        "",
        f"- conversations: {args.conversations:,} over {DAYS} days"
        + (f" (generated in {generated:.1f} s)" if generated is not None else ""),
        f"- report time: {seconds:.1f} s wall (target under {TARGET_SECONDS} s), {cpu:.1f} s of CPU; "
        f"load average {load_before:.1f} on {os.cpu_count()} cores when it started",
        f"- peak memory of the report process: {peak / 2**20:.0f} MiB (target under {TARGET_BYTES / 2**30:.0f} GiB)",
    ]
    print("\n".join(lines))
    RESULT.write_text("\n".join(lines) + "\n")
    return 0 if seconds < TARGET_SECONDS and peak < TARGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
