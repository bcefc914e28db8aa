"""The inquiry form's actions, slot by slot, with rasa_sdk trackers and dispatchers.

Facts (programs, campuses, durations, the phone number) come from knowledge/ and wording
from domain.yml, so a staff edit of either changes what these tests expect.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import language
from actions.dialogue import suggestions
from actions.inquiry import fields, options, runtime
from actions.inquiry.form_actions import (
    ASK_ACTIONS,
    OPEN_ENDED_QUESTION_CONFIDENCE,
    StartInquiry,
    SubmitInquiry,
    ValidateInquiryForm,
)
from actions.inquiry.replies import MIN_CONFIDENCE, Reopen, Reply
from actions.inquiry.store import Lead, LeadStore
from actions.inquiry.validators import Invalid
from actions.knowledge import load_knowledge
from actions.knowledge.base import ONLINE
from actions.knowledge.loader import DEFAULT_DIR
from actions.knowledge.model import Program
from actions.language import KnowledgeMatcher
from tests.conftest import DOMAIN, PHONE, edit_yaml, render

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
    # The question exactly as asked (submit checks the consent named this contact method).
    "lead_consent_wording": render({"response": "reply_ask_lead_consent", "method": "email"}),
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
        self.buttons = [b for m in dispatcher.messages for b in m.get("buttons") or []]
        self.events = events

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return values[-1] if values else "<unset>"


def after(slots: dict[str, Any], result: Result) -> dict[str, Any]:
    """The slots once Rasa has applied the action's slot events: what the next turn sees."""
    updated = dict(slots)
    updated.update({e["name"]: e["value"] for e in result.events if e.get("event") == "slot"})
    return updated


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


def press(requested: str, buttons: list[dict], slots: dict[str, Any] | None = None) -> list[Result]:
    """The visitor clicking each button in turn: its payload comes back as their reply."""
    return [answer(requested, button["payload"], slots=slots) for button in buttons]


def ask(slot: str, slots: dict[str, Any]) -> Result:
    """The form asking for `slot`, with these slots set."""
    return run(ASK_ACTIONS[slot](), make_tracker("", "inform", slots))


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


def test_the_phone_number_is_offered_at_the_third_failure_of_a_question_not_before():
    """Failures are counted per question, and answering another question keeps the count."""
    failures = None
    for _ in range(2):
        refused = answer("lead_email", "ana at example", slots={"lead_failures": failures})
        assert refused.responses == ["reply_invalid_field"]
        failures = refused.slot("lead_failures")
    accepted = answer("lead_phone", "(423) 555-0134", slots={"lead_failures": failures})
    third = answer("lead_email", "ana at example", slots={"lead_failures": accepted.slot("lead_failures")})
    assert third.texts[-1] == say("reply_form_trouble", phone=PHONE)


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


def test_a_name_the_nlu_half_takes_for_a_question_is_kept_as_the_name():
    """Any words can be a name, so a question must be surer to win there than at other fields."""
    unsure = (MIN_CONFIDENCE + OPEN_ENDED_QUESTION_CONFIDENCE) / 2
    named = answer("lead_name", "Augusta Lopez", "ask_campus", confidence=unsure)
    assert named.slot("lead_name") == "Augusta Lopez" and named.texts == []
    elsewhere = answer("lead_phone", "where is it", "ask_campus", confidence=unsure)
    assert elsewhere.texts and "reply_invalid_field" not in elsewhere.responses


# Everything the form keeps: the visitor's answers and the form's own bookkeeping.
FORM_STATE = [slot for slot in DOMAIN["slots"] if slot.startswith("lead_")] + ["confirming_stop"]


