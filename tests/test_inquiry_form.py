"""The inquiry form's actions, slot by slot, with rasa_sdk trackers and dispatchers.

Facts (programs, campuses, durations, the phone number) come from knowledge/ and wording
from domain.yml, so a staff edit of either changes what these tests expect.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import language
from actions.inquiry import fields, options, runtime
from actions.inquiry.form_actions import ASK_ACTIONS, StartInquiry, SubmitInquiry, ValidateInquiryForm
from actions.inquiry.replies import Reopen, Reply
from actions.inquiry.store import LeadStore
from actions.inquiry.validators import Invalid
from actions.knowledge import load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from actions.knowledge.model import Program
from tests.conftest import DOMAIN, PHONE, render

KB = load_knowledge(DEFAULT_DIR)


def program(program_id: str) -> Program:
    found = KB.program(program_id)
    assert found, program_id
    return found


BILLING, HIT = program("medical_billing_coding"), program("healthcare_it")
SLOTS = [f.slot for f in fields.FIELDS]
# Where the complete inquiry below studies: the first place the program is taught in person.
IN_PERSON = next(o for o in KB.offerings(BILLING) if not o.online)
COMPLETE = {
    "lead_id": "7f1d3c2e-0000-4000-8000-000000000001",
    "lead_name": "Ana O'Neil",
    "lead_email": "ana@example.com",
    "lead_phone": "+14235550134",
    "lead_program": BILLING.id,
    "lead_study_option": f"{IN_PERSON.campus.id}:{IN_PERSON.modes[0]}",
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
        self.responses = [m.get("response") for m in dispatcher.messages]
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
    earlier = {f: COMPLETE[f] for f in SLOTS[: SLOTS.index(requested)] if f in COMPLETE}
    return run(
        ValidateInquiryForm(),
        make_tracker(text, intent, {**earlier, "requested_slot": requested, **(slots or {})}, **kw),
    )


def say(response: str, **values: Any) -> str:
    """What the domain's response says, filled with these values."""
    return render({"response": response, **values})


def test_valid_answers_fill_the_slot_and_move_on():
    result = answer("lead_name", "José García-Márquez", "greet")
    assert result.slot("lead_name") == "José García-Márquez"
    assert result.slot("requested_slot") == "lead_email"
    assert result.texts == []


def test_an_invalid_email_is_asked_again_with_a_reason_then_accepted():
    bad = answer("lead_email", "ana at example dot com")
    assert bad.slot("lead_email") is None and bad.slot("requested_slot") == "lead_email"
    reason = "That doesn't look like a valid email address (an email address must have an @-sign)."
    assert bad.texts == [say("reply_invalid_field", reason=reason)]
    good = answer("lead_email", "Ana@Example.com", slots={"lead_failures": bad.slot("lead_failures")})
    assert good.slot("lead_email") == "Ana@example.com" and good.slot("lead_failures") == {}


def test_three_failures_offer_the_phone_number_and_a_way_out():
    failures = {"lead_phone": 2}
    result = answer("lead_phone", "12", slots={"lead_failures": failures})
    assert result.slot("lead_failures") == {"lead_phone": 3}
    assert result.texts[-1] == say("reply_form_trouble", phone=PHONE)


def test_phone_numbers_are_stored_in_e164():
    assert answer("lead_phone", "(423) 555-0134").slot("lead_phone") == "+14235550134"


def test_a_question_in_the_middle_is_answered_and_the_field_asked_again():
    result = answer("lead_phone", "how long is it?", "ask_duration", slots={"program": HIT.id})
    assert result.texts == [say("reply_duration", program_name=HIT.name, duration_months=HIT.duration_months)]
    assert result.slot("lead_phone") is None and result.slot("requested_slot") == "lead_phone"
    assert result.slot("lead_failures") == "<unset>"  # a question is not a failed answer


def test_a_question_is_not_taken_as_a_name():
    result = answer("lead_name", "is it online", "ask_delivery")
    assert result.slot("lead_name") is None and result.responses[0].startswith("reply_delivery")


def test_stop_asks_for_confirmation_then_discards_everything():
    asked = answer("lead_email", "never mind", "stop", slots={"lead_name": "Ana O'Neil"})
    assert asked.responses == ["reply_confirm_stop"]
    assert asked.slot("confirming_stop") is True
    confirmed = answer("lead_email", "yes", "affirm", slots={"lead_name": "Ana O'Neil", "confirming_stop": True})
    assert confirmed.texts == [say("reply_inquiry_cancelled", phone=PHONE)]
    assert confirmed.slot("lead_name") is None and confirmed.slot("lead_id") is None
    assert {"event": "active_loop", "name": None, "timestamp": None} in confirmed.events


