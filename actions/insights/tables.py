"""The report's tables, one definition each for the page and its CSV file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actions.insights import names
from actions.insights.funnel import NO_FIELD
from actions.insights.report import Report
from actions.insights.settings import DAYS

Cell = str | int


@dataclass(frozen=True)
class Table:
    name: str  # its CSV file: <name>.csv
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    row_headers: bool = True  # the first column names its row (th scope=row)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def local(moment: datetime, report: Report) -> str:
    return moment.astimezone(report.period.zone).strftime("%Y-%m-%d %H:%M")


def per_day(report: Report) -> Table:
    rows: list[list[Cell]] = [[day.isoformat(), convs, turns] for day, convs, turns in report.activity.days]
    return Table("per_day", "Conversations and turns per day", ["Day", "Conversations", "Turns"], rows)


def per_hour(report: Report) -> Table:
    by_hour = report.activity.conversations_by_hour
    rows: list[list[Cell]] = [[DAYS[day], *by_hour[day]] for day in range(7)]
    return Table(
        "per_hour_of_week",
        f"Conversations started per hour of the week ({report.period.zone.key})",
        ["Day", *[f"{hour:02d}" for hour in range(24)]],
        rows,
    )


def office(report: Report) -> Table:
    a = report.activity
    rows: list[list[Cell]] = [
        ["Conversations", a.conversations, a.conversations_outside, percent(a.conversations_outside, a.conversations)],
        ["Turns", a.turns, a.turns_outside, percent(a.turns_outside, a.turns)],
    ]
    return Table(
        "outside_office_hours",
        f"Outside office hours ({report.office_hours.text}, {report.period.zone.key})",
        ["Counted", "Total", "Outside office hours", "Share outside"],
        rows,
    )


def intents(report: Report) -> Table:
    rows: list[list[Cell]] = [[readable, name or "", count] for name, readable, count in report.asked.intents]
    return Table("question_types", "Visitor messages per question type", ["Question type", "Intent", "Messages"], rows)


def programs(report: Report) -> Table:
    rows: list[list[Cell]] = [[name, count] for name, count in report.asked.programs]
    return Table("programs", "Questions per program", ["Program", "Messages"], rows)


def buttons(report: Report) -> Table:
    rows: list[list[Cell]] = [[title, payload, count] for payload, title, count in report.asked.buttons]
    return Table("buttons", "Suggestion buttons clicked", ["Button", "Payload", "Clicks"], rows)


def unanswered_groups(report: Report) -> Table:
    rows: list[list[Cell]] = [
        [group.label, group.count, local(group.items[0].received, report)] for group in report.groups
    ]
    return Table(
        "unanswered_groups",
        "Unanswered questions, grouped (newest group first)",
        ["Topic or wording", "Messages", "Newest"],
        rows,
    )


def unanswered(report: Report) -> Table:
    labels = {id(item): group.label for group in report.groups for item in group.items}
    counts = {id(item): group.count for group in report.groups for item in group.items}
    rows: list[list[Cell]] = [
        [
            local(item.received, report),
            item.text,
            item.reason,
            item.topic or "",
            labels[id(item)],
            counts[id(item)],
            item.conversation_id,
        ]
        for item in report.unanswered
    ]
    return Table(
        "unanswered",
        "The unanswered queue: every message the assistant could not answer (newest first)",
        ["Received", "Message", "Why unanswered", "Unknown topic", "Group", "Messages in group", "Conversation"],
        rows,
        row_headers=False,
    )


def funnel(report: Report) -> Table:
    f = report.funnel
    steps: list[tuple[str, int]] = [
        ("Conversations", f.conversations),
        ("Follow-up offered", f.offered),
        ("Form started", f.form_started),
        *[(f"Field reached: {names.field(slot)}", count) for slot, count in f.reached],
        ("Lead saved", f.saved),
        ("Lead delivered to the CRM", f.delivered),
    ]
    rows: list[list[Cell]] = [[step, count, percent(count, f.conversations)] for step, count in steps]
    return Table("funnel", "The funnel (conversations reaching each step)", ["Step", "Conversations", "Share"], rows)


def drop_off(report: Report) -> Table:
    f = report.funnel
    rows: list[list[Cell]] = [
        [names.field(slot) if slot != NO_FIELD else "Before the first field", count, percent(count, f.form_started)]
        for slot, count in f.left_at
    ]
    return Table(
        "drop_off",
        "Where visitors left the form without a lead (last field asked)",
        ["Field", "Conversations", "Share of forms started"],
        rows,
    )


def helpful(report: Report) -> Table:
    rows: list[list[Cell]] = [[kind, up, down, percent(up, up + down)] for kind, up, down in report.feedback.per_type]
    headers = ["Question type", "Helpful", "Unhelpful", "Helpful share"]
    return Table("feedback", "Answer feedback per question type", headers, rows)


def unhelpful(report: Report) -> Table:
    rows: list[list[Cell]] = [
        [local(u.rated_answer_at, report), u.question_type, u.message, u.answer, u.conversation_id]
        for u in report.feedback.unhelpful
    ]
    return Table(
        "unhelpful",
        "Answers rated unhelpful (newest first)",
        ["Answered", "Question type", "Visitor message", "Answer", "Conversation"],
        rows,
        row_headers=False,
    )


def all_tables(report: Report) -> dict[str, Table]:
    made = [
        per_day(report),
        per_hour(report),
        office(report),
        intents(report),
        programs(report),
        buttons(report),
        unanswered_groups(report),
        unanswered(report),
        funnel(report),
        drop_off(report),
        helpful(report),
        unhelpful(report),
    ]
    return {table.name: table for table in made}
