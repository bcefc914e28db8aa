"""`python -m bench` (`make bench`): our assistant against the `rasa init` baseline, side by side.

Both assistants are started on loopback (ours: action server + Rasa server with the SQLite
tracker store as `make run` configures them; the baseline: its own endpoints and
credentials, and plain Rasa: RASA_SPEEDUPS=off), then for each concurrency level ours and
the baseline get the same load shape in alternating rounds (ours, baseline, ours, ...), so
that load from other work on a shared machine falls on both alike.

`python -m bench --cluster` adds the cluster (deploy/cluster.py: nginx, several Rasa and
action servers, PostgreSQL, Redis) as a third assistant in the same rounds, at 1 to 200
visitors (bench/cluster.py). `python -m bench --compare-speedups` measures our Rasa server
with its speedups on and off instead (bench/speedups.py).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import cluster, report, rounds, speedups, visitors
from bench.baseline import CACHE, baseline
from bench.rounds import Assistant
from tests.servers import ROOT, VENV_BIN, action_server_process, project_endpoints, quiet_env, rasa_process

RESULTS = ROOT / "bench" / "results"
LEVELS = (1, 10, 50)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--levels",
        help=f"concurrency levels, e.g. 1,10,50 (default {LEVELS}; with --compare-speedups {speedups.LEVELS})",
    )
    parser.add_argument("--turns-scale", type=float, default=1.0, help="multiply the turns per level (quick runs: 0.2)")
    parser.add_argument(
        "--seconds", type=float, default=60, help="wall-clock cap per level and assistant (split over the rounds)"
    )
    parser.add_argument(
        "--no-latest", action="store_true", help="leave bench/results/latest.md as it is (e.g. for a quick look)"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help=f"also the cluster (make cluster) in the same rounds; default levels then {cluster.LEVELS}",
    )
    parser.add_argument("--rasa-replicas", type=int, default=2, help="the cluster's Rasa servers (default 2)")
    parser.add_argument("--actions-replicas", type=int, default=2, help="the cluster's action servers (default 2)")
    parser.add_argument(
        "--compare-speedups",
        action="store_true",
        help="our Rasa server with its speedups on and off (RASA_SPEEDUPS) instead of against the baseline",
    )
    args = parser.parse_args(argv)
    default_levels = speedups.LEVELS if args.compare_speedups else cluster.LEVELS if args.cluster else LEVELS
    levels = [int(level) for level in args.levels.split(",")] if args.levels else list(default_levels)
    turns = rounds.turns_per_level(levels, args.turns_scale)
    say = lambda message: print(f"[bench] {message}", flush=True)  # noqa: E731
    if args.compare_speedups:
        return speedups.compare(turns, args.seconds, RESULTS, say, latest=not args.no_latest)

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
            ours: dict[str, Any] = {
                "cold_start_seconds": cold,
                "rasa_cold_start_seconds": round(cold - (rasa_started - started), 2),
            }

            base_started = time.monotonic()
            base_proc, base_webhook = stack.enter_context(
                rasa_process(
                    base_dir,
                    (base.project / "endpoints.yml").read_text(),
                    base.model,
                    credentials=base.project / "credentials.yml",
                    env={"RASA_SPEEDUPS": "off"},  # Rasa as `rasa init` users get it
                )
            )
            theirs: dict[str, Any] = {"cold_start_seconds": seconds_to_answer(base_webhook, "hello", base_started)}
            say(
                f"cold start: ours {ours['cold_start_seconds']}s "
                f"(Rasa server alone {ours['rasa_cold_start_seconds']}s), baseline {theirs['cold_start_seconds']}s"
            )

            assistants = [
                Assistant("ours", webhook, visitors.ADMISSIONS, {"rasa": rasa_proc.pid, "actions": action_proc.pid}),
                Assistant("baseline", base_webhook, visitors.BASELINE, {"rasa": base_proc.pid}),
            ]
            scaled: dict[str, Any] = {}
            if args.cluster:
                say(f"starting the cluster: {args.rasa_replicas} Rasa and {args.actions_replicas} action servers")
                cluster_started = time.monotonic()
                running = stack.enter_context(cluster.running(model, args.rasa_replicas, args.actions_replicas))
                scaled["cold_start_seconds"] = seconds_to_answer(
                    running.webhook, "how long is medical billing and coding?", cluster_started
                )
                scaled["replicas"] = {"rasa": args.rasa_replicas, "actions": args.actions_replicas}
                say(f"cluster up in {scaled['cold_start_seconds']}s: {running.webhook}")
                named = cluster.processes(running)
                assistants.append(Assistant("cluster", running.webhook, visitors.ADMISSIONS, named))
            for assistant in assistants:
                rounds.warm_up(assistant)
                if assistant.name == "cluster":
                    for _more in range(args.rasa_replicas - 1):  # nginx takes turns: each replica gets a warm-up
                        rounds.warm_up(assistant)
            figures = rounds.measure(assistants, turns, args.seconds, say)
            ours["levels"], theirs["levels"] = figures["ours"], figures["baseline"]
            ours["peak_memory_mb"] = {"rasa": peak_memory_mb(rasa_proc.pid), "actions": peak_memory_mb(action_proc.pid)}
            theirs["peak_memory_mb"] = {"rasa": peak_memory_mb(base_proc.pid)}
            if args.cluster:
                scaled["levels"] = figures["cluster"]
                scaled["peak_memory_mb"] = {name: peak_memory_mb(pid) for name, pid in assistants[-1].processes.items()}
        ours["training_seconds"] = round(training_seconds, 1)
        theirs.update(
            training_seconds=round(base.training_seconds, 1), training_cached=base.cached, trained_at=base.trained_at
        )

        run = {**rounds.run_record(timestamp, turns, args.seconds), "ours": ours, "baseline": theirs}
        run["ratios"] = report.ratios(ours, theirs)
        run["targets"] = report.targets(ours, run["ratios"])
        if scaled:
            run["cluster"] = scaled
            run["cluster_ratios"] = {
                "to_baseline": report.level_ratios(scaled["levels"], theirs["levels"]),
                "to_single_process": report.level_ratios(scaled["levels"], ours["levels"]),
            }
            run["cluster_targets"] = report.cluster_targets(scaled, run["cluster_ratios"]["to_baseline"])
        for note in report.write(run, RESULTS, latest=not args.no_latest):
            say(note)
        print()
        print(report.markdown(run))
        if not all(run["targets"].values()):
            shutil.copytree(workdir / "ours", CACHE / f"logs-{timestamp}", ignore=shutil.ignore_patterns("*.sqlite3*"))
            say(f"targets not met: our servers' logs are in {CACHE / ('logs-' + timestamp)}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
