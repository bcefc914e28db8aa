"""Issue 13's round trip in Debian's chromium: a visitor asks a question in the widget on the demo
page and clicks thumbs down under the answer; the next staff report (`python -m actions.insights`,
over the same conversation store and leads database as the servers) lists that question and that
answer among the messages rated unhelpful, in its page and its CSV, and the helpful share of that
question type is 0%.

The servers, the browser and the page helpers are tests/test_widget.py's; this module starts its
own servers, so the report holds this visitor's conversation and nothing else.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from actions.insights import names, settings
from tests import test_widget as widget
from tests.conftest import ROOT
from tests.servers import conversation_events, quiet_env

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# The widget module's fixtures, used here as they are (each module gets its own servers).
site, browser, page = widget.site, widget.browser, widget.page


def report_rows(out: Path, name: str) -> list[list[str]]:
    with (out / f"{name}.csv").open(newline="") as f:
        return list(csv.reader(f))[1:]


def answer_text(replies: list[dict[str, Any]], answer_id: float) -> str:
    """The rated answer as the assistant stored it: its messages' texts, joined as Rasa split them."""
    return "\n\n".join(r["text"] for r in replies if r.get("answer_id") == answer_id and r.get("text"))


def test_thumbs_down_in_the_widget_shows_in_the_next_report_as_unhelpful(site, page: Page, tmp_path):
    since = datetime.now(settings.time_zone()).date()  # the day the visitor asks, in the report's zone
    question = f"how long is {widget.BILLING.name.lower()}?"
    widget.open_chat(page, site["page"])
    with page.expect_response(lambda r: r.url == site["webhook"] and r.request.method == "POST") as asked:
        widget.send(page, question)
    widget.expect_reply(page, widget.duration_answer())
    replies = asked.value.json()

    with page.expect_response(lambda r: r.url == site["webhook"] and r.request.method == "POST") as rated:
        page.get_by_role("button", name=widget.NOT_HELPFUL).last.click()
    assert rated.value.status == 200 and rated.value.json() == []
    expect(page.locator("deep-chat .ac-feedback-note").last).to_have_text("Thanks for your feedback")
    body = rated.value.request.post_data_json
    assert body is not None and body["sender"] == widget.sender_id(page)
    answer_id = body["feedback"]["answer_id"]
    assert answer_id == replies[-1]["answer_id"]  # the thumbs under the answer rate that answer
    answer = answer_text(replies, answer_id)
    assert widget.one_of((answer,)).search(widget.bot(page).last.inner_text())  # the answer the visitor read

    sender = widget.sender_id(page)
    events = conversation_events(Path(site["workdir"]), sender)
    (asked_event,) = [e for e in events if e["event"] == "user" and e["text"] == question]
    kind = names.intent(asked_event["parse_data"]["intent"]["name"])
    assert kind == names.intent("ask_duration")

    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "actions.insights", "--since", str(since), "--out", str(out)],
        cwd=ROOT,
        env=quiet_env(
            ENDPOINTS_FILE=str(Path(site["workdir"]) / "endpoints-actions.yml"), LEADS_DATABASE_URL=site["leads_url"]
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    (unhelpful_row,) = report_rows(out, "unhelpful")
    assert unhelpful_row[1:] == [kind, question, answer, sender] and unhelpful_row[0] >= str(since)
    assert report_rows(out, "feedback") == [[kind, "0", "1", "0.0%"]]

    report = page.context.new_page()
    report.goto((out / "index.html").as_uri())
    unhelpful = report.get_by_role("table", name="Answers rated unhelpful (newest first)")
    row = unhelpful.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text(question)
    expect(row.locator("td").nth(3)).to_have_text(widget.one_of((answer,)))
    shares = report.get_by_role("table", name="Answer feedback per question type").locator("tbody tr")
    expect(shares).to_have_count(1)
    expect(shares.first).to_contain_text(kind)
    expect(shares.first.locator("td").last).to_have_text("0.0%")
    report.close()
