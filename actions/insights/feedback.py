"""Answer feedback (the widget's thumbs): the helpful share per question type, and the answers
rated unhelpful with the message they answered.

Per the feedback contract, a rating is a SlotSet of `answer_feedback` holding
{"rating": "up"|"down", "answer": <the rated BotUttered's timestamp>}; the rated answer's question
type is the intent of the visitor message it answered; only a conversation's last rating of an
answer counts (digest.py keeps that one). A rating whose answer is not in the period is skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from actions.insights import names
from actions.insights.digest import Conversation

UNSHOWN = "(a form answer, not shown)"


@dataclass(frozen=True)
class Unhelpful:
    rated_answer_at: datetime  # UTC
    conversation_id: str
    question_type: str
    message: str  # masked; a personal field's answer is never shown
    answer: str


@dataclass(frozen=True)
class FeedbackResult:
    per_type: list[tuple[str, int, int]]  # (readable question type, helpful, unhelpful), most rated first
    unhelpful: list[Unhelpful]  # newest first

    @property
    def helpful(self) -> int:
        return sum(up for _, up, _ in self.per_type)

    @property
    def rated(self) -> int:
        return sum(up + down for _, up, down in self.per_type)


class Feedback:
    def __init__(self) -> None:
        self._up: Counter[str] = Counter()
        self._down: Counter[str] = Counter()
        self._unhelpful: list[Unhelpful] = []

    def add(self, conversation: Conversation) -> None:
        for answer_at, rating in conversation.feedback.items():
            found = conversation.reply_at(answer_at)
            if found is None:
                continue
            message, reply = found
            kind = names.intent(message.intent)
            (self._up if rating == "up" else self._down)[kind] += 1
            if rating == "down":
                at = datetime.fromtimestamp(answer_at, timezone.utc)
                text = UNSHOWN if message.personal else message.text
                self._unhelpful.append(Unhelpful(at, conversation.sender_id, kind, text, reply.text))

    def result(self) -> FeedbackResult:
        kinds = sorted(set(self._up) | set(self._down), key=lambda k: (-(self._up[k] + self._down[k]), k))
        return FeedbackResult(
            per_type=[(kind, self._up[kind], self._down[kind]) for kind in kinds],
            unhelpful=sorted(self._unhelpful, key=lambda u: (u.rated_answer_at, u.conversation_id), reverse=True),
        )
