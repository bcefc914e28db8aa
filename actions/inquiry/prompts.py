"""How the inquiry form asks for each field and shows each answer: wording from the domain,
choices as buttons. Each field's declaration in fields.py names its prompt and its display.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.inquiry import options

if TYPE_CHECKING:
    from actions.inquiry.fields import FormField

Prompt = Callable[[CollectingDispatcher, Tracker, dict[str, Any]], list[EventType]]
# How an answer reads in the summary: (the slot's value, the form so far) -> text.
Display = Callable[[Any, Tracker], str]
YES_NO = [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]
NOT_SURE_LABEL = "Not sure yet"


def render(domain: dict[str, Any], response: str, **values: Any) -> str:
    """The exact text a response shows (kept as the consent wording the visitor saw)."""
    template = domain["responses"][response][0]["text"]
    return re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), m.group(0))), template)


def question_response(slot: str) -> str:
    """The domain response that asks for a field."""
    return f"reply_ask_{slot}"


def wording_slot(slot: str) -> str:
    """Where the exact question a field was asked with is kept, as evidence of what was agreed."""
    return f"{slot}_wording"


# The prompts and displays that fields.py configures are objects whose work is done in
# `__call__`, not closures made by a factory: fields.py builds them while it is imported,
# before mutation testing (mutmut) switches any mutant on, so a closure's logic would escape it.


@dataclass(frozen=True, eq=False)
class Say:
    """A question answered in the visitor's own words."""

    response: str

    def __call__(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response=self.response)
        return []


@dataclass(frozen=True, eq=False)
class Choose:
    """A question answered with one of a few buttons; each button sends its choice's key."""

    response: str
    choices: Mapping[str, str]

    def __call__(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        buttons = [{"title": label[0].upper() + label[1:], "payload": key} for key, label in self.choices.items()]
        dispatcher.utter_message(response=self.response, buttons=buttons)
        return []


def ask_program(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    """The program already discussed is offered first (and "yes" chooses it)."""
    kb = knowledge.current()
    discussed = options.discussed_program(kb, tracker)
    programs = sorted(kb.programs, key=lambda p: p is not discussed)
    buttons = [{"title": p.name, "payload": p.name} for p in programs]
    buttons.append({"title": NOT_SURE_LABEL, "payload": "not sure yet"})
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


@dataclass(frozen=True, eq=False)
class AskConsent:
    """A yes/no consent question whose exact wording, filled in for this visitor, is kept as
    evidence of what was agreed; submit checks the kept wording is still what it would ask
    (revalidation.py), so a consent stands only for the contact details it named."""

    slot: str

    def values(self, tracker: Tracker) -> dict[str, str]:
        """The answers the question names."""
        return {}

    def wording(self, tracker: Tracker, domain: dict[str, Any]) -> str:
        return render(domain, question_response(self.slot), **self.values(tracker))

    def __call__(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        wording = self.wording(tracker, domain)
        dispatcher.utter_message(text=wording, buttons=YES_NO)
        return [SlotSet(wording_slot(self.slot), wording)]


class AskContactConsent(AskConsent):
    """Consent to be contacted the way chosen: the question names the method."""

    def values(self, tracker: Tracker) -> dict[str, str]:
        return {"method": options.CONTACT_METHODS.get(tracker.get_slot("lead_contact_method") or "", "")}


class AskTextConsent(AskConsent):
    """Consent to texts: the question names the number."""

    def values(self, tracker: Tracker) -> dict[str, str]:
        return {"phone": tracker.get_slot("lead_phone") or ""}


ask_consent = AskContactConsent("lead_consent")
ask_sms_consent = AskTextConsent("lead_sms_consent")


@dataclass(frozen=True, eq=False)
class AskConfirmation:
    """The summary of the fields given, before anything is sent."""

    fields: Sequence[FormField]

    def __call__(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        buttons = [{"title": "Send it", "payload": "yes"}, {"title": "Change something", "payload": "change something"}]
        dispatcher.utter_message(
            response="reply_ask_lead_confirmed", buttons=buttons, summary=summary(self.fields, tracker)
        )
        return []


def summary(fields: Sequence[FormField], tracker: Tracker) -> str:
    """One "Label: answer" line per field that has a summary label and was asked."""
    return "\n".join(
        f"{field.label}: {field.display(tracker.get_slot(field.slot), tracker)}"
        for field in fields
        if field.label and field.is_asked(tracker)
    )


def show_text(value: Any, tracker: Tracker) -> str:
    return "" if value is None else str(value)


def show_program(value: Any, tracker: Tracker) -> str:
    program = knowledge.current().program(value or "")
    return program.name if program else NOT_SURE_LABEL


def show_study_option(value: Any, tracker: Tracker) -> str:
    return options.study_option_label(knowledge.current(), tracker.get_slot("lead_program"), value or "")


@dataclass(frozen=True, eq=False)
class ShowChoice:
    """A choice by its label, as its button and the questions name it."""

    choices: Mapping[str, str]

    def __call__(self, value: Any, tracker: Tracker) -> str:
        return self.choices.get(value or "", "")
