"""Which question topics a clause's words point to, without the NLU.

The NLU classifies a whole message; a clause of it ("and is it online") needs its own
topic. Cue phrases name the topic in the visitor's words ("how long" is a duration, "jobs"
are careers); what the knowledge matcher finds names it too (a delivery mode is a delivery
question, a campus or a place a campus question, tuition a topic the article lacks). A bare
"where" is a weak cue: "where do I apply" asks about applying, not campuses.
"""

from __future__ import annotations

import re

from actions.language import CAMPUS, MODE, UNKNOWN_TOPIC
from actions.language.matcher import Reading

STRONG, WEAK = 2, 1
# topic (an answer handler) -> phrases that ask about it.
CUE_PHRASES: dict[str, tuple[str, ...]] = {
    "duration": (
        *(
            "how long",
            "hw long",
            "how lon",
            "how many months",
            "how many weeks",
            "how many years",
            "how much time",
            "months",
        ),
        *("duration", "length", "how quickly", "how fast", "take to finish", "take to complete"),
    ),
    "campus": ("campus", "campuses", "location", "locations", "located", "which city", "near", "nearest", "closest"),
    "credential": (
        *("credential", "credentials", "certificate", "certification", "diploma", "degree", "associate"),
        *("associates", "associate's", "what do i get", "what do you get"),
    ),
    "careers": (
        *("job", "jobs", "career", "careers", "work as", "work in", "become a", "employment", "positions"),
        "what can i do with",
    ),
    "curriculum": (
        *("learn", "cover", "covers", "curriculum", "subjects", "taught", "coursework", "topics", "classes"),
        # "study" alone is often where or how ("can I study online"); what is studied is this.
        *("what will i study", "what would i study", "what do i study", "what do you study", "what will we study"),
        *("what would we study", "what do we study", "what will i be studying", "what would i be studying"),
    ),
    "difference": ("difference", "different", "differ", "compare", "comparison", "vs", "versus", "same as"),
    "fit": ("right for me", "best for me", "better for me", "should i choose", "should i pick", "good fit"),
    "contact": (
        *("phone number", "contact", "call", "talk to", "speak to", "speak with", "apply", "enroll"),
        *("sign up", "admissions office"),
    ),
}
WEAK_PHRASES: dict[str, tuple[str, ...]] = {"campus": ("where",)}
# What the knowledge matcher finds -> the topic a clause naming it asks about.
MENTION_TOPICS = {MODE: "delivery", CAMPUS: "campus", UNKNOWN_TOPIC: "unknown_topic"}


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")


_STRONG = {topic: _pattern(phrases) for topic, phrases in CUE_PHRASES.items()}
_WEAK = {topic: _pattern(phrases) for topic, phrases in WEAK_PHRASES.items()}


def cue_topics(text: str, reading: Reading) -> dict[str, int]:
    """topic -> STRONG or WEAK, in the order the clause names them."""
    lowered = text.lower().replace("\u2019", "'")
    found: list[tuple[int, str, int]] = []  # (where, topic, strength)
    for topic, pattern in _STRONG.items():
        match = pattern.search(lowered)
        if match:
            found.append((match.start(), topic, STRONG))
    for topic, pattern in _WEAK.items():
        match = pattern.search(lowered)
        if match:
            found.append((match.start(), topic, WEAK))
    # Mentions come after words at the same place; a token index only orders them among themselves.
    found.extend(
        (len(lowered) + m.start, MENTION_TOPICS[m.kind], STRONG) for m in reading.mentions if m.kind in MENTION_TOPICS
    )
    if reading.places.named or reading.places.near_me:
        found.append((2 * len(lowered), "campus", STRONG))
    topics: dict[str, int] = {}
    for _, topic, strength in sorted(found):
        topics[topic] = max(strength, topics.get(topic, 0))
    return topics
