"""The inquiry form's actions: start, ask, validate, submit.

Everything a visitor types while the form is open passes through `ValidateInquiryForm`,
which decides in one place whether it is an answer to the question asked, a question to
answer from the knowledge base, a correction, or a request to stop.
"""

from __future__ import annotations

import logging
import re
import uuid
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge, language
from actions.dialogue import answers, suggestions
from actions.dialogue.context import PROGRAM_SLOT, read_context
from actions.inquiry import options, validators
from actions.inquiry.lead_builder import build_lead
from actions.inquiry.prompts import PROMPTS
from actions.inquiry.runtime import lead_store, notify_delivery
from actions.inquiry.store import StoreUnavailable

logger = logging.getLogger(__name__)

FIELDS = list(PROMPTS)  # the form's slots, in the order they are asked
ALL_SLOTS = [*FIELDS, "lead_consent_wording", "lead_sms_consent_wording", "lead_failures", "confirming_stop"]
MAX_FAILURES = 3
QUESTION_INTENT = re.compile(r"^(ask_\w+|bot_challenge)$")
# Words that name a field in "change my email"; the later fields depend on the earlier.
CORRECTIONS = {
    "lead_name": ("name",),
    "lead_email": ("email", "e-mail"),
    "lead_phone": ("phone", "number", "mobile", "cell"),
    "lead_program": ("program",),
    "lead_study_option": ("campus", "location", "where", "online", "hybrid"),
    "lead_contact_method": ("contact", "method", "reach me", "text", "call"),
}
DEPENDENTS = {
    "lead_program": ["lead_study_option"],
    "lead_contact_method": ["lead_consent", "lead_sms_consent"],
    "lead_phone": ["lead_sms_consent"],
}


def _intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def _confidence(tracker: Tracker) -> float:
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def _yes_no(tracker: Tracker, text: str) -> bool | None:
    lowered = text.strip().lower()
    if _intent(tracker) == "affirm" or lowered in ("yes", "y", "yes please", "i agree", "agree", "ok", "okay", "sure"):
        return True
    if _intent(tracker) == "deny" or lowered in ("no", "n", "no thanks", "nope"):
        return False
    return None


class StartInquiry(Action):
    """Chooses the lead's id before the first question, so a repeated submit stores once."""

    def name(self) -> str:
        return "action_start_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="reply_inquiry_intro")
        events: list[EventType] = [SlotSet("confirming_stop", False)]
        if not tracker.get_slot("lead_id"):
            events.append(SlotSet("lead_id", str(uuid.uuid4())))
        # A visitor coming back to a form that failed to save keeps their details but
        # confirms them again.
        events.append(SlotSet("lead_confirmed", None))
        return events


