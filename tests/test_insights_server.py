"""The insights report over conversations held with the real servers: seeded over REST
(answered questions and a button, unknown topics, a message not understood, a form left at the
email field, two completed forms, one delivered to a stand-in CRM and one not), and thumbs up and
down sent as the widget sends them: the REST webhook's `feedback` body naming the `answer_id` the
channel returned with the answer (a second rating of an answer is refused). The report's numbers
must equal the seed's exactly, and no contact detail may be anywhere in its folder."""

from __future__ import annotations

import csv
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from actions.insights import names
from actions.knowledge import load_knowledge
from tests.conftest import DOMAIN, ROOT, wait_for
from tests.conversations import BILLING, DANA, HEALTH_IT, Person, Scripts, answered
from tests.crm import SECRET, FakeCRM
from tests.replies import load_replies
from tests.servers import action_server, conversation_events, exported_leads, quiet_env, rasa_server, say, texts

pytestmark = pytest.mark.slow

SAM = Person("Sam Okafor-Lindqvist", "sam.okafor@example.net", "(706) 555-0163", "+17065550163")
ROBIN = "Robin Keller-Abara"  # left the form at the email question
ASIDE_EMAIL, ASIDE_PHONE = "casey.visitor@example.com", "706-555-0147"
NEW_YORK = ZoneInfo("America/New_York")
SCRIPTS = Scripts(load_knowledge(), load_replies())


def fixed_part(response: str) -> str:
    """A domain response's wording before its first fact: what every variation starts with."""
    return DOMAIN["responses"][response][0]["text"].split("{", 1)[0]


UNANSWERED_WORDING = {
    fixed_part("reply_unknown_topic"): "unknown topic",
    fixed_part("reply_unknown_topic_generic"): "unknown topic",
    fixed_part("reply_fallback"): "not understood",
}


@dataclass
class Seed:
    """What was said to the servers and what they answered, per conversation."""

    url: str
    said: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # sender -> (message, reply)
    messages: dict[str, list[dict]] = field(default_factory=dict)  # sender -> every message returned

    def say(self, sender: str, message: str) -> str:
        replies = say(self.url, sender, message)
        self.messages.setdefault(sender, []).extend(replies)
        reply = texts(replies)
        self.said.setdefault(sender, []).append((message, reply))
        return reply

    def converse(self, sender: str, turns) -> None:
        for message, expected in turns:
            reply = self.say(sender, message)
            assert answered(reply, expected), f"after {message!r}: {reply}"


@dataclass(frozen=True)
class Rated:
    """A stored rating: the visitor message, its question type (intent) and the answer rated."""

    question: str
    intent: str | None
    answer: str
    rating: str


