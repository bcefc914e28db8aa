"""The report as one self-contained HTML page: inline CSS, no script, no font or file from
elsewhere; its charts are PNG files beside it. Headings for each section, captions and header
scopes on every table, an alt text with the numbers on every chart, and colours with at least
4.5:1 contrast, so it reads the same with a screen reader and opens from disk.
"""

from __future__ import annotations

from html import escape

from actions.insights.charts import Chart
from actions.insights.report import Report
from actions.insights.tables import Table, local, percent

HTML_ROWS = 500  # a longer table is cut on the page (not in its CSV file): the page stays quick to open
STYLE = """
body { font-family: system-ui, sans-serif; color: #1f2933; background: #fff; margin: 0 auto; max-width: 72rem;
       padding: 1rem 1.5rem 3rem; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.4rem; border-bottom: 2px solid #1d4ed8; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #9aa5b1; padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #e4e7eb; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; border: 1px solid #cbd2d9; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; list-style: none; }
.figures li { border: 1px solid #cbd2d9; padding: .6rem 1rem; min-width: 11rem; }
.figures strong { display: block; font-size: 1.5rem; }
.scroll { overflow-x: auto; }
a { color: #1d4ed8; }
"""


def _cell(value: str | int, header: bool = False) -> str:
    kind = ' class="n"' if isinstance(value, int) else ""
    if header:
        return f'<th scope="row"{kind}>{escape(str(value))}</th>'
    return f"<td{kind}>{escape(str(value))}</td>"


def table(t: Table) -> str:
    """The table with its caption and a link to its CSV file; a long one shows its first
    HTML_ROWS rows (the newest, for the queues) and says so: the CSV file has them all."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in t.headers)
    if not t.rows:
        body = f'<tr><td colspan="{len(t.headers)}">None in this period.</td></tr>'
    else:
        body = "".join(
            "<tr>" + "".join(_cell(v, header=t.row_headers and i == 0) for i, v in enumerate(row)) + "</tr>"
            for row in t.rows[:HTML_ROWS]
        )
    more = f"The first {HTML_ROWS} of {len(t.rows)} rows are shown here; " if len(t.rows) > HTML_ROWS else ""
    link = f'<p>{more}<a href="{escape(t.name)}.csv">{escape(t.caption)} as CSV</a></p>'
    return (
        f'<div class="scroll"><table id="table-{escape(t.name)}"><caption>{escape(t.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{link}"
    )


def figure(chart: Chart) -> str:
    return f'<p><img src="{escape(chart.file)}" alt="{escape(chart.alt)}"></p>'


def render(report: Report, tables: dict[str, Table], charts: dict[str, Chart]) -> str:
    a, f, fb = report.activity, report.funnel, report.feedback
    period = f"{report.period.since} to {report.period.until}"
    figures = [
        ("Conversations", f"{a.conversations}"),
        ("Turns", f"{a.turns}"),
        ("Outside office hours", percent(a.conversations_outside, a.conversations)),
        ("Unanswered messages", f"{len(report.unanswered)}"),
        ("Leads saved", f"{f.saved}"),
        ("Answers rated helpful", percent(fb.helpful, fb.rated)),
    ]
    summary = "".join(f"<li>{escape(label)}<strong>{escape(value)}</strong></li>" for label, value in figures)
    sections = [
        f'<section aria-labelledby="activity"><h2 id="activity">When visitors chat</h2>'
        f"<p>A conversation counts on the day and hour of its first message; a turn is one visitor message. "
        f"Times are {escape(report.period.zone.key)}; office hours are {escape(report.office_hours.text)}.</p>"
        f"{table(tables['outside_office_hours'])}{figure(charts['per_day'])}{table(tables['per_day'])}"
        f"{figure(charts['per_hour'])}{table(tables['per_hour_of_week'])}</section>",
        f'<section aria-labelledby="asked"><h2 id="asked">What was asked</h2>'
        f"{figure(charts['question_types'])}{table(tables['question_types'])}"
        f"{table(tables['programs'])}{table(tables['buttons'])}</section>",
        f'<section aria-labelledby="unanswered"><h2 id="unanswered">The unanswered queue</h2>'
        f"<p>Every visitor message the assistant could not answer (unknown topic, not understood, or a "
        f"service problem), contact details masked. Work through it newest first: add the missing facts to "
        f"<code>knowledge/</code>, or the wording to the training data.</p>"
        f"{table(tables['unanswered_groups'])}{table(tables['unanswered'])}</section>",
        f'<section aria-labelledby="funnel"><h2 id="funnel">The funnel</h2>'
        f"{figure(charts['funnel'])}{table(tables['funnel'])}{table(tables['drop_off'])}</section>",
        f'<section aria-labelledby="feedback"><h2 id="feedback">Answer feedback</h2>'
        f"<p>{fb.rated} answers rated, {fb.helpful} helpful.</p>"
        f"{table(tables['feedback'])}{table(tables['unhelpful'])}</section>",
    ]
    generated = local(report.generated, report)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Admissions assistant insights, {escape(period)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>Admissions assistant insights</h1><p>{escape(period)} "
        f"({escape(report.period.zone.key)}), generated {escape(generated)}. No contact detail appears "
        f"in this report: messages are masked, and answers to the form's personal questions are never shown.</p>"
        f'<ul class="figures" aria-label="Key figures">{summary}</ul></header>'
        f"<main>{''.join(sections)}</main></body></html>\n"
    )
