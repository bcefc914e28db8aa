"""Fast checks of the form's parts: how a reply is read, what a stored value must be to pass the
submit's second check (and the reason given when it is not), and the words the form shows.

The form's turns end to end are in test_inquiry_form.py and test_form_questions.py; these pin
edges those leave loose: a confidence exactly at the threshold, a message without one, the
reason each parser gives for a forged value.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rasa.core.nlg.interpolator import interpolate_text
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import language
from actions.inquiry import fields, form_actions, intake, options, prompts, replies, runtime
from actions.inquiry.form_actions import SubmitInquiry
from actions.inquiry.replies import MIN_CONFIDENCE, NOT_AN_ANSWER, Reply
from actions.inquiry.validators import Invalid, full_name
from tests.conftest import DOMAIN, PHONE
from tests.test_form_questions import in_form, outside
from tests.test_inquiry_form import COMPLETE, KB, Result, answer, leads_db, make_tracker, run, say  # noqa: F401 (fixture)


def read(text: str, intent: dict[str, Any] | None) -> Reply:
    message: dict[str, Any] = {"text": text, "intent": intent, "entities": []}
    tracker = Tracker("visitor-1", {}, message, [], False, None, {"name": "inquiry_form"}, "action_listen")
    return Reply.read(tracker, KB, language.current())


# Reading a reply


def test_a_message_without_a_confidence_is_no_question_and_no_stop():
    """Without a confidence the intent is a guess: the words decide, so the visitor is not interrupted."""
    assert read("how long is it?", {"name": "ask_duration"}).confidence == 0.0
    assert not read("how long is it?", {"name": "ask_duration"}).is_question()
    assert not read("stop", {"name": "stop"}).asks_to_stop()


def test_a_confidence_of_exactly_the_threshold_is_sure_enough():
    assert read("how long is it?", {"name": "ask_duration", "confidence": MIN_CONFIDENCE}).is_question()
    assert read("stop", {"name": "stop", "confidence": MIN_CONFIDENCE}).asks_to_stop()
    below = MIN_CONFIDENCE - 0.01
    assert not read("how long is it?", {"name": "ask_duration", "confidence": below}).is_question()
    assert not read("stop", {"name": "stop", "confidence": below}).asks_to_stop()


# The submit's second check: a forged value is refused with the reason the form would give


def refusal(parser: Any, value: Any, **slots: Any) -> str:
    with pytest.raises(Invalid) as refused:
        parser.check(value, KB, make_tracker("", "inform", slots))
    return str(refused.value)


def test_words_that_are_not_text_are_not_an_answer():
    assert refusal(replies.Words(full_name), ["Ana"]) == NOT_AN_ANSWER


def test_a_choice_not_offered_is_refused_with_the_questions_reason():
    method = fields.BY_SLOT["lead_contact_method"].parse
    assert refusal(method, "fax") == "Please choose email, a phone call or a text message."
    assert method.check("email", KB, make_tracker("", "inform", {})) == "email"


def test_a_program_the_knowledge_base_lacks_is_refused_with_the_programs_reason():
    assert refusal(replies.program, "underwater_basket_weaving") == replies.ProgramAnswer.reason


def test_a_place_where_the_program_is_not_taught_is_refused_with_the_places_reason():
    program = KB.programs[0]
    elsewhere = next(
        o.id
        for o in options.study_options(KB, None)
        if o.id not in {p.id for p in options.study_options(KB, program.id)}
    )
    assert refusal(replies.study_option, elsewhere, lead_program=program.id) == replies.StudyOptionAnswer.reason


def test_a_place_of_any_program_passes_when_the_visitor_is_not_sure_of_the_program():
    anywhere = [o.id for o in options.study_options(KB, None)]
    tracker = make_tracker("", "inform", {"lead_program": options.NOT_SURE})
    assert [replies.study_option.check(place, KB, tracker) for place in anywhere] == anywhere


@pytest.mark.parametrize("value", [False, None, "yes", 1])
def test_only_true_is_consent_or_a_confirmation(value):
    assert refusal(replies.Consent("lead_contact_method"), value) == NOT_AN_ANSWER
    assert refusal(replies.Confirmation(fields.FIELDS), value) == NOT_AN_ANSWER


# What the form shows


@pytest.mark.parametrize("response", ["reply_ask_lead_consent", "reply_ask_lead_sms_consent"])
@pytest.mark.parametrize("values", [{}, {"method": "email", "phone": "+14235550134"}], ids=["unfilled", "filled"])
def test_a_kept_consent_wording_is_the_text_rasa_shows(response, values):
    """The wording kept as evidence is what the visitor read, placeholder and all when one had no value."""
    template = DOMAIN["responses"][response][0]["text"]
    assert prompts.render(DOMAIN, response, **values) == interpolate_text(template, values)


def test_the_summary_offers_to_send_or_to_change_something():
    dispatcher = CollectingDispatcher()
    prompts.AskConfirmation(fields.FIELDS)(dispatcher, make_tracker("", "inform", {}), DOMAIN)
    (message,) = dispatcher.messages
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("Send it", "yes"),
        ("Change something", "change something"),
    ]


def test_the_stop_question_offers_to_stop_or_continue_and_each_button_does_so():
    asked = answer("lead_email", "stop", "stop")
    assert asked.responses == ["reply_confirm_stop"]
    assert [(b["title"], b["payload"]) for b in asked.buttons] == [("Yes, stop", "yes"), ("No, continue", "no")]
    pending = {"confirming_stop": True}
    stopped, continued = (answer("lead_email", b["payload"], slots=pending) for b in asked.buttons)
    assert stopped.responses == ["reply_inquiry_cancelled"] and stopped.slot("lead_name") is None
    assert continued.responses == ["reply_inquiry_continue"] and continued.slot("confirming_stop") is False


@pytest.mark.parametrize("requested", ["lead_name", "lead_email", "lead_phone"])
def test_a_question_not_shaped_like_one_is_still_answered_when_the_nlu_is_sure(requested):
    """No question mark or question word: the NLU's intent tells it is a question, not an answer."""
    text = "tell me the program length"
    result = in_form(requested, text, "ask_duration")
    assert result.texts == outside(text, "ask_duration") and result.texts
    assert result.slot(requested) is None and result.slot("lead_failures") == "<unset>"


