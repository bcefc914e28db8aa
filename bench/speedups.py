"""`python -m bench --compare-speedups`: our Rasa server with its speedups on and off, side by side.

One action server and two Rasa servers started through the entry point (channels/server.py)
with RASA_SPEEDUPS=on and =off, on the model `make run` serves (models/admissions.tar.gz),
each with its own SQLite tracker store; then the same visitors' load in alternating rounds
(bench/rounds.py). By default at 1 and 10 visitors only, which keeps a run to a few minutes.
Writes bench/results/<timestamp>-speedups.json and .md, and latest-speedups.md.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import report, rounds, visitors
from bench.baseline import CACHE
from bench.rounds import Assistant
from tests.servers import MODEL, action_server, project_endpoints, rasa_process

LEVELS = (1, 10)
SWITCHES = ("on", "off")


def compare(
    turns: dict[int, int], seconds: float, results: Path, say: Callable[[str], None], latest: bool = True
) -> int:
    if not MODEL.exists():
        raise SystemExit(f"{MODEL} is missing: train first (make train)")
    CACHE.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="speedups-", dir=CACHE))
    timestamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        with contextlib.ExitStack() as stack:
            action_url = stack.enter_context(action_server(workdir))
            assistants = []
            for switch in SWITCHES:
                server_dir = workdir / switch
                server_dir.mkdir()
                endpoints = project_endpoints(action_url, server_dir / "conversations.sqlite3")
                _, webhook = stack.enter_context(
                    rasa_process(server_dir, endpoints, MODEL, env={"RASA_SPEEDUPS": switch})
                )
                assistants.append(Assistant(f"speedups {switch}", webhook, visitors.ADMISSIONS))
            say(f"two Rasa servers up on {MODEL.name}, speedups {' and '.join(SWITCHES)}")
            for assistant in assistants:
                rounds.warm_up(assistant)
            figures = rounds.measure(assistants, turns, seconds, say)
        on, off = (figures[assistant.name] for assistant in assistants)
        run = {
            **rounds.run_record(timestamp, turns, seconds),
            "model": MODEL.name,
            "speedups_on": {"levels": on},
            "speedups_off": {"levels": off},
            "ratios_on_to_off": report.level_ratios(on, off),
        }
        for note in report.write_speedups(run, results, latest):
            say(note)
        print()
        print(report.speedups_markdown(run))
        return 0 if all(level["errors"] == 0 for level in on + off) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
