"""Figures from a benchmark run: JSON, a Markdown table, a latency plot, and results/latest.md."""

from __future__ import annotations

import json
from pathlib import Path

from bench.visitors import LevelResult

LATEST = "latest"  # results/latest.md: the figures bench/README.md points to


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def level_figures(result: LevelResult, cpu_seconds: dict[str, float] | None = None) -> dict:
    """A level's figures; with the CPU seconds each process used (bench/cpu.py), also its CPU
    milliseconds per turn and the cores it kept busy on average."""

    def ms(q: float) -> float | None:
        seconds = percentile(result.latencies, q)
        return None if seconds is None else round(seconds * 1000, 1)

    return {
        "concurrency": result.concurrency,
        "turns": len(result.latencies),
        "conversations": result.conversations,
        "seconds": round(result.seconds, 2),
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "turns_per_second": round(len(result.latencies) / result.seconds, 2) if result.seconds else None,
        "errors": result.errors,
        "wrong_answers": result.wrong_answers,
        "first_failures": result.first_failures,
        **_cpu_figures(result, cpu_seconds or {}),
    }


def _cpu_figures(result: LevelResult, cpu_seconds: dict[str, float]) -> dict:
    turns = len(result.latencies)
    if not cpu_seconds or not turns or not result.seconds:
        return {}
    return {
        "cpu_ms_per_turn": {name: round(spent * 1000 / turns, 1) for name, spent in cpu_seconds.items()},
        "cores_busy": {name: round(spent / result.seconds, 2) for name, spent in cpu_seconds.items()},
    }


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours is not None and theirs else None


def level_ratios(mine: list[dict], theirs: list[dict]) -> dict[str, dict]:
    """Each latency and throughput figure of `mine` divided by `theirs`, by concurrency level."""
    return {
        str(level["concurrency"]): {
            key: _ratio(level[key], other[key]) for key in ("p50_ms", "p95_ms", "p99_ms", "turns_per_second")
        }
        for level, other in zip(mine, theirs, strict=False)
    }


def ratios(ours: dict, baseline: dict) -> dict:
    """Ours divided by the baseline's, for each figure measured on both."""
    return {
        "levels": level_ratios(ours["levels"], baseline["levels"]),
        "training_seconds": _ratio(ours["training_seconds"], baseline["training_seconds"]),
        "cold_start_seconds": _ratio(ours["cold_start_seconds"], baseline["cold_start_seconds"]),
        "peak_memory_mb": _ratio(sum(ours["peak_memory_mb"].values()), sum(baseline["peak_memory_mb"].values())),
    }


def targets(ours: dict, ratio: dict) -> dict[str, bool]:
    single, busiest = (
        ratio["levels"].get("1", {}),
        ratio["levels"].get(str(max(level["concurrency"] for level in ours["levels"])), {}),
    )
    return {
        "single_visitor_p50_ratio_at_most_1.0": (single.get("p50_ms") or 99) <= 1.0,
        "throughput_ratio_at_top_concurrency_at_least_1.5": (busiest.get("turns_per_second") or 0) >= 1.5,
        "zero_errors": all(level["errors"] == 0 for level in ours["levels"]),
    }


def cluster_targets(cluster: dict, to_baseline: dict[str, dict]) -> dict[str, bool]:
    """Issue 12's: at 50 visitors 3x the baseline's throughput and at most half its p95; no errors."""
    at_50 = to_baseline.get("50", {})
    return {
        "cluster_throughput_ratio_at_50_at_least_3": (at_50.get("turns_per_second") or 0) >= 3,
        "cluster_p95_ratio_at_50_at_most_0.5": (at_50.get("p95_ms") or 99) <= 0.5,
        "cluster_zero_errors": all(level["errors"] == 0 for level in cluster["levels"]),
    }


def _fmt(value, suffix: str = "") -> str:
    return "–" if value is None else f"{value:g}{suffix}"


