"""The inquiry form's actions, slot by slot, with rasa_sdk trackers and dispatchers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.inquiry import runtime
from actions.inquiry.form_actions import ASK_ACTIONS, FIELDS, StartInquiry, SubmitInquiry, ValidateInquiryForm
from actions.inquiry.store import LeadStore
from tests.conftest import DOMAIN, PHONE, render

COMPLETE = {
    "lead_id": "7f1d3c2e-0000-4000-8000-000000000001",
    "lead_name": "Ana O'Neil",
    "lead_email": "ana@example.com",
    "lead_phone": "+14235550134",
    "lead_program": "medical_billing_coding",
    "lead_study_option": "tulsa:on_campus",
    "lead_contact_method": "email",
    "lead_consent": True,
    "lead_consent_wording": "May the college's admissions office contact you by email?",
    "lead_confirmed": True,
}


def make_tracker(
    text: str, intent: str, slots: dict[str, Any], confidence: float = 0.95, events: list[dict] | None = None
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    return Tracker(
        "visitor-1", dict(slots), message, events or [], False, None, {"name": "inquiry_form"}, "action_listen"
    )


class Result:
    def __init__(self, dispatcher: CollectingDispatcher, events: list[dict]) -> None:
        self.messages = dispatcher.messages
        self.texts = [m["text"] if m.get("text") else render(m) for m in dispatcher.messages]
        self.events = events

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return values[-1] if values else "<unset>"


def run(action, tracker: Tracker) -> Result:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return Result(dispatcher, events)


def answer(requested: str, text: str, intent: str = "inform", slots: dict[str, Any] | None = None, **kw) -> Result:
    """The visitor's reply to `requested`, with the fields before it already filled."""
    earlier = {f: COMPLETE[f] for f in FIELDS[: FIELDS.index(requested)] if f in COMPLETE}
    return run(
        ValidateInquiryForm(),
        make_tracker(text, intent, {**earlier, "requested_slot": requested, **(slots or {})}, **kw),
    )


def test_valid_answers_fill_the_slot_and_move_on():
    result = answer("lead_name", "José García-Márquez", "greet")
    assert result.slot("lead_name") == "José García-Márquez"
    assert result.slot("requested_slot") == "lead_email"
    assert result.texts == []


def test_an_invalid_email_is_asked_again_with_a_reason_then_accepted():
    bad = answer("lead_email", "ana at example dot com")
    assert bad.slot("lead_email") is None and bad.slot("requested_slot") == "lead_email"
    assert bad.texts == ["That doesn't look like a valid email address (an email address must have an @-sign)."]
    good = answer("lead_email", "Ana@Example.com", slots={"lead_failures": bad.slot("lead_failures")})
    assert good.slot("lead_email") == "Ana@example.com" and good.slot("lead_failures") == {}


def test_three_failures_offer_the_phone_number_and_a_way_out():
    failures = {"lead_phone": 2}
    result = answer("lead_phone", "12", slots={"lead_failures": failures})
    assert result.slot("lead_failures") == {"lead_phone": 3}
    assert (
        result.texts[-1] == f"Sorry this is proving difficult. You can call admissions at {PHONE} instead,"
        ' or type "stop" to leave the form.'
    )


def test_phone_numbers_are_stored_in_e164():
    assert answer("lead_phone", "(423) 555-0134").slot("lead_phone") == "+14235550134"


def test_a_question_in_the_middle_is_answered_and_the_field_asked_again():
    result = answer("lead_phone", "how long is it?", "ask_duration", slots={"program": "healthcare_it"})
    assert result.texts == ["Healthcare Information Technology takes 18 months to complete."]
    assert result.slot("lead_phone") is None and result.slot("requested_slot") == "lead_phone"
    assert result.slot("lead_failures") == "<unset>"  # a question is not a failed answer


def test_a_question_is_not_taken_as_a_name():
    result = answer("lead_name", "is it online", "ask_delivery")
    assert result.slot("lead_name") is None and "online" in result.texts[0]


def test_stop_asks_for_confirmation_then_discards_everything():
    asked = answer("lead_email", "never mind", "stop", slots={"lead_name": "Ana O'Neil"})
    assert asked.texts == ["Do you want to stop? Nothing you've entered will be kept."]
    assert asked.slot("confirming_stop") is True
    confirmed = answer("lead_email", "yes", "affirm", slots={"lead_name": "Ana O'Neil", "confirming_stop": True})
    assert confirmed.texts[0].startswith("OK, I've stopped and discarded the details you gave.")
    assert confirmed.slot("lead_name") is None and confirmed.slot("lead_id") is None
    assert {"event": "active_loop", "name": None, "timestamp": None} in confirmed.events


def test_stop_can_be_taken_back():
    result = answer("lead_email", "no", "deny", slots={"confirming_stop": True})
    assert result.texts == ["OK, let's carry on."]
    assert result.slot("confirming_stop") is False and result.slot("requested_slot") == "lead_email"


def test_the_program_discussed_is_offered_and_accepted_with_yes():
    assert (
        answer("lead_program", "yes", "affirm", slots={"program": "healthcare_it"}).slot("lead_program")
        == "healthcare_it"
    )
    assert answer("lead_program", "Medical Billing and Coding").slot("lead_program") == "medical_billing_coding"
    assert answer("lead_program", "not sure yet").slot("lead_program") == "not_sure"
    assert answer("lead_program", "nursing").slot("lead_program") is None


