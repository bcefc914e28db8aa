"""Unit checks of actions/dialogue that mutation testing found missing (issue 15).

Each test states one behaviour the answer handlers, the reference resolver, the cue reader
or the context reader must keep: which topic and programs an answer is about (they become
the `last_topic`, `program` and `last_programs` slots), the order of what is said, and
which branch answers ties among three programs. The third program comes from an edited copy
of knowledge/ (tests/test_comparisons.py `with_third_program`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rasa_sdk import Tracker

from actions.dialogue import answers, phrasing, references, several
from actions.dialogue.context import Context, read_context
from actions.dialogue.cues import STRONG, cue_topics
from actions.knowledge import KnowledgeBase, comparisons, load_knowledge
from actions.knowledge.model import Program
from actions.language.clauses import Clause
from actions.language.comparison import Comparison, Cue
from actions.language.references import EXTREME, GROUP, ORDINAL, OTHER, THIS, Reference
from tests.conftest import edit_yaml, tracker
from tests.test_comparisons import HIT, MBC, PHARMACY, with_third_program


def context(kb: KnowledgeBase, mentioned: tuple[Program, ...] = (), **changes) -> Context:
    return replace(Context.about(mentioned, kb.programs), **changes)


def compared(kb: KnowledgeBase, ctx: Context) -> answers.Answer:
    found = answers.compare(kb, ctx)
    assert found is not None
    return found


def combos(kb: KnowledgeBase, ctx: Context, topic: str) -> answers.Answer:
    found = answers._combinations(kb, ctx, topic)
    assert found is not None
    return found


def prog(kb: KnowledgeBase, program_id: str) -> Program:
    found = kb.program(program_id)
    assert found is not None
    return found


def which(*cues: Cue, words: tuple[str, ...] = ()) -> Comparison:
    return Comparison(cues, True, words)


def cue(dimension: str, most: bool, credential: str | None = None) -> Cue:
    return Cue(dimension, most, True, 0, 1, credential=credential)


def ids(programs) -> list[str]:
    return [p.id for p in programs]


def responses(answer: answers.Answer) -> list[str]:
    return [u.response for u in answer.utterances]


def third_with(knowledge_copy: Path, **changes: dict) -> KnowledgeBase:
    return with_third_program(knowledge_copy, **changes)


# --- comparisons: the topic and programs of each branch ------------------------------------


def test_a_single_leader_on_each_measure_is_the_answers_program_and_topic(kb):
    for dimension, most, topic, leader in [
        (comparisons.DURATION, False, "duration", MBC),
        (comparisons.CAMPUSES, True, "campus", MBC),
        (comparisons.SCOPE, True, "curriculum", HIT),
    ]:
        found = compared(kb, context(kb, comparison=which(cue(dimension, most))))
        assert found is not None
        assert (found.topic, ids(found.programs)) == (topic, [leader])
        assert ids(found.compared) == [MBC, HIT]


def test_a_tie_at_the_short_end_gives_each_duration_and_is_about_all_leaders_first(knowledge_copy):
    kb = third_with(knowledge_copy, pharmacy_technician={"duration_months": 15})
    found = compared(kb, context(kb, comparison=which(cue(comparisons.DURATION, False))))
    assert found.topic == "duration"
    assert ids(found.programs) == [MBC, PHARMACY, HIT]
    assert found.utterances == answers.duration(kb, context(kb, kb.programs)).utterances


def test_a_level_duration_is_about_every_program(knowledge_copy):
    kb = third_with(knowledge_copy, healthcare_it={"duration_months": 9}, medical_billing_coding={"duration_months": 9})
    found = compared(kb, context(kb, comparison=which(cue(comparisons.DURATION, True))))
    assert (found.topic, responses(found)) == ("duration", ["reply_comparison_same_duration"])
    assert ids(found.programs) == [MBC, HIT, PHARMACY]


def test_a_tie_on_campuses_says_where_each_program_is(knowledge_copy):
    kb = third_with(knowledge_copy)  # one campus each for health IT and pharmacy, three for billing
    found = compared(kb, context(kb, comparison=which(cue(comparisons.CAMPUSES, False))))
    assert found.topic == "campus"
    assert ids(found.programs) == [HIT, PHARMACY, MBC]
    assert found.utterances == [answers._where(kb, p) for p in kb.programs]
    assert [u.values["where"] for u in found.utterances] == [phrasing.where(kb, p) for p in kb.programs]


def test_a_tie_on_scope_gives_each_curriculum(knowledge_copy):
    kb = third_with(knowledge_copy, pharmacy_technician={"scope": "a broad range of pharmacy topics"})
    found = compared(kb, context(kb, comparison=which(cue(comparisons.SCOPE, True))))
    assert found.topic == "curriculum"
    assert ids(found.programs) == [HIT, PHARMACY, MBC]
    assert found.utterances == answers.curriculum(kb, context(kb, kb.programs)).utterances


def test_with_one_program_a_campus_comparison_says_where_it_is(knowledge_copy):
    edit_yaml(knowledge_copy / "programs.yml", lambda d: d.update(programs=[d["programs"][1]]))
    kb = load_knowledge(knowledge_copy)
    found = compared(kb, context(kb, comparison=which(cue(comparisons.CAMPUSES, True))))
    assert (found.topic, found.utterances) == ("campus", [answers._where(kb, kb.programs[0])])


def test_two_measures_are_both_answered(kb):
    asked = which(cue(comparisons.DURATION, False), cue(comparisons.CAMPUSES, True))
    found = compared(kb, context(kb, comparison=asked))
    assert responses(found) == ["reply_comparison_quickest", "reply_comparison_most_campuses"]
    assert found.topic == "campus"


# --- credentials ----------------------------------------------------------------------------


def test_the_one_program_leading_to_a_certificate_then_the_others_credentials(kb):
    found = compared(kb, context(kb, comparison=which(cue(comparisons.CREDENTIAL, True, "certificate"))))
    assert (found.topic, ids(found.programs)) == ("credential", [MBC])
    assert responses(found) == ["reply_comparison_credential_one", "reply_credential", "reply_credential_caveat"]
    assert found.utterances[1].values["program_name"] == prog(kb, HIT).name


def test_a_credential_no_program_leads_to(kb):
    found = compared(kb, context(kb, comparison=which(cue(comparisons.CREDENTIAL, True, "bachelor"))))
    assert (found.topic, ids(found.programs)) == ("credential", [MBC, HIT])
    assert responses(found) == [
        "reply_comparison_credential_none",
        "reply_credential",
        "reply_credential",
        "reply_credential_caveat",
    ]


def test_two_programs_leading_to_a_diploma_are_named_first(knowledge_copy):
    kb = third_with(knowledge_copy)  # pharmacy: "a diploma"
    found = compared(kb, context(kb, comparison=which(cue(comparisons.CREDENTIAL, True, "diploma"))))
    assert (found.topic, ids(found.programs)) == ("credential", [MBC, HIT, PHARMACY])
    assert responses(found) == ["reply_credential"] * 3 + ["reply_credential_caveat"]
    assert [u.values.get("program_name") for u in found.utterances[:3]] == [
        prog(kb, i).name for i in (MBC, PHARMACY, HIT)
    ]


# --- "which can be done online / at <campus>?" ----------------------------------------------


def test_which_can_be_done_so_has_the_topic_of_what_was_asked(kb):
    augusta, tulsa = kb.campus("augusta"), kb.campus("tulsa")
    cases = [
        ({"modes": ("hybrid",)}, "delivery", [HIT], "reply_comparison_offered_only"),
        ({"modes": ("online",)}, "delivery", [MBC, HIT], "reply_comparison_offered_all"),
        ({"modes": ("on_campus",), "campuses": (augusta,)}, "campus", [HIT], "reply_comparison_offered_only_as_asked"),
        ({"modes": ("hybrid",), "campuses": (tulsa,)}, "campus", [MBC, HIT], "reply_comparison_offered_none"),
    ]
    for changes, topic, programs, first in cases:
        found = compared(kb, context(kb, comparison=which(), **changes))
        assert (found.topic, ids(found.programs), responses(found)[0]) == (topic, programs, first), changes


def test_two_of_three_programs_online_are_the_answers_programs(knowledge_copy):
    kb = third_with(knowledge_copy)
    found = compared(kb, context(kb, comparison=which(), modes=("online",)))
    assert ids(found.programs) == [MBC, HIT]
    assert responses(found) == ["reply_comparison_offered_only", "reply_comparison_offered_instead"]


# --- program x campus x mode -------------------------------------------------------------------


def test_places_the_college_lacks_are_joined_with_or(kb):
    found = combos(kb, context(kb, unknown_places=("Dallas", "Austin")), "campus")
    assert found.utterances[0].values["place"] == "Dallas or Austin"
    assert (found.topic, ids(found.programs)) == ("campus", [MBC, HIT])


def test_what_a_campus_offers_is_a_campus_answer_about_no_program(kb):
    found = combos(kb, context(kb, campuses=(kb.campus("tulsa"),)), "campus")
    assert (found.topic, found.programs, responses(found)) == ("campus", None, ["reply_campus_offers"])


def test_a_verdict_keeps_its_topic_program_campus_and_mode(kb):
    augusta = (kb.campus("augusta"),)
    found = combos(kb, context(kb, (prog(kb, HIT),), campuses=augusta), "delivery")
    assert (found.topic, ids(found.programs), found.campuses) == ("delivery", [HIT], augusta)


def test_either_program_at_a_campus_and_a_place_keeps_both_and_the_places(kb):
    tulsa = (kb.campus("tulsa"),)
    asked = context(kb, kb.programs, campuses=tulsa, unknown_places=("Dallas",), modes=("on_campus",))
    found = combos(kb, asked, "campus")
    assert responses(found)[0] == "reply_campus_unknown"
    assert (found.campuses, found.modes) == (tulsa, ("on_campus",))


def test_a_comparison_naming_only_a_place_the_college_lacks_gets_the_campus_answer(kb):
    found = compared(kb, context(kb, comparison=which(), unknown_places=("Dallas",)))
    assert found is not None
    assert (found.topic, responses(found)[0]) == ("campus", "reply_campus_unknown")


# --- goals ---------------------------------------------------------------------------------------


def test_a_goal_names_the_program_then_the_others_and_the_offer(kb):
    goal = ("keep", "patient", "data", "safe")
    found = answers.fit(kb, context(kb, comparison=Comparison((), False, goal)))
    ranking = comparisons.by_goal(kb.programs, goal)
    assert ranking is not None and len(ranking.leaders) == 1
    assert (found.topic, found.programs) == ("fit", ranking.leaders)
    assert found.compared == ranking.leaders + ranking.rest
    assert responses(found) == ["reply_comparison_goal", "reply_fit_program", "reply_offer_follow_up"]


def test_a_goal_both_programs_share_equally_gets_the_general_advice(kb):
    mbc, hit = prog(kb, MBC), prog(kb, HIT)
    only_mbc = sorted(comparisons.program_stems(mbc) - comparisons.program_stems(hit))
    only_hit = sorted(comparisons.program_stems(hit) - comparisons.program_stems(mbc))
    words = next((a, b) for a in only_mbc for b in only_hit if comparisons.goal_stems([a, b]) == (a, b))
    tie = comparisons.by_goal(kb.programs, words)
    assert tie is not None and len(tie.leaders) == 2
    found = answers.fit(kb, context(kb, comparison=Comparison((), False, words)))
    assert responses(found)[0] == "reply_fit_intro"


def test_a_reply_of_fallbacks_only_forgets_the_message(kb):
    asked = context(kb)
    both = answers.combined([answers.fallback(kb, asked), answers.other_language(kb, asked)])
    assert both.forget_message is True
    assert answers.combined([answers.fallback(kb, asked), answers.contact(kb, asked)]).forget_message is False


# --- references ----------------------------------------------------------------------------------


def ref(kind: str, index: int = 0, cue_: Cue | None = None) -> Reference:
    return Reference(kind, 0, 1, index=index, cue=cue_)


def test_this_one_is_the_one_program_of_the_last_answer_and_none_of_two(kb):
    mbc, hit = prog(kb, MBC), prog(kb, HIT)
    assert references.point(kb, ref(THIS), (), references.Memory(None, (hit,))) == (hit,)
    assert references.point(kb, ref(THIS), (), references.Memory(None, (mbc, hit))) == ()


def test_the_other_one_after_an_answer_about_two_of_three(knowledge_copy):
    kb = third_with(knowledge_copy)
    mbc, hit, pharmacy = kb.programs
    assert references.point(kb, ref(OTHER), (), references.Memory(None, (mbc, hit))) == ()
    assert references.point(kb, ref(OTHER), (mbc, hit), references.Memory(None, (mbc, hit))) == (pharmacy,)


def test_an_ordinal_from_the_end_and_one_past_the_list(kb):
    mbc, hit = kb.programs
    memory = references.Memory(None, (mbc, hit))
    assert references.point(kb, ref(ORDINAL, index=-2), (), memory) == (mbc,)
    assert references.point(kb, ref(ORDINAL, index=2), (), memory) == ()


def test_both_next_to_a_named_program_points_at_nothing_more(kb):
    assert references.point(kb, ref(GROUP), (prog(kb, MBC),), references.Memory(None, ())) == ()


def test_the_longer_one_is_chosen_among_the_programs_named_only_when_two_are(knowledge_copy):
    kb = third_with(knowledge_copy)
    mbc, hit, pharmacy = kb.programs
    longer = ref(EXTREME, cue_=cue(comparisons.DURATION, True))
    nothing = references.Memory(None, ())
    assert references.point(kb, longer, (mbc, pharmacy), nothing) == (mbc,)
    assert references.point(kb, longer, (pharmacy,), nothing) == (hit,)


def test_the_one_with_more_campuses_counts_the_knowledge_bases_campuses(kb):
    most = ref(EXTREME, cue_=cue(comparisons.CAMPUSES, True))
    assert references.point(kb, most, (), references.Memory(None, ())) == (prog(kb, MBC),)
    assert references.point(kb, ref(EXTREME), (), references.Memory(None, ())) == ()


# --- cues and several questions ----------------------------------------------------------------


def test_cue_topics_follow_the_clause_and_keep_the_strongest(matcher):
    assert cue_topics("is it an associate\u2019s", matcher.read("is it an associate\u2019s")) == {"credential": STRONG}
    text = "online or in Tulsa"
    assert list(cue_topics(text, matcher.read(text))) == ["delivery", "campus"]
    text = "and how long in Dallas, TX"
    assert list(cue_topics(text, matcher.read(text))) == ["duration", "campus"]
    text = "can I do it in Dallas, TX"
    assert "campus" in cue_topics(text, matcher.read(text))
    text = "which campus is where I live"
    assert cue_topics(text, matcher.read(text))["campus"] == STRONG


def test_equal_cues_go_to_the_first_named_and_a_missing_confidence_is_zero():
    assert several._best({"duration": STRONG, "campus": STRONG}, {}) == "duration"
    assert several.ranked_topics([{"name": "ask_duration"}]) == {"duration": 0.0}


# --- phrasing ------------------------------------------------------------------------------------


def test_modes_asked_are_joined_with_or_and_no_campus_is_zero(knowledge_copy):
    kb = third_with(knowledge_copy, pharmacy_technician={"delivery": [], "online_campus": "chattanooga"})
    assert phrasing.mode_labels(kb, ["online", "hybrid"]) == f"{kb.mode_label('online')} or {kb.mode_label('hybrid')}"
    pharmacy = prog(kb, PHARMACY)
    assert phrasing.campus_count(kb, pharmacy) == "0"
    assert phrasing.campuses_for(kb, pharmacy) == f"0 for {pharmacy.name}"


# --- reading the context -------------------------------------------------------------------------


def test_the_second_one_is_read_from_the_last_answers_order(kb, matcher):
    turn = tracker("tell me about the second one", "ask_program_info", slots={"last_programs": [HIT, MBC]})
    assert ids(read_context(turn, kb, matcher).programs) == [MBC]


def test_a_state_names_its_campuses_and_a_payload_is_not_near_me(kb, matcher):
    assert read_context(tracker("is there a campus in TN?", "ask_campus"), kb, matcher).campuses == (
        kb.campus("chattanooga"),
    )
    assert read_context(tracker("/ask_campus", "ask_campus"), kb, matcher).near_me is False


def test_every_program_asked_about_overrides_the_one_discussed(kb, matcher):
    turn = tracker("how long are all the programs", "ask_duration", slots={"program": MBC})
    assert ids(read_context(turn, kb, matcher).programs) == [MBC, HIT]


PLACE = {"entity": "campus", "value": "Gotham"}


def _places(kb, matcher, entities, part: Clause | None = None):
    turn = tracker("is it there or is it here", "ask_campus", entities=entities)
    return read_context(turn, kb, matcher, part).unknown_places


def test_a_clause_keeps_the_entities_that_start_in_it(kb, matcher):
    second = Clause("is it here", 14, 24, True)
    first = Clause("is it there", 0, 11, True)
    assert _places(kb, matcher, [{**PLACE, "start": 14}], second) == ("Gotham",)
    assert _places(kb, matcher, [{**PLACE, "start": 24}], second) == ()
    assert _places(kb, matcher, [PLACE], first) == ()


def test_only_unknown_campus_entities_are_places(kb, matcher):
    assert _places(kb, matcher, [PLACE]) == ("Gotham",)
    assert _places(kb, matcher, [{"entity": "program", "value": "Basket Weaving"}]) == ()
    assert _places(kb, matcher, [{"entity": "campus", "value": "online"}]) == ()


def test_the_last_modes_are_kept_when_the_knowledge_base_has_them(kb, matcher):
    turn = tracker("and the other one?", "inform", slots={"last_modes": ["hybrid", "by_pigeon"]})
    assert read_context(turn, kb, matcher).previous_modes == ("hybrid",)


def test_the_next_question_is_the_best_ranked_after_the_chosen_one_and_entities_name_no_language(kb, matcher):
    message = {
        "text": "how long is it",
        "intent": {"name": "ask_duration", "confidence": 0.7},
        "intent_ranking": [{"name": "ask_duration", "confidence": 0.7}, {"name": "ask_campus", "confidence": 0.3}],
        "entities": [{"entity": "program", "value": HIT}],
    }
    found = read_context(Tracker("v", {}, message, [], False, None, {}, "action_listen"), kb, matcher)
    assert (found.also_asks, found.language) == ("campus", None)