def rate(seed: Seed, workdir: Path, sender: str, ratings: list[tuple[str, str, int]]) -> list[Rated]:
    """Thumbs for `sender`'s answers as the widget sends them: the webhook's `feedback` body with
    the `answer_id` of the first returned message holding the text. `ratings`: (text in the answer,
    rating, the status the webhook must answer). Returns the stored ones, read back from the
    conversation the server stored (the rated answer and the visitor message before it)."""
    rated = []
    for part, rating, status in ratings:
        answer_id = next(m["answer_id"] for m in seed.messages[sender] if part in m.get("text", ""))
        body = {"sender": sender, "feedback": {"answer_id": answer_id, "rating": rating}}
        response = httpx.post(seed.url, json=body, timeout=60)
        assert response.status_code == status, response.text
        if status != 200:
            continue
        assert response.json() == []  # stored, and never answered with text
        events = conversation_events(workdir, sender)
        at = next(i for i, e in enumerate(events) if e["event"] == "bot" and e["timestamp"] == answer_id)
        question = next(e for e in reversed(events[:at]) if e["event"] == "user")
        intent = (question.get("parse_data") or {}).get("intent", {}).get("name")
        rated.append(Rated(question["text"], intent, events[at]["text"], rating))
    return rated


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("insights")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    crm_env = {"LEADS_WEBHOOK_URL": "", "LEADS_WEBHOOK_SECRET": SECRET, "LEADS_DELIVERY_INTERVAL": "0.5"}
    ids = {kind: f"insights-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("answered", "unknown", "fallback")}
    ids |= {kind: f"insights-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("abandoned", "delivered", "pending")}
    with FakeCRM(SECRET) as crm:
        crm_env["LEADS_WEBHOOK_URL"] = crm.url
        with action_server(workdir, None, leads_url, **crm_env) as actions, rasa_server(workdir, actions) as url:
            seed = Seed(url)
            billing, health_it = SCRIPTS.program(BILLING), SCRIPTS.program(HEALTH_IT)
            seed.converse(ids["answered"], [("how long is medical billing and coding?", SCRIPTS.duration(billing))])
            seed.converse(ids["answered"], [("/ask_delivery", SCRIPTS.delivery(billing))])  # the suggestion button
            seed.converse(ids["unknown"], [("how much does the tuition cost?", SCRIPTS.unknown_topic("tuition"))])
            seed.say(ids["unknown"], f"is there financial aid? my email is {ASIDE_EMAIL}")  # an unknown topic
            seed.say(ids["unknown"], f"is there financial aid? call me at {ASIDE_PHONE}")  # out of scope, as it happens
            seed.say(ids["fallback"], "blorptang")  # the NLU reads nothing in it (nlu_fallback)
            seed.converse(ids["abandoned"], SCRIPTS.form(DANA, health_it)[:1])
            seed.converse(ids["abandoned"], [(ROBIN, SCRIPTS.say("reply_ask_lead_email"))])
            seed.converse(ids["delivered"], SCRIPTS.form(DANA, health_it))
            assert wait_for(lambda: exported_leads(leads_url)[0]["delivery_status"] == "delivered", 30)
            crm.down = True  # the second lead stays pending
            seed.converse(ids["pending"], SCRIPTS.form(SAM, billing))
            already = 409  # one rating per answer: the second is refused and stores nothing
            feedback = rate(seed, workdir, ids["answered"], [("15 months", "up", 200), ("online", "up", 200)])
            feedback += rate(seed, workdir, ids["answered"], [("online", "down", already)])
            feedback += rate(seed, workdir, ids["unknown"], [(fixed_part("reply_unknown_topic"), "down", 200)])
    today = datetime.now(NEW_YORK).date()
    out = workdir / "report"
    result = subprocess.run(
        [sys.executable, "-m", "actions.insights", "--since", str(today - timedelta(days=1)), "--out", str(out)],
        cwd=ROOT,
        env=quiet_env(ENDPOINTS_FILE=str(workdir / "endpoints-actions.yml"), LEADS_DATABASE_URL=leads_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return {"seed": seed, "ids": ids, "out": out, "feedback": feedback, "leads": exported_leads(leads_url)}


def rows(out: Path, name: str) -> list[list[str]]:
    with (out / f"{name}.csv").open(newline="") as f:
        return list(csv.reader(f))[1:]


def test_the_funnel_counts_the_seeded_conversations_exactly(seeded):
    seed, ids, out = seeded["seed"], seeded["ids"], seeded["out"]
    offer = fixed_part("reply_inquiry_offer")
    offered = sum(any(offer in reply for _, reply in turns) for turns in seed.said.values())
    assert [lead["delivery_status"] for lead in seeded["leads"]] == ["delivered", "pending"]
    funnel = {step: int(count) for step, count, _share in rows(out, "funnel")}
    asked = {f"Field reached: {names.field(slot)}": count for slot, count in [
        ("lead_name", 3), ("lead_email", 3), ("lead_phone", 2), ("lead_program", 2), ("lead_study_option", 2),
        ("lead_contact_method", 2), ("lead_consent", 2), ("lead_sms_consent", 0), ("lead_confirmed", 2),
    ]}  # fmt: skip
    assert funnel == {
        "Conversations": len(ids),
        "Follow-up offered": offered,
        "Form started": 3,
        **asked,
        "Lead saved": 2,
        "Lead delivered to the CRM": 1,
    }
    assert rows(out, "drop_off") == [["Email", "1", "33.3%"]]
    turns = sum(len(said) for said in seed.said.values())
    assert rows(out, "outside_office_hours")[0][:2] == ["Conversations", str(len(ids))]
    assert rows(out, "outside_office_hours")[1][:2] == ["Turns", str(turns)]
    assert rows(out, "buttons") == [["Is it online?", "/ask_delivery", "1"]]


def test_the_unanswered_queue_holds_exactly_the_seeded_unknown_questions_masked(seeded):
    seed, out = seeded["seed"], seeded["out"]
    expected = [
        (message, reason)
        for turns in seed.said.values()
        for message, reply in turns
        for wording, reason in UNANSWERED_WORDING.items()
        if wording in reply
    ]
    assert {reason for _, reason in expected} == {"unknown topic", "not understood"}, seed.said  # the seed did its job
    queue = rows(out, "unanswered")
    masked = [(m.replace(ASIDE_PHONE, "[phone]").replace(ASIDE_EMAIL, "[email]"), r) for m, r in expected]
    assert sorted((row[1], row[2]) for row in queue) == sorted(masked)
    assert [row[0] for row in queue] == sorted((row[0] for row in queue), reverse=True)  # newest first
    assert ("how much does the tuition cost?", "unknown topic") in masked
    assert ("is there financial aid? my email is [email]", "unknown topic") in masked
    tuition = next(row for row in queue if row[1] == "how much does the tuition cost?")
    topic = SCRIPTS.kb.unknown_topic("tuition")
    assert topic is not None and tuition[3] == topic.name and tuition[4] == f"Topic: {topic.name}"


def test_answer_feedback_is_reported_per_question_type_with_the_unhelpful_answers(seeded):
    out, feedback = seeded["out"], seeded["feedback"]
    per_type: dict[str, list[int]] = {}
    for rated in feedback:
        counts = per_type.setdefault(names.intent(rated.intent), [0, 0])
        counts[rated.rating == "down"] += 1
    assert {row[0]: [int(row[1]), int(row[2])] for row in rows(out, "feedback")} == per_type
    assert sum(up for up, _ in per_type.values()) == 2 and sum(down for _, down in per_type.values()) == 1
    unhelpful = [(rated.question, rated.answer) for rated in feedback if rated.rating == "down"]
    assert [(row[2], row[3]) for row in rows(out, "unhelpful")] == unhelpful


def test_no_contact_detail_is_anywhere_in_the_report_folder(seeded):
    out = seeded["out"]
    details = [DANA.name, DANA.email, DANA.phone, DANA.stored_phone, "5550199", SAM.name, SAM.email, SAM.phone]
    details += [SAM.stored_phone, "5550163", ROBIN, ASIDE_EMAIL, ASIDE_PHONE, "5550147", "Okafor", "Keller"]
    files = sorted(out.iterdir())
    assert len(files) == 17
    for path in files:
        content = path.read_bytes().decode("utf-8", errors="replace").lower()
        for detail in details:
            assert detail.lower() not in content, f"{detail!r} in {path.name}"
    assert "[email]" in (out / "unanswered.csv").read_text()
