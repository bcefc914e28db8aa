"""Comparisons ("which one is shorter?") are answered with the figures in knowledge/.

The expected leader is read from programs.yml's own fields here (durations, delivery,
credential texts), and the same questions run on an edited copy with a third program, so
the answers stay true when staff edit the files. Whichever question intent the NLU gives a
comparison, the answer is the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.knowledge import KnowledgeBase, comparisons, load_knowledge
from actions.knowledge.model import Program
from tests.conftest import edit_yaml, run_action
from tests.replies import Replies
from tests.test_knowledge_edits import NEW_PROGRAM

MBC, HIT, PHARMACY = "medical_billing_coding", "healthcare_it", str(NEW_PROGRAM["id"])
# The intents the NLU gives comparisons (measured: "which one is shorter?" read as each of these).
INTENTS = ("ask_fit", "ask_difference", "ask_duration", "ask_program_info", "ask_campus", "inform")


def with_third_program(target: Path, **changes: dict) -> KnowledgeBase:
    """knowledge/ plus a third program at a fourth campus (Dalton, GA); `changes` edit programs by id."""

    def change_programs(data: dict) -> None:
        data["programs"].append(dict(NEW_PROGRAM))
        for program in data["programs"]:
            program.update(changes.get(program["id"], {}))

    edit_yaml(target / "programs.yml", change_programs)
    edit_yaml(
        target / "campuses.yml",
        lambda data: data["campuses"].append({"id": "dalton", "city": "Dalton", "state": "GA", "aliases": []}),
    )
    return load_knowledge(target)


@pytest.fixture
def third(knowledge_copy: Path) -> KnowledgeBase:
    return with_third_program(knowledge_copy)


def ask(kb: KnowledgeBase, text: str, intent: str = "ask_difference", slots: dict | None = None):
    topic = "followup" if intent == "inform" else intent.removeprefix("ask_")
    return run_action(topic, text, intent, slots=slots, kb=kb)


def months_for(p: Program) -> str:
    return f"{p.duration_months} months for {p.name}"


def by_months(kb: KnowledgeBase) -> list[Program]:
    return sorted(kb.programs, key=lambda p: p.duration_months)


# --- the queries ------------------------------------------------------------------------


def test_durations_rank_as_the_file_says(kb):
    quickest, *rest = by_months(kb)
    assert quickest.duration_months < min(p.duration_months for p in rest)  # the project's files have no tie
    ranking = comparisons.by_duration(kb.programs, longest=False)
    assert ranking.leaders == (quickest,) and list(ranking.rest) == rest
    assert comparisons.by_duration(kb.programs, longest=True).leaders == (by_months(kb)[-1],)


def test_a_third_program_takes_part_in_every_measure(third):
    pharmacy = third.program(PHARMACY)
    assert comparisons.by_duration(third.programs, longest=False).leaders == (pharmacy,)  # 9 months
    assert [c.id for c in comparisons.campuses_of(third, pharmacy)] == ["dalton"]
    assert pharmacy in comparisons.by_campuses(third, third.programs, most=False).leaders
    assert comparisons.breadth(pharmacy) == 0  # "pharmacy practice": neither broad nor focused
    assert comparisons.credential_level(pharmacy) == comparisons.CREDENTIAL_LEVELS["diploma"]
    assert comparisons.leads_to(pharmacy, "diploma") and not comparisons.leads_to(pharmacy, comparisons.DEGREE)


def test_ties_lead_together_and_a_level_field_says_so(knowledge_copy):
    kb = with_third_program(knowledge_copy, **{HIT: {"duration_months": 9}})
    ranking = comparisons.by_duration(kb.programs, longest=False)
    assert [p.id for p in ranking.leaders] == [HIT, PHARMACY] and [p.id for p in ranking.rest] == [MBC]
    assert not ranking.level
    pair = comparisons.by_duration([p for p in kb.programs if p.id != MBC], longest=True)
    assert pair.level and len(pair.leaders) == 2


def test_campus_counts_are_the_in_person_campuses(kb):
    for program in kb.programs:
        expected = list(dict.fromkeys(d.campus for d in program.delivery))
        assert [c.id for c in comparisons.campuses_of(kb, program)] == expected
    most = max(len(comparisons.campuses_of(kb, p)) for p in kb.programs)
    leaders = comparisons.by_campuses(kb, kb.programs, most=True).leaders
    assert all(len(comparisons.campuses_of(kb, p)) == most for p in leaders)


@pytest.mark.parametrize(
    "scope, breadth",
    [
        ("a broad range of topics", 1),
        ("a narrower, more focused range of topics", -1),
        ("pharmacy practice", 0),
        ("a broad yet focused range", 0),
    ],
)
def test_breadth_is_read_from_the_scope_wording(kb, scope, breadth):
    program = kb.programs[0].copy(update={"scope": scope})
    assert comparisons.breadth(program) == breadth


def test_the_credentials_of_the_files(kb):
    mbc, hit = kb.program(MBC), kb.program(HIT)
    assert mbc and hit
    assert comparisons.leads_to(mbc, "certificate") and comparisons.leads_to(mbc, "diploma")
    assert comparisons.leads_to(hit, "associate") and comparisons.leads_to(hit, comparisons.DEGREE)
    assert not comparisons.leads_to(mbc, comparisons.DEGREE) and not comparisons.leads_to(hit, "bachelor")
    assert comparisons.by_credential(kb.programs, highest=True).leaders == (hit,)


@pytest.mark.parametrize(
    "words, leader",
    [
        ("i want to be a coding specialist", MBC),
        ("keeping patient data safe", HIT),
        ("I'd like to become a billing specialist", MBC),
        ("analyzing healthcare statistics", HIT),
        ("i like computers", None),  # the article says nothing about computers
        ("I want to work with patients", None),  # both programs' texts talk about patients
    ],
)
def test_a_goal_points_to_the_program_whose_texts_share_its_words(kb, words, leader):
    ranking = comparisons.by_goal(kb.programs, words.lower().replace("'", " ").split())
    assert (ranking.leaders[0].id if ranking else None) == leader


@pytest.mark.parametrize(
    "word, same_as",
    [("safely", "safe"), ("safety", "safe"), ("keeping", "keep"), ("coder", "coding"), ("billers", "billing")],
)
def test_stems_join_the_forms_of_a_word(word, same_as):
    assert comparisons.stem(word) == comparisons.stem(same_as)


def test_nothing_to_rank_is_refused():
    with pytest.raises(ValueError):
        comparisons.rank([], lambda p: 0, most=True)
    with pytest.raises(ValueError):
        comparisons.by(load_knowledge(), [], "price", most=True)


# --- reading the question ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, dimension, most, compares",
    [
        ("which one is shorter?", comparisons.DURATION, False, True),
        ("which takes less time", comparisons.DURATION, False, True),
        ("whats the fastest program", comparisons.DURATION, False, True),
        ("which one is shoter", comparisons.DURATION, False, True),
        ("is HIT longer than coding", comparisons.DURATION, True, True),
        ("which one has more campuses", comparisons.CAMPUSES, True, True),
        ("which is offered at fewer locations", comparisons.CAMPUSES, False, True),
        ("which is broader", comparisons.SCOPE, True, True),
        ("which one is more focused", comparisons.SCOPE, False, True),
        ("which leads to a certificate", comparisons.CREDENTIAL, True, True),
        ("which is quick", comparisons.DURATION, False, True),
        ("what certificate do I get", comparisons.CREDENTIAL, True, False),  # no "which": a credential question
        ("is it short?", comparisons.DURATION, False, False),
    ],
)
def test_the_measure_and_its_end_are_read_from_the_words(matcher, text, dimension, most, compares):
    reading = matcher.read(text).comparison
    assert [(c.dimension, c.most) for c in reading.cues] == [(dimension, most)]
    assert reading.compares is compares


@pytest.mark.parametrize(
    "text, chooser",
    [
        ("which can be done online", True),
        ("which campus offers it online", False),
        ("which locations have HIT", False),
        ("what's the quickest program", True),
        ("is coding quicker than health IT", True),
        ("is it online?", False),
    ],
)
def test_which_one_picks_among_programs_which_campus_does_not(matcher, text, chooser):
    assert matcher.read(text).comparison.chooser is chooser


@pytest.mark.parametrize("text", ["I'm no longer sure", "how long is it?", "is the shorter one online?"])
def test_no_comparison_where_none_is_asked(matcher, text):
    assert not matcher.read(text).comparison.compares


# --- the answers ------------------------------------------------------------------------


@pytest.mark.parametrize("intent", INTENTS)
def test_which_is_shorter_gets_the_figures_whatever_the_intent(kb, replies: Replies, intent):
    quickest, *rest = by_months(kb)
    turn = ask(kb, "which one is shorter?", intent)
    others = " and ".join(months_for(p) for p in rest)
    assert turn.texts == [
        replies.text(
            "reply_comparison_quickest",
            program_name=quickest.name,
            duration_months=quickest.duration_months,
            others=others,
        )
    ]
    assert turn.slot("program") == quickest.id  # "is it online?" is then about it
    assert turn.slot("last_programs") == [p.id for p in kb.programs]


def test_the_longest_and_a_third_program(third, replies):
    *rest, longest = by_months(third)
    turn = ask(third, "which program takes the longest?")
    closest_first = rest[::-1]
    others = ", ".join(months_for(p) for p in closest_first[:-1]) + f" and {months_for(closest_first[-1])}"
    assert turn.texts == [
        replies.text(
            "reply_comparison_longest",
            program_name=longest.name,
            duration_months=longest.duration_months,
            others=others,
        )
    ]
    pharmacy = third.program(PHARMACY)
    assert pharmacy and ask(third, "which one is quickest?").texts[0].startswith(pharmacy.name)


def test_programs_level_on_a_measure_are_said_to_be(knowledge_copy, replies):
    kb = with_third_program(knowledge_copy, **{HIT: {"duration_months": 15}})
    turn = ask(kb, "which is quicker, billing and coding or health IT?")
    names = f"{kb.program(MBC).name} and {kb.program(HIT).name}"  # type: ignore[union-attr]
    assert turn.texts == [replies.text("reply_comparison_same_duration", program_names=names, duration_months=15)]


def test_more_campuses_counts_the_in_person_campuses(kb, replies):
    ranking = comparisons.by_campuses(kb, kb.programs, most=True)
    (leader,), (other,) = ranking.leaders, ranking.rest

    def count(p: Program) -> str:
        found = comparisons.campuses_of(kb, p)
        labels = [c.label for c in found]
        joined = labels[0] if len(labels) == 1 else "; ".join(labels[:-1]) + "; and " + labels[-1]
        return f"{len(found)} ({joined})"

    turn = ask(kb, "which one has more campuses?", "ask_campus")
    others = count(other).replace(" (", f" for {other.name} (", 1)
    assert turn.texts == [
        replies.text("reply_comparison_most_campuses", program_name=leader.name, campuses=count(leader), others=others)
    ]


def test_broader_and_more_focused(kb, replies):
    hit, mbc = kb.program(HIT), kb.program(MBC)
    assert hit and mbc
    broader = ask(kb, "which is broader", "ask_difference")
    assert broader.texts[0] == replies.text(
        "reply_comparison_broadest", program_name=hit.name, scope=hit.scope, topics=_topics(hit)
    )
    assert broader.texts[1] == replies.text(
        "reply_curriculum", program_name=mbc.name, scope=mbc.scope, topics=_topics(mbc)
    )
    focused = ask(kb, "which one is more focused?", "ask_fit")
    assert focused.texts[0].startswith(mbc.name) and focused.slot("program") == MBC


def _topics(p: Program) -> str:
    items = p.topics_covered
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@pytest.mark.parametrize(
    "text, leader",
    [
        ("which one leads to a certificate?", MBC),
        ("which program gets me an associate's degree", HIT),
        ("which one leads to a degree", HIT),
        ("which one leads to a higher credential", HIT),
    ],
)
def test_which_leads_to_a_credential(kb, replies, text, leader):
    program = kb.program(leader)
    assert program
    turn = ask(kb, text, "ask_credential")
    assert turn.texts[0] == replies.text(
        "reply_comparison_credential_one", program_name=program.name, credential=program.typical_credential
    )
    assert turn.texts[-1] == replies.text("reply_credential_caveat", phone=kb.admissions.phone)


def test_a_credential_no_program_leads_to_is_no_program(kb, replies):
    turn = ask(kb, "which one needs a bachelor's degree?", "ask_credential")
    assert turn.texts[0] == replies.text("reply_comparison_credential_none")
    assert len(turn.texts) == len(kb.programs) + 2  # every program's credential, then the caveat


def test_which_can_be_done_online_names_each_way(kb, replies):
    online = [p for p in kb.programs if p.online_campus]
    assert len(online) == len(kb.programs)  # the project's files: both programs are online
    turn = ask(kb, "which can be done online", "ask_delivery")
    ways = [f"{p.name} online through our {kb.campus(p.online_campus or '').label} campus" for p in online]
    expected = replies.text(
        "reply_comparison_offered_all",
        program_names=" and ".join(p.name for p in online),
        asked="online",
        details=", and ".join(ways),
    )
    assert turn.texts == [expected]


def test_only_the_programs_offered_so_and_the_others_ways(kb, replies):
    hybrid = [p for p in kb.programs if any("hybrid" in d.modes for d in p.delivery)]
    assert [p.id for p in hybrid] == [HIT]
    turn = ask(kb, "which of the two is hybrid?", "ask_delivery")
    assert turn.texts[0] == replies.text(
        "reply_comparison_offered_only", program_names=hybrid[0].name, asked="hybrid", details="hybrid at Augusta, GA"
    )
    mbc = kb.program(MBC)
    assert mbc and turn.texts[1].startswith(f"{mbc.name} isn't offered hybrid")
    assert turn.slot("program") == HIT


def test_a_third_program_without_online_study_is_not_said_to_be_online(third, replies):
    turn = ask(third, "which programs can be done online?", "ask_delivery")
    pharmacy = third.program(PHARMACY)
    assert pharmacy
    names = " and ".join(p.name for p in third.programs if p.online_campus)
    assert turn.texts[0].startswith(f"Only {names} can be studied online")
    assert turn.texts[1].startswith(f"{pharmacy.name} isn't offered online; you can study it on campus at Dalton, GA")


@pytest.mark.parametrize(
    "text, intent, leader",
    [
        ("which is better if I want to be a coding specialist", "ask_fit", MBC),
        ("I want to keep patient data safe, what do you suggest?", "ask_fit", HIT),
        ("which program leads to a job as a billing specialist", "ask_careers", MBC),
    ],
)
def test_a_stated_goal_gets_the_program_the_files_tie_to_it(kb, replies, text, intent, leader):
    program = kb.program(leader)
    assert program
    turn = ask(kb, text, intent)
    careers = " or ".join(program.careers)  # one or two careers in the project's files
    assert turn.texts[0] == replies.text(
        "reply_comparison_goal", program_name=program.name, careers=careers, suits=program.suits
    )
    assert turn.slot("offered_inquiry") is True


@pytest.mark.parametrize(
    "text, intent, response",
    [
        ("which one is right for me", "ask_fit", "reply_fit_intro"),
        ("compare them", "ask_difference", "reply_difference_intro"),
        ("which one is better?", "ask_fit", "reply_fit_intro"),
        ("which programs can I enroll in", "ask_program_info", "reply_program_list"),
    ],
)
def test_which_one_with_no_measure_is_the_question_its_intent_asks(kb, replies, text, intent, response):
    turn = ask(kb, text, intent)
    assert turn.messages[0]["response"] == response


@pytest.mark.parametrize(
    "text, intent, response",
    [
        ("how long is it?", "ask_duration", "reply_duration"),
        ("which campus offers it online?", "ask_campus", "reply_delivery_online"),
        ("what certificate do I get?", "ask_credential", "reply_credential"),
    ],
)
def test_questions_that_compare_nothing_are_answered_as_before(kb, text, intent, response):
    turn = ask(kb, text, intent, slots={"program": HIT})
    assert turn.messages[0]["response"] == response


def test_a_place_question_that_picks_gets_the_campus_answer(kb, replies):
    augusta = kb.campus("augusta")
    assert augusta
    turn = ask(kb, "which one is offered near Georgia?", "ask_fit")
    assert turn.messages[0]["response"] == "reply_campus_offers"
    assert augusta.label in turn.text


def test_two_measures_in_one_question_are_both_answered_in_order(kb):
    turn = ask(kb, "which is shorter and which can be done hybrid?")
    assert [m["response"] for m in turn.messages][:2] == ["reply_comparison_quickest", "reply_comparison_offered_only"]


def test_with_one_program_there_is_nothing_to_compare_it_with(knowledge_copy, replies):
    def keep_one(data: dict) -> None:
        data["programs"] = [p for p in data["programs"] if p["id"] == MBC]

    edit_yaml(knowledge_copy / "programs.yml", keep_one)
    kb = load_knowledge(knowledge_copy)
    (only,) = kb.programs
    turn = ask(kb, "which one is shorter?")
    assert turn.texts == [replies.text("reply_duration", program_name=only.name, duration_months=only.duration_months)]


def test_fewer_campuses_names_the_program_at_the_fewest(kb):
    fewest = min(kb.programs, key=lambda p: len(comparisons.campuses_of(kb, p)))
    turn = ask(kb, "which one is offered at fewer campuses?", "ask_campus")
    assert [m["response"] for m in turn.messages] == ["reply_comparison_fewest_campuses"]
    assert turn.texts[0].startswith(f"{fewest.name} is taught in person at the fewest campuses")


def test_a_mode_and_campus_no_program_has_is_a_no_for_each(kb, replies):
    tulsa = kb.campus("tulsa")
    assert tulsa and not any(d.campus == "tulsa" and "hybrid" in d.modes for p in kb.programs for d in p.delivery)
    turn = ask(kb, "which one can I do hybrid in Tulsa?", "ask_delivery")
    assert turn.texts[0] == replies.text("reply_comparison_offered_none", asked=f"hybrid at {tulsa.label}")
    assert [m["response"] for m in turn.messages[1:]] == ["reply_where_offered"] * len(kb.programs)


def test_only_one_program_on_campus_at_a_campus_needs_no_repeat(kb, replies):
    tulsa = kb.campus("tulsa")
    there = [p for p in kb.programs if any(d.campus == "tulsa" and "on_campus" in d.modes for d in p.delivery)]
    assert tulsa and len(there) == 1
    turn = ask(kb, "which program can I study on campus in Tulsa?", "ask_campus")
    assert turn.texts[0] == replies.text(
        "reply_comparison_offered_only_as_asked", program_names=there[0].name, asked=f"on campus at {tulsa.label}"
    )


@pytest.mark.parametrize(
    "text, response",
    [
        ("wich one is more focused", "reply_comparison_most_focused"),  # no topic the article lacks: a comparison
        ("which one is cheaper?", "reply_unknown_topic_generic"),  # no measure the files have
        ("which is faster if I go part time?", "reply_unknown_topic"),  # names a topic the article lacks
    ],
)
def test_a_question_taken_for_an_unknown_topic_compares_only_without_one(kb, text, response):
    assert ask(kb, text, "ask_unknown_topic").messages[0]["response"] == response
