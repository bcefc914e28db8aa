"""What visitors say over the REST webhook, and what each reply must contain.

The scripts are built from a knowledge base and a domain's replies, so the same
conversations check the assistant as it is or as staff have edited it (see
tests/test_staff_edits.py). Shared by the end-to-end and reliability tests and the
benchmark (bench/visitors.py), so all of them drive the assistant the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from actions.dialogue import phrasing
from actions.inquiry import fields, options
from actions.knowledge import KnowledgeBase, offerings
from actions.knowledge.base import ONLINE
from actions.knowledge.model import Campus, Program
from actions.knowledge.offerings import Option
from tests.replies import Replies

# Texts one of which the reply must contain: Rasa sends one variation of a response, at random.
Expected = tuple[str, ...]
# (what the visitor says, what the reply must contain)
Turn = tuple[str, Expected]
Conversation = list[Turn]

BILLING, HEALTH_IT = "medical_billing_coding", "healthcare_it"  # program ids
EMAIL = "email"  # the contact method the visitors choose, and the form's word for it
# The form's own reason for refusing an email address (wording in code, see test_validators).
INVALID_EMAIL: Expected = ("doesn't look like a valid email address",)
# The thanks for a new inquiry, and for a repeat that updated the person's earlier one.
THANKS = {False: "reply_inquiry_saved", True: "reply_inquiry_updated"}


def answered(reply: str, expected: str | Expected) -> bool:
    """Whether the reply contains the expected text (any one of them, for several)."""
    return any(text in reply for text in ((expected,) if isinstance(expected, str) else expected))


@dataclass(frozen=True)
class Person:
    """A made-up visitor filling the inquiry form."""

    name: str
    email: str
    phone: str  # as typed
    stored_phone: str  # as the form keeps it (E.164) and shows it in the summary


DANA = Person("Dana O'Brien-Núñez", "dana.obrien@example.com", "(706) 555-0199", "+17065550199")


class Scripts:
    """The project's conversations, expecting what one knowledge base and one domain say."""

    def __init__(self, kb: KnowledgeBase, replies: Replies) -> None:
        self.kb = kb
        self.replies = replies

    def program(self, program_id: str) -> Program:
        found = self.kb.program(program_id)
        assert found, f"the knowledge base has no program {program_id!r}"
        return found

    def campus(self, campus_id: str) -> Campus:
        found = self.kb.campus(campus_id)
        assert found, f"the knowledge base has no campus {campus_id!r}"
        return found

    def admissions(self, repeat: bool | None = False) -> list[Conversation]:
        """Every script: questions with follow-ups that rely on context, and a complete inquiry
        (`repeat` as for `form`)."""
        return [*self.questions(), self.inquiry(repeat)]

    def questions(self) -> list[Conversation]:
        billing, health_it = self.program(BILLING), self.program(HEALTH_IT)
        return [
            [
                ("hi", self.greeting()),
                ("how long is medical billing and coding?", self.duration(billing)),
                ("is it online?", self.delivery(billing)),
                ("and health IT?", self.delivery(health_it)),
                ("which campuses have it?", self.where(health_it)),
                ("thanks!", self.say("utter_youre_welcome")),
            ],
            [
                ("what's the difference between medical coding and health IT?", self.difference_intro()),
                ("how long are the programs?", self.duration(health_it)),
                ("can I take health IT in Tulsa?", self.not_at(health_it, self.campus("tulsa"))),
                # "what about X" after a yes-or-no keeps the place asked about (issue 11: references).
                ("what about billing and coding", self.at(billing, self.campus("tulsa"))),
                ("how much does the tuition cost?", self.unknown_topic("tuition")),
                ("ok bye", self.say("utter_goodbye")),
            ],
        ]

    def inquiry(self, repeat: bool | None = False) -> Conversation:
        """A complete inquiry after a delivery question, with a wrong email and a question halfway."""
        health_it = self.program(HEALTH_IT)
        form = self.form(DANA, health_it, discussed=True, repeat=repeat)
        return [
            ("can I study health IT online?", self.delivery(health_it)),
            *form[:2],
            ("dana.obrien@example", INVALID_EMAIL),
            form[2],
            ("how long is it?", self.duration(health_it)),
            *form[3:],
        ]

    def form(
        self,
        person: Person,
        program: Program,
        *,
        discussed: bool = False,
        study_message: str | None = None,
        repeat: bool | None = False,
    ) -> Conversation:
        """From "I'd like more info" to the thank-you: study online, contacted by email.

        `discussed`: the program was the subject of the last question, so "yes" chooses it.
        `study_message`: what the visitor answers for where to study (default: the button).
        `repeat`: the person sent an inquiry earlier today, so it is updated, and the thanks say
        so; None: either thanks (a script run many times, as the benchmark does).
        """
        online = self.online_option(program)
        program_prompt = (
            self.say("reply_ask_lead_program_discussed", program_name=program.name)
            if discussed
            else self.say("reply_ask_lead_program")
        )
        shown = {  # the summary's "Label: answer" lines (labels declared in actions/inquiry/fields.py)
            "lead_name": person.name,
            "lead_email": person.email,
            "lead_phone": person.stored_phone,
            "lead_program": program.name,
            "lead_study_option": online.label,
            "lead_contact_method": options.CONTACT_METHODS[EMAIL],
        }
        summary = self.say(
            "reply_ask_lead_confirmed",
            summary="\n".join(f"{fields.BY_SLOT[slot].label}: {answer}" for slot, answer in shown.items()),
        )
        return [
            ("I'd like more info", self.say("reply_ask_lead_name")),
            (person.name, self.say("reply_ask_lead_email")),
            (person.email, self.say("reply_ask_lead_phone")),
            (person.phone, program_prompt),
            ("yes" if discussed else program.name, self.say("reply_ask_lead_study_option", program_name=program.name)),
            (study_message or online.label, self.say("reply_ask_lead_contact_method")),
            (EMAIL, self.consent_prompt()),
            ("yes", summary),
            ("yes", self.thanks(repeat)),
        ]

    def slots(self, person: Person, program: Program) -> dict[str, object]:
        """The slots of that form once the visitor said yes to the summary, as the form stores them."""
        return {
            "lead_id": str(uuid.uuid4()),
            "lead_name": person.name,
            "lead_email": person.email,
            "lead_phone": person.stored_phone,
            "lead_program": program.id,
            "lead_study_option": self.online_option(program).id,
            "lead_contact_method": EMAIL,
            "lead_consent": True,
            "lead_consent_wording": self.consent_prompt()[0],
            "lead_confirmed": True,
        }

    # --- expected replies ---------------------------------------------------------------

    def thanks(self, repeat: bool | None) -> Expected:
        """The thanks for a new inquiry, for a repeat that updated the earlier one, or (None) either."""
        kinds = [False, True] if repeat is None else [repeat]
        return tuple(text for kind in kinds for text in self.say(THANKS[kind], phone=self.kb.admissions.phone))

    def say(self, response: str, **values: str | int) -> Expected:
        return self.replies.variations(response, **values)

    def greeting(self) -> Expected:
        return self.say("reply_greet", program_names=phrasing.program_names(self.kb))

    def overview(self, program: Program) -> Expected:
        return self.say(
            "reply_program_overview",
            program_name=program.name,
            duration_months=program.duration_months,
            scope=program.scope,
            where=phrasing.where(self.kb, program),
        )

    def duration(self, program: Program) -> Expected:
        return self.say("reply_duration", program_name=program.name, duration_months=program.duration_months)

    def delivery(self, program: Program) -> Expected:
        """The answer to "is it online?" for a program taught both online and in person."""
        online = self.kb.online_campus(program)
        assert online and program.delivery, f"{program.name} is no longer taught both online and in person"
        return self.say(
            "reply_delivery_online",
            program_name=program.name,
            online_campus=online.label,
            in_person=phrasing.in_person(self.kb, program),
        )

    def where(self, program: Program) -> Expected:
        return self.say("reply_where_offered", program_name=program.name, where=phrasing.where(self.kb, program))

    def not_at(self, program: Program, campus: Campus) -> Expected:
        """The no to "can I take <program> in <city>?" (in person there), with every way to take it."""
        in_person = [mode for mode in self.kb.delivery_modes if mode != ONLINE]
        assert not any(d.campus == campus.id for d in program.delivery), f"{program.name} is taught in {campus.city}"
        return self.say(
            "reply_offering_no",
            program_name=program.name,
            asked=phrasing.ways(self.kb, [Option(campus, mode) for mode in in_person]),
            others=phrasing.where(self.kb, program),
        )

    def at(self, program: Program, campus: Campus) -> Expected:
        """The yes or no to "can I take <program> in <city>?" (in person there), then its other ways."""
        verdict = offerings.ask(self.kb, program, [campus], ())
        others = phrasing.ways(self.kb, verdict.others)
        if not verdict.yes:
            return self.not_at(program, campus)
        matches = phrasing.ways(self.kb, verdict.matches)
        if others:
            return self.say("reply_offering_yes_also", program_name=program.name, matches=matches, others=others)
        return self.say("reply_offering_yes", program_name=program.name, matches=matches)

    def difference_intro(self) -> Expected:
        return self.say("reply_difference_intro", relationship=self.kb.relationship.same_or_different)

    def unknown_topic(self, topic_id: str) -> Expected:
        topic = self.kb.unknown_topic(topic_id)
        assert topic, f"the knowledge base has no unknown topic {topic_id!r}"
        return self.say("reply_unknown_topic", topic=topic.name, phone=self.kb.admissions.phone)

    def consent_prompt(self) -> Expected:
        return self.say("reply_ask_lead_consent", method=EMAIL)

    def online_option(self, program: Program) -> options.StudyOption:
        """The form's button for studying the program online."""
        online = self.kb.online_campus(program)
        assert online, f"{program.name} is no longer taught online"
        return next(o for o in options.study_options(self.kb, program.id) if o.id == f"{online.id}:{ONLINE}")
