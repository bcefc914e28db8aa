"""The inquiry form's fields, each declared once, in the order they are asked.

A field's declaration says everything about it: its slot, how it is asked (prompts.py), what
a reply means (replies.py), the words that name it in "change my email", the fields that
depend on it, how the summary shows it, where the lead keeps it, whether it leaves in the
export and the CRM payload, and whether it is personal data (its slot listed in
actions/privacy/personal_slots.py, which the Rasa server's store reads too). The ask actions, the
validation, corrections, the summary, the lead, the `leads` table, the export columns and the
CRM payload are all derived from `FIELDS`; tests/test_form_fields.py checks it against
domain.yml.

Adding a field: declare it here, add its slot, `reply_ask_*` response, `action_ask_*` action
and place in the form to domain.yml, add a migration for its column
(actions/inquiry/migrations/), document it in the CRM payload schema if it is sent, and test it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa_sdk import Tracker

from actions.inquiry import consent, options, prompts, replies, validators
from actions.inquiry.prompts import Display, Prompt
from actions.inquiry.replies import Parser
from actions.privacy.personal_slots import PERSONAL_SLOTS


@dataclass(frozen=True)
class Column:
    """Where the lead keeps an answer; its name is also its export column and payload key."""

    name: str
    type: sa.types.TypeEngine
    nullable: bool = False
    exported: bool = True  # a column of `python -m actions.leads export`
    sent: bool = True  # a key of the CRM payload (documented in schemas/lead-payload-v*.schema.json)

    def sa_column(self) -> sa.Column:
        return sa.Column(self.name, self.type, nullable=self.nullable)


@dataclass(frozen=True)
class ConsentColumns:
    """Where the lead keeps a consent's record (consent.py): when, which wording, which channel."""

    at: Column
    wording_version: Column
    channel: Column

    @property
    def columns(self) -> tuple[Column, ...]:
        return (self.at, self.wording_version, self.channel)

    def values(self, record: Any) -> dict[str, Any]:
        """Each column's value from the record slot's value (None each when nothing was captured)."""
        captured = consent.read(record)
        return {
            self.at.name: captured[consent.AT],
            self.wording_version.name: captured[consent.WORDING_VERSION],
            self.channel.name: captured[consent.CHANNEL],
        }


@dataclass(frozen=True)
class FormField:
    slot: str
    ask: Prompt
    parse: Parser
    column: Column | None = None  # None: the answer is not kept (the summary's "yes")
    wording: Column | None = None  # keeps the exact question asked (consent evidence)
    record: ConsentColumns | None = None  # keeps when, to which wording, on which channel yes was said
    label: str | None = None  # its line in the summary; None: not shown there
    display: Display = prompts.show_text
    names: tuple[str, ...] = ()  # words that name it in "change my ..."
    dependents: tuple[str, ...] = ()  # slots asked again when this answer changes
    asked_if: Callable[[Tracker], bool] | None = None  # None: always asked
    open_ended: bool = False  # any words can be an answer: "stop" and questions are heard first
    # A message shaped like a question (actions/language/question_shape.py) is answered, never
    # taken as this field's value. Off where questions are answers: a yes/no consent, the summary.
    questions_first: bool = True
    # The answer is a program the conversation is then about: a question asked after it ("can I
    # do it hybrid?") is about the program chosen.
    chooses_program: bool = False

    def is_asked(self, tracker: Tracker) -> bool:
        return self.asked_if is None or self.asked_if(tracker)

    @property
    def personal(self) -> bool:
        """Contact details: never logged, shown only to the visitor and staff, redacted from the conversation store."""
        return self.slot in PERSONAL_SLOTS

    @property
    def wording_slot(self) -> str | None:
        return prompts.wording_slot(self.slot) if self.wording else None

    @property
    def record_slot(self) -> str | None:
        return consent.record_slot(self.slot) if self.record else None

    @property
    def question_response(self) -> str:
        """The domain response that asks for it (its wording's version names it)."""
        return prompts.question_response(self.slot)

    @property
    def columns(self) -> tuple[Column, ...]:
        recorded = self.record.columns if self.record else ()
        return (*(column for column in (self.column, self.wording) if column), *recorded)


# The moment of the contact consent: every lead has one (the lead builder relies on it).
CONSENT_AT = Column("consent_at", sa.DateTime(timezone=True))


def _texting(tracker: Tracker) -> bool:
    return tracker.get_slot("lead_contact_method") == "text"


