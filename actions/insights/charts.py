"""The report's charts as PNG files (matplotlib, Agg backend: no display needed), each with an
alt text that says the numbers it shows, for readers who cannot see it.

matplotlib is imported when the first chart is drawn, not when this module is: the action
server imports every module under actions/ and has no use for it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.insights import names
from actions.insights.report import Report
from actions.insights.settings import DAYS

INK, ACCENT, SECOND = "#1f2933", "#1d4ed8", "#b45309"  # contrast >= 4.5:1 on white
TOP = 12  # bars in a ranking chart


@dataclass(frozen=True)
class Chart:
    file: str
    alt: str


def _pyplot() -> Any:
    # matplotlib 3.5 warns about its own use of pyparsing on import: nothing staff can act on.
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

    return pyplot


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100, facecolor="white")
    _pyplot().close(figure)


def per_day(report: Report, out: Path) -> Chart:
    plt = _pyplot()
    days = report.activity.days
    figure, axes = plt.subplots(figsize=(10, 3.6))
    x = list(range(len(days)))
    axes.bar(x, [c for _, c, _ in days], color=ACCENT, label="Conversations")
    turns = axes.twinx()
    turns.plot(x, [t for _, _, t in days], color=SECOND, marker="o", markersize=3, label="Turns")
    step = max(1, len(days) // 12)
    axes.set_xticks(x[::step], [day.strftime("%b %d") for day, _, _ in days][::step], rotation=45, ha="right")
    axes.set_ylabel("Conversations", color=INK)
    turns.set_ylabel("Turns", color=INK)
    axes.set_title("Conversations (bars) and turns (line) per day", color=INK)
    _save(figure, out / "per_day.png")
    busiest = max(days, key=lambda d: (d[1], d[0]))
    alt = (
        f"Bar chart of conversations per day from {days[0][0]} to {days[-1][0]}, with a line of turns: "
        f"{report.activity.conversations} conversations and {report.activity.turns} turns in all; "
        f"the busiest day was {busiest[0]} with {busiest[1]} conversations and {busiest[2]} turns."
    )
    return Chart("per_day.png", alt)


def per_hour(report: Report, out: Path) -> Chart:
    plt = _pyplot()
    grid = report.activity.conversations_by_hour
    figure, axes = plt.subplots(figsize=(10, 3.4))
    image = axes.imshow(grid, aspect="auto", cmap="Blues")
    axes.set_yticks(range(7), list(DAYS))
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_xlabel(f"Hour ({report.period.zone.key})")
    axes.set_title("Conversations started per hour of the week", color=INK)
    figure.colorbar(image, ax=axes, label="Conversations")
    _save(figure, out / "per_hour_of_week.png")
    day, hour = max(((d, h) for d in range(7) for h in range(24)), key=lambda dh: grid[dh[0]][dh[1]])
    a = report.activity
    alt = (
        f"Heat map of conversations started per weekday and hour: the busiest hour was {DAYS[day]} "
        f"{hour:02d}:00 with {grid[day][hour]} conversations; {a.conversations_outside} of "
        f"{a.conversations} conversations started outside office hours ({report.office_hours.text})."
    )
    return Chart("per_hour_of_week.png", alt)


def _ranking(title: str, rows: list[tuple[str, int]], file: str, out: Path, what: str) -> Chart:
    plt = _pyplot()
    shown = rows[:TOP]
    figure, axes = plt.subplots(figsize=(10, 0.45 * max(len(shown), 2) + 1.2))
    axes.barh([label for label, _ in shown][::-1], [count for _, count in shown][::-1], color=ACCENT)
    axes.set_title(title, color=INK)
    axes.set_xlabel(what)
    _save(figure, out / file)
    listed = "; ".join(f"{label}: {count}" for label, count in shown) or "none"
    more = f" (the first {TOP} of {len(rows)})" if len(rows) > TOP else ""
    return Chart(file, f"Horizontal bar chart, {title.lower()}{more}: {listed}.")


def question_types(report: Report, out: Path) -> Chart:
    rows = [(readable, count) for _, readable, count in report.asked.intents]
    return _ranking("Visitor messages per question type", rows, "question_types.png", out, "Messages")


def funnel(report: Report, out: Path) -> Chart:
    f = report.funnel
    rows = [
        ("Conversations", f.conversations),
        ("Follow-up offered", f.offered),
        ("Form started", f.form_started),
        *[(names.field(slot), count) for slot, count in f.reached],
        ("Lead saved", f.saved),
        ("Lead delivered", f.delivered),
    ]
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.2))
    axes.barh([label for label, _ in rows][::-1], [count for _, count in rows][::-1], color=ACCENT)
    axes.set_title("The funnel: conversations reaching each step", color=INK)
    axes.set_xlabel("Conversations")
    _save(figure, out / "funnel.png")
    listed = "; ".join(f"{label}: {count}" for label, count in rows)
    return Chart("funnel.png", f"Horizontal bar chart of the funnel, conversations reaching each step: {listed}.")


CHARTS: dict[str, Callable[[Report, Path], Chart]] = {
    "per_day": per_day,
    "per_hour": per_hour,
    "question_types": question_types,
    "funnel": funnel,
}


def draw_all(report: Report, out: Path) -> dict[str, Chart]:
    return {name: draw(report, out) for name, draw in CHARTS.items()}