def test_stop_asks_for_confirmation_then_discards_everything():
    asked = answer("lead_email", "never mind", "stop", slots={"lead_name": "Ana O'Neil"})
    assert asked.responses == ["reply_confirm_stop"]
    assert asked.slot("confirming_stop") is True and asked.slot("lead_email") is None
    slots = {**COMPLETE, "confirming_stop": True, "offered_inquiry": True}
    confirmed = answer("lead_email", "yes", "affirm", slots=slots)
    assert confirmed.texts == [say("reply_inquiry_cancelled", phone=PHONE)]
    assert {slot: confirmed.slot(slot) for slot in FORM_STATE} == dict.fromkeys(FORM_STATE)
    assert confirmed.slot("offered_inquiry") is False  # so a later "yes" starts no form
    assert {"event": "active_loop", "name": None, "timestamp": None} in confirmed.events


def test_never_mind_at_the_name_question_is_a_request_to_stop_not_a_name():
    result = answer("lead_name", "never mind", "stop")
    assert result.responses == ["reply_confirm_stop"] and result.slot("lead_name") is None


def test_stop_can_be_taken_back():
    result = answer("lead_email", "no", "deny", slots={"confirming_stop": True})
    assert result.responses == ["reply_inquiry_continue"]
    assert result.slot("confirming_stop") is False and result.slot("requested_slot") == "lead_email"
    assert result.slot("lead_email") is None  # the "no" is not the email address


@pytest.mark.parametrize("text, intent", [("hmm, what?", "inform"), ("maybe", "out_of_scope")])
def test_an_unclear_reply_to_the_stop_question_continues_the_form(text, intent):
    result = answer("lead_email", text, intent, slots={"lead_name": "Ana O'Neil", "confirming_stop": True})
    assert result.responses == ["reply_inquiry_continue"]
    assert result.slot("lead_name") == "<unset>" and result.slot("lead_id") == "<unset>"  # nothing discarded
    assert not [e for e in result.events if e.get("event") == "active_loop"]


def test_the_stop_question_has_a_button_to_stop_and_one_to_continue():
    buttons = answer("lead_email", "never mind", "stop").buttons
    assert len(buttons) == 2 and all(b["title"] for b in buttons)
    outcomes = [r.responses for r in press("lead_email", buttons, {"confirming_stop": True})]
    assert sorted(outcomes) == [["reply_inquiry_cancelled"], ["reply_inquiry_continue"]]


def test_no_question_is_asked_while_the_stop_question_waits_for_an_answer():
    assert ask("lead_email", {"confirming_stop": True}).texts == []


def test_markup_classified_as_stop_is_an_invalid_name_not_a_stop():
    result = answer("lead_name", "<script>stop</script>", "stop")
    assert result.responses == ["reply_invalid_field"] and result.slot("confirming_stop") == "<unset>"


def test_the_program_discussed_is_offered_and_accepted_with_yes():
    assert answer("lead_program", "yes", "affirm", slots={"program": HIT.id}).slot("lead_program") == HIT.id
    assert answer("lead_program", BILLING.name).slot("lead_program") == BILLING.id
    assert answer("lead_program", "not sure yet").slot("lead_program") == options.NOT_SURE
    assert answer("lead_program", "nursing").slot("lead_program") is None


def test_a_program_named_is_chosen_even_after_another_was_discussed():
    assert answer("lead_program", BILLING.name, slots={"program": HIT.id}).slot("lead_program") == BILLING.id
    assert answer("lead_program", "no", "deny", slots={"program": HIT.id}).slot("lead_program") is None


@pytest.mark.parametrize("chosen", KB.programs, ids=lambda p: p.id)
def test_each_program_is_chosen_by_its_name_alone_or_in_a_sentence(chosen):
    assert answer("lead_program", chosen.name).slot("lead_program") == chosen.id
    assert answer("lead_program", f"I'd like {chosen.name} please").slot("lead_program") == chosen.id


