"""Answer each kind of question from the knowledge base.

A handler takes the knowledge base and the conversation context and returns an `Answer`:
the domain responses to send (by name) with the facts to fill them. Handlers are pure,
so every answer can be tested without Rasa running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from actions.dialogue import phrasing
from actions.dialogue.context import Context
from actions.knowledge import KnowledgeBase, comparisons, offerings
from actions.knowledge.base import ONLINE
from actions.knowledge.model import Campus, Program
from actions.language.comparison import Cue

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
    # A comparison's programs, when `programs` is only the one it picked ("the other one" is
    # then another of these).
    compared: tuple[Program, ...] | None = None
    # The campuses and modes a yes-or-no answer was about ("and the other one?" asks them again).
    campuses: tuple[Campus, ...] = ()
    modes: tuple[str, ...] = ()


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
    """The handler's answer; a question about programs that compares them is answered as a
    comparison, whichever of these topics the NLU chose ("which one is shorter?" reads as many)."""
    # A question the NLU took for a topic the article lacks is one only if it names one
    # ("which is cheaper?"); "wich one is more focused" is a comparison.
    comparable = topic in _COMPARABLE or (topic == "unknown_topic" and not ctx.unknown_topics)
    return (compare(kb, ctx) if comparable else None) or HANDLERS[topic](kb, ctx)


def combined(results: Sequence[Answer]) -> Answer:
    """The answers to one message's questions as one reply, in order; a sentence two share is said once.

    The reply ends like its last answer (its topic, its program, its next steps); it offers the
    admissions follow-up if any answer did.
    """
    said: dict[tuple[str, tuple[tuple[str, Value], ...]], Utterance] = {}
    for result in results:
        for utterance in result.utterances:
            said.setdefault((utterance.response, tuple(sorted(utterance.values.items()))), utterance)
    programs = next((r.programs for r in reversed(results) if r.programs is not None), None)
    return Answer(
        results[-1].topic,
        list(said.values()),
        programs,
        offers_inquiry=any(r.offers_inquiry for r in results),
        forget_message=all(r.forget_message for r in results),
    )


# Intents answered by a handler of another name; the rest are answered by the handler they name
# (`ask_duration` by "duration"), as data/rules.yml has it.
_TOPIC_OF_INTENT = {"inform": "followup", "nlu_fallback": "fallback"}
# Replies for when nothing is pending, and to a statement of interest: not answers to a question.
_NOT_QUESTIONS = frozenset({"anything_else", "interest"})


def topic_of(intent: str) -> str | None:
    """The handler that answers a question of this intent; None for intents that ask nothing (affirm, stop...).

    The inquiry form answers questions asked inside it with this, as the rules do outside it.
    """
    topic = _TOPIC_OF_INTENT.get(intent, intent.removeprefix("ask_"))
    return topic if topic in HANDLERS and topic not in _NOT_QUESTIONS else None


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
    return _combinations(kb, ctx, "delivery") or _per_program("delivery", ctx, lambda p: [_online(kb, p)])


def _online(kb: KnowledgeBase, program: Program) -> Utterance:
    """'Is it online?' (or no mode at all): online or not first, then the in-person options."""
    online = kb.online_campus(program)
    values: dict[str, Value] = {"program_name": program.name, "in_person": phrasing.in_person(kb, program)}
    if online and program.delivery:
        return Utterance("reply_delivery_online", {**values, "online_campus": online.label})
    if online:
        return Utterance("reply_delivery_online_only", {**values, "online_campus": online.label})
    return Utterance("reply_delivery_in_person_only", values)


def _where(kb: KnowledgeBase, program: Program) -> Utterance:
    return Utterance("reply_where_offered", {"program_name": program.name, "where": phrasing.where(kb, program)})


@handles("campus", per_program=True)
def campus(kb: KnowledgeBase, ctx: Context) -> Answer:
    found = _combinations(kb, ctx, "campus")
    if found:
        return found
    if ctx.modes == (ONLINE,):
        return _per_program("campus", ctx, lambda p: [_online(kb, p)])
    utterances: list[Utterance] = []
    if len(ctx.programs) > 1:
        utterances.append(Utterance("reply_campus_list", {"campuses": phrasing.campus_labels(kb)}))
    utterances.extend(_where(kb, program) for program in ctx.programs)
    return Answer("campus", utterances, ctx.programs)


def _combinations(kb: KnowledgeBase, ctx: Context, topic: str) -> Answer | None:
    """Program x campus x mode questions, answered by a query of the knowledge base.

    None when the message names no campus and no place, and either no mode, only "online"
    (the online-or-not reply answers that) or several ("online or in person?" asks which,
    not whether).
    """
    campuses = phrasing.campus_labels(kb)
    places = (
        [Utterance("reply_campus_unknown", {"place": phrasing.join(ctx.unknown_places, "or"), "campuses": campuses})]
        if ctx.unknown_places
        else []
    )
    if ctx.near_me:
        places.append(Utterance("reply_campus_near_me", {"campuses": campuses}))
    asks_mode = len(ctx.modes) == 1 and ctx.modes != (ONLINE,)
    if not (ctx.campuses or places or asks_mode):
        return None
    about_one = ctx.points_back and ctx.remembered_program is not None and not ctx.asks_about_all
    if ctx.campuses and not ctx.mentioned_programs and not ctx.modes and not about_one:
        # "What is offered at <campus>?": the campus's programs, not a verdict on each
        # ("is it offered at <campus>?" is about the program discussed).
        offers = [
            Utterance("reply_campus_offers", {"campus": c.label, "offers": phrasing.offers_at(kb, kb.offerings_at(c))})
            for c in ctx.campuses
        ]
        return Answer(topic, places + offers, None)
    if ctx.campuses or not places:
        if len(ctx.programs) > 1:  # "can I do either one hybrid?": the ones that can, first
            offered = _compare_offered(kb, ctx.programs, ctx)
            return replace(offered, utterances=places + offered.utterances, campuses=ctx.campuses, modes=ctx.modes)
        verdicts = [_verdict(kb, offerings.ask(kb, p, ctx.campuses, ctx.modes)) for p in ctx.programs]
        return Answer(topic, places + verdicts, ctx.programs, campuses=ctx.campuses, modes=ctx.modes)
    # Only places the college lacks (or "near me"): the campuses, and where each program is; never a yes.
    return Answer(topic, places + [_where(kb, p) for p in ctx.programs], ctx.programs)


def _verdict(kb: KnowledgeBase, verdict: offerings.Verdict) -> Utterance:
    """Yes or no first, then the program's other options (all of them, after a no)."""
    name = verdict.program.name
    others = phrasing.ways(kb, verdict.others)
    if verdict.yes:
        matches = phrasing.ways(kb, verdict.matches)
        if others:
            return Utterance("reply_offering_yes_also", {"program_name": name, "matches": matches, "others": others})
        return Utterance("reply_offering_yes", {"program_name": name, "matches": matches})
    asked = phrasing.ways(kb, verdict.asked) if verdict.asked else phrasing.mode_labels(kb, verdict.asked_modes)
    return Utterance("reply_offering_no", {"program_name": name, "asked": asked, "others": others})


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
    # "Do you offer <program> in <place>?" is often classified as a general question.
    found = _combinations(kb, ctx, "campus")
    if found:
        return found
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
    goal = _goal(kb, ctx)
    if goal:  # "I want to keep patient data safe": the program the knowledge base ties to that
        return _goal_answer(kb, goal)
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
    found = None if ctx.unknown_topics else _combinations(kb, ctx, "campus")
    if found:  # no topic the article lacks, but a program x place question: answer that
        return found
    goal = None if ctx.unknown_topics else _goal(kb, ctx)
    if goal:  # "what if I care about keeping patient data safe": the program that goal points to
        return _goal_answer(kb, goal)
    if ctx.unknown_topics:
        topics = phrasing.join([t.name for t in ctx.unknown_topics])
        return Answer(
            "unknown_topic", [Utterance("reply_unknown_topic", {"topic": topics, "phone": phone})], offers_inquiry=True
        )
    return Answer("unknown_topic", [Utterance("reply_unknown_topic_generic", {"phone": phone})], offers_inquiry=True)


