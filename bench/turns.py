"""`python -m bench.turns`: does a turn cost more the longer the conversation is?

Starts the real action server and Rasa server on loopback as the benchmark does (SQLite
tracker store, `make run`'s configuration), with SESSION_TURN_CAP raised to CAP_FOR_LONG_RUNS
(by default a visitor is offered a fresh start after 100 messages, which would end the
measured conversation), and plays one visitor's long conversations (closed loop, one
visitor): first a complete inquiry (so slots were set and a form ran long ago), then the
project's question scripts over and over. At each checkpoint turn (1, 50, 100, 200, 300)
the same probe question is asked PROBES times in a row; a checkpoint's latency is the median
of its probes over all conversations, so turn 1 and turn 300 answer the same question.

With `--compare`, two Rasa servers (RASA_SPEEDUPS=on and =off) get the conversations in
alternation, so load from other work on the machine falls on both alike.

`--profile` then profiles one more turn of a finished conversation with cProfile, in this
process, on an agent loaded with the same model, store file and action server (what the Rasa
server does for a turn, without the HTTP channel), and prints the top functions.

Writes bench/results/<timestamp>-turns.json and .md, and latest-turns.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.baseline import CACHE
from bench.visitors import reply_text
from tests.conversations import Scripts, Turn
from tests.replies import load_replies
from tests.servers import ACTIONS_TOKEN, MODEL, action_server, project_endpoints, rasa_process

RESULTS = Path(__file__).resolve().parent / "results"
CHECKPOINTS = (1, 50, 100, 200, 300)
PROBES = 3
PROBE = "how long is medical billing and coding?"
# The door offers a fresh start after SESSION_TURN_CAP visitor messages (default 100): a long
# conversation needs it raised, or every turn after the 100th would be the offer.
CAP_FOR_LONG_RUNS = "10000"
SWITCHES = ("on", "off")


def script(length: int) -> list[Turn]:
    """`length` turns: an inquiry, then the question scripts cycled; the probe at each checkpoint."""
    from actions.knowledge import load_knowledge

    scripts = Scripts(load_knowledge(), load_replies())
    probe = (PROBE, scripts.duration(scripts.program("medical_billing_coding")))
    filler = [*scripts.inquiry(repeat=None)]
    questions = [turn for conversation in scripts.questions() for turn in conversation]
    turns: list[Turn] = []
    checkpoints = [c for c in CHECKPOINTS if c + PROBES - 1 <= length]
    position = 0
    while len(turns) < length:
        number = len(turns) + 1
        if any(c <= number < c + PROBES for c in checkpoints):
            turns.append(probe)
            continue
        source = filler if position < len(filler) else questions
        index = position if source is filler else (position - len(filler)) % len(questions)
        turns.append(source[index])
        position += 1
    return turns


def play(webhook: str, sender: str, turns: Sequence[Turn]) -> tuple[list[float], list[str]]:
    """Each turn's latency in seconds, and the failures (HTTP error or empty reply)."""
    latencies: list[float] = []
    failures: list[str] = []
    with httpx.Client(timeout=60) as client:
        for number, (message, _expected) in enumerate(turns, start=1):
            started = time.perf_counter()
            response = client.post(webhook, json={"sender": sender, "message": message})
            latencies.append(time.perf_counter() - started)
            text = reply_text(response.json()) if response.status_code == 200 else ""
            if not text:
                failures.append(f"turn {number} ({message!r}): HTTP {response.status_code}, empty reply")
    return latencies, failures


def checkpoint_figures(runs: Sequence[list[float]], checkpoints: Sequence[int]) -> dict[int, float]:
    """Median latency in ms of each checkpoint's probes over all runs."""
    return {
        c: round(1000 * statistics.median(run[i] for run in runs for i in range(c - 1, c - 1 + PROBES)), 1)
        for c in checkpoints
    }


def profile_turn(endpoints: Path, sender: str, env: dict[str, str], top: int = 40) -> str:
    """cProfile of one more probe turn of `sender`'s conversation, in this process (by
    cumulative time, then by own time)."""
    os.environ.update(env)
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    from channels import speedups

    speedups.install_as_configured(os.environ)
    store = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"))
    agent = Agent.load(
        str(MODEL), tracker_store=store, action_endpoint=read_endpoint_config(str(endpoints), "action_endpoint")
    )

    async def turn() -> None:
        await agent.handle_text(PROBE, output_channel=CollectingOutputChannel(), sender_id=sender)

    asyncio.run(turn())  # warm: first predictions build caches
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(turn())
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top // 2)
    return out.getvalue()


