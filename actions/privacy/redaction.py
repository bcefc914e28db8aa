"""A conversation's serialized events with the visitor's contact details taken out.

Run by the tracker store once the details are no longer needed (the form ended with them
cleared, or a new session began), never while the form still uses them. Everything else in
the events stays as it was, so the conversation still reads the same, less who it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import phonenumbers

from actions.privacy.masking import REGION, mask_contact_details, might_contain_contact_details
from actions.privacy.personal_slots import ANSWER_FEEDBACK_SLOT, PHONE, REQUESTED_SLOT, STOP_QUESTION_SLOT, placeholder

Event = dict[str, Any]


def personal_inputs(events: Sequence[Mapping[str, Any]], personal_slots: Mapping[str, str]) -> dict[int, str]:
    """Index of each user event typed while the form asked for a personal slot -> its kind.

    Rejected attempts count too (a mistyped email is still an email); a "yes"/"no" to the
    form's "do you want to stop?" does not.
    """
    typed: dict[int, str] = {}
    requested: str | None = None
    stop_question = False
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "session_started" or (kind == "active_loop" and not event.get("name")):
            requested, stop_question = None, False
        elif kind == "slot" and event.get("name") == REQUESTED_SLOT:
            requested = event.get("value")
        elif kind == "slot" and event.get("name") == STOP_QUESTION_SLOT:
            stop_question = bool(event.get("value"))
        elif kind == "user" and requested and requested in personal_slots and not stop_question:
            typed[index] = personal_slots[requested]
    return typed


def redact_events(events: Sequence[Mapping[str, Any]], personal_slots: Mapping[str, str]) -> list[Event]:
    """The events with every personal value replaced by its placeholder ("[name]"...).

    - user events typed at a personal slot: their text (and parse_data's) is the placeholder;
    - personal slot events: their value is the placeholder;
    - every other occurrence of those values, as typed and as the form normalised them, in
      any event (the summary, the text-consent question, metadata...): the placeholder;
    - other user events: email addresses and phone numbers masked (as when they were stored);
    - answer ratings (ANSWER_FEEDBACK_SLOT): kept as they are, they hold nothing personal.
    Idempotent: redacting redacted events changes nothing.
    """
    typed = personal_inputs(events, personal_slots)
    replace = _replacer(_personal_values(events, typed, personal_slots))
    redacted: list[Event] = []
    for index, event in enumerate(events):
        kind = event.get("event")
        if index in typed:
            redacted.append(_map_strings(_blank_user_event(event, placeholder(typed[index])), replace))
        elif kind == "user":
            redacted.append(_map_strings(event, lambda text: mask_contact_details(replace(text))))
        elif kind == "slot" and event.get("name") in personal_slots and event.get("value") is not None:
            redacted.append({**event, "value": placeholder(personal_slots[event["name"]])})
        elif kind == "slot" and event.get("name") == ANSWER_FEEDBACK_SLOT:
            redacted.append(dict(event))  # a rating and a timestamp: nothing personal to take out
        else:
            redacted.append(_map_strings(event, replace))
    return redacted


def mask_user_event(event: Mapping[str, Any]) -> Event:
    """A user event typed outside the form, with contact details masked wherever they appear."""
    return _map_strings(event, mask_contact_details)


def user_event_needs_masking(event: Mapping[str, Any]) -> bool:
    """Cheap: whether a user event's text may hold contact details (most turns: no)."""
    return event.get("event") == "user" and might_contain_contact_details(str(event.get("text") or ""))


def _personal_values(
    events: Sequence[Mapping[str, Any]], typed: Mapping[int, str], personal_slots: Mapping[str, str]
) -> dict[str, str]:
    """Each personal value (lower-cased) -> its kind: slot values, and the texts they were read from.

    A typed text counts only when the form accepted it (its slot was filled before the next
    message): a rejected attempt has no copy elsewhere, and "no" typed at the name question
    must not turn every "no" of the conversation into "[name]".
    """
    values: dict[str, str] = {}
    pending: tuple[str, str] | None = None  # (text, kind) typed and not yet accepted
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            pending = (str(event.get("text") or ""), typed[index]) if index in typed else None
        elif kind == "slot" and event.get("name") in personal_slots and event.get("value"):
            slot_kind = personal_slots[event["name"]]
            for variant in _variants(str(event["value"]), slot_kind):
                values[variant] = slot_kind
            if pending and pending[1] == slot_kind:
                values[pending[0].strip().lower()] = slot_kind
                pending = None
    return {value: kind for value, kind in values.items() if value and value != placeholder(kind)}


def _variants(value: str, kind: str) -> set[str]:
    """The value as stored, and for a phone number every way it is usually written."""
    variants = {value.strip().lower()}
    if kind == PHONE:
        try:
            number = phonenumbers.parse(value, REGION)
        except phonenumbers.NumberParseException:
            return variants
        for style in (
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        ):
            variants.add(phonenumbers.format_number(number, style).lower())
        variants.add(str(number.national_number))
    return variants


def _replacer(values: Mapping[str, str]) -> Callable[[str], str]:
    """Replaces each value, case-insensitively and as a whole word, by its placeholder."""
    if not values:
        return lambda text: text
    ordered = sorted(values, key=len, reverse=True)  # an email before the name inside it
    pattern = re.compile("|".join(rf"(?<!\w)({re.escape(value)})(?!\w)" for value in ordered), re.IGNORECASE)
    # match.lastindex: which alternative (group) matched, hence which value's kind.
    placeholders = [placeholder(values[value]) for value in ordered]
    return lambda text: pattern.sub(lambda match: placeholders[(match.lastindex or 1) - 1], text)


def _blank_user_event(event: Mapping[str, Any], replacement: str) -> Event:
    """A user event whose whole message was personal: its text, and what NLU read in it, go."""
    blanked: Event = {**event, "text": replacement}
    parse_data = event.get("parse_data")
    if isinstance(parse_data, Mapping):
        blanked["parse_data"] = {**parse_data, "text": replacement, "entities": []}
    return blanked


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """`value` (JSON data) with `change` applied to every string in it; keys are kept."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {key: _map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_strings(item, change) for item in value]
    return value