@handles("followup")
def followup(kb: KnowledgeBase, ctx: Context) -> Answer:
    """'And billing and coding?': the last program question again, for the program named.

    'And how long?' names no program: it is the question the NLU ranked next, about the same
    one (repeating the last answer would not answer it).
    """
    if not ctx.mentioned_programs and not ctx.asks_about_all and ctx.also_asks in PROGRAM_TOPICS:
        return answer(str(ctx.also_asks), kb, ctx)
    topic = ctx.previous_topic if ctx.previous_topic in PROGRAM_TOPICS else "program_info"
    if not (ctx.campuses or ctx.modes or ctx.unknown_places or ctx.near_me):
        # "Is <program> offered in <city>?" - "and the other one?": in <city> too.
        ctx = replace(ctx, campuses=ctx.previous_campuses, modes=ctx.previous_modes)
    return answer(topic, kb, ctx)


@handles("interest")
def interest(kb: KnowledgeBase, ctx: Context) -> Answer:
    """'I think I want to do medical coding': context, not consent.

    The program becomes the conversation's; a short overview of it (or the answer to the campus
    or mode named with it), then the offer of an admissions follow-up, which starts the form only
    if accepted. Not a question (`topic_of` never gives it), so inside the form it is no aside.
    """
    body = program_info(kb, ctx)  # the overview, or the answer to "...at <campus>", "...online"
    if len(ctx.programs) == 1:
        opening = Utterance("reply_interest", {"program_name": ctx.programs[0].name})
    else:
        opening = Utterance("reply_interest_general")
    return Answer("interest", [opening, *body.utterances], body.programs, offers_inquiry=True)


