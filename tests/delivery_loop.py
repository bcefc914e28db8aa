"""One delivery process for the contention tests: delivery rounds, in `--threads` threads, over a
shared lead store until no lead is pending, as each action server's worker runs them.

`python -m tests.delivery_loop --url DB --crm URL --start FILE [--threads N] [--lease S]
[--claimant NAME]`: it waits for FILE (so every process starts its rounds together), and
exits 0 when the queue is empty, 3 when it was not empty after `--deadline` seconds. Only
`deliver_pending`'s long-standing arguments are used unless `--lease`/`--claimant` are given,
so the same script measures delivery code from before claims existed.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from actions.inquiry.delivery import Webhook, deliver_pending
from actions.inquiry.store import LeadStore
from tests.crm import SECRET


def loop(store: LeadStore, webhook: Webhook, options: dict[str, Any], deadline: float, pause: float) -> bool:
    """Rounds until nothing is pending (True) or the deadline passes (False)."""
    with httpx.Client() as client:
        while store.pending(limit=1):
            if time.monotonic() > deadline:
                return False
            deliver_pending(store, webhook, client, **options)
            time.sleep(pause)  # a lead another process holds: its lease has to end first
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--crm", required=True)
    parser.add_argument("--start", required=True, type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lease", type=float)
    parser.add_argument("--claimant")
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--pause", type=float, default=0.1)
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.lease is not None:
        options["lease"] = timedelta(seconds=args.lease)
    if args.claimant:
        options["claimant"] = args.claimant
    store = LeadStore(args.url)
    store.ensure_schema()
    webhook = Webhook(args.crm, SECRET, timeout=10)
    print("ready", flush=True)
    started = time.monotonic()
    while not args.start.exists():
        if time.monotonic() - started > args.deadline:
            return 3
        time.sleep(0.01)
    deadline = time.monotonic() + args.deadline
    emptied: list[bool] = []
    threads = [
        threading.Thread(target=lambda: emptied.append(loop(store, webhook, options, deadline, args.pause)))
        for _ in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.dispose()
    return 0 if all(emptied) and len(emptied) == args.threads else 3


if __name__ == "__main__":
    sys.exit(main())