class AskField(Action, ABC):
    """Asks for one field (see prompts.py), unless a "do you want to stop?" is pending."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The form slot this action asks for."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("confirming_stop"):
            return []
        return PROMPTS[self.slot](dispatcher, tracker, domain)


def _ask_action_for(slot: str) -> type[AskField]:
    class_name = "Ask" + "".join(part.title() for part in slot.split("_"))
    return type(class_name, (AskField,), {"slot": slot, "__module__": __name__})


ASK_ACTIONS = {slot: _ask_action_for(slot) for slot in FIELDS}


class ValidateInquiryForm(FormValidationAction):
    def name(self) -> str:
        return "validate_inquiry_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        if tracker.get_slot("lead_contact_method") != "text":
            return [s for s in domain_slots if s != "lead_sms_consent"]
        return domain_slots

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        slot = tracker.get_slot("requested_slot")
        text = validators.clean_text((tracker.latest_message or {}).get("text"))
        if slot not in FIELDS:
            return []
        if tracker.get_slot("confirming_stop"):
            return self._after_stop_question(dispatcher, tracker, text)
        wants_to_stop = _intent(tracker) == "stop" and _confidence(tracker) >= 0.5 and validators.is_plain_words(text)
        if wants_to_stop and slot == "lead_name":  # "never mind" would pass as a name
            return self._ask_to_stop(dispatcher, slot)
        try:
            value = self._value(slot, text, tracker)
        except validators.Invalid as problem:
            if wants_to_stop:
                return self._ask_to_stop(dispatcher, slot)
            if QUESTION_INTENT.match(_intent(tracker)) and _confidence(tracker) >= 0.5:
                self._answer_question(dispatcher, tracker)
                return [SlotSet(slot, None)]
            return self._reject(dispatcher, tracker, slot, str(problem))
        return self._accept(dispatcher, tracker, slot, value)

    @staticmethod
    def _ask_to_stop(dispatcher: CollectingDispatcher, slot: str) -> list[EventType]:
        buttons = [{"title": "Yes, stop", "payload": "yes"}, {"title": "No, continue", "payload": "no"}]
        dispatcher.utter_message(response="reply_confirm_stop", buttons=buttons)
        return [SlotSet("confirming_stop", True), SlotSet(slot, None)]

    def _value(self, slot: str, text: str, tracker: Tracker) -> Any:
        kb, matcher = knowledge.current(), language.current()
        # A question typed instead of a name is still a question.
        if slot == "lead_name" and QUESTION_INTENT.match(_intent(tracker)) and _confidence(tracker) >= 0.6:
            raise validators.Invalid("That looks like a question rather than a name.")
        if slot == "lead_name":
            return validators.full_name(text)
        if slot == "lead_email":
            return validators.email(text)
        if slot == "lead_phone":
            return validators.phone(text)
        if slot == "lead_program":
            discussed = tracker.get_slot(PROGRAM_SLOT)
            chosen = discussed if discussed and _yes_no(tracker, text) else options.match_program(matcher, text)
            if not chosen:
                raise validators.Invalid("I didn't recognise that program. Please pick one of the options.")
            return chosen
        if slot == "lead_study_option":
            program = tracker.get_slot("lead_program")
            option = options.match_study_option(kb, matcher, None if program == options.NOT_SURE else program, text)
            if not option:
                raise validators.Invalid(
                    "That isn't one of the places this program is offered. Please pick one of the options."
                )
            return option.id
        if slot == "lead_contact_method":
            method = options.match_contact_method(text)
            if not method:
                raise validators.Invalid("Please choose email, a phone call or a text message.")
            return method
        if slot in ("lead_consent", "lead_sms_consent"):
            answer = _yes_no(tracker, text)
            if answer is None:
                raise validators.Invalid("Please answer yes or no.")
            return answer
        # lead_confirmed: yes sends; naming a field reopens it.
        answer = _yes_no(tracker, text)
        if answer is True:
            return True
        if self._field_named(text):
            return "correct"
        raise validators.Invalid(
            "Say yes to send your details, or tell me what to change (for example 'change my email')."
        )

    @staticmethod
    def _field_named(text: str) -> str | None:
        lowered = text.lower()
        return next((slot for slot, words in CORRECTIONS.items() if any(w in lowered for w in words)), None)

    def _accept(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, value: Any) -> list[EventType]:
        failures = dict(tracker.get_slot("lead_failures") or {})
        failures.pop(slot, None)
        events: list[EventType] = [SlotSet(slot, value), SlotSet("lead_failures", failures)]
        if slot in ("lead_consent", "lead_sms_consent") and value is False:
            dispatcher.utter_message(response="reply_consent_declined", phone=knowledge.current().admissions.phone)
            return [
                SlotSet(slot, None),
                SlotSet("lead_contact_method", None),
                SlotSet("lead_consent", None),
                SlotSet("lead_sms_consent", None),
            ]
        if slot == "lead_confirmed" and value == "correct":  # "change my email"
            field = self._field_named((tracker.latest_message or {}).get("text") or "")
            cleared = [field, *DEPENDENTS.get(field, [])] if field else []
            dispatcher.utter_message(response="reply_correction")
            return [SlotSet(s, None) for s in [*cleared, "lead_confirmed"]]
        if slot == "lead_program":
            events.append(SlotSet("lead_study_option", None))
        return events

    def _reject(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, reason: str) -> list[EventType]:
        failures = dict(tracker.get_slot("lead_failures") or {})
        failures[slot] = failures.get(slot, 0) + 1
        dispatcher.utter_message(response="reply_invalid_field", reason=reason)
        if failures[slot] >= MAX_FAILURES:
            dispatcher.utter_message(response="reply_form_trouble", phone=knowledge.current().admissions.phone)
        logger.info("inquiry field %s rejected (attempt %d)", slot, failures[slot])
        return [SlotSet(slot, None), SlotSet("lead_failures", failures)]

    def _after_stop_question(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
        if _yes_no(tracker, text) is True:
            dispatcher.utter_message(response="reply_inquiry_cancelled", phone=knowledge.current().admissions.phone)
            cleared = [*ALL_SLOTS, "lead_id", "requested_slot"]
            return [*(SlotSet(s, None) for s in cleared), SlotSet("offered_inquiry", False), ActiveLoop(None)]
        dispatcher.utter_message(response="reply_inquiry_continue")
        return [SlotSet("confirming_stop", False), SlotSet(tracker.get_slot("requested_slot"), None)]

    @staticmethod
    def _answer_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        kb, matcher = knowledge.current(), language.current()
        topic = _intent(tracker).replace("ask_", "", 1)
        if topic not in answers.HANDLERS:
            return
        result = answers.answer(topic, kb, read_context(tracker, kb, matcher))
        for utterance in result.utterances:
            dispatcher.utter_message(response=utterance.response, **utterance.values)


class SubmitInquiry(Action):
    """Writes the lead durably, and only then thanks the visitor."""

    def name(self) -> str:
        return "action_submit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("lead_confirmed") is not True:
            return []  # the form was stopped: nothing to send
        phone = knowledge.current().admissions.phone
        lead = build_lead(tracker)
        try:
            lead_store().save(lead)
        except StoreUnavailable as error:
            logger.error("lead %s not saved: %s", lead.id, error)
            dispatcher.utter_message(response="reply_inquiry_not_saved", phone=phone)
            return [SlotSet("lead_confirmed", None)]
        logger.info("lead %s saved", lead.id)
        notify_delivery()
        dispatcher.utter_message(response="reply_inquiry_saved", phone=phone, buttons=suggestions.next_steps("contact"))
        return [*(SlotSet(s, None) for s in ALL_SLOTS), SlotSet("lead_id", None), SlotSet("offered_inquiry", False)]
