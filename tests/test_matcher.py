"""The spaCy matcher finds programs, campuses, terms and unknown topics as visitors write them."""

from __future__ import annotations

import pytest

from actions.language import CAMPUS, MODE, PROGRAM, UNKNOWN_TOPIC, KnowledgeMatcher

MBC, HIT = "medical_billing_coding", "healthcare_it"


def _found(matcher, text, kind):
    return list(dict.fromkeys(m.id for m in matcher.find(text) if m.kind == kind))


@pytest.mark.parametrize(
    "text, programs",
    [
        ("How long is Medical Billing and Coding?", ["medical_billing_coding"]),
        ("how lng is medcal biling", ["medical_billing_coding"]),
        ("is the coding program online", ["medical_billing_coding"]),
        ("MBC or HIT?", ["medical_billing_coding", "healthcare_it"]),
        ("can I take health IT in Tulsa?", ["healthcare_it"]),
        ("tell me about healthcare informaton technology", ["healthcare_it"]),
        ("helth it onlin?", ["healthcare_it"]),
        ("is it online?", []),
        ("I was filling out the form", []),
    ],
)
def test_programs_in_raw_text(matcher, text, programs):
    assert _found(matcher, text, PROGRAM) == programs


def test_longest_alias_wins_over_its_parts(matcher):
    mentions = [m for m in matcher.find("billing and coding programs") if m.kind == PROGRAM]
    assert [(m.id, m.text) for m in mentions] == [("medical_billing_coding", "billing and coding")]


def test_campuses_and_unknown_topics(matcher):
    assert _found(matcher, "Do you have a campus in Chatanooga or Wilmington NC?", CAMPUS) == [
        "chattanooga",
        "wilmington",
    ]
    assert _found(matcher, "any campus in Atlanta?", CAMPUS) == []
    assert _found(matcher, "how much is tuition and is there financial aid", UNKNOWN_TOPIC) == [
        "tuition",
        "financial_aid",
    ]


def test_resolves_extracted_values_and_payload_ids(matcher):
    assert matcher.resolve(PROGRAM, "healthcare_it") == "healthcare_it"
    assert matcher.resolve(PROGRAM, "Medcal Biling") == "medical_billing_coding"
    assert matcher.resolve(CAMPUS, "tulsa ok") == "tulsa"
    assert matcher.resolve(CAMPUS, "Atlanta") is None


def test_plural_questions_ask_about_every_program(matcher):
    assert matcher.asks_about_all("how long are the programs?")
    assert not matcher.asks_about_all("how long is it?")


def test_a_new_alias_is_recognised_without_retraining(kb):
    mbc = kb.program("medical_billing_coding")
    edited = type(kb)(
        programs=(mbc.copy(update={"aliases": [*mbc.aliases, "revenue cycle"]}), kb.program("healthcare_it")),
        campuses=kb.campuses,
        delivery_modes=kb.delivery_modes,
        terms=kb.terms,
        relationship=kb.relationship,
        choosing=kb.choosing,
        admissions=kb.admissions,
        unknown_topics=kb.unknown_topics,
    )
    assert _found(KnowledgeMatcher(edited), "how long is revenue cycle?", PROGRAM) == ["medical_billing_coding"]


def test_huge_messages_are_bounded(matcher):
    assert _found(matcher, "word " * 20000 + "medical billing", PROGRAM) == []


def test_a_matcher_built_from_the_knowledge_base_knows_names_in_any_case_and_spelling(kb):
    """Built here, not shared: what the action server builds at start-up from knowledge/."""
    built = KnowledgeMatcher(kb)
    assert _found(built, "MBC or HIT?", PROGRAM) == [MBC, HIT]  # short aliases: exact matches only
    assert _found(built, "how lng is medcal biling", PROGRAM) == [MBC]
    assert built.resolve(PROGRAM, "Medcal Biling") == MBC
    assert built.resolve(CAMPUS, "TULSA OK") == "tulsa"


@pytest.mark.parametrize("text", ["medcal biling or health IT", "health IT or medcal biling"])
def test_a_misspelled_name_is_found_next_to_a_correctly_spelled_one(matcher, text):
    assert sorted(_found(matcher, text, PROGRAM)) == sorted([MBC, HIT])


def test_a_five_letter_name_is_found_misspelled(matcher):
    assert _found(matcher, "is there a campus in tullsa", CAMPUS) == ["tulsa"]


def test_a_value_with_another_first_letter_is_not_taken_for_a_name(matcher):
    """Typos rarely hit the first letter; "Shattanooga" is not a campus we know of."""
    assert matcher.resolve(CAMPUS, "chatanoga") == "chattanooga"
    assert matcher.resolve(CAMPUS, "Shattanooga") is None


@pytest.mark.parametrize(
    "text, modes",
    [
        ("can I study it on campus in Chattanooga?", ["on_campus"]),
        ("is it taught in-person", ["on_campus"]),
        ("is there a blended option", ["hybrid"]),
        ("can I do it remotely", ["online"]),
        ("distance learning?", ["online"]),
        ("do you have onlne courses", ["online"]),
        ("hybrid or on campus?", ["hybrid", "on_campus"]),
        ("is there a campus in Tulsa", []),
    ],
)
def test_delivery_modes_as_visitors_name_them(matcher, text, modes):
    assert _found(matcher, text, MODE) == modes


@pytest.mark.parametrize(
    "text, places, near_me",
    [
        ("is there a campus in Florida?", [("Florida", "FL")], False),
        ("do you have one in TX", [("Texas", "TX")], False),
        ("I live in Dallas, TX", [("Dallas, TX", None)], False),
        ("anything near Memphis or around atlanta?", [("Memphis", None), ("Atlanta", None)], False),
        ("I'm from mobile alabama", [("Mobile, AL", None)], False),
        ("is the program mobile friendly", [], False),  # a city name without "in", "near", "from"...
        ("OK, is there a campus near me?", [], True),  # "OK" is not Oklahoma, "me" not Maine
        ("which one is close to me", [], True),
        ("can I study in person", [], False),
        ("is there a campus in Georgia or Chattanooga, TN?", [], False),  # campus aliases and labels win
    ],
)
def test_places_that_are_not_campuses(matcher, text, places, near_me):
    found = matcher.read(text).places
    assert [(p.name, p.state) for p in found.named] == places
    assert found.near_me is near_me
