"""`python -m bench` (`make bench`): our assistant against the `rasa init` baseline, side by side.

Both assistants are started on loopback (ours: action server + Rasa server with the SQLite
tracker store as `make run` configures them; the baseline: its own endpoints and
credentials), then for each concurrency level ours and the baseline get the same load shape
in alternating rounds (ours, baseline, ours, ...), so that load from other work on a shared
machine falls on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rasa

from bench import report, visitors
from bench.baseline import CACHE, baseline
from tests.servers import ROOT, VENV_BIN, action_server_process, project_endpoints, quiet_env, rasa_process

RESULTS = ROOT / "bench" / "results"
LEVELS = (1, 10, 50)
# Turns per level: enough for a p99 at each level, small enough to stay within minutes.
TURNS = {1: 120, 10: 400, 50: 800}
ROUNDS = 4


def peak_memory_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process and its descendants, in MB."""
    total = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += peak_memory_mb(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return round(total, 1)


def train_ours(workdir: Path) -> tuple:
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(VENV_BIN / "rasa"),
            "train",
            "--force",
            "--fixed-model-name",
            "admissions",
            "--out",
            str(workdir / "models"),
            "--quiet",
        ],
        cwd=ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa train failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return workdir / "models" / "admissions.tar.gz", time.perf_counter() - started


def seconds_to_answer(webhook: str, message: str, started: float) -> float:
    answered = visitors.first_answer(webhook, message, time.monotonic() + 120)
    if answered is None:
        raise RuntimeError(f"no answer to {message!r} from {webhook} within 2 minutes")
    return round(answered - started, 2)


def warm_up(webhook: str, scripts) -> None:
    """One pass over each script, not measured (first predictions build caches and graphs)."""
    asyncio.run(visitors.run_level(webhook, visitors.crowd(len(scripts), scripts), sum(len(s) for s in scripts), 120))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="concurrency levels, e.g. 1,10,50")
    parser.add_argument("--turns-scale", type=float, default=1.0, help="multiply the turns per level (quick runs: 0.2)")
    parser.add_argument(
        "--seconds", type=float, default=60, help="wall-clock cap per level and assistant (split over the rounds)"
    )
    parser.add_argument("--no-readme", action="store_true", help="do not update the table in README.md")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    turns = {level: max(level * ROUNDS, int(TURNS.get(level, 8 * level) * args.turns_scale)) for level in levels}
    say = lambda message: print(f"[bench] {message}", flush=True)  # noqa: E731

    CACHE.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    timestamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        base = baseline(say)
        say(
            f"baseline model {base.model.name} "
            f"({'cached, ' if base.cached else ''}trained in {base.training_seconds:.1f}s)"
        )
        say("training ours (rasa train --force)")
        model, training_seconds = train_ours(workdir)
        say(f"ours trained in {training_seconds:.1f}s")

        ours_dir, base_dir = workdir / "ours", workdir / "baseline"
        ours_dir.mkdir()
        base_dir.mkdir()
        with contextlib.ExitStack() as stack:
            started = time.monotonic()
            action_proc, action_url = stack.enter_context(action_server_process(ours_dir))
            rasa_started = time.monotonic()
            rasa_proc, webhook = stack.enter_context(
                rasa_process(ours_dir, project_endpoints(action_url, ours_dir / "conversations.sqlite3"), model)
            )
            cold = seconds_to_answer(webhook, "how long is medical billing and coding?", started)
            ours = {"cold_start_seconds": cold, "rasa_cold_start_seconds": round(cold - (rasa_started - started), 2)}

            base_started = time.monotonic()
            base_proc, base_webhook = stack.enter_context(
                rasa_process(
                    base_dir,
                    (base.project / "endpoints.yml").read_text(),
                    base.model,
                    credentials=base.project / "credentials.yml",
                )
            )
            theirs = {"cold_start_seconds": seconds_to_answer(base_webhook, "hello", base_started)}
            say(
                f"cold start: ours {ours['cold_start_seconds']}s "
                f"(Rasa server alone {ours['rasa_cold_start_seconds']}s), baseline {theirs['cold_start_seconds']}s"
            )

            warm_up(webhook, visitors.ADMISSIONS)
            warm_up(base_webhook, visitors.BASELINE)
            ours["levels"], theirs["levels"] = [], []
            assistants = (
                ("ours", webhook, visitors.ADMISSIONS, ours),
                ("baseline", base_webhook, visitors.BASELINE, theirs),
            )
            for level in levels:
                totals = {name: visitors.LevelResult(level) for name, *_ in assistants}
                crowds = {name: visitors.crowd(level, scripts) for name, _, scripts, _ in assistants}
                for _round in range(ROUNDS):
                    for name, url, _, _ in assistants:
                        totals[name].add(
                            asyncio.run(
                                visitors.run_level(url, crowds[name], turns[level] // ROUNDS, args.seconds / ROUNDS)
                            )
                        )
                for name, _, _, figures in assistants:
                    shown = report.level_figures(totals[name])
                    figures["levels"].append(shown)
                    say(
                        f"{name:8} {level:3} visitors: p50 {shown['p50_ms']} ms, p95 {shown['p95_ms']} ms, "
                        f"p99 {shown['p99_ms']} ms, "
                        f"{shown['turns_per_second']} turns/s, {shown['errors']} errors in {shown['turns']} turns"
                    )
                    for failure in shown["first_failures"]:
                        say(f"  failure: {failure}")
            ours["peak_memory_mb"] = {"rasa": peak_memory_mb(rasa_proc.pid), "actions": peak_memory_mb(action_proc.pid)}
            theirs["peak_memory_mb"] = {"rasa": peak_memory_mb(base_proc.pid)}
        ours["training_seconds"] = round(training_seconds, 1)
        theirs.update(
            training_seconds=round(base.training_seconds, 1), training_cached=base.cached, trained_at=base.trained_at
        )

        run = {
            "timestamp": timestamp,
            "rasa_version": rasa.__version__,
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "load": {
                "levels": levels,
                "turns_per_level": turns,
                "seconds_cap_per_level": args.seconds,
                "alternating_rounds": ROUNDS,
                "closed_loop": True,
            },
            "ours": ours,
            "baseline": theirs,
        }
        run["ratios"] = report.ratios(ours, theirs)
        run["targets"] = report.targets(ours, run["ratios"])
        for note in report.write(run, RESULTS, None if args.no_readme else ROOT / "README.md"):
            say(note)
        print()
        print(report.markdown(run))
        if not all(run["targets"].values()):
            shutil.copytree(workdir / "ours", CACHE / f"logs-{timestamp}", ignore=shutil.ignore_patterns("*.sqlite3*"))
            say(f"targets not met: our servers' logs are in {CACHE / ('logs-' + timestamp)}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
