"""The questions one message asks, in the visitor's order ("how long is it and is it online?").

The NLU gives the message one intent, and ranks the others. Here the message is split into
clauses (actions/language/clauses.py); each clause shaped like a question takes the topic its
own words point to (actions/dialogue/cues.py), the NLU's ranking choosing between several;
a question clause with no cue takes the best-ranked question topic no other clause took (the
NLU's own choice, usually). A clause that is not a question ("I'm in <city>", "thanks") asks
nothing, and a topic asked twice is one question.

Fewer than two questions found means the message asks one thing: the NLU's intent answers it
over the whole message, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from actions.dialogue.answers import topic_of
from actions.dialogue.context import MIN_INTENT_CONFIDENCE
from actions.dialogue.cues import cue_topics
from actions.language.clauses import Clause, clauses
from actions.language.matcher import KnowledgeMatcher

# "What about the other one", "and how about billing": which program, not what about it.
_WHAT_ABOUT = re.compile(r"^(?:and\s+|so\s+|ok\s+)?(?:what|how)\s+about\b", re.IGNORECASE)
# A reply stays readable; a fourth question in one message is left for the next turn.
MAX_QUESTIONS = 3
# Intents that are not a question of their own: "and billing?" repeats one, a fallback places none.
_NOT_TOPICS = frozenset({"followup", "fallback"})


@dataclass(frozen=True)
class Question:
    topic: str  # an answer handler
    clause: Clause


def questions_asked(text: str, ranking: Iterable[Mapping[str, Any]], matcher: KnowledgeMatcher) -> list[Question]:
    """Each question of a message that asks two or more, in order; [] for a message that asks one (or none).

    "What about the other program, how long is that?" asks one thing: its first clause only
    says which program (it has no cue), so the question is the other clause's. When the NLU
    took the message for another question ("tell me about it"), that one is returned alone.
    """
    asking = [clause for clause in clauses(text) if clause.asks]
    if len(asking) < 2:
        return []
    ranked = ranked_topics(ranking)
    cues = [cue_topics(c.text, matcher.read(c.text)) for c in asking]
    pointing = [not found and bool(_WHAT_ABOUT.match(c.text)) for c, found in zip(asking, cues, strict=True)]
    cued = [(c, _best(found, ranked)) for c, found in zip(asking, cues, strict=True) if found]
    nlu_topic = next(iter(ranked), None)
    if any(pointing) and len(cued) == 1 and cued[0][1] != nlu_topic:
        clause, topic = cued[0]
        return [Question(topic, clause)] if topic else []
    picked = [_best(found, ranked) for found in cues]
    spare = iter([t for t, confidence in ranked.items() if confidence >= MIN_INTENT_CONFIDENCE and t not in picked])
    found: dict[str, Question] = {}
    for clause, topic in zip(asking, picked, strict=True):
        topic = topic or next(spare, None)
        if topic and topic not in found:
            found[topic] = Question(topic, clause)
    questions = list(found.values())[:MAX_QUESTIONS]
    return questions if len(questions) > 1 else []


def ranked_topics(ranking: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """The NLU's intent ranking as question topics -> confidence, best first."""
    topics: dict[str, float] = {}
    for intent in ranking:
        topic = topic_of(str(intent.get("name") or ""))
        if topic and topic not in _NOT_TOPICS and topic not in topics:
            topics[topic] = float(intent.get("confidence") or 0.0)
    return topics


def _best(cues: Mapping[str, int], ranked: Mapping[str, float]) -> str | None:
    """The strongest cue; between equals, the one the NLU ranked higher, then the first named."""
    order = {topic: index for index, topic in enumerate(cues)}
    return max(cues, key=lambda t: (cues[t], ranked.get(t, 0.0), -order[t]), default=None)
