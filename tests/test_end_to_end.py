"""The real action server and Rasa server on loopback, spoken to over the REST webhook."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest

from tests.conftest import PHONE, ROOT, edit_yaml
from tests.conversations import INQUIRY
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


def visitor() -> str:
    return f"e2e-{uuid.uuid4()}"


def test_durations_of_both_programs(webhook):
    assert "Medical Billing and Coding takes 15 months" in texts(
        say(webhook, visitor(), "how long is medical billing and coding?")
    )
    both = texts(say(webhook, visitor(), "how long are the programs?"))
    assert "Medical Billing and Coding takes 15 months" in both
    assert "Healthcare Information Technology takes 18 months" in both


def test_health_it_in_tulsa(webhook):
    reply = texts(say(webhook, visitor(), "can I take health IT in Tulsa?"))
    assert "Healthcare Information Technology isn't offered at our Tulsa, OK campus." in reply
    assert "Augusta, GA" in reply and "online through our Chattanooga, TN campus" in reply


def test_unknown_topic_invents_no_figure(webhook):
    reply = texts(say(webhook, visitor(), "how much does the tuition cost?"))
    assert "I don't have information about tuition and costs" in reply and PHONE in reply
    assert not re.search(r"\$\s?\d|\d+\s?(dollars|%)", reply)


def test_context_carries_over_and_switches(webhook):
    sender = visitor()
    assert "Healthcare Information Technology takes 18 months" in texts(say(webhook, sender, "tell me about health IT"))
    online = texts(say(webhook, sender, "is it online?"))
    assert online.startswith("Yes, Healthcare Information Technology can be completed online")
    switched = texts(say(webhook, sender, "and billing and coding?"))
    assert switched.startswith("Yes, Medical Billing and Coding can be completed online")


def test_replies_carry_suggestion_buttons(webhook):
    replies = say(webhook, visitor(), "hi")
    assert "Medical Billing and Coding and Healthcare Information Technology" in replies[0]["text"]
    assert {"title": "Compare the programs", "payload": "/ask_difference"} in replies[-1]["buttons"]
    compared = texts(say(webhook, visitor(), "/ask_difference"))
    assert "They are related but not the same." in compared


def test_a_changed_fact_is_answered_after_an_action_server_restart(tmp_path, knowledge_copy):
    edit_yaml(knowledge_copy / "programs.yml", lambda d: d["programs"][1].update(duration_months=20))
    with action_server(tmp_path, knowledge_copy) as actions, rasa_server(tmp_path, actions) as url:
        reply = texts(say(url, visitor(), "how long is the healthcare information technology program?"))
    assert "Healthcare Information Technology takes 20 months" in reply


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


def test_an_inquiry_completed_over_rest_is_exported_exactly_once(servers):
    url, leads_url, workdir = servers
    sender = visitor()
    page = "https://college.example/programs/health-it"
    converse(url, sender, INQUIRY, page_url=page)
    assert "+17065550199" not in texts(say(url, sender, "how long is it?"))  # details cleared

    mine = exported_leads(leads_url, sender)
    assert len(mine) == 1
    lead = mine[0]
    assert (lead["name"], lead["email"], lead["phone"]) == (
        "Dana O'Brien-Núñez",
        "dana.obrien@example.com",
        "+17065550199",
    )
    assert (lead["program_id"], lead["study_option"], lead["contact_method"]) == (
        "healthcare_it",
        "chattanooga:online",
        "email",
    )
    assert lead["consent_given"] is True and lead["consent_text"].startswith(
        "May the college's admissions office contact you by email"
    )
    assert lead["page_url"] == page and lead["questions"] == ["can I study health IT online?"]
    assert lead["delivery_status"] == "pending"

    # Personal data never reaches the servers' logs (both run at their default INFO level).
    logs = "".join(path.read_text(errors="replace") for path in workdir.glob("*.log"))
    assert "lead " + lead["id"] in logs  # the lead is named by id...
    for personal in ("dana.obrien", "555-0199", "5550199", "O'Brien"):
        assert personal not in logs  # ...and by nothing else


def test_a_visitor_halfway_through_the_form_continues_after_a_restart(tmp_path):
    sender = visitor()
    with action_server(tmp_path) as actions:
        with rasa_server(tmp_path, actions) as url:
            say(url, sender, "I'd like more info")
            assert "What's your email address?" in texts(say(url, sender, "Robin Keller"))
        with rasa_server(tmp_path, actions) as url:  # a new Rasa server process, same store
            reply = texts(say(url, sender, "robin@example.com"))
    assert "What's the best phone number to reach you?" in reply