def test_the_program_question_offers_every_program_then_not_sure():
    asked = ask("lead_program", {})
    assert asked.texts == [say("reply_ask_lead_program")]
    assert [b["title"] for b in asked.buttons][:-1] == [p.name for p in KB.programs]
    chosen = [r.slot("lead_program") for r in press("lead_program", asked.buttons)]
    assert chosen == [*(p.id for p in KB.programs), options.NOT_SURE]


def test_the_program_discussed_is_offered_first_by_name():
    discussed = {"program": HIT.id}
    asked = ask("lead_program", discussed)
    assert asked.texts == [say("reply_ask_lead_program_discussed", program_name=HIT.name)]
    chosen = [r.slot("lead_program") for r in press("lead_program", asked.buttons, discussed)]
    assert chosen[0] == HIT.id and sorted(chosen) == sorted([*(p.id for p in KB.programs), options.NOT_SURE])


def places(program_id: str) -> set[str]:
    """Where a program can be studied (`campus:mode`): every program's places when not sure."""
    chosen = [p for p in KB.programs if program_id in (p.id, options.NOT_SURE)]
    return {f"{o.campus.id}:{mode}" for p in chosen for o in KB.offerings(p) for mode in o.modes}


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
    for program_id in [*(p.id for p in KB.programs), options.NOT_SURE]:
        where = places(program_id)
        # A campus named alone means studying there in person.
        cases += [(program_id, c.city, f"{c.id}:on_campus") for c in KB.campuses if f"{c.id}:on_campus" in where]
        # "The campus" is enough only where the program is taught on campus in one place.
        on_campus = sorted(p for p in where if p.endswith(":on_campus"))
        cases.append((program_id, "the campus one", on_campus[0] if len(on_campus) == 1 else None))
        cases.append((program_id, "whatever is easiest", None))  # names no place: asked again
    return cases


@pytest.mark.parametrize("program, text, option", study_option_cases())
def test_study_options_are_only_what_the_program_really_has(program, text, option):
    assert answer("lead_study_option", text, slots={"lead_program": program}).slot("lead_study_option") == option


def test_the_study_question_lists_only_real_options():
    result = ask("lead_study_option", {"lead_program": HIT.id})
    assert result.texts == [say("reply_ask_lead_study_option", program_name=HIT.name)]
    titles = [b["payload"] for b in result.buttons]
    offered = [(o.campus, mode) for o in KB.offerings(HIT) for mode in o.modes]
    assert len(titles) == len(offered)
    for campus, mode in offered:
        assert any(campus.label in t and KB.mode_label(mode).lower() in t.lower() for t in titles)
    elsewhere = [c for c in KB.campuses if c.id not in {campus.id for campus, _ in offered}]
    assert not any(c.label in t for c in elsewhere for t in titles)
    online = [t for t in titles if KB.mode_label(ONLINE) in t.lower()]
    assert online and not any(f"at {c.label}" in t for c in KB.campuses for t in online)  # not studied there


def test_a_visitor_not_sure_of_the_program_is_offered_every_place_as_the_summary_shows_it():
    not_sure = {**COMPLETE, "lead_program": options.NOT_SURE}
    asked = ask("lead_study_option", not_sure)
    chosen = [r.slot("lead_study_option") for r in press("lead_study_option", asked.buttons, not_sure)]
    assert sorted(chosen) == sorted(places(options.NOT_SURE))
    for button, option in zip(asked.buttons, chosen, strict=True):
        summary = ask("lead_confirmed", {**not_sure, "lead_study_option": option}).messages[0]["summary"]
        assert f"Where: {button['title']}" in summary.splitlines()


def test_a_delivery_mode_renamed_by_staff_is_understood_by_its_new_name(knowledge_copy):
    offering = next(o for p in KB.programs for o in KB.offerings(p) if len(o.modes) > 1)
    mode = next(m for m in offering.modes if m != "on_campus")
    edit_yaml(knowledge_copy / "programs.yml", lambda data: data["delivery_modes"].update({mode: "blended learning"}))
    kb = load_knowledge(knowledge_copy)
    text = f"blended learning in {offering.campus.city}"
    tracker = make_tracker(text, "inform", {"lead_program": offering.program.id})
    chosen = fields.BY_SLOT["lead_study_option"].parse(Reply.read(tracker, kb, KnowledgeMatcher(kb)))
    assert chosen == f"{offering.campus.id}:{mode}"


