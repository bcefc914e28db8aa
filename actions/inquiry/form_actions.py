"""The inquiry form's actions: start, ask, validate, submit.

Everything a visitor types while the form is open passes through `ValidateInquiryForm`,
which reads the message once and decides in one place whether it is an answer to the
question asked (parsed by the field's declaration in fields.py), a question to answer from
the knowledge base, a correction, or a request to stop.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge, language
from actions.dialogue import answers, suggestions
from actions.dialogue.context import LAST_PROGRAMS_SLOT, PROGRAM_SLOT
from actions.inquiry import consent, fields, intake
from actions.inquiry.fields import FormField
from actions.inquiry.lead_builder import build_lead
from actions.inquiry.replies import MIN_CONFIDENCE, Reopen, Reply
from actions.inquiry.revalidation import Refused, checked_answers
from actions.inquiry.runtime import lead_store, notify_delivery
from actions.inquiry.store import StoreUnavailable
from actions.inquiry.validators import Invalid
from actions.language.question_shape import looks_like_question
from actions.question_actions import answer_message, remembered

logger = logging.getLogger(__name__)

# Cleared when the form ends: what the visitor gave, and the form's own bookkeeping.
ALL_SLOTS = [*fields.form_slots(), "lead_failures", "confirming_stop"]
MAX_FAILURES = 3
# An open-ended answer (a name) accepts almost any words, so a question must be surer to win.
OPEN_ENDED_QUESTION_CONFIDENCE = 0.6


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
    """Asks for one field (its declaration's prompt), unless a "do you want to stop?" is pending."""

    @property
    @abstractmethod
    def field(self) -> FormField:
        """The form field this action asks for."""

    def name(self) -> str:
        return f"action_ask_{self.field.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("confirming_stop"):
            return []
        return self.field.ask(dispatcher, tracker, domain)


def _ask_action_for(field: FormField) -> type[AskField]:
    class_name = "Ask" + "".join(part.title() for part in field.slot.split("_"))
    return type(class_name, (AskField,), {"field": field, "__module__": __name__})


ASK_ACTIONS = {field.slot: _ask_action_for(field) for field in fields.FIELDS}


class ValidateInquiryForm(FormValidationAction):
    def name(self) -> str:
        return "validate_inquiry_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        """The form's slots, less the fields this visitor is not asked (the text consent, unless texting)."""
        return [slot for slot in domain_slots if slot not in fields.BY_SLOT or fields.BY_SLOT[slot].is_asked(tracker)]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The one reading of a reply to the form, dispatched to the asked field's parser.

        It replaces rasa_sdk's per-slot `validate_<slot>` methods because a reply can also be
        a question, a request to stop or a step back to an earlier field, none of which is a
        value for the slot asked.
        """
        field = fields.BY_SLOT.get(tracker.get_slot("requested_slot") or "")
        if field is None:
            return []
        reply = Reply.read(tracker, knowledge.current(), language.current())
        if tracker.get_slot("confirming_stop"):
            return self._after_stop_question(dispatcher, tracker, reply)
        if reply.in_other_language():  # said that the assistant answers in English; the field asked again
            return self._answer(dispatcher, reply, field)
        if field.questions_first and looks_like_question(reply.text):  # "and how long?" is never a name
            if reply.asks_to_stop():  # "can I stop?"
                return self._ask_to_stop(dispatcher, field.slot)
            return self._answer(dispatcher, reply, field)
        if field.open_ended:  # "never mind" would pass as a name: hear a stop or a question first
            aside = self._aside(dispatcher, reply, field, OPEN_ENDED_QUESTION_CONFIDENCE)
            if aside is not None:
                return aside
        try:
            value = field.parse(reply)
        except Invalid as problem:
            aside = self._aside(dispatcher, reply, field)
            return aside if aside is not None else self._reject(dispatcher, tracker, field, str(problem))
        if isinstance(value, Reopen):
            return self._reopen(dispatcher, field, value)
        return self._accept(tracker, domain, field, value)

    def _aside(
        self, dispatcher: CollectingDispatcher, reply: Reply, field: FormField, min_confidence: float = MIN_CONFIDENCE
    ) -> list[EventType] | None:
        """A request to stop, or a question the NLU is sure enough of, instead of an answer; None when it is neither."""
        if reply.asks_to_stop():
            return self._ask_to_stop(dispatcher, field.slot)
        if reply.is_question(min_confidence):
            return self._answer(dispatcher, reply, field)
        return None

    @staticmethod
    def _ask_to_stop(dispatcher: CollectingDispatcher, slot: str) -> list[EventType]:
        buttons = [{"title": "Yes, stop", "payload": "yes"}, {"title": "No, continue", "payload": "no"}]
        dispatcher.utter_message(response="reply_confirm_stop", buttons=buttons)
        return [SlotSet("confirming_stop", True), SlotSet(slot, None)]

    @staticmethod
    def _accept(tracker: Tracker, domain: dict[str, Any], field: FormField, value: Any) -> list[EventType]:
        """The answer fills the slot (a consent's yes with its record, captured now); what
        depended on an earlier answer is asked again."""
        failures = dict(tracker.get_slot("lead_failures") or {})
        failures.pop(field.slot, None)
        cleared = [SlotSet(slot, None) for slot in fields.with_records(list(field.dependents))]
        recorded = (
            [SlotSet(field.record_slot, consent.capture(tracker, domain, field.question_response))]
            if field.record_slot
            else []
        )
        context = _program_context(value) if field.chooses_program else []
        return [SlotSet(field.slot, value), *recorded, *cleared, SlotSet("lead_failures", failures), *context]

    @staticmethod
    def _reopen(dispatcher: CollectingDispatcher, field: FormField, reopen: Reopen) -> list[EventType]:
        """Back to an earlier field: it, its dependents and the field just answered are asked again."""
        dispatcher.utter_message(response=reopen.response, **reopen.values)
        target = fields.BY_SLOT[reopen.slot]
        cleared = dict.fromkeys(fields.with_records([field.slot, target.slot, *target.dependents]))
        return [SlotSet(slot, None) for slot in cleared]

    @staticmethod
    def _reject(dispatcher: CollectingDispatcher, tracker: Tracker, field: FormField, reason: str) -> list[EventType]:
        failures = dict(tracker.get_slot("lead_failures") or {})
        failures[field.slot] = failures.get(field.slot, 0) + 1
        dispatcher.utter_message(response="reply_invalid_field", reason=reason)
        if failures[field.slot] >= MAX_FAILURES:
            dispatcher.utter_message(response="reply_form_trouble", phone=knowledge.current().admissions.phone)
        logger.info("inquiry field %s rejected (attempt %d)", field.slot, failures[field.slot])
        return [SlotSet(field.slot, None), SlotSet("lead_failures", failures)]

    @staticmethod
    def _after_stop_question(dispatcher: CollectingDispatcher, tracker: Tracker, reply: Reply) -> list[EventType]:
        if reply.yes_no() is True:
            dispatcher.utter_message(response="reply_inquiry_cancelled", phone=reply.kb.admissions.phone)
            cleared = [*ALL_SLOTS, "lead_id", "requested_slot"]
            return [*(SlotSet(s, None) for s in cleared), SlotSet("offered_inquiry", False), ActiveLoop(None)]
        dispatcher.utter_message(response="reply_inquiry_continue")
        return [SlotSet("confirming_stop", False), SlotSet(tracker.get_slot("requested_slot"), None)]

    @staticmethod
    def _answer(dispatcher: CollectingDispatcher, reply: Reply, field: FormField) -> list[EventType]:
        """The question answered as it would be outside the form, in the conversation's context
        (which it then updates, as there); the field is asked again, and no try is counted."""
        topic = answers.topic_of(reply.intent) or "fallback"  # a question about nothing known
        result = answer_message(topic, reply.kb, reply.tracker, reply.matcher)
        for utterance in result.utterances:
            dispatcher.utter_message(response=utterance.response, **utterance.values)
        return [SlotSet(field.slot, None), *remembered(result)]


def _program_context(value: Any) -> list[EventType]:
    """A program chosen in the form is the one the conversation is on ("not sure" changes nothing)."""
    program = knowledge.current().program(value) if isinstance(value, str) else None
    if program is None:
        return []
    return [SlotSet(PROGRAM_SLOT, program.id), SlotSet(LAST_PROGRAMS_SLOT, [program.id])]


class SubmitInquiry(Action):
    """Checks every answer again, writes the lead durably, and only then thanks the visitor."""

    def name(self) -> str:
        return "action_submit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("lead_confirmed") is not True:
            return []  # the form was stopped: nothing to send
        kb = knowledge.current()
        phone = kb.admissions.phone
        try:
            lead = build_lead(tracker, checked_answers(tracker, kb, domain))
        except Refused as refused:  # a stale or made-up form: the field's name, never its value
            logger.warning("conversation %s: lead not saved, %s failed re-validation", tracker.sender_id, refused.slot)
            dispatcher.utter_message(response="reply_inquiry_not_saved", phone=phone)
            # The refused field is asked again if the visitor restarts the form; the rest is kept.
            cleared = [
                slot for slot in (refused.field.wording_slot, *fields.with_records([refused.field.slot])) if slot
            ]
            return [SlotSet("lead_confirmed", None), *(SlotSet(slot, None) for slot in cleared)]
        try:
            outcome = intake.take(lead_store(), lead, intake.address(tracker), intake.address_limit())
        except StoreUnavailable as error:
            logger.error("lead %s not saved: %s", lead.id, error)
            dispatcher.utter_message(response="reply_inquiry_not_saved", phone=phone)
            return [SlotSet("lead_confirmed", None)]
        if outcome is intake.Outcome.LIMITED:
            logger.warning("conversation %s: lead not saved, too many leads from its address", tracker.sender_id)
            dispatcher.utter_message(response="reply_inquiry_limited", phone=phone)
            return [*(SlotSet(s, None) for s in ALL_SLOTS), SlotSet("lead_id", None), SlotSet("offered_inquiry", False)]
        logger.info("lead %s %s", lead.id, outcome.value)
        notify_delivery()
        thanks = "reply_inquiry_updated" if outcome is intake.Outcome.UPDATED else "reply_inquiry_saved"
        dispatcher.utter_message(response=thanks, phone=phone, buttons=suggestions.next_steps("contact"))
        return [*(SlotSet(s, None) for s in ALL_SLOTS), SlotSet("lead_id", None), SlotSet("offered_inquiry", False)]
