"""Small privacy pieces on real inputs: the erasure identifier, its salted hash and salt file,
erasure without a conversation store, the cheap "may this message hold contact details?" check
every stored turn runs, and the privacy patch's refusal on another Rasa."""

from __future__ import annotations

import hashlib
import hmac
import string
from pathlib import Path

import pytest
import rasa

from actions.inquiry.store import LeadStore, utc_now
from actions.privacy import erasure
from actions.privacy.personal_slots import PERSONAL_SLOTS
from actions.privacy.redaction import personal_inputs, redact_events, user_event_needs_masking
from channels import patching, privacy_patches
from tests.conversations import DANA
from tests.test_lead_store import make_lead

# The erasure identifier


def test_an_email_identifier_is_the_address_lower_cased():
    assert erasure.Identifier.email("Dana.Rivera@Example.ORG") == erasure.Identifier("email", "dana.rivera@example.org")


def test_a_phone_identifier_is_the_number_as_the_form_stores_it():
    assert erasure.Identifier.phone(DANA.phone) == erasure.Identifier("phone", DANA.stored_phone)


def test_the_identifier_hash_is_the_salted_hmac_of_kind_and_value():
    email = erasure.Identifier.email(DANA.email)
    expected = hmac.new(b"salt", f"email:{DANA.email.lower()}".encode(), hashlib.sha256).hexdigest()
    assert erasure.identifier_hash(email, b"salt") == expected
    phone = erasure.Identifier.phone(DANA.phone)
    assert erasure.identifier_hash(phone, b"salt") != erasure.identifier_hash(email, b"salt")


def test_the_salt_file_is_made_in_folders_that_do_not_exist_yet(tmp_path, monkeypatch):
    monkeypatch.delenv(erasure.SALT_ENV, raising=False)
    salt_file = tmp_path / "fresh" / "runtime" / "erasure-salt"
    salt = erasure.salt(salt_file)
    assert len(salt) == 64 and set(salt.decode()) <= set(string.hexdigits)  # 32 random bytes, in hex
    assert salt_file.read_bytes() == salt


def test_erasure_without_a_conversation_store_erases_the_leads(tmp_path: Path):
    leads = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    lead = make_lead(1, email=DANA.email, conversation_id="visit")
    leads.save(lead)
    done = erasure.erase(erasure.Identifier.email(DANA.email), leads, None, b"salt", utc_now())
    assert (done.lead_ids, done.conversations, done.found) == ([lead.id], 0, True)
    assert leads.get(lead.id) is None
    leads.dispose()


# Which stored events need masking (every turn asks)


@pytest.mark.parametrize(
    ("event", "needs"),
    [
        ({"event": "user", "text": f"write to {DANA.email}"}, True),
        ({"event": "user", "text": f"call {DANA.phone}"}, True),
        ({"event": "user", "text": "how long is the program?"}, False),
        ({"event": "user", "text": None}, False),
        ({"event": "user"}, False),
        ({"event": "bot", "text": f"We will write to {DANA.email}"}, False),  # the redaction handles bot texts
        ({"event": "slot", "name": "lead_email", "value": DANA.email}, False),
    ],
)
def test_only_user_messages_that_may_hold_contact_details_need_masking(event, needs):
    assert user_event_needs_masking(event) is needs


# The privacy patch on another Rasa


def test_the_privacy_patch_refusal_tells_what_to_do_and_that_there_is_no_switch(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(patching.RefusedPatches) as refused:
        privacy_patches.install()
    assert str(refused.value).endswith(
        "\nCheck each patch in channels/privacy_patches.py against this Rasa and update RASA_VERSION; "
        "there is no switch: these keep contact details out of the logs."
    )
    assert all(patching.is_rasas_own(patch) for patch in privacy_patches.PATCHES)


# What counts as typed into the form


@pytest.mark.parametrize(
    "ending",
    [{"event": "active_loop", "name": None}, {"event": "session_started"}],
    ids=["form ended", "new session"],
)
def test_a_message_after_the_form_or_session_ended_is_not_taken_for_a_form_answer(ending):
    """Rasa may leave requested_slot set when the form ends: what follows is a question, kept."""
    events = [
        {"event": "active_loop", "name": "inquiry_form"},
        {"event": "slot", "name": "requested_slot", "value": "lead_email"},
        {"event": "user", "text": DANA.email, "parse_data": {"text": DANA.email}},
        {"event": "slot", "name": "lead_email", "value": DANA.email},
        {"event": "slot", "name": "requested_slot", "value": "lead_phone"},
        ending,
        {"event": "user", "text": "what programs do you have?", "parse_data": {"text": "what programs do you have?"}},
    ]
    assert personal_inputs(events, PERSONAL_SLOTS) == {2: "email"}
    redacted = redact_events(events, PERSONAL_SLOTS)
    assert redacted[2]["text"] == "[email]" and redacted[-1] == events[-1]
