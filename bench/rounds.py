"""Assistants measured side by side: at each level, the same load shape in alternating rounds.

Each assistant gets its turns in ROUNDS rounds, taking turns (A, B, A, B, ...), so that load
from other work on a shared machine falls on all of them alike.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import rasa

from bench import cpu, report, visitors

# Turns per level: enough for a p99 at each level, small enough to stay within minutes.
TURNS = {1: 120, 10: 400, 50: 800}
ROUNDS = 4


@dataclass(frozen=True)
class Assistant:
    name: str
    webhook: str
    scripts: Sequence[visitors.Conversation]
    # Its server processes by name ("rasa", "actions", "rasa-1"...), whose CPU time is reported.
    processes: Mapping[str, int] = field(default_factory=dict)


def turns_per_level(levels: Sequence[int], scale: float) -> dict[int, int]:
    return {level: max(level * ROUNDS, int(TURNS.get(level, 8 * level) * scale)) for level in levels}


def warm_up(assistant: Assistant) -> None:
    """One pass over each script, not measured (first predictions build caches and graphs)."""
    scripts = assistant.scripts
    asyncio.run(
        visitors.run_level(assistant.webhook, visitors.crowd(len(scripts), scripts), sum(len(s) for s in scripts), 120)
    )


def measure(
    assistants: Sequence[Assistant], turns: dict[int, int], seconds: float, say: Callable[[str], None]
) -> dict[str, list[dict]]:
    """Each assistant's figures at each level (report.level_figures), by assistant name."""
    figures: dict[str, list[dict]] = {assistant.name: [] for assistant in assistants}
    for level, level_turns in turns.items():
        totals = {assistant.name: visitors.LevelResult(level) for assistant in assistants}
        crowds = {assistant.name: visitors.crowd(level, assistant.scripts) for assistant in assistants}
        cpu_used: dict[str, dict[str, float]] = {assistant.name: {} for assistant in assistants}
        for _round in range(ROUNDS):
            for assistant in assistants:
                before = cpu.snapshot(assistant.processes)
                result = visitors.run_level(
                    assistant.webhook, crowds[assistant.name], level_turns // ROUNDS, seconds / ROUNDS
                )
                totals[assistant.name].add(asyncio.run(result))
                for name, spent in cpu.used(before, cpu.snapshot(assistant.processes)).items():
                    cpu_used[assistant.name][name] = cpu_used[assistant.name].get(name, 0.0) + spent
        for assistant in assistants:
            shown = report.level_figures(totals[assistant.name], cpu_used[assistant.name])
            figures[assistant.name].append(shown)
            say(
                f"{assistant.name:12} {level:3} visitors: p50 {shown['p50_ms']} ms, p95 {shown['p95_ms']} ms, "
                f"p99 {shown['p99_ms']} ms, "
                f"{shown['turns_per_second']} turns/s, {shown['errors']} errors in {shown['turns']} turns"
            )
            for failure in shown["first_failures"]:
                say(f"  failure: {failure}")
    return figures


def run_record(timestamp: str, turns: dict[int, int], seconds: float) -> dict:
    """What every result file starts with: when, on what, under which load."""
    return {
        "timestamp": timestamp,
        "rasa_version": rasa.__version__,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "load": {
            "levels": list(turns),
            "turns_per_level": turns,
            "seconds_cap_per_level": seconds,
            "alternating_rounds": ROUNDS,
            "closed_loop": True,
        },
    }
