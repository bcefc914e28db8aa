"""Every answer checked again at submit, by the parser its field declares (fields.py).

The tracker the submit action reads is whatever the Rasa server (or anyone holding the
action server's token) sends: a stale form, or a made-up one, could hold an email `x` or a
consent never given. So nothing is stored on the form's word: each field the visitor was
asked is checked by its own parser's `check` (replies.py), the same rules the form applied,
and a kept question wording (consent evidence) must be there. There is no second list of
rules to drift from the first.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.inquiry import fields
from actions.inquiry.validators import Invalid
from actions.knowledge import KnowledgeBase


class Refused(ValueError):
    """A stored answer the form would not have accepted; `slot` names it (never its value)."""

    def __init__(self, slot: str) -> None:
        super().__init__(f"{slot} failed re-validation")
        self.slot = slot


def checked_answers(tracker: Tracker, kb: KnowledgeBase) -> dict[str, Any]:
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
            raise Refused(field.slot) from None
        if field.wording_slot:
            wording = tracker.get_slot(field.wording_slot)
            if not isinstance(wording, str) or not wording.strip():
                raise Refused(field.wording_slot)
    return checked
