"""Issue 11: a message clearly not in English is told, and answered in English only for now.

The detector is lingua's, over the real models (built once for the module, as the Rasa server
builds it). Samples are in tests/language_samples.yml; every English example the NLU is
trained or evaluated on must stay English. The NLU step, the answer action and the inquiry
form are run as Rasa runs them, without servers (tests/test_other_language_server.py plays
the same over the webhook).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.inquiry.form_actions import ValidateInquiryForm
from actions.knowledge import load_knowledge
from actions.language import other_language
from actions.language.other_language import UNDETERMINED, LanguageGuard, known_names
from channels.language_classifier import ENTITY, INTENT_NAME, OtherLanguageClassifier
from tests.conftest import DOMAIN, PHONE, ROOT, edit_yaml, render, run_action
from tests.test_inquiry_form import COMPLETE, SLOTS

SAMPLES = yaml.safe_load((ROOT / "tests" / "language_samples.yml").read_text())
# [text](entity) and [text]{"entity": ...} annotations, as Rasa reads them: the text stays.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, text) of every example in a Rasa NLU file."""
    found = []
    for block in yaml.safe_load(path.read_text()).get("nlu", []):
        for line in (block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                found.append((block["intent"], _ANNOTATION.sub(r"\1", line.strip()[2:])))
    return found


ENGLISH_EXAMPLES = [
    text
    for path in (ROOT / "data" / "nlu.yml", ROOT / "tests" / "nlu_holdout.yml")
    for intent, text in nlu_examples(path)
    if intent != INTENT_NAME
]


@pytest.fixture(scope="module")
def guard(kb) -> LanguageGuard:
    return LanguageGuard(known_names(kb))


def test_no_english_example_the_nlu_learns_or_is_scored_on_is_taken_for_another_language(guard):
    assert len(ENGLISH_EXAMPLES) > 1000
    taken = {text: found for text in ENGLISH_EXAMPLES if (found := guard.detect(text))}
    assert not taken


@pytest.mark.parametrize("text", SAMPLES["english"])
def test_typos_names_places_and_loanwords_stay_english(guard, text):
    assert guard.detect(text) is None


@pytest.mark.parametrize("text", SAMPLES["spanish"])
def test_spanish_is_told_as_spanish(guard, text):
    found = guard.detect(text)
    assert found is not None and found.language == "es"


@pytest.mark.parametrize("text", SAMPLES["other"])
def test_other_languages_are_told_as_not_english_and_not_spanish(guard, text):
    found = guard.detect(text)
    assert found is not None and found.language not in ("en", "es")


def test_another_script_needs_no_model_and_no_length(guard):
    assert guard.detect("你好") == other_language.Detected(UNDETERMINED, 1.0)
    assert guard.detect("привет") == other_language.Detected(UNDETERMINED, 1.0)


@pytest.mark.parametrize("text", ["hola", "gracias", "bueno", "sí", "muy bien", "buenos días"])
def test_a_word_or_two_is_too_little_to_judge(guard, text):
    """Short Spanish goes to the English NLU ("hola" is a greeting there): too little to tell."""
    assert guard.detect(text) is None


def test_two_words_suffice_when_only_spanish_writes_them(guard):
    found = guard.detect("hablas español?")
    assert found is not None and found.language == "es"


def test_what_the_language_is_judged_by(guard):
    # The knowledge base's names, proper names after the first word, addresses and numbers are left out.
    assert guard.judged_words("¿Cuánto dura Medical Billing and Coding en Tulsa?") == ["Cuánto", "dura", "en"]
    assert guard.judged_words("my name is José Gutiérrez, email jose@example.com, 423-555-0134") == [
        "my",
        "name",
        "is",
        "email",
    ]
    assert guard.judged_words("Hola. Quiero estudiar") == ["Hola", "Quiero", "estudiar"]  # a new sentence
    assert guard.judged_words("QUIERO SABER MAS") == ["QUIERO", "SABER", "MAS"]  # capitals name nothing
    assert guard.judged_words("/ask_duration") == []  # a button's payload


def test_capitalised_names_are_names_the_same_in_lower_case_reads_as_spanish(guard):
    assert guard.detect("María José Gutiérrez López") is None
    found = guard.detect("maría josé gutiérrez lópez")
    assert found is not None and found.language == "es"


def test_names_the_knowledge_base_gains_are_left_out(knowledge_copy):
    """A program added in knowledge/ is a name in any sentence, without a code change."""

    def add_program(data: dict[str, Any]) -> None:
        data["programs"].append({**data["programs"][0], "id": "farmacia", "name": "Farmacia Técnica", "aliases": []})

    edit_yaml(knowledge_copy / "programs.yml", add_program)
    edited = LanguageGuard(known_names(load_knowledge(knowledge_copy)))
    assert edited.judged_words("how long is farmacia técnica") == ["how", "long", "is"]


def test_long_messages_are_judged_by_their_start(guard):
    long = "how long is the coding program " * 20 + "quiero saber cuánto dura el programa de salud"
    assert len(long) > other_language.MAX_CHARS and guard.detect(long) is None


def classify(text: str, guard: LanguageGuard) -> Message:
    """The NLU step on a message the English model classified first."""
    guess = {"name": "ask_duration", "confidence": 0.4}
    message = Message({TEXT: text, INTENT: guess, INTENT_RANKING_KEY: [guess], ENTITIES: []})
    return OtherLanguageClassifier(guard).process([message])[0]


def test_the_nlu_step_makes_spanish_other_language_with_its_language_as_an_entity(guard):
    message = classify("¿cuánto dura el programa de facturación médica?", guard)
    assert message.get(INTENT)["name"] == INTENT_NAME and message.get(INTENT)["confidence"] > 0.5
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == [INTENT_NAME, "ask_duration"]
    assert [(e["entity"], e["value"]) for e in message.get(ENTITIES)] == [(ENTITY, "es")]


def test_the_nlu_step_leaves_english_as_the_model_classified_it(guard):
    message = classify("how long is the coding program", guard)
    assert message.get(INTENT) == {"name": "ask_duration", "confidence": 0.4}
    assert message.get(ENTITIES) == []


def language_entity(code: str) -> list[dict[str, Any]]:
    return [{"entity": ENTITY, "value": code, "start": 0, "end": 10}]


def test_spanish_is_told_in_spanish_that_the_assistant_answers_in_english_with_the_phone_number():
    turn = run_action("other_language", "¿cuánto dura?", INTENT_NAME, entities=language_entity("es"))
    assert turn.texts == [render({"response": "reply_other_language_es", "phone": PHONE})]
    assert PHONE in turn.text and "inglés" in turn.text


@pytest.mark.parametrize("code", ["fr", "pt", UNDETERMINED])
def test_any_other_language_is_told_in_english(code):
    turn = run_action("other_language", "combien de temps?", INTENT_NAME, entities=language_entity(code))
    assert turn.texts == [render({"response": "reply_other_language", "phone": PHONE})]


def test_the_message_is_forgotten_so_the_conversation_keeps_its_program():
    slots = {"program": "healthcare_it", "last_topic": "duration"}
    turn = run_action("other_language", "¿cuánto dura?", INTENT_NAME, entities=language_entity("es"), slots=slots)
    assert turn.events == [UserUtteranceReverted()]  # no slot changes: program and topic stay


def in_the_form(requested: str, text: str) -> tuple[list[str], list[dict[str, Any]]]:
    earlier = {f: COMPLETE[f] for f in SLOTS[: SLOTS.index(requested)] if f in COMPLETE}
    message = {"text": text, "intent": {"name": INTENT_NAME, "confidence": 0.9}, "entities": language_entity("es")}
    slots = {**earlier, "requested_slot": requested, "program": "healthcare_it"}
    tracker = Tracker("visitor-1", slots, message, [], False, None, {"name": "inquiry_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateInquiryForm().run(dispatcher, tracker, DOMAIN))
    return [render(m) for m in dispatcher.messages], events


@pytest.mark.parametrize(
    "requested, text",
    [
        ("lead_name", "me llamo juan y quiero estudiar"),
        ("lead_name", "quiero más información"),
        ("lead_program", "el programa de coding"),
        ("lead_contact_method", "por correo electrónico"),
        ("lead_consent", "sí, está bien"),
    ],
)
def test_inside_the_form_spanish_is_never_an_answer_it_is_told_and_the_field_asked_again(requested, text):
    said, events = in_the_form(requested, text)
    assert said == [render({"response": "reply_other_language_es", "phone": PHONE})]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots[requested] is None and slots["requested_slot"] == requested
    assert "lead_failures" not in slots  # not one of the three tries
