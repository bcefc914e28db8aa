"""The website chat widget in a real headless Chromium, against the real servers.

Debian's chromium (installed by `make test`'s setup) is driven by Playwright; no browser is
downloaded. The servers and the browser start once for the module; each test gets a fresh
browser context (its own sessionStorage, so its own conversation).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

from actions.knowledge import load_knowledge
from tests.conftest import ROOT, edit_yaml
from tests.conversations import BILLING as BILLING_ID
from tests.conversations import HEALTH_IT as HEALTH_IT_ID
from tests.conversations import Expected, Person, Scripts
from tests.replies import load_replies
from tests.servers import (
    action_server,
    conversation_events,
    exported_leads,
    free_port,
    rasa_server,
    server_url,
    web_server,
)
from web.serve import render_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network refuses Chromium's background connections: keep it quiet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE_VIEWPORT = {"width": 375, "height": 667}
ANSWER_TIMEOUT = 60_000  # ms: the machine is shared, the first answers are slow

KB = load_knowledge()
SCRIPTS = Scripts(KB, load_replies())
BILLING, HEALTH_IT = SCRIPTS.program(BILLING_ID), SCRIPTS.program(HEALTH_IT_ID)
ROBIN = Person("Robin Widget-Test", "robin.widget@example.com", "(706) 555-0142", "+17065550142")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Action server, Rasa server (CORS: the demo page only) and the demo page server."""
    workdir = tmp_path_factory.mktemp("widget")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    with (
        action_server(workdir, leads_url=leads_url) as actions,
        rasa_server(workdir, actions, cors_origins=[origin]) as webhook,
        web_server(workdir, server_url(webhook), port=web_port) as page_url,
    ):
        yield {
            "page": page_url + "/",
            "origin": origin,
            "webhook": webhook,
            "leads_url": leads_url,
            "actions": actions,
            "workdir": str(workdir),
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make test` as root, or apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser, viewport=DESKTOP, **options) -> Page:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(ANSWER_TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.errors = errors  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    yield page
    page.context.close()


def bot(page: Page):
    """The bot's message texts (as the visitor reads them)."""
    return page.locator("deep-chat .ac-text")


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Chat with admissions").click()
    expect(bot(page).first).to_contain_text(one_of(SCRIPTS.greeting()))


def send(page: Page, text: str) -> None:
    box = page.locator("deep-chat #text-input")
    box.fill(text)
    box.press("Enter")


def one_of(expected: Expected) -> re.Pattern[str]:
    """Any of the texts, however the page breaks their lines (Rasa sends one variation, at random)."""
    return re.compile("|".join(r"\s+".join(map(re.escape, text.split())) for text in expected))


def expect_reply(page: Page, expected: Expected) -> None:
    expect(bot(page).filter(has_text=one_of(expected)).last).to_be_visible()


def sender_id(page: Page) -> str:
    return json.loads(page.evaluate("sessionStorage.getItem('admissions-chat')"))["sender"]


def webhook_bodies(page: Page) -> list[dict]:
    """Record every message the page sends to Rasa."""
    bodies: list[dict] = []

    def record(request: Request) -> None:
        if request.method == "POST" and "/webhooks/rest/webhook" in request.url:
            bodies.append(request.post_data_json or {})

    page.on("request", record)
    return bodies


def duration_answer() -> Expected:
    return SCRIPTS.duration(BILLING)


def test_asks_a_question_and_clicks_a_suggestion_that_sends_its_payload(site, page):
    sent = webhook_bodies(page)
    open_chat(page, site["page"])
    greeting = page.locator("deep-chat .ac-buttons").first
    for title in ("Compare the programs", "How long is it?", "Is it online?"):
        expect(greeting.get_by_role("button", name=title)).to_be_visible()

    send(page, f"how long does {BILLING.name.lower()} take?")
    expect_reply(page, duration_answer())

    page.locator("deep-chat .ac-suggestion", has_text="Is it online?").last.click()
    expect(page.locator("deep-chat .user-message").last).to_have_text("Is it online?")
    expect(bot(page).last).to_contain_text(one_of(SCRIPTS.delivery(BILLING)))
    assert [b["message"] for b in sent] == ["/greet", f"how long does {BILLING.name.lower()} take?", "/ask_delivery"]
    assert {b["sender"] for b in sent} == {sender_id(page)}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sender_id(page))
    assert all(b["metadata"] == {"page_url": site["page"]} for b in sent)
    assert page.errors == []


def test_the_conversation_survives_reload_and_navigation_and_start_over_begins_anew(site, page):
    open_chat(page, site["page"])
    send(page, f"how long is {BILLING.name.lower()}?")
    expect_reply(page, duration_answer())
    first = sender_id(page)

    page.reload()
    expect(page.get_by_role("dialog", name="Admissions assistant")).to_be_visible()
    expect_reply(page, duration_answer())
    page.get_by_role("link", name="How to apply").first.click()
    page.wait_for_url("**/apply.html")
    expect_reply(page, duration_answer())
    send(page, "is it online?")  # the same conversation: "it" is still the program asked about
    expect(bot(page).last).to_contain_text(one_of(SCRIPTS.delivery(BILLING)))
    assert sender_id(page) == first

    page.get_by_role("button", name="Start over").click()
    expect(bot(page)).to_have_count(1)
    expect(bot(page).first).to_contain_text(one_of(SCRIPTS.greeting()))
    assert sender_id(page) != first


def test_html_in_messages_is_shown_as_text(site, page):
    attack = '<img src=x onerror="window.hacked=1"><script>window.hacked=2</script>'
    open_chat(page, site["page"])
    send(page, attack)
    expect(page.locator("deep-chat .user-message").last).to_have_text(attack)
    expect(bot(page)).to_have_count(2)  # the bot answered

    # A reply carrying markup (as if the wording were edited carelessly) is shown literally too.
    markup: list[dict[str, Any]] = [
        {
            "text": "<script>window.hacked=3</script><img src=x onerror=window.hacked=4>",
            "buttons": [{"title": "<b onmouseover=window.hacked=5>bold</b>", "payload": "/greet"}],
        }
    ]
    page.route(site["webhook"], lambda route: route.fulfill(json=markup, headers={"Access-Control-Allow-Origin": "*"}))
    send(page, "anything")
    expect(bot(page).last).to_have_text(markup[0]["text"])
    expect(page.locator("deep-chat .ac-suggestion").last).to_have_text(markup[0]["buttons"][0]["title"])
    assert page.locator("deep-chat #messages img, deep-chat #messages script, deep-chat #messages b").count() == 0
    assert page.evaluate("window.hacked") is None


def test_an_inquiry_completed_in_the_widget_is_exported_with_the_page(site, page):
    open_chat(page, site["page"])
    conversation = [
        ("can I study health IT online?", SCRIPTS.delivery(HEALTH_IT)),
        *SCRIPTS.form(ROBIN, HEALTH_IT, discussed=True, study_message="online"),
    ]
    for message, expected in conversation:
        count = bot(page).count()
        send(page, message)
        expect(bot(page)).not_to_have_count(count)
        expect_reply(page, expected)

    mine = exported_leads(site["leads_url"], sender_id(page))
    assert len(mine) == 1
    assert (mine[0]["name"], mine[0]["email"], mine[0]["phone"]) == (ROBIN.name, ROBIN.email, ROBIN.stored_phone)
    assert mine[0]["page_url"] == site["page"]


def test_phone_viewport(site, browser):
    page = new_page(browser, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    try:
        open_chat(page, site["page"])
        panel = page.get_by_role("dialog", name="Admissions assistant").bounding_box()
        assert panel and panel["width"] == PHONE_VIEWPORT["width"] and panel["height"] == PHONE_VIEWPORT["height"]
        send(page, f"how long is {BILLING.name.lower()}?")
        expect_reply(page, duration_answer())
        for button in page.locator("deep-chat .ac-suggestion").all():
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_VIEWPORT["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))
    finally:
        page.context.close()


def focused(page: Page) -> str:
    """What has the keyboard focus, looking into deep-chat's shadow root."""
    return page.evaluate("""() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        return el ? (el.id || el.className || el.tagName) : '';
    }""")


@pytest.fixture
def page_for_axe(browser: Browser) -> Iterator[Page]:
    """A page whose Content-Security-Policy lets the test inject axe-core (an inline script)."""
    page = new_page(browser, bypass_csp=True)
    yield page
    page.context.close()


def test_keyboard_only_use_and_axe_finds_no_serious_problem(site, page_for_axe):
    page = page_for_axe
    page.goto(site["page"])
    for _ in range(10):  # Tab through the page to the launcher
        page.keyboard.press("Tab")
        if focused(page) == "ac-launcher":
            break
    assert focused(page) == "ac-launcher"
    page.keyboard.press("Enter")
    expect(bot(page).first).to_contain_text(one_of(SCRIPTS.greeting()))
    assert focused(page) == "text-input"  # focus moved into the panel
    page.keyboard.type(f"how long is {BILLING.name.lower()}?")
    page.keyboard.press("Enter")
    expect_reply(page, duration_answer())

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert focused(page) == "ac-launcher"  # ...and back out to the launcher
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Admissions assistant")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))

    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(
        [{k: v[k] for k in ("id", "impact", "help")} | {"nodes": [n["target"] for n in v["nodes"]]} for v in bad],
        indent=1,
    )


def test_cors_allows_exactly_the_site_origin(site):
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            site["webhook"],
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=30,
        )

    assert preflight(site["origin"]).headers.get("Access-Control-Allow-Origin") == site["origin"]
    assert "Access-Control-Allow-Origin" not in preflight("http://evil.example").headers
    body = {"sender": "cors-check", "message": "hi"}
    allowed = httpx.post(site["webhook"], json=body, headers={"Origin": site["origin"]}, timeout=60)
    assert allowed.headers.get("Access-Control-Allow-Origin") == site["origin"]
    other = httpx.post(site["webhook"], json=body, headers={"Origin": "http://evil.example"}, timeout=60)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_page_serves_everything_itself_with_the_phone_from_the_knowledge_base(site, browser):
    config = httpx.get(site["page"] + "widget/widget-config.json", timeout=10).json()
    assert config == {"server_url": server_url(site["webhook"]), "phone": KB.admissions.phone, "privacy_url": None}
    assert httpx.get(site["page"] + "package.json", timeout=10).status_code == 404
    home = httpx.get(site["page"], timeout=10).text
    for program in KB.programs:  # the program cards come from the knowledge base
        assert f"<h2>{program.name}</h2>" in home and html.escape(program.career_summary) in home
    assert KB.admissions.phone in home
    page = new_page(browser)
    try:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        open_chat(page, site["page"])
        assert all(url.startswith(("http://127.0.0.1:", "data:")) for url in requests), requests
    finally:
        page.context.close()


def test_an_unreachable_server_gets_a_message_with_the_phone_number(tmp_path, browser):
    # A demo page whose Rasa server is stopped: nothing listens on its port.
    with web_server(tmp_path, f"http://127.0.0.1:{free_port()}") as url:
        page = new_page(browser)
        try:
            page.goto(url + "/")
            page.get_by_role("button", name="Chat with admissions").click()
            alert = page.locator("deep-chat .ac-unreachable").last
            expect(alert).to_contain_text("can't reach the admissions assistant")
            expect(alert).to_contain_text(KB.admissions.phone)
            send(page, "hello?")
            expect(page.locator("deep-chat .ac-unreachable")).to_have_count(2)
            expect(page.locator("deep-chat .deep-chat-loading-message-bubble")).to_have_count(0)
        finally:
            page.context.close()


NOTICE = "Please don't share sensitive information such as health or financial details."


def test_the_panel_asks_visitors_not_to_share_sensitive_information(site, page):
    open_chat(page, site["page"])
    notice = page.locator(".ac-notice")
    expect(notice).to_have_text(NOTICE)
    expect(notice.locator("a")).to_have_count(0)  # no PRIVACY_URL: no link


def test_the_notice_links_the_privacy_page_when_privacy_url_is_set(tmp_path, browser):
    privacy = "https://www.college.example/privacy?from=chat"
    with web_server(tmp_path, f"http://127.0.0.1:{free_port()}", privacy_url=privacy) as url:
        page = new_page(browser)
        try:
            page.goto(url + "/")
            page.get_by_role("button", name="Chat with admissions").click()
            link = page.locator(".ac-notice a")
            expect(link).to_have_text("Privacy policy")
            expect(link).to_have_attribute("href", privacy)
            expect(link).to_have_attribute("rel", "noopener noreferrer")
            expect(page.locator(".ac-notice")).to_contain_text(NOTICE)
        finally:
            page.context.close()


def test_a_typing_indicator_shows_while_the_assistant_answers(site, page):
    open_chat(page, site["page"])
    held: list = []
    page.route(site["webhook"], lambda route: held.append(route))  # hold the request: the assistant is "thinking"
    send(page, f"how long is {BILLING.name.lower()}?")
    typing = page.locator("deep-chat .deep-chat-loading-message-bubble")
    expect(typing).to_be_visible()
    for route in held:
        route.continue_()
    page.unroute(site["webhook"])
    expect_reply(page, duration_answer())
    expect(typing).to_have_count(0)


def test_a_program_added_to_the_knowledge_base_appears_on_the_demo_page(knowledge_copy):
    def add_program(data):
        data["programs"].append(
            {
                **data["programs"][0],
                "id": "pharmacy_tech",
                "name": "Pharmacy Technician",
                "aliases": ["pharmacy tech"],
                "career_summary": "Pharmacy <technicians> prepare medicines",
            }
        )

    edit_yaml(knowledge_copy / "programs.yml", add_program)
    page = render_page("/", load_knowledge(knowledge_copy)).decode()
    assert "<h2>Pharmacy Technician</h2>" in page and "Pharmacy &lt;technicians&gt; prepare medicines" in page


def test_what_a_visitor_types_is_shown_as_text_not_markdown(site, page):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    open_chat(page, site["page"])
    for typed in ("[click](javascript:alert(1))", "**bold** <b>tag</b> _it_"):
        count = bot(page).count()
        send(page, typed)
        expect(page.locator("deep-chat .user-message").last).to_have_text(typed)
        expect(bot(page)).not_to_have_count(count)  # answered
    assert (
        page.locator("deep-chat .user-message a, deep-chat .user-message strong, deep-chat .user-message b").count()
        == 0
    )
    page.reload()  # the kept conversation is shown the same way
    expect(page.locator("deep-chat .user-message").first).to_have_text("[click](javascript:alert(1))")
    assert page.locator("deep-chat .user-message a").count() == 0
    assert violations == [] and page.errors == []  # the page works within its Content-Security-Policy


def test_a_visitor_over_the_message_limit_is_asked_to_wait_and_keeps_the_typed_text(site, browser, tmp_path):
    """On a Rasa server allowing 5 messages a minute per conversation and 2 per session: the
    turn cap's fresh start (which greets in the new session), then a message one too many."""
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    with (
        rasa_server(
            tmp_path,
            site["actions"],
            cors_origins=[origin],
            RATE_LIMIT_PER_CONVERSATION="5/minute",
            SESSION_TURN_CAP="2",
        ) as hook,
        web_server(tmp_path, server_url(hook), port=web_port) as url,
    ):
        page = new_page(browser)
        try:
            open_chat(page, url + "/")  # 1: /greet
            send(page, f"how long is {BILLING.name.lower()}?")  # 2
            expect_reply(page, duration_answer())
            send(page, "is it online?")  # 3: over the session's cap
            expect_reply(page, load_replies().variations("reply_session_turn_cap", phone=KB.admissions.phone))
            page.locator("deep-chat .ac-suggestion", has_text="Start a fresh conversation").last.click()  # 4, 5
            expect(bot(page).filter(has_text=one_of(SCRIPTS.greeting()))).to_have_count(2)  # greeted anew

            with page.expect_response(lambda r: "/webhooks/rest/webhook" in r.url) as answer:
                send(page, "is it online?")  # 6: one too many this minute
            assert answer.value.status == 429
            note = page.locator("deep-chat .ac-slow-down").last
            expect(note).to_contain_text("You're sending messages very quickly, please wait a moment")
            expect(page.locator("deep-chat #text-input")).to_have_text("is it online?")  # kept, to send again
            assert page.errors == []  # type: ignore[attr-defined]
        finally:
            page.context.close()


HELPFUL, NOT_HELPFUL = "This answer was helpful", "This answer was not helpful"


def last_answer_rated(site: dict[str, str], page: Page) -> tuple[Any, float]:
    """The stored conversation's ratings, and the timestamp of its latest answer (the one rated)."""
    events = conversation_events(Path(site["workdir"]), sender_id(page))
    rated = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "answer_feedback"]
    return rated, [e for e in events if e["event"] == "bot"][-1]["timestamp"]


def test_thumbs_down_under_an_answer_is_stored_on_the_conversation_once_and_shown_after_a_reload(site, page):
    sent = webhook_bodies(page)
    open_chat(page, site["page"])
    expect(page.locator("deep-chat .ac-feedback")).to_have_count(0)  # the greeting answers no question
    send(page, f"how long is {BILLING.name.lower()}?")
    expect_reply(page, duration_answer())
    down = page.get_by_role("button", name=NOT_HELPFUL).last
    up = page.get_by_role("button", name=HELPFUL).last
    expect(down).to_have_attribute("aria-pressed", "false")
    messages = bot(page).count()

    with page.expect_response(lambda r: "/webhooks/rest/webhook" in r.url and r.request.method == "POST") as rated:
        down.click()
    assert rated.value.status == 200 and rated.value.json() == []
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(down).to_be_disabled()
    expect(up).to_be_disabled()  # once per answer
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(page.locator("deep-chat .ac-feedback-note").last).to_have_text("Thanks for your feedback")
    expect(bot(page)).to_have_count(messages)  # no answer to a rating

    ratings, answer = last_answer_rated(site, page)
    assert ratings == [{"rating": "down", "answer": answer}]
    assert sent[-1] == {"sender": sender_id(page), "feedback": {"answer_id": answer, "rating": "down"}}

    page.reload()
    expect(page.get_by_role("button", name=NOT_HELPFUL).last).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name=NOT_HELPFUL).last).to_be_disabled()
    expect(page.locator("deep-chat .ac-feedback-note").last).to_have_text("Thanks for your feedback")
    assert page.errors == []


def focused_label(page: Page) -> str:
    """The aria-label of what has the keyboard focus, looking into deep-chat's shadow root."""
    return page.evaluate("""() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        return (el && el.getAttribute('aria-label')) || '';
    }""")


def test_an_answer_is_rated_with_the_keyboard_alone_and_axe_finds_no_serious_problem(site, page_for_axe):
    page = page_for_axe
    open_chat(page, site["page"])
    send(page, f"how long is {BILLING.name.lower()}?")
    expect_reply(page, duration_answer())
    page.locator("deep-chat #text-input").focus()
    for _ in range(20):  # back from the message box to the latest answer's thumbs
        page.keyboard.press("Shift+Tab")
        if focused_label(page) == HELPFUL:
            break
    assert focused_label(page) == HELPFUL
    page.keyboard.press("Enter")
    expect(page.locator("deep-chat .ac-feedback-note").last).to_have_text("Thanks for your feedback")
    expect(page.get_by_role("button", name=HELPFUL).last).to_have_attribute("aria-pressed", "true")
    ratings, answer = last_answer_rated(site, page)
    assert ratings == [{"rating": "up", "answer": answer}]
    assert focused(page) == "text-input"  # the focus goes on to the message box, not lost

    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps([{k: v[k] for k in ("id", "impact", "help")} for v in bad], indent=1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-feedback.png"))