def test_consent_wording_is_kept_and_only_yes_counts():
    asked = run(ASK_ACTIONS["lead_consent"](), make_tracker("", "inform", {"lead_contact_method": "text"}))
    assert asked.slot("lead_consent_wording") == asked.texts[0]
    assert asked.texts[0] == say("reply_ask_lead_consent", method=options.CONTACT_METHODS["text"])
    assert answer("lead_consent", "yes", "affirm").slot("lead_consent") is True
    unclear = answer("lead_consent", "maybe later", "out_of_scope")
    assert unclear.slot("lead_consent") is None and unclear.slot("lead_contact_method") == "<unset>"
    declined = answer("lead_consent", "no", "deny", slots={"lead_contact_method": "phone"})
    assert declined.slot("lead_consent") is None and declined.slot("lead_contact_method") is None
    assert declined.texts == [say("reply_consent_declined", phone=PHONE)]


@pytest.mark.parametrize(
    "text, intent, heard",
    [
        ("yes", "affirm", "yes"),
        ("Yes", "inform", "yes"),  # the words decide when the NLU hears something else
        ("sure, go ahead", "affirm", "yes"),  # the NLU decides when the words are not a plain yes
        ("No", "inform", "no"),
        ("I'd rather not", "deny", "no"),
        ("hmm, what do you mean?", "inform", "unclear"),
    ],
)
def test_yes_and_no_are_heard_from_the_words_or_the_nlu_and_anything_else_is_asked_again(text, intent, heard):
    result = answer("lead_consent", text, intent)
    expected = {
        "yes": [],
        "no": [say("reply_consent_declined", phone=PHONE)],
        "unclear": [say("reply_invalid_field", reason="Please answer yes or no.")],
    }
    assert result.texts == expected[heard]
    assert (result.slot("lead_consent") is True) is (heard == "yes")
    assert (result.slot("lead_contact_method") is None) is (heard == "no")  # a "no" chooses another way


@pytest.mark.parametrize("slot", ["lead_consent", "lead_sms_consent"])
def test_the_consent_buttons_agree_or_decline(slot):
    texting = {**COMPLETE, "lead_contact_method": "text", "lead_consent": True}
    buttons = ask(slot, texting).buttons
    assert len(buttons) == 2 and all(b["title"] for b in buttons)
    pressed = press(slot, buttons, texting)
    assert sorted(r.slot(slot) is True for r in pressed) == [False, True]
    assert sorted(r.slot("lead_contact_method") is None for r in pressed) == [False, True]


def required_slots(contact_method: str) -> list[str]:
    """The form's slots a visitor choosing this contact method is asked for."""
    tracker = make_tracker("", "inform", {"lead_contact_method": contact_method})
    required = DOMAIN["forms"]["inquiry_form"]["required_slots"]
    return asyncio.run(ValidateInquiryForm().required_slots(required, CollectingDispatcher(), tracker, DOMAIN))


@pytest.mark.parametrize("method", options.CONTACT_METHODS)
def test_the_contact_consent_is_required_whatever_the_contact_method(method):
    assert "lead_consent" in required_slots(method)
    assert [s for s in required_slots(method) if s != "lead_sms_consent"] == [
        f.slot for f in fields.FIELDS if f.slot != "lead_sms_consent"
    ]


