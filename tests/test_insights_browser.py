"""The insights report in Debian's chromium, opened from disk as staff open it: the funnel and
the unanswered queue are there, axe-core finds no accessibility violation, and a screenshot is
kept in artifacts/screenshots/insights.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from actions.insights.__main__ import main as insights
from bench.insights_data import main as make_conversations
from tests.test_widget import AXE, CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A report over 400 synthetic conversations of September 2026."""
    folder = tmp_path_factory.mktemp("insights")
    store, leads = f"sqlite:///{folder / 'conversations.sqlite3'}", f"sqlite:///{folder / 'leads.sqlite3'}"
    assert make_conversations(["--conversations", "400", "--out", store, "--leads", leads]) == 0
    (folder / "endpoints.yml").write_text(f'tracker_store:\n  type: SQL\n  url: "{store}"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENDPOINTS_FILE", str(folder / "endpoints.yml"))
        patch.setenv("LEADS_DATABASE_URL", leads)
        assert insights(["--since", "2026-09-01", "--until", "2026-09-30", "--out", str(folder / "report")]) == 0
    return folder / "report" / "index.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make test` as root, or apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_report_opens_from_disk_with_its_funnel_and_queue_and_axe_finds_no_violation(report, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", name="The funnel", level=2)).to_be_visible()
    funnel = page.get_by_role("table", name="The funnel (conversations reaching each step)")
    expect(funnel.get_by_role("rowheader", name="Lead saved")).to_be_visible()
    expect(page.get_by_role("heading", name="The unanswered queue", level=2)).to_be_visible()
    queue = page.locator("#table-unanswered")
    expect(queue.locator("tbody tr").first).to_be_visible()
    assert queue.locator("tbody tr").count() > 10
    for image in page.get_by_role("img").all():  # every chart loaded, from beside the page
        assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())
    assert all(url.startswith("file://") for url in requests), requests

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "insights.png"), full_page=False)
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = results["violations"]
    assert not violations, json.dumps(
        [
            {k: v[k] for k in ("id", "impact", "help")} | {"nodes": [n["target"] for n in v["nodes"][:5]]}
            for v in violations
        ],
        indent=1,
    )
    context.close()
