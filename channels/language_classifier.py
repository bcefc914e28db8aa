"""The NLU pipeline's last step: a message clearly not in English is `other_language`.

Why in the NLU pipeline (config.yml) and not in an action: the English model's intent for a
Spanish message is a guess, and everything downstream (the rules, the inquiry form, the
context an answer reads) trusts the intent. Setting it here, once, means no English answer
to a question never asked, inside the form or out, and the language travels with the
message as a `language` entity for the action that replies (and, later, for a Spanish
pipeline to take the message instead).

The detector (actions/language/other_language.py) is built when the model loads, with its
models preloaded, so no visitor waits for it.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions import knowledge
from actions.language.other_language import Detected, LanguageGuard, known_names

INTENT_NAME = "other_language"
ENTITY = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OtherLanguageClassifier(GraphComponent, IntentClassifier):
    """Overrides the intent of a message in another language; leaves English untouched."""

    def __init__(self, guard: LanguageGuard) -> None:
        self._guard = guard

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherLanguageClassifier:
        return cls(LanguageGuard(known_names(knowledge.current())))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = self._guard.detect(message.get(TEXT) or "")
            if found is not None:
                mark(message, found)
        return messages


def mark(message: Message, found: Detected) -> None:
    """The message's intent becomes `other_language` (the English guesses stay ranked after it),
    and its language an entity spanning the text."""
    intent = {"name": INTENT_NAME, "confidence": found.confidence}
    message.set(INTENT, intent, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != INTENT_NAME]
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
    text = message.get(TEXT) or ""
    entity = {
        "entity": ENTITY,
        "value": found.language,
        "start": 0,
        "end": len(text),
        "confidence_entity": found.confidence,
        "extractor": OtherLanguageClassifier.__name__,
    }
    message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
