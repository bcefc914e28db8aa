"""Answer each kind of question from the knowledge base.

A handler takes the knowledge base and the conversation context and returns an `Answer`:
the domain responses to send (by name) with the facts to fill them. Handlers are pure,
so every answer can be tested without Rasa running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from actions.dialogue import phrasing
from actions.dialogue.context import Context
from actions.knowledge import KnowledgeBase
from actions.knowledge.model import Program

Value = str | int


@dataclass(frozen=True)
class Utterance:
    response: str
    values: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    topic: str
    utterances: list[Utterance]
    # Programs this answer was about; None when it was not about programs at all.
    programs: tuple[Program, ...] | None = None
    # Whether to offer an admissions follow-up (the inquiry form) after the answer.
    offers_inquiry: bool = False
    # Fallbacks forget the message they could not place, so the dialogue goes on as before.
    forget_message: bool = False


Handler = Callable[[KnowledgeBase, Context], Answer]
HANDLERS: dict[str, Handler] = {}
# Topics a bare "and billing and coding?" repeats for another program.
PROGRAM_TOPICS: list[str] = []


def handles(topic: str, *, per_program: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[topic] = handler
        if per_program:
            PROGRAM_TOPICS.append(topic)
        return handler

    return register


def answer(topic: str, kb: KnowledgeBase, ctx: Context) -> Answer:
    return HANDLERS[topic](kb, ctx)


def _per_program(topic: str, ctx: Context, make: Callable[[Program], list[Utterance]]) -> Answer:
    utterances = [u for program in ctx.programs for u in make(program)]
    return Answer(topic, utterances, ctx.programs)


@handles("duration", per_program=True)
def duration(kb: KnowledgeBase, ctx: Context) -> Answer:
    return _per_program(
        "duration",
        ctx,
        lambda p: [Utterance("reply_duration", {"program_name": p.name, "duration_months": p.duration_months})],
    )


@handles("delivery", per_program=True)
def delivery(kb: KnowledgeBase, ctx: Context) -> Answer:
    def describe(program: Program) -> list[Utterance]:
        online = kb.online_campus(program)
        values: dict[str, Value] = {"program_name": program.name, "in_person": phrasing.in_person(kb, program)}
        if online and program.delivery:
            return [Utterance("reply_delivery_online", {**values, "online_campus": online.label})]
        if online:
            return [Utterance("reply_delivery_online_only", {**values, "online_campus": online.label})]
        return [Utterance("reply_delivery_in_person_only", values)]

    return _per_program("delivery", ctx, describe)


def _where(kb: KnowledgeBase, program: Program) -> Utterance:
    return Utterance("reply_where_offered", {"program_name": program.name, "where": phrasing.where(kb, program)})


@handles("campus", per_program=True)
def campus(kb: KnowledgeBase, ctx: Context) -> Answer:
    utterances: list[Utterance] = [
        Utterance("reply_campus_unknown", {"place": place, "campuses": phrasing.campus_labels(kb)})
        for place in ctx.unknown_places
    ]
    if ctx.campuses and ctx.mentioned_programs:
        # "Can I take <program> in <city>?": yes or no for each pair, then where it is offered.
        for program in ctx.mentioned_programs:
            for place in ctx.campuses:
                here = [o for o in kb.offerings_at(place) if o.program.id == program.id]
                if here:
                    modes = phrasing.join([kb.mode_label(m) for o in here for m in o.modes], "or")
                    utterances.append(
                        Utterance(
                            "reply_campus_has_program",
                            {"program_name": program.name, "campus": place.label, "modes": modes},
                        )
                    )
                else:
                    utterances.append(
                        Utterance("reply_campus_lacks_program", {"program_name": program.name, "campus": place.label})
                    )
                    utterances.append(_where(kb, program))
        return Answer("campus", utterances, ctx.mentioned_programs)
    if ctx.campuses:
        for place in ctx.campuses:
            offers = phrasing.offers_at(kb, kb.offerings_at(place))
            utterances.append(Utterance("reply_campus_offers", {"campus": place.label, "offers": offers}))
        return Answer("campus", utterances, None)
    if not ctx.unknown_places and len(ctx.programs) > 1:
        utterances.append(Utterance("reply_campus_list", {"campuses": phrasing.campus_labels(kb)}))
    utterances.extend(_where(kb, program) for program in ctx.programs)
    return Answer("campus", utterances, ctx.programs)


@handles("curriculum", per_program=True)
def curriculum(kb: KnowledgeBase, ctx: Context) -> Answer:
    return _per_program(
        "curriculum",
        ctx,
        lambda p: [
            Utterance(
                "reply_curriculum",
                {"program_name": p.name, "scope": p.scope, "topics": phrasing.join(p.topics_covered)},
            )
        ],
    )


@handles("careers", per_program=True)
def careers(kb: KnowledgeBase, ctx: Context) -> Answer:
    return _per_program(
        "careers",
        ctx,
        lambda p: [
            Utterance(
                "reply_careers",
                {"program_name": p.name, "careers": phrasing.join(p.careers, "or"), "career_summary": p.career_summary},
            )
        ],
    )


@handles("credential", per_program=True)
def credential(kb: KnowledgeBase, ctx: Context) -> Answer:
    found = _per_program(
        "credential",
        ctx,
        lambda p: [Utterance("reply_credential", {"program_name": p.name, "credential": p.typical_credential})],
    )
    caveat = Utterance("reply_credential_caveat", {"phone": kb.admissions.phone})
    return Answer(found.topic, [*found.utterances, caveat], found.programs)


@handles("program_info", per_program=True)
def program_info(kb: KnowledgeBase, ctx: Context) -> Answer:
    utterances = []
    if len(ctx.programs) > 1:
        utterances.append(
            Utterance(
                "reply_program_list",
                {"count": len(ctx.programs), "program_names": phrasing.join([p.name for p in ctx.programs])},
            )
        )
    for p in ctx.programs:
        utterances.append(
            Utterance(
                "reply_program_overview",
                {
                    "program_name": p.name,
                    "duration_months": p.duration_months,
                    "scope": p.scope,
                    "where": phrasing.where(kb, p),
                },
            )
        )
    return Answer("program_info", utterances, ctx.programs)


@handles("difference")
def difference(kb: KnowledgeBase, ctx: Context) -> Answer:
    utterances = [Utterance("reply_difference_intro", {"relationship": kb.relationship.same_or_different})]
    for p in kb.programs:
        utterances.append(
            Utterance(
                "reply_compare_program",
                {
                    "program_name": p.name,
                    "duration_months": p.duration_months,
                    "scope": p.scope,
                    "career_summary": p.career_summary,
                    "credential": p.typical_credential,
                    "where": phrasing.where(kb, p),
                },
            )
        )
    return Answer("difference", utterances, kb.programs, offers_inquiry=True)


@handles("fit")
def fit(kb: KnowledgeBase, ctx: Context) -> Answer:
    utterances = [Utterance("reply_fit_intro", {"advice": kb.choosing})]
    utterances += [Utterance("reply_fit_program", {"program_name": p.name, "suits": p.suits}) for p in kb.programs]
    utterances.append(Utterance("reply_offer_follow_up", {"phone": kb.admissions.phone}))
    return Answer("fit", utterances, kb.programs, offers_inquiry=True)


@handles("definition")
def definition(kb: KnowledgeBase, ctx: Context) -> Answer:
    terms = ctx.terms or kb.terms
    return Answer("definition", [Utterance("reply_definition", {"definition": t.text}) for t in terms])


@handles("coding_in_hit")
def coding_in_hit(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer(
        "coding_in_hit", [Utterance("reply_relationship", {"relationship": kb.relationship.coding_in_health_it})]
    )


@handles("contact")
def contact(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("contact", [Utterance("reply_contact", {"phone": kb.admissions.phone})], offers_inquiry=True)


@handles("unknown_topic")
def unknown_topic(kb: KnowledgeBase, ctx: Context) -> Answer:
    phone = kb.admissions.phone
    if ctx.unknown_topics:
        topics = phrasing.join([t.name for t in ctx.unknown_topics])
        return Answer(
            "unknown_topic", [Utterance("reply_unknown_topic", {"topic": topics, "phone": phone})], offers_inquiry=True
        )
    return Answer("unknown_topic", [Utterance("reply_unknown_topic_generic", {"phone": phone})], offers_inquiry=True)


@handles("followup")
def followup(kb: KnowledgeBase, ctx: Context) -> Answer:
    """'And billing and coding?': the last program question again, for the program named."""
    topic = ctx.previous_topic if ctx.previous_topic in PROGRAM_TOPICS else "program_info"
    return answer(topic, kb, ctx)


@handles("greet")
def greet(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("greet", [Utterance("reply_greet", {"program_names": phrasing.program_names(kb)})])


@handles("bot_challenge")
def bot_challenge(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("bot_challenge", [Utterance("reply_iamabot", {"phone": kb.admissions.phone})])


@handles("out_of_scope")
def out_of_scope(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("out_of_scope", [Utterance("reply_out_of_scope", {"program_names": phrasing.program_names(kb)})])


@handles("fallback")
def fallback(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer(
        "fallback",
        [Utterance("reply_fallback", {"program_names": phrasing.program_names(kb), "phone": kb.admissions.phone})],
        forget_message=True,
    )


@handles("anything_else")
def anything_else(kb: KnowledgeBase, ctx: Context) -> Answer:
    """'Yes' or 'no' with nothing pending: offer the next questions rather than guess."""
    return Answer("anything_else", [Utterance("reply_anything_else")])