def test_stop_can_be_taken_back():
    result = answer("lead_email", "no", "deny", slots={"confirming_stop": True})
    assert result.responses == ["reply_inquiry_continue"]
    assert result.slot("confirming_stop") is False and result.slot("requested_slot") == "lead_email"


def test_markup_classified_as_stop_is_an_invalid_name_not_a_stop():
    result = answer("lead_name", "<script>stop</script>", "stop")
    assert result.responses == ["reply_invalid_field"] and result.slot("confirming_stop") == "<unset>"


def test_the_program_discussed_is_offered_and_accepted_with_yes():
    assert answer("lead_program", "yes", "affirm", slots={"program": HIT.id}).slot("lead_program") == HIT.id
    assert answer("lead_program", BILLING.name).slot("lead_program") == BILLING.id
    assert answer("lead_program", "not sure yet").slot("lead_program") == options.NOT_SURE
    assert answer("lead_program", "nursing").slot("lead_program") is None


def study_option_cases() -> list[tuple[str, str, str | None]]:
    """(program, what the visitor says, the option chosen), from the knowledge base's offerings."""
    cases: list[tuple[str, str, str | None]] = []
    for program in KB.programs:
        offerings = KB.offerings(program)
        for offering in offerings:
            for mode in offering.modes:
                if offering.online:
                    cases.append((program.id, "online", f"{offering.campus.id}:{mode}"))
                else:  # the button's words
                    label = f"{KB.mode_label(mode)} at {offering.campus.label}"
                    cases.append((program.id, label, f"{offering.campus.id}:{mode}"))
        taught_at = {o.campus.id for o in offerings}
        cases += [(program.id, c.city, None) for c in KB.campuses if c.id not in taught_at]
        modes = {mode for o in offerings for mode in o.modes}
        cases += [(program.id, KB.mode_label(m), None) for m in KB.delivery_modes if m not in modes]
    only_on_campus = [c for c in KB.campuses if all(o.modes == ("on_campus",) for o in KB.offerings_at(c))]
    cases += [(options.NOT_SURE, c.city, f"{c.id}:on_campus") for c in only_on_campus]
    return cases


@pytest.mark.parametrize("program, text, option", study_option_cases())
def test_study_options_are_only_what_the_program_really_has(program, text, option):
    assert answer("lead_study_option", text, slots={"lead_program": program}).slot("lead_study_option") == option


def test_the_study_question_lists_only_real_options():
    result = run(ASK_ACTIONS["lead_study_option"](), make_tracker("", "inform", {"lead_program": HIT.id}))
    titles = [b["payload"] for b in result.messages[0]["buttons"]]
    offered = [(o.campus, mode) for o in KB.offerings(HIT) for mode in o.modes]
    assert len(titles) == len(offered)
    for campus, mode in offered:
        assert any(campus.label in t and KB.mode_label(mode).lower() in t.lower() for t in titles)
    elsewhere = [c for c in KB.campuses if c.id not in {campus.id for campus, _ in offered}]
    assert not any(c.label in t for c in elsewhere for t in titles)


def test_consent_wording_is_kept_and_only_yes_counts():
    asked = run(ASK_ACTIONS["lead_consent"](), make_tracker("", "inform", {"lead_contact_method": "text"}))
    assert asked.slot("lead_consent_wording") == asked.texts[0]
    assert asked.texts[0] == say("reply_ask_lead_consent", method=options.CONTACT_METHODS["text"])
    assert answer("lead_consent", "yes", "affirm").slot("lead_consent") is True
    assert answer("lead_consent", "maybe later", "out_of_scope").slot("lead_consent") is None
    declined = answer("lead_consent", "no", "deny", slots={"lead_contact_method": "phone"})
    assert declined.slot("lead_consent") is None and declined.slot("lead_contact_method") is None
    assert declined.texts == [say("reply_consent_declined", phone=PHONE)]


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
    texting: dict[str, Any] = {"lead_contact_method": "text", "lead_consent": True}
    asked = run(ASK_ACTIONS["lead_sms_consent"](), make_tracker("", "inform", {**COMPLETE, **texting}))
    assert asked.slot("lead_sms_consent_wording") == asked.texts[0] and COMPLETE["lead_phone"] in asked.texts[0]
    assert answer("lead_sms_consent", "yes", "affirm", slots=texting).slot("lead_sms_consent") is True
    declined = answer("lead_sms_consent", "no", "deny", slots=texting)
    assert declined.slot("lead_contact_method") is None and declined.slot("lead_consent") is None