# Every slot the form's actions set is one the domain declares


DECLARED = {*DOMAIN["slots"], "requested_slot"}  # the form loop's own slot, which Rasa declares


def slot_names(result: Result) -> set[str]:
    return {e["name"] for e in result.events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "requested, text, intent",
    [
        ("lead_name", "Ana O'Neil", "inform"),
        ("lead_email", "ana@example.com", "inform"),
        ("lead_email", "not an email", "inform"),
        ("lead_program", "how long is it?", "ask_duration"),
        ("lead_email", "can I stop?", "stop"),
        ("lead_email", "stop", "stop"),
        ("lead_email", "tell me the program length", "ask_duration"),
        ("lead_contact_method", "email", "inform"),
        ("lead_consent", "yes", "affirm"),
        ("lead_confirmed", "change my email", "inform"),
    ],
)
def test_every_answer_sets_only_slots_the_domain_declares(requested, text, intent):
    assert slot_names(answer(requested, text, intent)) <= DECLARED


def test_an_answer_without_a_record_sets_its_slot_and_the_tries_only():
    assert slot_names(answer("lead_name", "Ana O'Neil")) == {"lead_name", "lead_failures", "requested_slot"}


# Submit: what a visitor is told, what is kept and what is logged on each path


def submit(slots: dict[str, Any], sender: str, client: str) -> Result:
    tracker = make_tracker("yes", "affirm", slots)
    tracker.sender_id = sender
    tracker.latest_message["metadata"] = {"client": client}
    return run(SubmitInquiry(), tracker)


def logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == form_actions.__name__]


def someone_else(n: int) -> dict[str, Any]:
    return {
        **COMPLETE,
        "lead_id": f"7f1d3c2e-0000-4000-8000-00000000010{n}",
        "lead_email": f"sam{n}@example.com",
        "lead_phone": f"+1423555017{n}",
    }


def test_an_address_over_its_limit_is_told_so_and_forgets_the_form(leads_db, monkeypatch, caplog):  # noqa: F811
    """Other addresses still get through: the limit counts per address."""
    monkeypatch.setenv(intake.PER_ADDRESS_ENV, "1")
    caplog.set_level(logging.INFO, logger=form_actions.__name__)
    saved = submit(someone_else(1), "first", client="c0ffee")
    assert saved.texts[0] == say("reply_inquiry_saved", phone=PHONE)
    limited = submit(someone_else(2), "second", client="c0ffee")
    assert limited.texts == [say("reply_inquiry_limited", phone=PHONE)]
    assert {slot: limited.slot(slot) for slot in [*form_actions.ALL_SLOTS, "lead_id"]} == dict.fromkeys(
        [*form_actions.ALL_SLOTS, "lead_id"]
    )
    assert limited.slot("offered_inquiry") is False and slot_names(limited) <= DECLARED
    other_address = submit(someone_else(3), "third", client="beef")
    assert other_address.texts[0] == say("reply_inquiry_saved", phone=PHONE)
    assert {lead.conversation_id for lead in leads_db.all()} == {"first", "third"}
    assert logged(caplog) == [
        f"lead {someone_else(1)['lead_id']} saved",
        "conversation second: lead not saved, too many leads from its address",
        f"lead {someone_else(3)['lead_id']} saved",
    ]


def test_a_lead_refused_at_submit_asks_the_refused_answer_and_the_summary_again(leads_db, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger=form_actions.__name__)
    refused = submit({**COMPLETE, "lead_email": "x"}, "forged", client="c0ffee")
    assert refused.texts == [say("reply_inquiry_not_saved", phone=PHONE)] and list(leads_db.all()) == []
    assert (refused.slot("lead_confirmed"), refused.slot("lead_email")) == (None, None)
    assert refused.slot("lead_name") == "<unset>" and slot_names(refused) <= DECLARED
    assert logged(caplog) == ["conversation forged: lead not saved, lead_email failed re-validation"]


def test_a_lead_the_store_cannot_take_is_confirmed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'leads.sqlite3'}")
    runtime.lead_store.cache_clear()
    try:
        result = submit(COMPLETE, "visitor-1", client="c0ffee")
    finally:
        runtime.lead_store.cache_clear()
    assert result.texts == [say("reply_inquiry_not_saved", phone=PHONE)]
    assert [(e["name"], e["value"]) for e in result.events if e.get("event") == "slot"] == [("lead_confirmed", None)]


def test_a_refused_answer_is_logged_by_field_and_try_never_by_value(caplog):
    caplog.set_level(logging.INFO, logger=form_actions.__name__)
    first = answer("lead_email", "ana at example")
    answer("lead_email", "ana at example dot com", slots={"lead_failures": first.slot("lead_failures")})
    assert logged(caplog) == [
        "inquiry field lead_email rejected (attempt 1)",
        "inquiry field lead_email rejected (attempt 2)",
    ]
