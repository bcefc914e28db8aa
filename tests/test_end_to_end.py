"""The real action server and Rasa server on loopback, spoken to over the REST webhook."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from actions.inquiry.consent import wording_version
from actions.knowledge import load_knowledge
from channels.tracker_store import SQLTrackerStore
from tests.conftest import DOMAIN, ROOT, edit_yaml
from tests.conversations import BILLING, DANA, EMAIL, HEALTH_IT, Scripts, answered
from tests.replies import load_replies
from tests.servers import action_server, converse, exported_leads, rasa_server, say, texts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("servers")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    with action_server(workdir, leads_url=leads_url) as actions, rasa_server(workdir, actions) as url:
        yield url, leads_url, workdir


@pytest.fixture(scope="module")
def webhook(servers):
    return servers[0]


@pytest.fixture(scope="module")
def scripts():
    return Scripts(load_knowledge(), load_replies())


def visitor() -> str:
    return f"e2e-{uuid.uuid4()}"


def test_durations_of_both_programs(webhook, scripts):
    billing, health_it = scripts.program(BILLING), scripts.program(HEALTH_IT)
    assert answered(
        texts(say(webhook, visitor(), "how long is medical billing and coding?")), scripts.duration(billing)
    )
    both = texts(say(webhook, visitor(), "how long are the programs?"))
    assert answered(both, scripts.duration(billing)) and answered(both, scripts.duration(health_it))


def test_health_it_in_tulsa(webhook, scripts):
    health_it = scripts.program(HEALTH_IT)
    reply = texts(say(webhook, visitor(), "can I take health IT in Tulsa?"))
    assert answered(reply, scripts.not_at(health_it, scripts.campus("tulsa")))  # the no, then every way to take it


def test_unknown_topic_invents_no_figure(webhook, scripts):
    reply = texts(say(webhook, visitor(), "how much does the tuition cost?"))
    assert answered(reply, scripts.unknown_topic("tuition"))
    assert not re.search(r"\$\s?\d|\d+\s?(dollars|%)", reply)


def test_context_carries_over_and_switches(webhook, scripts):
    billing, health_it = scripts.program(BILLING), scripts.program(HEALTH_IT)
    sender = visitor()
    assert answered(texts(say(webhook, sender, "tell me about health IT")), scripts.overview(health_it))
    assert answered(texts(say(webhook, sender, "is it online?")), scripts.delivery(health_it))
    assert answered(texts(say(webhook, sender, "and billing and coding?")), scripts.delivery(billing))


def test_replies_carry_suggestion_buttons(webhook, scripts):
    replies = say(webhook, visitor(), "hi")
    assert answered(replies[0]["text"], scripts.greeting())
    assert {"title": "Compare the programs", "payload": "/ask_difference"} in replies[-1]["buttons"]
    compared = texts(say(webhook, visitor(), "/ask_difference"))
    assert answered(compared, scripts.difference_intro())


def test_a_changed_fact_is_answered_after_an_action_server_restart(tmp_path, knowledge_copy):
    edit_yaml(knowledge_copy / "programs.yml", lambda d: d["programs"][1].update(duration_months=20))
    edited = Scripts(load_knowledge(knowledge_copy), load_replies())
    health_it = edited.program(HEALTH_IT)
    assert health_it.duration_months == 20
    with action_server(tmp_path, knowledge_copy) as actions, rasa_server(tmp_path, actions) as url:
        reply = texts(say(url, visitor(), "how long is the healthcare information technology program?"))
    assert answered(reply, edited.duration(health_it))


def test_an_invalid_knowledge_base_stops_the_action_server(knowledge_copy):
    edit_yaml(knowledge_copy / "programs.yml", lambda d: d["programs"][1].update(duration_months="soon"))
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"],
        cwd=ROOT,
        env={"KNOWLEDGE_DIR": str(knowledge_copy), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        "programs.yml: programs[1] (id 'healthcare_it'): duration_months: value is not a valid integer" in result.stderr
    )


def contact_details(workdir: Path, sender: str) -> tuple[object, ...]:
    """The name, email and phone slots of a conversation, as the Rasa server stored it."""
    store = SQLTrackerStore(load_replies().domain, db=str(workdir / "conversations.sqlite3"))
    tracker = asyncio.run(store.retrieve(sender))
    assert tracker is not None, f"no stored conversation {sender}"
    return tuple(tracker.get_slot(slot) for slot in ("lead_name", "lead_email", "lead_phone"))


def test_an_inquiry_completed_over_rest_is_exported_once_and_its_details_cleared(servers, scripts):
    url, leads_url, workdir = servers
    sender = visitor()
    page = "https://college.example/programs/health-it"
    inquiry = scripts.inquiry()
    started = datetime.now(timezone.utc)
    page_as_sent = page + "?utm_source=mail&email=x%40example.com#apply"
    converse(url, sender, inquiry[:-1], page_url=page_as_sent)
    assert contact_details(workdir, sender) == (DANA.name, DANA.email, DANA.stored_phone)  # for the summary
    converse(url, sender, inquiry[-1:], page_url=page_as_sent)
    assert contact_details(workdir, sender) == (None, None, None)  # cleared once the lead is stored

    mine = exported_leads(leads_url, sender)
    assert len(mine) == 1
    lead = mine[0]
    assert (lead["name"], lead["email"], lead["phone"]) == (DANA.name, DANA.email, DANA.stored_phone)
    assert (lead["program_id"], lead["study_option"], lead["contact_method"]) == (
        HEALTH_IT,
        scripts.online_option(scripts.program(HEALTH_IT)).id,
        EMAIL,
    )
    assert lead["consent_given"] is True and lead["consent_text"] in scripts.consent_prompt()
    assert lead["page_url"] == page and lead["questions"] == [inquiry[0][0]]  # the query and fragment dropped
    # The consent record: said yes over the REST channel, to this wording, before sending.
    assert started < datetime.fromisoformat(lead["consent_at"]) < datetime.fromisoformat(lead["created_at"])
    assert lead["consent_channel"] == "rest"
    assert lead["consent_wording_version"] == wording_version(DOMAIN, "reply_ask_lead_consent")
    assert lead["delivery_status"] == "pending"

    # Personal data never reaches the servers' logs (both run at their default INFO level).
    logs = "".join(path.read_text(errors="replace") for path in workdir.glob("*.log"))
    assert "lead " + lead["id"] in logs  # the lead is named by id...
    for personal in ("dana.obrien", "555-0199", "5550199", "O'Brien"):
        assert personal not in logs  # ...and by nothing else


def test_a_visitor_halfway_through_the_form_continues_after_a_restart(tmp_path, scripts):
    sender = visitor()
    with action_server(tmp_path) as actions:
        with rasa_server(tmp_path, actions) as url:
            say(url, sender, "I'd like more info")
            assert answered(texts(say(url, sender, "Robin Keller")), scripts.say("reply_ask_lead_email"))
        with rasa_server(tmp_path, actions) as url:  # a new Rasa server process, same store
            reply = texts(say(url, sender, "robin@example.com"))
    assert answered(reply, scripts.say("reply_ask_lead_phone"))