def test_texting_needs_its_own_consent():
    assert answer("lead_contact_method", "text me").slot("lead_contact_method") == "text"
    for method in options.CONTACT_METHODS:
        assert ("lead_sms_consent" in required_slots(method)) is (method == "text")
    texting: dict[str, Any] = {"lead_contact_method": "text", "lead_consent": True}
    asked = run(ASK_ACTIONS["lead_sms_consent"](), make_tracker("", "inform", {**COMPLETE, **texting}))
    assert asked.slot("lead_sms_consent_wording") == asked.texts[0] and COMPLETE["lead_phone"] in asked.texts[0]
    assert answer("lead_sms_consent", "yes", "affirm", slots=texting).slot("lead_sms_consent") is True
    declined = answer("lead_sms_consent", "no", "deny", slots=texting)
    assert declined.slot("lead_contact_method") is None and declined.slot("lead_consent") is None


def test_a_new_phone_number_needs_text_consent_again():
    """The text consent names the number it was given for."""
    texting = {"lead_contact_method": "text", "lead_consent": True, "lead_sms_consent": True}
    changed = answer("lead_phone", "(423) 555-0199", slots=texting)
    assert changed.slot("lead_phone") == "+14235550199" and changed.slot("lead_sms_consent") is None


def test_each_contact_method_button_chooses_the_method_it_names():
    asked = ask("lead_contact_method", {})
    assert asked.texts == [say("reply_ask_lead_contact_method")]
    chosen = [r.slot("lead_contact_method") for r in press("lead_contact_method", asked.buttons)]
    assert sorted(chosen) == sorted(options.CONTACT_METHODS)
    for button, method in zip(asked.buttons, chosen, strict=True):
        title = button["title"]
        assert title[0].isupper() and title.lower() == options.CONTACT_METHODS[method].lower()


@pytest.mark.parametrize(
    "requested, text, reason",
    [
        ("lead_program", "nursing", "I didn't recognise that program. Please pick one of the options."),
        (
            "lead_study_option",
            "whatever is easiest",
            "That isn't one of the places this program is offered. Please pick one of the options.",
        ),
        ("lead_contact_method", "text or call me", "Please choose email, a phone call or a text message."),
        ("lead_consent", "hmm", "Please answer yes or no."),
        (
            "lead_confirmed",
            "hmm",
            "Say yes to send your details, or tell me what to change (for example 'change my email').",
        ),
    ],
)
def test_an_answer_that_cannot_be_used_is_refused_saying_what_to_do(requested, text, reason):
    result = answer(requested, text)
    assert result.slot(requested) is None
    assert result.texts == [say("reply_invalid_field", reason=reason)]


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


def test_the_summary_has_a_button_to_send_and_one_to_change_something():
    slots = {**COMPLETE, "lead_confirmed": None}
    buttons = ask("lead_confirmed", slots).buttons
    assert len(buttons) == 2 and all(b["title"] for b in buttons)
    confirmed = [r.slot("lead_confirmed") for r in press("lead_confirmed", buttons, slots)]
    assert sorted(confirmed, key=str) == [None, True]


def test_not_sure_reads_in_the_summary_as_on_its_button():
    buttons = ask("lead_program", {}).buttons
    chosen = [r.slot("lead_program") for r in press("lead_program", buttons)]
    button = buttons[chosen.index(options.NOT_SURE)]
    summary = ask("lead_confirmed", {**COMPLETE, "lead_program": options.NOT_SURE}).messages[0]["summary"]
    assert f"Program: {button['title']}" in summary.splitlines()


def test_a_place_no_longer_offered_shows_in_the_summary_as_recorded():
    """Staff may remove an offering while a visitor is in the form: the summary still shows the answer."""
    summary = ask("lead_confirmed", {**COMPLETE, "lead_study_option": "closed:on_campus"}).messages[0]["summary"]
    assert "Where: closed:on_campus" in summary.splitlines()


def test_start_chooses_the_lead_id_once():
    first = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", {}))
    assert len(first.slot("lead_id")) == 36
    again = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", {"lead_id": COMPLETE["lead_id"]}))
    assert again.slot("lead_id") == "<unset>"


