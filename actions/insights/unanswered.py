"""The unanswered queue: every visitor message the assistant could not answer, for staff to add
the missing facts to knowledge/.

Unanswered means the reply was the unknown-topic answer, the fallback ("I didn't catch that")
or the service-trouble apology, read from the reply's response name (Rasa's `utter_action`).
The channel's own apology is not stored with the conversation, so a visitor message that got no
stored reply at all (the action failed, the visitor saw the apology) counts as service trouble.
A message typed at a personal form field is never listed.

Grouping: messages whose unknown-topic answer named a topic are grouped by that topic (the
knowledge base's topic names); the others by their wording: the same content words, in any
order, case and punctuation, plural or not, and without function words ("how", "the", "do").
"What's the cost of parking?" and "parking cost" are one group; nothing fuzzier, so a group
never mixes two questions that a staff member would answer differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from actions.insights.digest import Conversation, Message

UNKNOWN_TOPIC, FALLBACK, SERVICE_TROUBLE = "unknown topic", "not understood", "service trouble"
REASONS = {
    "reply_unknown_topic": UNKNOWN_TOPIC,
    "reply_unknown_topic_generic": UNKNOWN_TOPIC,
    "reply_fallback": FALLBACK,
    "reply_service_trouble": SERVICE_TROUBLE,
}
STOP_WORDS = frozenset(
    """a an the and or of to in on at for with about from by is are was were be been do does did
    can could would will should may might must shall i me my you your we our us it its this that
    these those there what what's whats which who whom how when where why please tell know want
    like get have has had any some s t""".split()  # noqa: SIM905 (a word list reads better as words)
)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Item:
    received: datetime  # UTC
    conversation_id: str
    text: str  # masked
    reason: str
    topic: str | None


@dataclass(frozen=True)
class Group:
    key: str
    label: str  # the topic, or the newest message's wording
    items: list[Item]  # newest first

    @property
    def count(self) -> int:
        return len(self.items)


def wording_key(text: str) -> str:
    """The message's content words, singular, sorted: equal keys are the same question."""
    words = {_singular(word) for word in _WORD.findall(text.lower())} - STOP_WORDS
    return " ".join(sorted(words))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


class Unanswered:
    def __init__(self) -> None:
        self._items: list[Item] = []

    def add(self, conversation: Conversation) -> None:
        for message in conversation.messages:
            reason, topic = _unanswered(message)
            if reason and not message.personal:
                received = datetime.fromtimestamp(message.timestamp, timezone.utc)
                self._items.append(Item(received, conversation.sender_id, message.text, reason, topic))

    def items(self) -> list[Item]:
        """Newest first."""
        return sorted(self._items, key=lambda item: (item.received, item.conversation_id), reverse=True)

    def groups(self) -> list[Group]:
        """Groups with their messages, the group with the newest message first."""
        return group(self.items())


def group(items: Iterable[Item]) -> list[Group]:
    """`items` (newest first) grouped by topic, else by wording; groups in order of their newest."""
    grouped: dict[str, list[Item]] = {}
    for item in items:
        key = f"topic: {item.topic}" if item.topic else f"wording: {wording_key(item.text) or item.text.strip()}"
        grouped.setdefault(key, []).append(item)
    return [Group(key, _label(members), members) for key, members in grouped.items()]


def _label(members: list[Item]) -> str:
    newest = members[0]
    return f"Topic: {newest.topic}" if newest.topic else newest.text


def _unanswered(message: Message) -> tuple[str | None, str | None]:
    """(reason, unknown topic) when the message went unanswered; (None, None) when answered."""
    if not message.replies:
        return SERVICE_TROUBLE, None
    for reply in message.replies:
        reason = REASONS.get(reply.response or "")
        if reason:
            return reason, reply.topic if reply.response == "reply_unknown_topic" else None
    return None, None