def markdown(run: dict) -> str:
    ours, base, ratio = run["ours"], run["baseline"], run["ratios"]
    lines = [
        f"Run {run['timestamp']} on {run['machine']['cpus']} CPUs, Rasa {run['rasa_version']}; "
        f"closed loop, each visitor waits for the reply before the next turn.",
        "",
        "| visitors | p50 ms | p95 ms | p99 ms | turns/s | errors | turns | baseline p50 / p95 / p99 ms"
        " | baseline turns/s | ratio p50 | ratio p95 | ratio p99 | ratio turns/s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mine, theirs in zip(ours["levels"], base["levels"], strict=False):
        r = ratio["levels"][str(mine["concurrency"])]
        lines.append(
            f"| {mine['concurrency']} | {_fmt(mine['p50_ms'])} | {_fmt(mine['p95_ms'])} | {_fmt(mine['p99_ms'])} | "
            f"{_fmt(mine['turns_per_second'])} | {mine['errors']} | {mine['turns']} | "
            f"{_fmt(theirs['p50_ms'])} / {_fmt(theirs['p95_ms'])} / {_fmt(theirs['p99_ms'])} | "
            f"{_fmt(theirs['turns_per_second'])} | "
            f"{_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {_fmt(r['p99_ms'])} | {_fmt(r['turns_per_second'])} |"
        )
    memory = lambda figures: ", ".join(f"{name} {mb:g} MB" for name, mb in figures.items())  # noqa: E731
    lines += [
        "",
        "| | ours | baseline | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| training time (s) | {_fmt(ours['training_seconds'])} | {_fmt(base['training_seconds'])}"
        f"{' (cached)' if base.get('training_cached') else ''} | {_fmt(ratio['training_seconds'])} |",
        f"| cold start to first answer (s) | {_fmt(ours['cold_start_seconds'])} | "
        f"{_fmt(base['cold_start_seconds'])} | {_fmt(ratio['cold_start_seconds'])} |",
        f"| peak memory (VmHWM) | {memory(ours['peak_memory_mb'])} | {memory(base['peak_memory_mb'])} | "
        f"{_fmt(ratio['peak_memory_mb'])} |",
        "",
        "Targets: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in run["targets"].items()) + ".",
        *cluster_markdown(run),
        *cpu_markdown(run, ("ours", "baseline", "cluster")),
    ]
    return "\n".join(lines) + "\n"


def cluster_markdown(run: dict) -> list[str]:
    """The cluster beside the single process and the baseline, measured in the same rounds."""
    if "cluster" not in run:
        return []
    scaled, ours, base = run["cluster"], run["ours"], run["baseline"]
    to_base, to_single = run["cluster_ratios"]["to_baseline"], run["cluster_ratios"]["to_single_process"]
    replicas = scaled["replicas"]
    lines = [
        "",
        f"The cluster (`make cluster`: nginx, {replicas['rasa']} Rasa and {replicas['actions']} action servers, "
        "PostgreSQL, Redis) in the same rounds:",
        "",
        "| visitors | cluster p50 / p95 / p99 ms | cluster turns/s | errors | single process turns/s | baseline turns/s"
        " | cluster/baseline turns/s | cluster/baseline p95 | cluster/single turns/s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mine, single, theirs in zip(scaled["levels"], ours["levels"], base["levels"], strict=False):
        level = str(mine["concurrency"])
        lines.append(
            f"| {level} | {_fmt(mine['p50_ms'])} / {_fmt(mine['p95_ms'])} / {_fmt(mine['p99_ms'])} | "
            f"{_fmt(mine['turns_per_second'])} | {mine['errors']} | {_fmt(single['turns_per_second'])} | "
            f"{_fmt(theirs['turns_per_second'])} | {_fmt(to_base[level]['turns_per_second'])} | "
            f"{_fmt(to_base[level]['p95_ms'])} | {_fmt(to_single[level]['turns_per_second'])} |"
        )
    memory = ", ".join(f"{name} {mb:g} MB" for name, mb in scaled["peak_memory_mb"].items())
    lines += [
        "",
        f"Cluster cold start to first answer: {_fmt(scaled['cold_start_seconds'])} s; peak memory: {memory}.",
        "",
        "Cluster targets: "
        + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in run["cluster_targets"].items())
        + ".",
    ]
    return lines


def _cpu_cell(level: dict) -> str:
    busy = level["cores_busy"]
    return ", ".join(f"{process} {ms:g} ms ({busy[process]:g})" for process, ms in level["cpu_ms_per_turn"].items())


def cpu_markdown(run: dict, assistants: tuple[str, ...]) -> list[str]:
    """Where the time went: each process's CPU ms per turn and the cores it kept busy, per level
    (`bench` is the load generator, on the same cores)."""
    rows = [
        f"| {level['concurrency']} | {name} | {_cpu_cell(level)} | {sum(level['cores_busy'].values()):.2f} |"
        for name in assistants
        for level in run.get(name, {}).get("levels", [])
        if level.get("cpu_ms_per_turn")
    ]
    if not rows:
        return []
    return [
        "",
        "Where the time went: CPU milliseconds per turn of each process (cores it kept busy), from /proc.",
        "",
        "| visitors | assistant | process: CPU ms per turn (cores busy) | cores busy in all |",
        "| ---: | --- | --- | ---: |",
        *sorted(rows, key=lambda row: int(row.split("|")[1])),
    ]


def speedups_markdown(run: dict) -> str:
    """The on/off comparison of our Rasa server's speedups (bench/speedups.py)."""
    lines = [
        f"Run {run['timestamp']} on {run['machine']['cpus']} CPUs, Rasa {run['rasa_version']}: our Rasa server "
        f"with its speedups on and off (RASA_SPEEDUPS), same model, same action server, alternating rounds.",
        "",
        "| visitors | on p50 / p95 / p99 ms | on turns/s | off p50 / p95 / p99 ms | off turns/s"
        " | on/off p50 | on/off p95 | on/off p99 | on/off turns/s | errors on / off |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for on, off in zip(run["speedups_on"]["levels"], run["speedups_off"]["levels"], strict=False):
        r = run["ratios_on_to_off"][str(on["concurrency"])]
        lines.append(
            f"| {on['concurrency']} | {_fmt(on['p50_ms'])} / {_fmt(on['p95_ms'])} / {_fmt(on['p99_ms'])} | "
            f"{_fmt(on['turns_per_second'])} | "
            f"{_fmt(off['p50_ms'])} / {_fmt(off['p95_ms'])} / {_fmt(off['p99_ms'])} | "
            f"{_fmt(off['turns_per_second'])} | "
            f"{_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {_fmt(r['p99_ms'])} | {_fmt(r['turns_per_second'])} | "
            f"{on['errors']} / {off['errors']} |"
        )
    return "\n".join(lines) + "\n"


def plot(run: dict, path: Path) -> str | None:
    """Latency against concurrency as a PNG; a message instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot"
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for key, label, style, color in (
        ("ours", "admissions assistant", "-", "tab:blue"),
        ("baseline", "rasa init baseline", "--", "tab:gray"),
        ("cluster", "cluster", ":", "tab:green"),
    ):
        if key not in run:
            continue
        levels = run[key]["levels"]
        x = [level["concurrency"] for level in levels]
        for q, marker in (("p50_ms", "o"), ("p95_ms", "s"), ("p99_ms", "^")):
            axis.plot(x, [level[q] for level in levels], style, color=color, marker=marker, label=f"{label} {q[:3]}")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xticks([level["concurrency"] for level in run["ours"]["levels"]])
    axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_xlabel("concurrent visitors")
    axis.set_ylabel("turn latency (ms)")
    axis.set_title(f"Latency against concurrency ({run['timestamp']})")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


def _write_json_and_table(run: dict, stem: Path, table: str, latest: Path | None) -> list[str]:
    """<stem>.json and .md, and the same table as `latest` when given (a full run's figures)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(run, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    notes = [f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}"]
    if latest is not None:
        latest.write_text(table)
        notes.append(f"wrote {latest}")
    return notes


def write_speedups(run: dict, results: Path, latest: bool = True) -> list[str]:
    """Writes <timestamp>-speedups.json and .md (and latest-speedups.md). Returns notes."""
    stem = results / f"{run['timestamp']}-speedups"
    return _write_json_and_table(
        run, stem, speedups_markdown(run), results / f"{LATEST}-speedups.md" if latest else None
    )


def write(run: dict, results: Path, latest: bool = True) -> list[str]:
    """Writes <timestamp>.json, .md and .png (and latest.md). Returns notes."""
    stem = results / run["timestamp"]
    notes = _write_json_and_table(run, stem, markdown(run), results / f"{LATEST}.md" if latest else None)
    problem = plot(run, stem.with_suffix(".png"))
    notes.append(problem or f"wrote {stem.with_suffix('.png')}")
    return notes