def test_starting_the_form_greets_and_forgets_a_stop_question_left_pending():
    slots = {"confirming_stop": True}
    started = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", slots))
    assert started.texts == [say("reply_inquiry_intro")]
    assert ask("lead_name", after(slots, started)).texts == [say("reply_ask_lead_name")]


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


def test_submit_never_thanks_when_the_lead_was_not_saved(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'leads.sqlite3'}")
    runtime.lead_store.cache_clear()
    try:
        result = run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE))
    finally:
        runtime.lead_store.cache_clear()
    assert result.texts == [say("reply_inquiry_not_saved", phone=PHONE)]
    assert result.slot("lead_email") == "<unset>"  # kept, so asking again can resend them
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and COMPLETE["lead_id"] in errors[0] and "unavailable" in errors[0]  # which, and why


def test_a_lead_not_saved_is_sent_only_once_the_visitor_confirms_it_again(leads_db, tmp_path, monkeypatch):
    working = os.environ["LEADS_DATABASE_URL"]
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'leads.sqlite3'}")
    failed = run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE))
    monkeypatch.setenv("LEADS_DATABASE_URL", working)
    runtime.lead_store.cache_clear()
    retried = run(SubmitInquiry(), make_tracker("yes", "affirm", after(COMPLETE, failed)))
    assert retried.texts == [] and list(leads_db.all()) == []


def test_details_confirmed_but_never_saved_are_confirmed_again_when_the_visitor_comes_back(leads_db):
    """E.g. the action server stopped between the "yes" and the save: the form starts again
    with every answer kept, and must show the summary again rather than send at once."""
    started = run(StartInquiry(), make_tracker("I'd like more info", "request_inquiry", COMPLETE))
    submitted = run(SubmitInquiry(), make_tracker("", "inform", after(COMPLETE, started)))
    assert submitted.texts == [] and list(leads_db.all()) == []


def test_yes_at_the_summary_sends_the_lead(leads_db):
    slots = {**COMPLETE, "lead_confirmed": None}
    confirmed = answer("lead_confirmed", "yes", "affirm", slots=slots)
    thanked = run(SubmitInquiry(), make_tracker("yes", "affirm", after(slots, confirmed)))
    assert thanked.texts == [say("reply_inquiry_saved", phone=PHONE)]
    assert leads_db.get(COMPLETE["lead_id"]) is not None


@pytest.mark.parametrize("text, intent", [("no", "deny"), ("No", "inform"), ("not yet", "deny")])
def test_no_at_the_summary_sends_nothing(leads_db, text, intent):
    slots = {**COMPLETE, "lead_confirmed": None}
    declined = answer("lead_confirmed", text, intent, slots=slots)
    assert declined.responses == ["reply_invalid_field"]  # asked what to change instead
    submitted = run(SubmitInquiry(), make_tracker(text, intent, after(slots, declined)))
    assert submitted.texts == [] and list(leads_db.all()) == []


def test_details_never_confirmed_are_not_saved(leads_db):
    submitted = run(SubmitInquiry(), make_tracker("yes", "affirm", {**COMPLETE, "lead_confirmed": None}))
    assert submitted.texts == [] and list(leads_db.all()) == []


def test_after_the_thanks_the_offer_is_withdrawn_and_other_questions_are_suggested(leads_db):
    thanked = run(SubmitInquiry(), make_tracker("yes", "affirm", {**COMPLETE, "offered_inquiry": True}))
    assert thanked.slot("offered_inquiry") is False  # so a later "yes" starts no second inquiry
    payloads = [b["payload"] for b in thanked.buttons]
    assert payloads and suggestions.CATALOG["contact"][1] not in payloads  # admissions were just contacted


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


