"""What a visitor's reply to each form question means.

The form's validation action reads the latest message once into a `Reply`; the field's
parser (named in its declaration in fields.py) turns it into the slot's value, into a
`Reopen` when the reply sends the visitor back to an earlier field, or raises `Invalid`
with a reason to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rasa_sdk import Tracker

from actions.inquiry import options, validators
from actions.inquiry.validators import Invalid
from actions.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from actions.inquiry.fields import FormField
    from actions.language import KnowledgeMatcher

QUESTION_INTENT = re.compile(r"^(ask_\w+|bot_challenge)$")
# Set by the NLU's language step (channels/language_classifier.py) for a message not in English.
OTHER_LANGUAGE_INTENT = "other_language"
MIN_CONFIDENCE = 0.5  # below this, the NLU's intent is a guess: the text decides
_YES = ("yes", "y", "yes please", "i agree", "agree", "ok", "okay", "sure")
_NO = ("no", "n", "no thanks", "nope")


@dataclass(frozen=True)
class Reply:
    """The visitor's latest message while the form is open, read once for every decision."""

    text: str  # cleaned (validators.clean_text)
    intent: str
    confidence: float
    tracker: Tracker
    kb: KnowledgeBase
    matcher: KnowledgeMatcher

    @classmethod
    def read(cls, tracker: Tracker, kb: KnowledgeBase, matcher: KnowledgeMatcher) -> Reply:
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        return cls(
            text=validators.clean_text(message.get("text")),
            intent=intent.get("name") or "",
            confidence=float(intent.get("confidence") or 0.0),
            tracker=tracker,
            kb=kb,
            matcher=matcher,
        )

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)

    def is_question(self, min_confidence: float = MIN_CONFIDENCE) -> bool:
        return bool(QUESTION_INTENT.match(self.intent)) and self.confidence >= min_confidence

    def in_other_language(self) -> bool:
        """Not in English: never an answer to the form's question (a name written with capitals,
        "María José Gutiérrez", is not taken for Spanish in the first place)."""
        return self.intent == OTHER_LANGUAGE_INTENT

    def asks_to_stop(self) -> bool:
        """Plain words meaning "stop": markup or code that the NLU calls `stop` is not a request."""
        return self.intent == "stop" and self.confidence >= MIN_CONFIDENCE and validators.is_plain_words(self.text)

    def yes_no(self) -> bool | None:
        lowered = self.text.lower()
        if self.intent == "affirm" or lowered in _YES:
            return True
        if self.intent == "deny" or lowered in _NO:
            return False
        return None


@dataclass(frozen=True)
class Reopen:
    """The reply sends the visitor back to an earlier field (which is asked again, with its
    dependents): "change my email" at the summary, or a declined consent."""

    slot: str
    response: str  # what the assistant says about it
    values: Mapping[str, Any] = field(default_factory=dict)


class Parser(Protocol):
    """What a field's reply means (`__call__`), and whether a value already in its slot is one
    that reading a reply could have produced (`check`).

    The submit action checks every slot again before storing it (revalidation.py): a tracker
    is only what the Rasa server sends, and a stale or forged one must store nothing the form
    would have refused. `check` returns the value as the form stores it (normalised again) or
    raises `Invalid`.
    """

    def __call__(self, reply: Reply) -> Any: ...

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> Any: ...


# The parsers that fields.py configures are objects whose work is done in `__call__`, not
# closures made by a factory: fields.py builds them while it is imported, before mutation
# testing (mutmut) switches any mutant on, so the logic of a closure would escape it.

NOT_AN_ANSWER = "not an answer this question accepts"


@dataclass(frozen=True, eq=False)
class Words:
    """An answer in the visitor's own words, checked by one of the validators."""

    validator: Callable[[str], str]

    def __call__(self, reply: Reply) -> str:
        return self.validator(reply.text)

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> str:
        if not isinstance(value, str):
            raise Invalid(NOT_AN_ANSWER)
        return self.validator(value)


@dataclass(frozen=True, eq=False)
class Choice:
    """One of a few choices (a button's key, or words that name only that choice)."""

    choice_words: Mapping[str, Sequence[str]]
    reason: str

    def __call__(self, reply: Reply) -> str:
        chosen = options.match_choice(self.choice_words, reply.text)
        if chosen is None:
            raise Invalid(self.reason)
        return chosen

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> str:
        if not isinstance(value, str) or value not in self.choice_words:
            raise Invalid(self.reason)
        return value


@dataclass(frozen=True, eq=False)
class ProgramAnswer:
    """A program named or picked, "not sure", or "yes" to the program the conversation was about."""

    reason: str = "I didn't recognise that program. Please pick one of the options."

    def __call__(self, reply: Reply) -> str:
        discussed = options.discussed_program(reply.kb, reply.tracker)
        chosen = discussed.id if discussed and reply.yes_no() else options.match_program(reply.matcher, reply.text)
        if not chosen:
            raise Invalid(self.reason)
        return chosen

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> str:
        """A program the knowledge base has, or "not sure"."""
        if value == options.NOT_SURE or (isinstance(value, str) and kb.program(value) is not None):
            return str(value)
        raise Invalid(self.reason)


@dataclass(frozen=True, eq=False)
class StudyOptionAnswer:
    """Only a place where the chosen program is really offered (any program's when not sure)."""

    reason: str = "That isn't one of the places this program is offered. Please pick one of the options."

    def __call__(self, reply: Reply) -> str:
        option = options.match_study_option(reply.kb, reply.matcher, _program_id(reply.tracker), reply.text)
        if not option:
            raise Invalid(self.reason)
        return option.id

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> str:
        if value not in {option.id for option in options.study_options(kb, _program_id(tracker))}:
            raise Invalid(self.reason)
        return str(value)


def _program_id(tracker: Tracker) -> str | None:
    chosen = tracker.get_slot("lead_program")
    return None if chosen == options.NOT_SURE else chosen


program = ProgramAnswer()
study_option = StudyOptionAnswer()


@dataclass(frozen=True, eq=False)
class Consent:
    """Only yes is consent; no sends the visitor back to `declined_reopens` to choose another way."""

    declined_reopens: str

    def __call__(self, reply: Reply) -> Literal[True] | Reopen:
        answer = reply.yes_no()
        if answer is None:
            raise Invalid("Please answer yes or no.")
        if answer:
            return True
        return Reopen(self.declined_reopens, "reply_consent_declined", {"phone": reply.kb.admissions.phone})

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> Literal[True]:
        """Only a yes is consent: anything else stored is none."""
        if value is not True:
            raise Invalid(NOT_AN_ANSWER)
        return True


@dataclass(frozen=True, eq=False)
class Confirmation:
    """The summary's answer: yes sends the lead (True); naming one of `fields` reopens it."""

    fields: Sequence[FormField]

    def __call__(self, reply: Reply) -> Literal[True] | Reopen:
        if reply.yes_no() is True:
            return True
        named = field_named(self.fields, reply.text)
        if named is None:
            raise Invalid("Say yes to send your details, or tell me what to change (for example 'change my email').")
        return Reopen(named.slot, "reply_correction")

    def check(self, value: Any, kb: KnowledgeBase, tracker: Tracker) -> Literal[True]:
        """Sent only when the visitor said yes to the summary."""
        if value is not True:
            raise Invalid(NOT_AN_ANSWER)
        return True


def field_named(fields: Sequence[FormField], text: str) -> FormField | None:
    """The first field (in form order) whose correction words the text uses."""
    lowered = text.lower()
    return next((f for f in fields if any(word in lowered for word in f.names)), None)