DETAILS: tuple[FormField, ...] = (
    FormField(
        "lead_name",
        ask=prompts.Say("reply_ask_lead_name"),
        parse=replies.Words(validators.full_name),
        column=Column("name", sa.Text()),
        label="Name",
        names=("name",),
        open_ended=True,
    ),
    FormField(
        "lead_email",
        ask=prompts.Say("reply_ask_lead_email"),
        parse=replies.Words(validators.email),
        column=Column("email", sa.Text()),
        label="Email",
        names=("email", "e-mail"),
    ),
    FormField(
        "lead_phone",
        ask=prompts.Say("reply_ask_lead_phone"),
        parse=replies.Words(validators.phone),
        column=Column("phone", sa.String(20)),
        label="Phone",
        names=("phone", "number", "mobile", "cell"),
        dependents=("lead_sms_consent",),  # its question names the number
    ),
    FormField(
        "lead_program",
        ask=prompts.ask_program,
        parse=replies.program,
        column=Column("program_id", sa.String(64)),
        label="Program",
        display=prompts.show_program,
        names=("program",),
        dependents=("lead_study_option",),  # the options are the program's
        chooses_program=True,
    ),
    FormField(
        "lead_study_option",
        ask=prompts.ask_study_option,
        parse=replies.study_option,
        column=Column("study_option", sa.Text()),
        label="Where",
        display=prompts.show_study_option,
        names=("campus", "location", "where", "online", "hybrid"),
    ),
    FormField(
        "lead_contact_method",
        ask=prompts.Choose("reply_ask_lead_contact_method", options.CONTACT_METHODS),
        parse=replies.Choice(options.CONTACT_METHOD_WORDS, "Please choose email, a phone call or a text message."),
        column=Column("contact_method", sa.String(16)),
        label="Contact by",
        display=prompts.ShowChoice(options.CONTACT_METHODS),
        names=("contact", "method", "reach me", "text", "call"),
        dependents=("lead_consent", "lead_sms_consent"),  # consent is given for one way
    ),
    FormField(
        "lead_consent",
        ask=prompts.ask_consent,
        parse=replies.Consent(declined_reopens="lead_contact_method"),
        questions_first=False,  # "what do you mean?" is about the consent: "please answer yes or no"
        column=Column("consent_given", sa.Boolean()),
        wording=Column("consent_text", sa.Text()),
        record=ConsentColumns(
            at=CONSENT_AT,
            # Leads saved before the record was kept have no version nor channel.
            wording_version=Column("consent_wording_version", sa.String(128), nullable=True),
            channel=Column("consent_channel", sa.String(64), nullable=True),
        ),
    ),
    FormField(
        "lead_sms_consent",
        ask=prompts.ask_sms_consent,
        parse=replies.Consent(declined_reopens="lead_contact_method"),
        questions_first=False,  # "what do you mean?" is about the consent: "please answer yes or no"
        column=Column("sms_consent_given", sa.Boolean(), nullable=True),
        wording=Column("sms_consent_text", sa.Text(), nullable=True),
        record=ConsentColumns(
            at=Column("sms_consent_at", sa.DateTime(timezone=True), nullable=True),
            wording_version=Column("sms_consent_wording_version", sa.String(128), nullable=True),
            channel=Column("sms_consent_channel", sa.String(64), nullable=True),
        ),
        asked_if=_texting,
    ),
)
CONFIRMATION = FormField(
    "lead_confirmed",
    ask=prompts.AskConfirmation(DETAILS),
    parse=replies.Confirmation(DETAILS),
    # "Can I change my email?" is a correction: read first, a question is heard if it is none.
    questions_first=False,
)
FIELDS: tuple[FormField, ...] = (*DETAILS, CONFIRMATION)
BY_SLOT: dict[str, FormField] = {f.slot: f for f in FIELDS}


def columns() -> list[Column]:
    """The lead's answer columns, in form order."""
    return [column for f in FIELDS for column in f.columns]


def form_slots() -> list[str]:
    """Every slot the form fills: the fields', the kept question wordings' and consent records'."""
    return [slot for f in FIELDS for slot in (f.slot, f.wording_slot, f.record_slot) if slot]


def with_records(slots: list[str]) -> list[str]:
    """The slots, each followed by its consent record's: a consent asked again is given again."""
    return [kept for slot in slots for kept in (slot, BY_SLOT[slot].record_slot if slot in BY_SLOT else None) if kept]