def markdown(run: dict[str, Any]) -> str:
    checkpoints = run["checkpoints"]
    lines = [
        f"# Turn cost against conversation length, {run['timestamp']}",
        "",
        f"One visitor, {run['conversations']} conversations of {run['length']} turns per server, closed loop; "
        f"median of {PROBES} probes ({PROBE!r}) at each checkpoint over all conversations. "
        f"SESSION_TURN_CAP={CAP_FOR_LONG_RUNS} (the default 100 would offer a fresh start). "
        f"Rasa {run['rasa_version']}, {run['cpus']} CPUs.",
        "",
        "| server | "
        + " | ".join(f"turn {c} ms" for c in checkpoints)
        + " | "
        + " | ".join(f"turn {c} / turn 1" for c in checkpoints[1:])
        + " | failures |",
        "| --- | "
        + " | ".join("---:" for _ in checkpoints)
        + " | "
        + " | ".join("---:" for _ in checkpoints[1:])
        + " | ---: |",
    ]
    for name, server in run["servers"].items():
        figures = server["ms"]
        first = figures[str(checkpoints[0])]
        lines.append(
            f"| {name} | "
            + " | ".join(str(figures[str(c)]) for c in checkpoints)
            + " | "
            + " | ".join(f"{figures[str(c)] / first:.2f}" for c in checkpoints[1:])
            + f" | {len(server['failures'])} |"
        )
    if run.get("profile"):
        lines += ["", "## Profile of one more turn (cumulative)", "", "```", run["profile"].strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.turns", description=__doc__)
    parser.add_argument("--length", type=int, default=300 + PROBES, help="turns per conversation")
    parser.add_argument("--conversations", type=int, default=2, help="conversations per server")
    parser.add_argument("--compare", action="store_true", help="also a server with RASA_SPEEDUPS=off")
    parser.add_argument("--profile", action="store_true", help="cProfile one more turn at the end")
    parser.add_argument("--label", default="", help="added to the result file names (e.g. before)")
    parser.add_argument("--no-latest", action="store_true", help="leave latest-turns.md as it is")
    args = parser.parse_args(argv)
    say: Callable[[str], None] = lambda message: print(f"[bench.turns] {message}", flush=True)  # noqa: E731
    if not MODEL.exists():
        raise SystemExit(f"{MODEL} is missing: train first (make train)")
    turns = script(args.length)
    checkpoints = [c for c in CHECKPOINTS if c + PROBES - 1 <= args.length]
    switches = SWITCHES if args.compare else SWITCHES[:1]
    CACHE.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="turns-", dir=CACHE))
    timestamp = time.strftime("%Y%m%d-%H%M%S") + (f"-{args.label}" if args.label else "")
    env = {"SESSION_TURN_CAP": CAP_FOR_LONG_RUNS}
    try:
        latencies: dict[str, list[list[float]]] = {s: [] for s in switches}
        failures: dict[str, list[str]] = {s: [] for s in switches}
        endpoints_files: dict[str, Path] = {}
        last_senders: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            action_url = stack.enter_context(action_server(workdir))
            webhooks = {}
            for switch in switches:
                server_dir = workdir / switch
                server_dir.mkdir()
                endpoints = project_endpoints(action_url, server_dir / "conversations.sqlite3")
                endpoints_files[switch] = server_dir / "endpoints-profile.yml"
                endpoints_files[switch].write_text(endpoints)
                _, webhooks[switch] = stack.enter_context(
                    rasa_process(server_dir, endpoints, MODEL, env={**env, "RASA_SPEEDUPS": switch})
                )
            say(f"servers up (speedups {', '.join(switches)}); {args.conversations} x {len(turns)} turns each")
            for number in range(args.conversations):
                for switch in switches:
                    last_senders[switch] = f"turns-{switch}-{number}-{time.monotonic_ns()}"
                    run, failed = play(webhooks[switch], last_senders[switch], turns)
                    latencies[switch].append(run)
                    failures[switch] += failed
                    shown = checkpoint_figures([run], checkpoints)
                    say(
                        f"speedups {switch} conversation {number + 1}: "
                        + ", ".join(f"turn {c} {ms} ms" for c, ms in shown.items())
                    )
            profile = ""
            if args.profile:  # while the action server is still up
                say(f"profiling one more turn of {last_senders[switches[0]]}")
                profile = profile_turn(
                    endpoints_files[switches[0]], last_senders[switches[0]], {**env, "ACTIONS_TOKEN": ACTIONS_TOKEN}
                )
        run_record: dict[str, Any] = {
            "timestamp": timestamp,
            "length": len(turns),
            "conversations": args.conversations,
            "checkpoints": checkpoints,
            "probes": PROBES,
            "session_turn_cap": CAP_FOR_LONG_RUNS,
            "rasa_version": __import__("rasa").__version__,
            "cpus": os.cpu_count(),
            "profile": profile,
            "servers": {
                f"speedups {s}": {
                    "ms": {str(c): ms for c, ms in checkpoint_figures(latencies[s], checkpoints).items()},
                    "failures": failures[s][:20],
                    "all_turns_ms": [[round(1000 * x, 1) for x in run] for run in latencies[s]],
                }
                for s in switches
            },
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{timestamp}-turns.json").write_text(json.dumps(run_record, indent=1) + "\n")
        text = markdown(run_record)
        (RESULTS / f"{timestamp}-turns.md").write_text(text)
        if not args.no_latest:
            (RESULTS / "latest-turns.md").write_text(text)
        print(text)
        return 0 if not any(failures.values()) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
