"""Every answer checked again at submit, by the parser its field declares (fields.py).

The tracker the submit action reads is whatever the Rasa server (or anyone holding the
action server's token) sends: a stale form, or a made-up one, could hold an email `x` or a
consent never given. So nothing is stored on the form's word: each field the visitor was
asked is checked by its own parser's `check` (replies.py), the same rules the form applied,
and a kept question wording (consent evidence) must be the one the field's prompt asks for
these answers (a consent names the contact method, a text consent the number). There is no
second list of rules to drift from the first.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.inquiry import fields, prompts
from actions.inquiry.validators import Invalid
from actions.knowledge import KnowledgeBase


class Refused(ValueError):
    """A stored answer the form would not have accepted: `slot` names it (never its value),
    `field` is the field to ask again."""

    def __init__(self, field: fields.FormField, slot: str) -> None:
        super().__init__(f"{slot} failed re-validation")
        self.field = field
        self.slot = slot

    @property
    def to_ask_again(self) -> list[str]:
        """The field's slot, its consent record and kept wording: once cleared, the form asks it again."""
        wording = [self.field.wording_slot] if self.field.wording_slot else []
        return [*fields.with_records([self.field.slot]), *wording]


def checked_answers(tracker: Tracker, kb: KnowledgeBase, domain: dict[str, Any]) -> dict[str, Any]:
    """Each asked field's slot value as the form stores it, in form order; Refused at the first that fails.

    Fields are checked in the order they are asked, so a field that depends on an earlier
    one (the study option on the program, the text consent on the contact method) is
    checked against a value already checked.
    """
    checked: dict[str, Any] = {}
    for field in fields.FIELDS:
        if not field.is_asked(tracker):
            continue
        try:
            checked[field.slot] = field.parse.check(tracker.get_slot(field.slot), kb, tracker)
        except Invalid:
            raise Refused(field, field.slot) from None
        if field.wording_slot and tracker.get_slot(field.wording_slot) != _asked(field, tracker, domain):
            raise Refused(field, field.wording_slot)
    return checked


def _asked(field: fields.FormField, tracker: Tracker, domain: dict[str, Any]) -> str | None:
    """The exact question the field asks for these answers; None when the domain cannot say."""
    if not isinstance(field.ask, prompts.AskConsent):
        return None
    try:
        return field.ask.wording(tracker, domain)
    except (KeyError, IndexError, TypeError):  # no such response in the domain that was sent
        return None
