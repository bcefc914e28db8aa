"""Rasa actions that answer visitors' questions from the knowledge base.

One action per kind of question keeps stories readable (`ask_duration` ->
`action_answer_duration`). The actions are made from the answer handlers' registry, so a
new handler is a new action and nothing is listed twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge, language
from actions.dialogue import answers, several, suggestions
from actions.dialogue.context import (
    LAST_CAMPUSES_SLOT,
    LAST_MODES_SLOT,
    LAST_PROGRAMS_SLOT,
    OFFER_SLOT,
    PROGRAM_SLOT,
    TOPIC_SLOT,
    read_context,
)
from actions.knowledge import KnowledgeBase
from actions.language import KnowledgeMatcher


class AnswerAction(Action, ABC):
    @property
    @abstractmethod
    def topic(self) -> str:
        """The answer handler this action runs (a key of `answers.HANDLERS`)."""

    def __init__(self, kb: KnowledgeBase | None = None, matcher: KnowledgeMatcher | None = None) -> None:
        # Injected in tests; the running server uses the knowledge base loaded at start-up.
        self._kb = kb
        self._matcher = matcher

    def name(self) -> str:
        return f"action_answer_{self.topic}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        kb = self._kb or knowledge.current()
        matcher = self._matcher or (language.current() if self._kb is None else KnowledgeMatcher(kb))
        result = answer_message(self.topic, kb, tracker, matcher)
        for utterance in result.utterances[:-1]:
            dispatcher.utter_message(response=utterance.response, **utterance.values)
        last = result.utterances[-1]
        if result.offers_inquiry:
            dispatcher.utter_message(response=last.response, **last.values)
            dispatcher.utter_message(response="reply_inquiry_offer", buttons=suggestions.inquiry_offer())
        else:
            dispatcher.utter_message(
                response=last.response, buttons=suggestions.next_steps(result.topic), **last.values
            )
        if result.forget_message:
            return [UserUtteranceReverted()]
        return [*remembered(result), SlotSet(OFFER_SLOT, result.offers_inquiry)]


def answer_message(topic: str, kb: KnowledgeBase, tracker: Tracker, matcher: KnowledgeMatcher) -> answers.Answer:
    """The reply to the latest message: `topic`'s answer, or each of its questions' in order when it asks several.

    Each question is answered in its own clause's context ("how long is HIT and is billing
    online?"); a clause naming no program is about the one named before it in the message,
    else the conversation's.
    """
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    whole = read_context(tracker, kb, matcher)
    asked = [] if text.startswith("/") else several.questions_asked(text, message.get("intent_ranking") or [], matcher)
    if not asked:
        return answers.answer(topic, kb, whole)
    results: list[answers.Answer] = []
    programs = whole.mentioned_programs
    for question in asked:
        ctx = read_context(tracker, kb, matcher, question.clause)
        if ctx.mentioned_programs:
            programs = ctx.mentioned_programs
        elif not ctx.asks_about_all:
            ctx = replace(ctx, mentioned_programs=programs)
        results.append(answers.answer(question.topic, kb, ctx))
    return answers.combined(results)


def remembered(result: answers.Answer) -> list[EventType]:
    """What the next question's context keeps of this answer: its topic, its program when it had
    one, the programs it was about in its order ("the second one", "the other one"), and the
    campuses and modes a yes-or-no answer was about ("and the other one?" asks them again).

    The inquiry form answers questions with it too, so a follow-up works the same inside it. A
    fallback keeps nothing: the message it could not place is forgotten.
    """
    if result.forget_message:
        return []
    events: list[EventType] = [
        SlotSet(TOPIC_SLOT, result.topic),
        SlotSet(LAST_CAMPUSES_SLOT, [c.id for c in result.campuses]),
        SlotSet(LAST_MODES_SLOT, list(result.modes)),
    ]
    if result.programs is not None:
        only = result.programs[0].id if len(result.programs) == 1 else None
        events.append(SlotSet(PROGRAM_SLOT, only))
        events.append(SlotSet(LAST_PROGRAMS_SLOT, [p.id for p in result.compared or result.programs]))
    return events


def _action_for(topic: str) -> type[AnswerAction]:
    class_name = "Answer" + "".join(part.title() for part in topic.split("_"))
    return type(class_name, (AnswerAction,), {"topic": topic, "__module__": __name__})


ANSWER_ACTIONS: dict[str, type[AnswerAction]] = {topic: _action_for(topic) for topic in answers.HANDLERS}
