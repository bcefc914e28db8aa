"""The NLU step that tells another language (channels/language_classifier.py) in quick unit
tests (issue 15): the mutation run left its `mark` and `create` unchecked at the edges.

Run as Rasa runs the component: built by `create` from the knowledge base, `process` over a
message the English model classified first, the parse result read as Rasa returns it (only
the message's output properties). The detector is lingua's over the real models.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.knowledge import KnowledgeBase
from actions.language.other_language import Detected
from channels.language_classifier import ENTITY, INTENT_NAME, OtherLanguageClassifier, mark

SPANISH = "¿cuánto dura el programa de facturación médica?"
GUESS = {"name": "ask_duration", "confidence": 0.4}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> OtherLanguageClassifier:
    """Built as Rasa builds it when the model loads."""
    return OtherLanguageClassifier.create(
        {},
        LocalModelStorage(tmp_path_factory.mktemp("model")),
        Resource("other_language"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def english_guess(text: str, entities: list[dict[str, Any]] | None = None) -> Message:
    """A message as the English model leaves it: its guess first, another guess after it."""
    other = {"name": "greet", "confidence": 0.1}
    return Message({TEXT: text, INTENT: GUESS, INTENT_RANKING_KEY: [GUESS, other], ENTITIES: entities or []})


def test_create_builds_a_working_step_that_knows_the_knowledge_base_names(classifier, kb: KnowledgeBase):
    """`create` gives a detector, and one that leaves the knowledge base's names out."""
    spanish = classifier.process([english_guess(SPANISH)])[0]
    assert spanish.get(INTENT)["name"] == INTENT_NAME
    name = kb.programs[0].name
    assert classifier._guard.judged_words(f"how long is {name}") == ["how", "long", "is"]


def test_the_parse_result_has_the_intent_its_ranking_and_the_language_entity(classifier):
    """What Rasa returns for a message: only its output properties, here all three set by the step."""
    typed = {"entity": "program", "value": "billing", "start": 33, "end": 47}
    message = classifier.process([english_guess(SPANISH, [typed])])[0]
    parsed = message.as_dict(only_output_properties=True)
    found = parsed[INTENT]
    assert found["name"] == INTENT_NAME and 0.5 < found["confidence"] <= 1.0
    assert parsed[INTENT_RANKING_KEY] == [found, GUESS, {"name": "greet", "confidence": 0.1}]
    assert parsed[ENTITIES] == [
        typed,
        {
            "entity": ENTITY,
            "value": "es",
            "start": 0,
            "end": len(SPANISH),
            "confidence_entity": found["confidence"],
            "extractor": "OtherLanguageClassifier",
        },
    ]


def test_english_is_left_as_the_model_classified_it(classifier):
    message = classifier.process([english_guess("how long is the coding program")])[0]
    assert message.get(INTENT) == GUESS and message.get(ENTITIES) == []
    assert message.as_dict(only_output_properties=True) == {TEXT: "how long is the coding program"}


def test_marking_twice_keeps_one_other_language_at_the_top_of_the_ranking():
    """An `other_language` already ranked (the English model learned the intent too) is not repeated."""
    learned = {"name": INTENT_NAME, "confidence": 0.3}
    message = Message({TEXT: "hola que tal amigo", INTENT: GUESS, INTENT_RANKING_KEY: [GUESS, learned]})
    mark(message, Detected("es", 0.9))
    assert message.get(INTENT_RANKING_KEY) == [{"name": INTENT_NAME, "confidence": 0.9}, GUESS]


def test_a_message_with_no_ranking_entities_or_text_gets_an_empty_span():
    """`mark` on a bare message: the intent alone in the ranking, the entity spans nothing."""
    message = Message({})
    mark(message, Detected("und", 1.0))
    intent = {"name": INTENT_NAME, "confidence": 1.0}
    assert message.get(INTENT) == intent and message.get(INTENT_RANKING_KEY) == [intent]
    assert [(e["value"], e["start"], e["end"]) for e in message.get(ENTITIES)] == [("und", 0, 0)]


def test_a_message_without_text_is_not_judged(classifier):
    """An empty message (an image, a button without text) keeps the English model's guess."""
    message = classifier.process([Message({INTENT: GUESS, INTENT_RANKING_KEY: [GUESS]})])[0]
    assert message.get(INTENT) == GUESS and message.get(ENTITIES) is None