@pytest.mark.parametrize(
    "program, text, option",
    [
        ("healthcare_it", "online", "chattanooga:online"),
        ("healthcare_it", "Hybrid at Augusta, GA", "augusta:hybrid"),
        ("healthcare_it", "Tulsa", None),  # not offered there
        ("medical_billing_coding", "Tulsa", "tulsa:on_campus"),
        ("medical_billing_coding", "hybrid", None),
        ("not_sure", "wilmington", "wilmington:on_campus"),
    ],
)
def test_study_options_are_only_what_the_program_really_has(program, text, option):
    assert answer("lead_study_option", text, slots={"lead_program": program}).slot("lead_study_option") == option


def test_the_study_question_lists_only_real_options():
    result = run(ASK_ACTIONS["lead_study_option"](), make_tracker("", "inform", {"lead_program": "healthcare_it"}))
    assert [b["payload"] for b in result.messages[0]["buttons"]] == [
        "Hybrid at Augusta, GA",
        "On campus at Augusta, GA",
        "Online through our Chattanooga, TN campus",
    ]


def test_consent_wording_is_kept_and_only_yes_counts():
    asked = run(ASK_ACTIONS["lead_consent"](), make_tracker("", "inform", {"lead_contact_method": "text"}))
    assert asked.slot("lead_consent_wording") == asked.texts[0]
    assert "by text message" in asked.texts[0]
    assert answer("lead_consent", "yes", "affirm").slot("lead_consent") is True
    assert answer("lead_consent", "maybe later", "out_of_scope").slot("lead_consent") is None
    declined = answer("lead_consent", "no", "deny", slots={"lead_contact_method": "phone"})
    assert declined.slot("lead_consent") is None and declined.slot("lead_contact_method") is None
    assert PHONE in declined.texts[0]


def test_texting_needs_its_own_consent():
    assert answer("lead_contact_method", "text me").slot("lead_contact_method") == "text"
    form = ValidateInquiryForm()
    required = DOMAIN["forms"]["inquiry_form"]["required_slots"]
    for method, asks_sms in (("text", True), ("email", False), ("phone", False)):
        slots = asyncio.run(
            form.required_slots(
                required, CollectingDispatcher(), make_tracker("", "inform", {"lead_contact_method": method}), DOMAIN
            )
        )
        assert ("lead_sms_consent" in slots) is asks_sms
    slots = {"lead_contact_method": "text", "lead_consent": True}
    assert answer("lead_sms_consent", "yes", "affirm", slots=slots).slot("lead_sms_consent") is True
    assert answer("lead_sms_consent", "no", "deny", slots=slots).slot("lead_contact_method") is None


def test_a_field_can_be_corrected_at_the_summary():
    slots = {**COMPLETE, "lead_confirmed": None}
    result = answer("lead_confirmed", "change my email", "inform", slots=slots)
    assert result.slot("lead_email") is None and result.slot("lead_confirmed") is None
    assert result.slot("requested_slot") == "lead_email"
    program = answer("lead_confirmed", "wrong program", "inform", slots=slots)
    assert program.slot("lead_program") is None and program.slot("lead_study_option") is None


def test_the_summary_shows_the_details_for_confirmation():
    result = run(ASK_ACTIONS["lead_confirmed"](), make_tracker("", "inform", {**COMPLETE, "lead_confirmed": None}))
    assert (
        "Name: Ana O'Neil\nEmail: ana@example.com\nPhone: +14235550134\n"
        "Program: Medical Billing and Coding\nWhere: On campus at Tulsa, OK" in result.texts[0]
    )


def test_start_chooses_the_lead_id_once():
    first = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", {}))
    assert len(first.slot("lead_id")) == 36
    again = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", {"lead_id": COMPLETE["lead_id"]}))
    assert again.slot("lead_id") == "<unset>"


@pytest.fixture
def leads_db(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    runtime.lead_store.cache_clear()
    yield LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    runtime.lead_store.cache_clear()


def test_submit_saves_before_thanking_and_clears_the_details(leads_db):
    events = [
        {
            "event": "user",
            "text": "how much is tuition?",
            "parse_data": {"intent": {"name": "ask_unknown_topic"}},
            "metadata": {"page_url": "https://college.example/hit"},
        },
        {"event": "action", "name": "action_start_inquiry"},
        {"event": "user", "text": "how long is it?", "parse_data": {"intent": {"name": "ask_duration"}}},
    ]
    result = run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE, events=events))
    saved = leads_db.get(COMPLETE["lead_id"])
    assert saved.email == "ana@example.com" and saved.page_url == "https://college.example/hit"
    assert saved.questions == ["how much is tuition?"]
    assert saved.consent_text == COMPLETE["lead_consent_wording"] and saved.consent_given is True
    assert result.texts[0].startswith("Thank you! Your details are with the admissions office")
    assert result.slot("lead_email") is None and result.slot("lead_id") is None
    run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE, events=events))  # a retried call
    assert len(list(leads_db.all())) == 1


def test_submit_never_thanks_when_the_lead_was_not_saved(tmp_path, monkeypatch):
    (tmp_path / "leads.sqlite3").mkdir()  # a folder where the database file should be
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'leads.sqlite3' / 'x' / 'leads.sqlite3'}")
    runtime.lead_store.cache_clear()
    try:
        result = run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE))
    finally:
        runtime.lead_store.cache_clear()
    assert result.texts == [
        "Sorry, something went wrong and I couldn't save your details, so they have NOT been sent."
        f" Please call admissions at {PHONE}, or ask me again in a few minutes."
    ]
    assert result.slot("lead_email") == "<unset>"  # kept, so asking again can resend them


def test_a_stopped_form_submits_nothing(leads_db):
    result = run(SubmitInquiry(), make_tracker("yes", "affirm", {}))
    assert result.texts == [] and list(leads_db.all()) == []