def test_a_field_can_be_corrected_at_the_summary():
    slots = {**COMPLETE, "lead_confirmed": None}
    result = answer("lead_confirmed", "change my email", "inform", slots=slots)
    assert result.slot("lead_email") is None and result.slot("lead_confirmed") is None
    assert result.slot("requested_slot") == "lead_email"
    assert result.responses == ["reply_correction"]
    program = answer("lead_confirmed", "wrong program", "inform", slots=slots)
    assert program.slot("lead_program") is None and program.slot("lead_study_option") is None


@pytest.mark.parametrize("field", [f for f in fields.FIELDS if f.names], ids=lambda f: f.slot)
def test_every_field_named_at_the_summary_is_asked_again_with_its_dependents(field):
    result = answer(
        "lead_confirmed", f"change my {field.names[0]}", "inform", slots={**COMPLETE, "lead_confirmed": None}
    )
    assert all(result.slot(slot) is None for slot in (field.slot, *field.dependents, "lead_confirmed"))
    assert result.slot("requested_slot") == field.slot


def test_the_summary_answer_is_a_typed_decision_read_once():
    def decide(text: str, intent: str = "inform") -> Any:
        tracker = make_tracker(text, intent, {**COMPLETE, "lead_confirmed": None})
        return fields.CONFIRMATION.parse(Reply.read(tracker, KB, language.current()))

    assert decide("yes", "affirm") is True
    assert decide("the phone number is wrong") == Reopen("lead_phone", "reply_correction")
    with pytest.raises(Invalid):
        decide("hmm")


def test_the_summary_shows_the_details_for_confirmation():
    result = run(ASK_ACTIONS["lead_confirmed"](), make_tracker("", "inform", {**COMPLETE, "lead_confirmed": None}))
    where = f"{KB.mode_label(IN_PERSON.modes[0])} at {IN_PERSON.campus.label}"
    lines = [
        f"Name: {COMPLETE['lead_name']}",
        f"Email: {COMPLETE['lead_email']}",
        f"Phone: {COMPLETE['lead_phone']}",
        f"Program: {BILLING.name}",
        f"Where: {where[0].upper()}{where[1:]}",
        f"Contact by: {options.CONTACT_METHODS['email']}",
    ]
    assert result.texts == [say("reply_ask_lead_confirmed", summary="\n".join(lines))]


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
    events: list[dict] = [
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
    assert saved is not None
    assert saved.answers["email"] == COMPLETE["lead_email"] and saved.page_url == "https://college.example/hit"
    assert saved.answers["study_option"] == COMPLETE["lead_study_option"]
    assert saved.answers["sms_consent_given"] is None and saved.answers["sms_consent_text"] is None  # not asked
    assert saved.questions == ["how much is tuition?"]
    assert saved.answers["consent_text"] == COMPLETE["lead_consent_wording"] and saved.answers["consent_given"] is True
    assert result.texts[0] == say("reply_inquiry_saved", phone=PHONE)
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
    assert result.texts == [say("reply_inquiry_not_saved", phone=PHONE)]
    assert result.slot("lead_email") == "<unset>"  # kept, so asking again can resend them


def test_a_stopped_form_submits_nothing(leads_db):
    result = run(SubmitInquiry(), make_tracker("yes", "affirm", {}))
    assert result.texts == [] and list(leads_db.all()) == []


def test_contact_details_never_reach_the_logs(leads_db, caplog):
    caplog.set_level(logging.DEBUG)
    personal = [f for f in fields.FIELDS if f.personal]
    for field in personal:
        answer(field.slot, str(COMPLETE[field.slot]))
        answer(field.slot, f"{COMPLETE[field.slot]} 12 <b>")  # refused, and logged as refused
    run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE))
    assert "rejected" in caplog.text and COMPLETE["lead_id"] in caplog.text
    for field in personal:
        assert str(COMPLETE[field.slot]) not in caplog.text