def test_the_logs_say_which_field_was_refused_and_which_lead_was_saved(leads_db, caplog):
    caplog.set_level(logging.INFO)
    answer("lead_email", "ana at example")
    run(SubmitInquiry(), make_tracker("yes", "affirm", COMPLETE))
    logged = [r.getMessage() for r in caplog.records]
    assert any("lead_email" in m and "rejected" in m for m in logged)
    assert any(COMPLETE["lead_id"] in m and "saved" in m for m in logged)


# What a lead records besides the answers: the conversation that led to it.
SESSION_START = [
    {"event": "action", "name": "action_session_start"},
    {"event": "session_started"},
    {"event": "action", "name": "action_listen"},
]


def said(text: str, intent: str, **metadata: Any) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "metadata": metadata}


def ran(action: str) -> dict[str, Any]:
    return {"event": "action", "name": action}


def submitted_lead(store: LeadStore, slots: dict[str, Any], events: list[dict] | None = None) -> Lead:
    run(SubmitInquiry(), make_tracker("yes", "affirm", slots, events=events))
    lead = store.get(slots["lead_id"])
    assert lead is not None
    return lead


def test_the_lead_keeps_the_questions_asked_in_the_visitors_words_before_the_form(leads_db):
    events = [
        *SESSION_START,
        said("hi there", "greet"),
        ran("action_greet"),
        said("how long is the billing program?", "ask_duration"),
        ran("action_answer_duration"),
        said("/ask_delivery", "ask_delivery"),  # a suggestion button: not the visitor's words
        ran("action_answer_delivery"),
        said("I'd like to be contacted", "request_inquiry"),
        ran("action_start_inquiry"),
        ran("inquiry_form"),
        said("is it online?", "ask_delivery"),  # asked during the form: not what brought them
        ran("inquiry_form"),
    ]
    assert submitted_lead(leads_db, COMPLETE, events).questions == ["how long is the billing program?"]


def test_the_lead_keeps_the_page_the_visitor_chatted_from_ignoring_a_page_that_is_not_text(leads_db):
    page = "https://college.example/hit"
    events = [
        *SESSION_START,
        said("hi", "greet", page_url=42),
        ran("action_greet"),
        said("hello?", "greet", page_url=page),
    ]
    assert submitted_lead(leads_db, COMPLETE, events).page_url == page


def test_text_consent_is_kept_only_for_a_visitor_contacted_by_text(leads_db):
    by_text = {**COMPLETE, "lead_contact_method": "text", "lead_id": "7f1d3c2e-0000-4000-8000-000000000002"}
    by_text = after(by_text, ask("lead_consent", by_text))  # consent asked again for texts
    asked = ask("lead_sms_consent", by_text)
    by_text = {**after(by_text, asked), "lead_sms_consent": True}
    # The same consent left over from before the visitor chose email instead (another person:
    # the same one again within a day would update the first lead).
    by_email = {
        **by_text,
        "lead_contact_method": "email",
        "lead_consent_wording": COMPLETE["lead_consent_wording"],
        "lead_id": "7f1d3c2e-0000-4000-8000-000000000003",
        "lead_email": "bo@example.com",
        "lead_phone": "+14235550135",
    }
    texted = submitted_lead(leads_db, by_text).answers
    assert texted["sms_consent_given"] is True and texted["sms_consent_text"] == asked.texts[0]
    emailed = submitted_lead(leads_db, by_email).answers
    assert emailed["sms_consent_given"] is None and emailed["sms_consent_text"] is None


def test_a_lead_without_an_id_from_the_start_is_saved_under_an_id_of_its_own(leads_db):
    without_id = {slot: value for slot, value in COMPLETE.items() if slot != "lead_id"}
    for n in range(2):  # two people: one person twice in a day updates the first lead
        person = {"lead_email": f"person{n}@example.com", "lead_phone": f"+1423555013{n}"}
        run(SubmitInquiry(), make_tracker("yes", "affirm", {**without_id, **person}))
    assert len({lead.id for lead in leads_db.all()}) == 2
