"""How the inquiry form asks for each field: wording from the domain, choices as buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.dialogue.context import PROGRAM_SLOT
from actions.inquiry import options

Prompt = Callable[[CollectingDispatcher, Tracker, dict[str, Any]], list[EventType]]
YES_NO = [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]


def render(domain: dict[str, Any], response: str, **values: Any) -> str:
    """The exact text a response shows (kept as the consent wording the visitor saw)."""
    template = domain["responses"][response][0]["text"]
    return re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), m.group(0))), template)


def _free_text(response: str) -> Prompt:
    def ask(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response=response)
        return []

    return ask


def ask_program(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    """The program already discussed is offered first (and "yes" chooses it)."""
    kb = knowledge.current()
    discussed = kb.program(tracker.get_slot(PROGRAM_SLOT) or "")
    programs = sorted(kb.programs, key=lambda p: p is not discussed)
    buttons = [{"title": p.name, "payload": p.name} for p in programs]
    buttons.append({"title": "Not sure yet", "payload": "not sure yet"})
    if discussed:
        dispatcher.utter_message(
            response="reply_ask_lead_program_discussed", buttons=buttons, program_name=discussed.name
        )
    else:
        dispatcher.utter_message(response="reply_ask_lead_program", buttons=buttons)
    return []


def ask_study_option(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    kb = knowledge.current()
    program = kb.program(tracker.get_slot("lead_program") or "")
    choices = options.study_options(kb, program.id if program else None)
    buttons = [{"title": o.label, "payload": o.label} for o in choices]
    name = program.name if program else "your program"
    dispatcher.utter_message(response="reply_ask_lead_study_option", buttons=buttons, program_name=name)
    return []


def ask_contact_method(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    buttons = [
        {"title": label[0].upper() + label[1:], "payload": key} for key, label in options.CONTACT_METHODS.items()
    ]
    dispatcher.utter_message(response="reply_ask_lead_contact_method", buttons=buttons)
    return []


def ask_consent(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    method = options.CONTACT_METHODS.get(tracker.get_slot("lead_contact_method") or "", "")
    wording = render(domain, "reply_ask_lead_consent", method=method)
    dispatcher.utter_message(text=wording, buttons=YES_NO)
    return [SlotSet("lead_consent_wording", wording)]


def ask_sms_consent(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    wording = render(domain, "reply_ask_lead_sms_consent", phone=tracker.get_slot("lead_phone") or "")
    dispatcher.utter_message(text=wording, buttons=YES_NO)
    return [SlotSet("lead_sms_consent_wording", wording)]


def ask_confirmation(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    buttons = [{"title": "Send it", "payload": "yes"}, {"title": "Change something", "payload": "change something"}]
    dispatcher.utter_message(response="reply_ask_lead_confirmed", buttons=buttons, **summary(tracker))
    return []


def summary(tracker: Tracker) -> dict[str, str]:
    kb = knowledge.current()
    program = kb.program(tracker.get_slot("lead_program") or "")
    option_id = tracker.get_slot("lead_study_option") or ""
    choice = next(
        (o.label for o in options.study_options(kb, program.id if program else None) if o.id == option_id), option_id
    )
    return {
        "name": tracker.get_slot("lead_name") or "",
        "email": tracker.get_slot("lead_email") or "",
        "phone": tracker.get_slot("lead_phone") or "",
        "program": program.name if program else "Not sure yet",
        "study_option": choice,
        "contact_method": options.CONTACT_METHODS.get(tracker.get_slot("lead_contact_method") or "", ""),
    }


PROMPTS: dict[str, Prompt] = {
    "lead_name": _free_text("reply_ask_lead_name"),
    "lead_email": _free_text("reply_ask_lead_email"),
    "lead_phone": _free_text("reply_ask_lead_phone"),
    "lead_program": ask_program,
    "lead_study_option": ask_study_option,
    "lead_contact_method": ask_contact_method,
    "lead_consent": ask_consent,
    "lead_sms_consent": ask_sms_consent,
    "lead_confirmed": ask_confirmation,
}