@handles("greet")
def greet(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("greet", [Utterance("reply_greet", {"program_names": phrasing.program_names(kb)})])


@handles("bot_challenge")
def bot_challenge(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("bot_challenge", [Utterance("reply_iamabot", {"phone": kb.admissions.phone})])


@handles("out_of_scope")
def out_of_scope(kb: KnowledgeBase, ctx: Context) -> Answer:
    return Answer("out_of_scope", [Utterance("reply_out_of_scope", {"program_names": phrasing.program_names(kb)})])


# The one other language the assistant replies in (ISO 639-1), until it answers in it.
SPANISH = "es"


@handles("other_language")
def other_language(kb: KnowledgeBase, ctx: Context) -> Answer:
    """English only for now, said in Spanish to a Spanish message; the message is forgotten,
    so the conversation's program and topic stay as they were."""
    response = "reply_other_language_es" if ctx.language == SPANISH else "reply_other_language"
    return Answer("other_language", [Utterance(response, {"phone": kb.admissions.phone})], forget_message=True)


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


# Topics whose questions may be comparisons in disguise; the others (contact, out of scope...) never are.
_COMPARABLE = frozenset(
    {
        "difference",
        "fit",
        "duration",
        "delivery",
        "campus",
        "credential",
        "curriculum",
        "careers",
        "program_info",
        "definition",
        "followup",
        "coding_in_hit",
    }
)
# The topic a comparison on each measure continues ("and the other one?" asks that again).
_MEASURE_TOPICS = {
    comparisons.DURATION: "duration",
    comparisons.CAMPUSES: "campus",
    comparisons.SCOPE: "curriculum",
    comparisons.CREDENTIAL: "credential",
}


def _compared(kb: KnowledgeBase, ctx: Context) -> tuple[Program, ...]:
    """Programs named or pointed at ("which of the two"), else every program."""
    return ctx.mentioned_programs if len(ctx.mentioned_programs) > 1 else kb.programs


def _goal(kb: KnowledgeBase, ctx: Context) -> comparisons.Ranking | None:
    """The program a stated goal points to ("keeping patient data safe"), when one stands out."""
    found = comparisons.by_goal(_compared(kb, ctx), ctx.comparison.words)
    return found if found and len(found.leaders) == 1 else None


def compare(kb: KnowledgeBase, ctx: Context) -> Answer | None:
    """Each measure named, in order, with the figures; then a mode or place; else a goal.

    None when the message does not compare: no measure that compares by itself ("shorter"),
    and no "which..." with a measure, a mode, a place or a goal that tells programs apart.
    """
    if not ctx.comparison.compares and not ctx.comparison.chooser:
        return None
    programs = _compared(kb, ctx)
    measures: dict[str, Cue] = {}
    for cue in ctx.comparison.cues:
        measures.setdefault(cue.dimension, cue)  # the first words for each measure say which end
    parts = [_compare_on(kb, programs, c.dimension, c.most, c.credential) for c in measures.values()]
    if ctx.modes:
        parts.append(_compare_offered(kb, programs, ctx))
    elif ctx.campuses or ctx.unknown_places or ctx.near_me:
        parts.extend(found for found in [_combinations(kb, ctx, "campus")] if found)
    if not parts:
        goal = _goal(kb, ctx)
        return _goal_answer(kb, goal) if goal else None
    last = parts[-1]
    return Answer(
        last.topic,
        [u for part in parts for u in part.utterances],
        last.programs,
        offers_inquiry=any(part.offers_inquiry for part in parts),
        compared=programs,
    )


def _led(topic: str, ranking: comparisons.Ranking, utterances: list[Utterance]) -> Answer:
    """An answer that picked one program, or (tied, level) was about them all."""
    picked = ranking.leaders if len(ranking.leaders) == 1 else ranking.leaders + ranking.rest
    return Answer(topic, utterances, picked)


def _compare_on(
    kb: KnowledgeBase, programs: tuple[Program, ...], dimension: str, most: bool, credential: str | None
) -> Answer:
    topic = _MEASURE_TOPICS[dimension]
    if len(programs) < 2:  # one program in knowledge/: nothing to compare it with, only its facts
        return HANDLERS[topic](kb, Context.about(programs))
    if dimension == comparisons.CREDENTIAL:
        return _compare_credentials(kb, programs, most, credential)
    ranking = comparisons.by(kb, programs, dimension, most)
    single = len(ranking.leaders) == 1
    leader = ranking.leaders[0]
    if dimension == comparisons.DURATION:
        if single:
            others = phrasing.join([phrasing.months_for(p) for p in ranking.rest])
            response = "reply_comparison_longest" if most else "reply_comparison_quickest"
            values: dict[str, Value] = {"program_name": leader.name, "duration_months": leader.duration_months}
            return _led(topic, ranking, [Utterance(response, {**values, "others": others})])
        if ranking.level:
            names = phrasing.join([p.name for p in programs])
            same: dict[str, Value] = {"program_names": names, "duration_months": leader.duration_months}
            return _led(topic, ranking, [Utterance("reply_comparison_same_duration", same)])
        return _led(topic, ranking, duration(kb, Context.about(programs)).utterances)
    if dimension == comparisons.CAMPUSES:
        if single:
            response = "reply_comparison_most_campuses" if most else "reply_comparison_fewest_campuses"
            values = {
                "program_name": leader.name,
                "campuses": phrasing.campus_count(kb, leader),
                "others": phrasing.join([phrasing.campuses_for(kb, p) for p in ranking.rest]),
            }
            return _led(topic, ranking, [Utterance(response, values)])
        return _led(topic, ranking, [_where(kb, p) for p in programs])
    # Scope: the broadest (or most focused) first, then what the others cover.
    if single:
        response = "reply_comparison_broadest" if most else "reply_comparison_most_focused"
        values = {"program_name": leader.name, "scope": leader.scope, "topics": phrasing.join(leader.topics_covered)}
        return _led(
            topic, ranking, [Utterance(response, values), *curriculum(kb, Context.about(ranking.rest)).utterances]
        )
    return _led(topic, ranking, curriculum(kb, Context.about(programs)).utterances)


def _compare_credentials(
    kb: KnowledgeBase, programs: tuple[Program, ...], most: bool, credential: str | None
) -> Answer:
    """'Which leads to a certificate?' (the one named) or 'which to a higher credential?'."""
    if credential:
        fitting = tuple(p for p in programs if comparisons.leads_to(p, credential))
        ranking = comparisons.Ranking(fitting, tuple(p for p in programs if p not in fitting))
    else:
        ranking = comparisons.by_credential(programs, most)
    caveat = Utterance("reply_credential_caveat", {"phone": kb.admissions.phone})
    each = {
        p.id: Utterance("reply_credential", {"program_name": p.name, "credential": p.typical_credential})
        for p in programs
    }
    if not ranking.leaders:
        none = Utterance("reply_comparison_credential_none")
        return Answer("credential", [none, *each.values(), caveat], programs)
    if len(ranking.leaders) == 1 and ranking.rest:
        leader = ranking.leaders[0]
        one = Utterance(
            "reply_comparison_credential_one", {"program_name": leader.name, "credential": leader.typical_credential}
        )
        return _led("credential", ranking, [one, *(each[p.id] for p in ranking.rest), caveat])
    return Answer("credential", [*(each[p.id] for p in ranking.leaders + ranking.rest), caveat], programs)


def _compare_offered(kb: KnowledgeBase, programs: tuple[Program, ...], ctx: Context) -> Answer:
    """'Which can be done online?': the programs offered so, then how to study the others."""
    verdicts = [offerings.ask(kb, p, ctx.campuses, ctx.modes) for p in programs]
    first = verdicts[0]
    asked = phrasing.ways(kb, first.asked) if first.asked else phrasing.mode_labels(kb, first.asked_modes)
    yes = [v for v in verdicts if v.yes]
    topic = "campus" if ctx.campuses else "delivery"
    if not yes:
        none = Utterance("reply_comparison_offered_none", {"asked": asked})
        return Answer(topic, [none, *(_where(kb, p) for p in programs)], programs)
    values: dict[str, Value] = {
        "program_names": phrasing.join([v.program.name for v in yes]),
        "asked": asked,
        # One program: how it is offered so; several: each one's name first.
        "details": phrasing.ways(kb, yes[0].matches)
        if len(yes) == 1
        else phrasing.join([f"{v.program.name} {phrasing.ways(kb, v.matches)}" for v in yes]),
    }
    if len(yes) == len(verdicts):
        return Answer(topic, [Utterance("reply_comparison_offered_all", values)], programs)
    instead = [
        Utterance(
            "reply_comparison_offered_instead",
            {"program_name": v.program.name, "asked": asked, "others": phrasing.ways(kb, v.others)},
        )
        for v in verdicts
        if not v.yes
    ]
    picked = (yes[0].program,) if len(yes) == 1 else tuple(v.program for v in yes)
    # "Only X can be studied <mode> at <campus>" needs no ": <mode> at <campus>" after it.
    only = "reply_comparison_offered_only_as_asked" if values["details"] == asked else "reply_comparison_offered_only"
    return Answer(topic, [Utterance(only, values), *instead], picked)


def _goal_answer(kb: KnowledgeBase, goal: comparisons.Ranking) -> Answer:
    leader = goal.leaders[0]
    values: dict[str, Value] = {
        "program_name": leader.name,
        "careers": phrasing.join(leader.careers, "or"),
        "suits": leader.suits,
    }
    utterances = [Utterance("reply_comparison_goal", values)]
    utterances += [Utterance("reply_fit_program", {"program_name": p.name, "suits": p.suits}) for p in goal.rest]
    utterances.append(Utterance("reply_offer_follow_up", {"phone": kb.admissions.phone}))
    return Answer("fit", utterances, (leader,), offers_inquiry=True, compared=goal.leaders + goal.rest)
