"""Issue 10, the action server and the leads: a real action server (and Rasa server) on loopback.

The attack found: a POST straight to the action server's /webhook with a made-up tracker
stored a lead with email `x`, phone `1` and consent false. Now the action server answers
only the token the Rasa server sends (actions/server_auth.py), submit checks every answer
again (actions/inquiry/revalidation.py), and leads are limited per person and per address
(actions/inquiry/intake.py). Each test reads the lead store itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from actions.inquiry.store import Lead, LeadStore
from tests.conftest import MEASUREMENTS, PHONE
from tests.conversations import DANA, HEALTH_IT, Person, Scripts, answered
from tests.replies import load_replies
from tests.servers import ACTIONS_AUTH, ACTIONS_TOKEN, action_call, action_server, converse, rasa_server, say, texts
from tests.test_lead_checks import INVALID, KB

pytestmark = pytest.mark.slow

PER_ADDRESS = 5  # LEADS_PER_ADDRESS_PER_HOUR for these servers (the default)
FLOOD = 1000
SCRIPTS = Scripts(KB, load_replies())
HIT = SCRIPTS.program(HEALTH_IT)
SUBMIT = "action_submit_inquiry"


@dataclass
class Actions:
    url: str  # the action server's /webhook
    store: LeadStore
    workdir: Path

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    def leads(self) -> list[Lead]:
        return list(self.store.all())


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Actions]:
    workdir = tmp_path_factory.mktemp("abuse")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    with action_server(workdir, leads_url=leads_url, LEADS_PER_ADDRESS_PER_HOUR=str(PER_ADDRESS)) as url:
        store = LeadStore(leads_url)
        yield Actions(url, store, workdir)
        store.dispose()


@pytest.fixture
def actions(server: Actions) -> Actions:
    """The module's action server, with an empty lead store."""
    server.store.delete(lead.id for lead in server.store.all())
    return server


def person(n: int) -> Person:
    return Person("Sam Flood", f"flood{n}@example.com", "", f"+1423555{n:04d}")


def responses(answer: httpx.Response) -> list[str]:
    return [r.get("response") for r in answer.json()["responses"]]


# --- the token ----------------------------------------------------------------------------

NOT_THE_TOKEN = {
    "no header": {},
    "wrong token": {"Authorization": "Bearer " + "x" * len(ACTIONS_TOKEN)},
    "token without its scheme": {"Authorization": ACTIONS_TOKEN},
    "another scheme": {"Authorization": f"Basic {ACTIONS_TOKEN}"},
}


@pytest.mark.parametrize("headers", NOT_THE_TOKEN.values(), ids=list(NOT_THE_TOKEN))
def test_a_forged_call_without_the_token_gets_401_and_stores_nothing(actions, headers):
    """The issue's call: email x, phone 1, consent false; and a valid one: neither runs."""
    forged = {**SCRIPTS.slots(DANA, HIT), "lead_email": "x", "lead_phone": "1", "lead_consent": False}
    for slots in (forged, SCRIPTS.slots(DANA, HIT)):
        answer = httpx.post(actions.url, json=action_call(SUBMIT, "forged", slots), headers=headers, timeout=30)
        assert answer.status_code == 401
        assert answer.json()["error"] and answer.headers["WWW-Authenticate"] == "Bearer"
    assert actions.leads() == []


def test_the_token_in_the_url_is_not_accepted(actions):
    """Rasa's `token:` option puts it in the query string, where access logs keep it."""
    call = action_call(SUBMIT, "forged", SCRIPTS.slots(DANA, HIT))
    answer = httpx.post(actions.url, params={"token": ACTIONS_TOKEN}, json=call, timeout=30)
    assert answer.status_code == 401 and actions.leads() == []


def test_only_the_health_check_answers_without_the_token(actions):
    assert httpx.get(f"{actions.base}/health", timeout=30).status_code == 200
    assert httpx.get(f"{actions.base}/actions", timeout=30).status_code == 401
    assert httpx.get(f"{actions.base}/actions", headers=ACTIONS_AUTH, timeout=30).status_code == 200


