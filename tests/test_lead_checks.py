"""What submit checks before storing a lead, and how leads enter the store (issue 10): unit tests.

Each answer is checked again by its field's own parser (actions/inquiry/revalidation.py);
a person's second inquiry within a day updates the first, and an address may send a few
leads an hour (actions/inquiry/intake.py). Over a real action server and Rasa server:
tests/test_abuse_actions.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from actions.inquiry import fields, intake, options
from actions.inquiry.form_actions import SubmitInquiry
from actions.inquiry.lead_builder import build_lead
from actions.inquiry.revalidation import Refused, checked_answers
from actions.inquiry.store import DELIVERED, PENDING, utc_now
from actions.knowledge import load_knowledge
from actions.rate_limits import RateLimit, parse_limit
from tests.conftest import DOMAIN, PHONE
from tests.conversations import DANA, HEALTH_IT, Person, Scripts
from tests.form_events import traces
from tests.replies import load_replies
from tests.test_inquiry_form import after, ask, leads_db, make_tracker, run, say  # noqa: F401 (fixture)

KB = load_knowledge()
SCRIPTS = Scripts(KB, load_replies())
HIT = SCRIPTS.program(HEALTH_IT)
VALID = SCRIPTS.slots(DANA, HIT)
# A place the other program is taught but health IT is not.
ELSEWHERE = next(
    o.id for o in options.study_options(KB, None) if o.id not in {s.id for s in options.study_options(KB, HIT.id)}
)


def texting() -> dict[str, Any]:
    """The valid form, contacted by text: both consents asked (their wordings kept) and given."""
    slots = {**VALID, "lead_contact_method": "text"}
    slots = after(slots, ask("lead_consent", slots))
    slots = after(slots, ask("lead_sms_consent", slots))
    return {**slots, "lead_sms_consent": True}


# One stored answer the form would have refused, for each field: (slot, the slots).
INVALID = {
    "name with markup": ("lead_name", {**VALID, "lead_name": "<b>Dana</b>"}),
    "no name": ("lead_name", {**VALID, "lead_name": None}),
    "email x": ("lead_email", {**VALID, "lead_email": "x"}),
    "email not text": ("lead_email", {**VALID, "lead_email": ["dana@example.com"]}),
    "phone 1": ("lead_phone", {**VALID, "lead_phone": "1"}),
    "program the knowledge base lacks": ("lead_program", {**VALID, "lead_program": "nursing"}),
    "study option nowhere": ("lead_study_option", {**VALID, "lead_study_option": "mars:online"}),
    "study option of another program": ("lead_study_option", {**VALID, "lead_study_option": ELSEWHERE}),
    "contact by pigeon": ("lead_contact_method", {**VALID, "lead_contact_method": "pigeon"}),
    "consent false": ("lead_consent", {**VALID, "lead_consent": False}),
    "consent as the word yes": ("lead_consent", {**VALID, "lead_consent": "yes"}),
    "consent wording missing": ("lead_consent_wording", {**VALID, "lead_consent_wording": None}),
    "consent given to another method": ("lead_consent_wording", {**VALID, "lead_contact_method": "phone"}),
    "consent to words never asked": ("lead_consent_wording", {**VALID, "lead_consent_wording": "Sure?"}),
    "texting without text consent": ("lead_sms_consent", {**texting(), "lead_sms_consent": None}),
    "text consent wording missing": ("lead_sms_consent_wording", {**texting(), "lead_sms_consent_wording": ""}),
    "text consent for another number": ("lead_sms_consent_wording", {**texting(), "lead_phone": "+14235550177"}),
    "confirmed as the word yes": ("lead_confirmed", {**VALID, "lead_confirmed": "yes"}),
}


def tracker_of(slots: dict[str, Any], sender: str = "visitor-1", client: str | None = None):
    tracker = make_tracker("yes", "affirm", slots)
    tracker.sender_id = sender
    if client is not None:
        tracker.latest_message["metadata"] = {"client": client}
    return tracker


def test_the_valid_form_passes_every_check():
    checked = checked_answers(tracker_of(VALID), KB, DOMAIN)
    assert checked == {slot: VALID[slot] for slot in checked}
    assert set(checked) == {f.slot for f in fields.FIELDS if f.is_asked(tracker_of(VALID))}


def test_a_visitor_contacted_by_text_passes_with_the_text_consent():
    assert checked_answers(tracker_of(texting()), KB, DOMAIN)["lead_sms_consent"] is True


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_each_answer_the_form_would_refuse_is_refused_by_its_field(case):
    slot, slots = INVALID[case]
    with pytest.raises(Refused) as refused:
        checked_answers(tracker_of(slots), KB, DOMAIN)
    assert refused.value.slot == slot


def test_every_field_has_a_refused_case():
    """A field added to fields.py is checked at submit: this list must name a case for it."""
    assert {f.slot for f in fields.FIELDS} <= {slot for slot, _ in INVALID.values()}


def test_answers_are_stored_as_the_validators_normalise_them():
    slots = {**VALID, "lead_email": "Dana.OBrien@EXAMPLE.com", "lead_phone": "(706) 555-0199"}
    lead = build_lead(tracker_of(slots), checked_answers(tracker_of(slots), KB, DOMAIN))
    assert (lead.answers["email"], lead.answers["phone"]) == ("Dana.OBrien@example.com", DANA.stored_phone)


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_submit_stores_nothing_it_would_refuse_and_says_so(leads_db, caplog, case):  # noqa: F811
    slot, slots = INVALID[case]
    caplog.set_level(logging.INFO)
    result = run(SubmitInquiry(), tracker_of(slots, sender="forged-1"))
    assert list(leads_db.all()) == []
    if slot == "lead_confirmed":  # not confirmed: the stopped form's path, which says nothing
        assert result.texts == []
        return
    assert result.texts == [say("reply_inquiry_not_saved", phone=PHONE)]
    field = fields.BY_SLOT.get(slot) or next(f for f in fields.FIELDS if f.wording_slot == slot)
    kept = "lead_email" if field.slot != "lead_email" else "lead_name"
    assert result.slot(field.slot) is None and result.slot(kept) == "<unset>"  # asked again; the rest kept
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"conversation forged-1: lead not saved, {slot} failed re-validation" in logged
    assert traces(DANA, logged) == []


# --- one lead per person a day, a few per address an hour ---------------------------------


def other(n: int) -> Person:
    return Person("Sam Other", f"sam{n}@example.com", f"(423) 555-{n:04d}", f"+1423555{n:04d}")


def lead_for(person: Person, sender: str = "visitor-1", **changes: Any):
    slots = {**SCRIPTS.slots(person, HIT), **changes}
    tracker = tracker_of(slots, sender)
    return build_lead(tracker, checked_answers(tracker, KB, DOMAIN))


LIMIT = RateLimit("test leads per address", parse_limit("TEST", "3/hour"))  # counted afresh in each test


def test_a_retried_submit_is_stored_once_and_counted_once(leads_db):  # noqa: F811
    lead = lead_for(DANA)
    assert intake.take(leads_db, lead, "client:a", LIMIT) is intake.Outcome.SAVED
    assert intake.take(leads_db, lead, "client:a", LIMIT) is intake.Outcome.SAVED
    assert len(list(leads_db.all())) == 1
    assert [intake.take(leads_db, lead_for(other(n)), "client:a", LIMIT) for n in range(3)] == [
        intake.Outcome.SAVED,
        intake.Outcome.SAVED,
        intake.Outcome.LIMITED,  # the retry above was not counted: 1 + 2 = 3
    ]


@pytest.mark.parametrize("same", ["email", "phone"])
def test_the_same_email_or_phone_within_a_day_updates_the_earlier_lead(leads_db, same):  # noqa: F811
    first = lead_for(DANA, sender="first-visit")
    intake.take(leads_db, first, "client:a", LIMIT)
    leads_db.mark_delivered(first.id)
    # The same address in capitals, or the same number typed another way; the rest differs.
    contact = (
        {"lead_email": DANA.email.upper(), "lead_phone": "+14235550111"}
        if same == "email"
        else {"lead_email": "dana.new@example.com", "lead_phone": "706.555.0199"}
    )
    second = lead_for(DANA, sender="second-visit", lead_name="Dana Again", **contact)
    assert intake.take(leads_db, second, "client:b", LIMIT) is intake.Outcome.UPDATED
    [stored] = leads_db.all()
    assert stored.id == first.id and second.id == first.id  # the CRM updates the record it has
    assert stored.answers["name"] == "Dana Again" and stored.answers["phone"] == second.answers["phone"]
    assert stored.conversation_id == "second-visit" and stored.created_at == first.created_at
    assert (stored.delivery_status, stored.delivered_at, stored.delivery_attempts) == (PENDING, None, 0)


def test_the_same_person_a_day_later_is_a_new_lead(leads_db):  # noqa: F811
    first = lead_for(DANA)
    first.created_at = utc_now() - intake.REPEAT_WINDOW - timedelta(minutes=1)
    leads_db.save(first)
    assert intake.take(leads_db, lead_for(DANA), "client:a", LIMIT) is intake.Outcome.SAVED
    assert len(list(leads_db.all())) == 2


def test_an_address_over_its_limit_stores_nothing_and_others_are_counted_apart(leads_db):  # noqa: F811
    taken = [intake.take(leads_db, lead_for(other(n)), "client:flood", LIMIT) for n in range(10)]
    assert taken.count(intake.Outcome.SAVED) == 3 and taken[3:] == [intake.Outcome.LIMITED] * 7
    assert len(list(leads_db.all())) == 3
    assert intake.take(leads_db, lead_for(other(99)), "client:another", LIMIT) is intake.Outcome.SAVED


def test_updates_count_towards_the_address_limit(leads_db):  # noqa: F811
    taken = [intake.take(leads_db, lead_for(DANA), "client:a", LIMIT) for _ in range(4)]
    assert taken == [intake.Outcome.SAVED, intake.Outcome.UPDATED, intake.Outcome.UPDATED, intake.Outcome.LIMITED]


def test_the_address_is_the_channels_client_else_the_conversation():
    assert intake.address(tracker_of(VALID, "conv-1", client="c0ffee")) == "client:c0ffee"
    assert intake.address(tracker_of(VALID, "conv-1")) == "conversation:conv-1"
    assert intake.address(tracker_of(VALID, "conv-1", client="")) == "conversation:conv-1"


def test_the_address_limit_setting(monkeypatch):
    assert intake.address_limit().item.amount == intake.DEFAULT_PER_ADDRESS == 5
    assert intake.address_limit().item.get_expiry() == 3600
    monkeypatch.setenv("LEADS_PER_ADDRESS_PER_HOUR", "2")
    assert intake.address_limit().item.amount == 2
    for bad in ("0", "-1", "lots", "2.5"):
        monkeypatch.setenv("LEADS_PER_ADDRESS_PER_HOUR", bad)
        with pytest.raises(ValueError, match="LEADS_PER_ADDRESS_PER_HOUR must be a whole number"):
            intake.address_limit()


def test_submit_tells_a_repeat_it_updated_the_earlier_inquiry(leads_db):  # noqa: F811
    first = run(SubmitInquiry(), tracker_of(SCRIPTS.slots(DANA, HIT), "first-visit"))
    assert first.texts[0] == say("reply_inquiry_saved", phone=PHONE)
    again = run(SubmitInquiry(), tracker_of(SCRIPTS.slots(DANA, HIT), "second-visit"))
    assert again.texts[0] == say("reply_inquiry_updated", phone=PHONE)
    assert again.slot("lead_email") is None  # the details leave the conversation as for a new lead
    assert len(list(leads_db.all())) == 1


def test_submit_beyond_the_address_limit_sends_the_visitor_to_the_phone(leads_db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LEADS_PER_ADDRESS_PER_HOUR", "2")
    results = [run(SubmitInquiry(), tracker_of(SCRIPTS.slots(other(n), HIT), f"v{n}", "c0ffee")) for n in range(3)]
    assert [r.texts[0] for r in results] == [say("reply_inquiry_saved", phone=PHONE)] * 2 + [
        say("reply_inquiry_limited", phone=PHONE)
    ]
    assert PHONE in results[2].texts[0] and len(list(leads_db.all())) == 2
    assert results[2].slot("lead_email") is None  # nothing kept of what was refused


def test_delivered_status_is_reset_by_an_update_only(leads_db):  # noqa: F811
    first, bystander = lead_for(DANA), lead_for(other(1))
    for lead in (first, bystander):
        intake.take(leads_db, lead, "client:a", LIMIT)
        leads_db.mark_delivered(lead.id)
    intake.take(leads_db, lead_for(DANA), "client:a", LIMIT)
    statuses = {lead.id: lead.delivery_status for lead in leads_db.all()}
    assert statuses == {first.id: PENDING, bystander.id: DELIVERED}
