"""Rasa events of inquiry-form conversations, and a search for a visitor's details in stored bytes.

The events are built with Rasa's own event classes, in the order Rasa's form loop produces
them, so the redaction and the tracker store are tested on what they really receive. Bot
texts here are inputs, not the domain's wording: no test compares them with domain.yml.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from tests.conversations import Person

FORM = "inquiry_form"


def user(text: str, intent: str = "inform", **metadata: str) -> list[Event]:
    return [
        ActionExecuted("action_listen"),
        UserUttered(text, {"name": intent, "confidence": 0.9}, [], metadata=metadata),
    ]


def bot(text: str) -> BotUttered:
    return BotUttered(text, {"buttons": []}, {})


def session_start() -> list[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted()]


def ask(slot: str, *before: Event) -> list[Event]:
    """The form's step after a reply: what the reply set, then the next question."""
    return [ActionExecuted(FORM), *before, SlotSet("requested_slot", slot), bot(f"Question for {slot}?")]


def form_start() -> list[Event]:
    return [*user("I'd like more info", "request_info"), ActionExecuted(FORM), ActiveLoop(FORM), *ask("lead_name")[1:]]


def details(person: Person, rejected_email: str | None = None) -> list[Event]:
    """Name, (a rejected email,) email and phone given: the form now asks for the program."""
    rejected = (
        [*user(rejected_email), ActionExecuted(FORM), SlotSet("lead_email", None), bot("Not valid.")]
        if rejected_email
        else []
    )
    return [
        *user(person.name),
        *ask("lead_email", SlotSet("lead_name", person.name)),
        *rejected,
        *user(person.email),
        *ask("lead_phone", SlotSet("lead_email", person.email)),
        *user(person.phone),
        *ask("lead_program", SlotSet("lead_phone", person.stored_phone)),
    ]


def summary_and_submit(person: Person) -> list[Event]:
    """The rest of the form, the summary quoting the details, and the submit clearing them."""
    summary = f"Here it is:\nName: {person.name}\nEmail: {person.email}\nPhone: {person.stored_phone}\nSend it?"
    cleared = [SlotSet(slot, None) for slot in ("lead_name", "lead_email", "lead_phone", "lead_confirmed")]
    return [
        *user("how long is it?", "ask_duration"),
        ActionExecuted(FORM),
        bot("It takes a while."),
        SlotSet("lead_program", None),
        *user("health IT"),
        *ask("lead_confirmed", SlotSet("lead_program", "healthcare_it")),
        bot(summary),
        *user("yes", "affirm"),
        ActionExecuted(FORM),
        SlotSet("lead_confirmed", True),
        SlotSet("requested_slot", None),
        ActiveLoop(None),
        ActionExecuted("action_submit_inquiry"),
        bot("Thanks, saved."),
        *cleared,
    ]


def stop() -> list[Event]:
    """ "never mind", then "yes" to "do you want to stop?": the form ends, the details cleared."""
    cleared = [SlotSet(slot, None) for slot in ("lead_name", "lead_email", "lead_phone", "requested_slot")]
    return [
        *user("never mind", "stop"),
        ActionExecuted(FORM),
        SlotSet("confirming_stop", True),
        bot("Do you want to stop?"),
        *user("yes", "affirm"),
        ActionExecuted(FORM),
        *cleared,
        SlotSet("confirming_stop", None),
        ActiveLoop(None),
        bot("Stopped: nothing kept."),
    ]


def traces(person: Person, haystack: str) -> list[str]:
    """The visitor's details found in the text, in any case: name, email, phone as typed,
    in E.164 and as bare digits, also as JSON writes non-ASCII letters (\\u00fa)."""
    digits = "".join(ch for ch in person.stored_phone if ch.isdigit())
    needles = {person.name, person.email, person.phone, person.stored_phone, digits[-10:], digits[-7:]}
    needles |= {part for part in person.name.split() if len(part) > 3}  # "O'Brien-Núñez" alone
    needles |= {json.dumps(needle)[1:-1] for needle in needles}
    lowered = haystack.lower()
    return sorted(needle for needle in needles if needle.lower() in lowered)


def file_traces(person: Person, files: Iterable[Path]) -> list[str]:
    """traces() in the raw bytes of the files (the SQLite database, its -wal and -shm)."""
    found: list[str] = []
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace") + raw.decode("latin-1")
        found += [f"{path.name}: {needle}" for needle in traces(person, text)]
    return found