# --- with the token: every answer checked again -----------------------------------------


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_with_the_token_an_answer_the_form_would_refuse_stores_nothing(actions, case):
    slot, slots = INVALID[case]
    answer = httpx.post(actions.url, json=action_call(SUBMIT, "forged", slots), headers=ACTIONS_AUTH, timeout=30)
    assert answer.status_code == 200
    assert actions.leads() == []
    expected = [] if slot == "lead_confirmed" else ["reply_inquiry_not_saved"]  # unconfirmed: nothing to send
    assert responses(answer) == expected
    assert all(r.get("phone") == PHONE for r in answer.json()["responses"])


def test_the_issues_forged_tracker_with_the_token_stores_nothing(actions):
    forged = {**SCRIPTS.slots(DANA, HIT), "lead_email": "x", "lead_phone": "1", "lead_consent": False}
    answer = httpx.post(actions.url, json=action_call(SUBMIT, "forged", forged), headers=ACTIONS_AUTH, timeout=30)
    assert responses(answer) == ["reply_inquiry_not_saved"] and actions.leads() == []
    MEASUREMENTS.append("abuse: forged submit -> 401 and 0 leads without the token; 0 leads with it and bad slots")


def test_a_valid_call_with_the_token_stores_one_lead(actions):
    slots = SCRIPTS.slots(DANA, HIT)
    answer = httpx.post(actions.url, json=action_call(SUBMIT, "visitor", slots), headers=ACTIONS_AUTH, timeout=30)
    assert responses(answer) == ["reply_inquiry_saved"]
    [lead] = actions.leads()
    assert (lead.id, lead.answers["email"], lead.answers["phone"]) == (slots["lead_id"], DANA.email, DANA.stored_phone)


# --- floods ---------------------------------------------------------------------------------


def test_a_thousand_inquiries_from_one_address_leave_at_most_the_limit(actions):
    client = f"flood-{uuid.uuid4()}"
    answered_with: dict[str, int] = {}
    with httpx.Client(headers=ACTIONS_AUTH, timeout=30) as http:
        for n in range(FLOOD):
            call = action_call(SUBMIT, f"flood-{n}", SCRIPTS.slots(person(n), HIT), {"client": client})
            for response in responses(http.post(actions.url, json=call)):
                answered_with[response] = answered_with.get(response, 0) + 1
        assert len(actions.leads()) == PER_ADDRESS
        assert answered_with == {"reply_inquiry_saved": PER_ADDRESS, "reply_inquiry_limited": FLOOD - PER_ADDRESS}
        # Another address is counted apart.
        call = action_call(SUBMIT, "someone-else", SCRIPTS.slots(DANA, HIT), {"client": f"other-{uuid.uuid4()}"})
        assert responses(http.post(actions.url, json=call)) == ["reply_inquiry_saved"]
    MEASUREMENTS.append(
        f"abuse: {FLOOD} inquiries from one address -> {PER_ADDRESS} leads (LEADS_PER_ADDRESS_PER_HOUR={PER_ADDRESS})"
    )


# --- through the Rasa server, which sends the token --------------------------------------


@pytest.mark.parametrize("speedups", ["on", "off"])
def test_through_rasa_the_same_email_twice_in_a_day_leaves_one_lead_updated(actions, tmp_path, speedups):
    """The Rasa server's calls carry the token with its kept connections (channels/speedups.py) and without."""
    with rasa_server(tmp_path, actions.url, RASA_SPEEDUPS=speedups) as webhook:
        converse(webhook, f"first-{uuid.uuid4()}", SCRIPTS.form(DANA, HIT))
        [first] = actions.leads()
        again = Person(DANA.name, DANA.email, "(423) 555-0177", "+14235550177")  # a new number, the same email
        converse(webhook, f"again-{uuid.uuid4()}", SCRIPTS.form(again, HIT, repeat=True))
    [lead] = actions.leads()
    assert lead.id == first.id and lead.answers["phone"] == again.stored_phone


def test_a_rasa_server_with_the_wrong_token_runs_no_action(actions, tmp_path):
    with rasa_server(tmp_path, actions.url, ACTIONS_TOKEN="w" * 40) as webhook:
        reply = texts(say(webhook, f"wrong-{uuid.uuid4()}", "how long is the health IT program?"))
    assert answered(reply, SCRIPTS.say("reply_service_trouble", phone=PHONE))
    assert not answered(reply, SCRIPTS.duration(HIT))
