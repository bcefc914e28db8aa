"""The real action server and Rasa server on loopback, spoken to over the REST webhook."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT, edit_yaml
from tests.servers import action_server, rasa_server, say, texts

PHONE = "(800) 705-9182"


@pytest.fixture(scope="module")
def webhook(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("servers")
    with action_server(workdir) as actions, rasa_server(workdir, actions) as url:
        yield url


def visitor() -> str:
    return f"e2e-{uuid.uuid4()}"


def test_durations_of_both_programs(webhook):
    assert "Medical Billing and Coding takes 15 months" in texts(say(webhook, visitor(), "how long is medical billing and coding?"))
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
        cwd=ROOT, env={"KNOWLEDGE_DIR": str(knowledge_copy), "PATH": ""}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "programs.yml: programs[1] (id 'healthcare_it'): duration_months: value is not a valid integer" in result.stderr
