"""Readable names for what the stored events name by id: intents, buttons, form fields, programs."""

from __future__ import annotations

from actions.dialogue import suggestions
from actions.knowledge import KnowledgeBase

# What a visitor message of each intent is, as staff would say it.
INTENTS: dict[str, str] = {
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "thank": "Thanks",
    "affirm": "Yes",
    "deny": "No",
    "bot_challenge": "Is this a bot?",
    "out_of_scope": "Outside what the assistant covers",
    "ask_program_info": "About a program",
    "ask_difference": "Difference between the programs",
    "ask_duration": "How long a program takes",
    "ask_delivery": "Online or in person",
    "ask_campus": "Campuses and where to study",
    "ask_curriculum": "What a program covers",
    "ask_careers": "Careers a program leads to",
    "ask_credential": "Credentials",
    "ask_definition": "What a term means",
    "ask_coding_in_hit": "Coding in Health IT",
    "ask_fit": "Which program fits me",
    "ask_contact": "How to contact admissions",
    "ask_unknown_topic": "A topic the assistant has no facts on",
    "inform": "Gave a detail",
    "request_inquiry": "Asked to be contacted",
    "stop": "Asked to stop",
    "express_interest": "Said they are interested",
    "other_language": "Wrote in another language",
    "nlu_fallback": "Not understood",
}
UNKNOWN_INTENT = "Not classified"
# Form fields as staff call them (actions/inquiry/fields.py's slots).
FIELDS: dict[str, str] = {
    "lead_name": "Name",
    "lead_email": "Email",
    "lead_phone": "Phone",
    "lead_program": "Program",
    "lead_study_option": "Where to study",
    "lead_contact_method": "Contact method",
    "lead_consent": "Consent to be contacted",
    "lead_sms_consent": "Consent to texts",
    "lead_confirmed": "Confirmation",
}
# Buttons the assistant offers outside the form, by payload (the form's own buttons send text).
BUTTONS: dict[str, str] = {
    **{payload: title for title, payload in suggestions.CATALOG.values()},
    **{button["payload"]: button["title"] for button in suggestions.inquiry_offer()},
    "/session_start": "Start a fresh conversation",
}


def intent(name: str | None) -> str:
    if not name:
        return UNKNOWN_INTENT
    return INTENTS.get(name) or name.removeprefix("ask_").replace("_", " ").capitalize()


def field(slot: str) -> str:
    return FIELDS.get(slot) or slot.removeprefix("lead_").replace("_", " ").capitalize()


def button(payload: str) -> str:
    """A payload's button title; a payload the assistant never offers is shown as sent."""
    return BUTTONS.get(payload.split("{", 1)[0]) or payload


def programs(kb: KnowledgeBase | None) -> dict[str, str]:
    """Program id -> name; an id the knowledge base no longer has is shown as the id."""
    return {program.id: program.name for program in kb.programs} if kb else {}
