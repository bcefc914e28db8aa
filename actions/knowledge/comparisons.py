"""Compare programs on one measure, as a query over the knowledge base.

Every figure is read from programs.yml when the question is asked, so a program staff add
takes part in every comparison without code changes. A ranking keeps ties: programs level
on the measure lead together, and a measure on which all are level says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from actions.knowledge.base import KnowledgeBase
from actions.knowledge.model import Campus, Program

DURATION = "duration"
CAMPUSES = "campuses"
SCOPE = "scope"
CREDENTIAL = "credential"
DIMENSIONS = (DURATION, CAMPUSES, SCOPE, CREDENTIAL)

# How programs.yml words a scope ("a broad range of topics", "a narrower, more focused
# range"): the words that place it at the broad or the focused end. Neither: in between.
BROAD_WORDS = frozenset({"broad", "broader", "broadest", "wide", "wider", "widest", "general", "umbrella"})
FOCUSED_WORDS = frozenset({"narrow", "narrower", "narrowest", "focused", "specialized", "specialised", "specific"})
# The usual US credential ladder, to read a typical_credential text ("at least an associate's
# degree") and a visitor's words ("a certificate") alike. "degree" asks for any degree.
CREDENTIAL_LEVELS = {"certificate": 1, "diploma": 1, "associate": 2, "bachelor": 3, "master": 4, "doctorate": 5}
DEGREE = "degree"
DEGREE_LEVEL = CREDENTIAL_LEVELS["associate"]


@dataclass(frozen=True)
class Ranking:
    """Programs at the asked end of a measure (several when tied), then the others."""

    leaders: tuple[Program, ...]
    rest: tuple[Program, ...]

    @property
    def level(self) -> bool:
        """Every program compared is level on the measure."""
        return not self.rest


def rank(programs: Sequence[Program], measure: Callable[[Program], float], most: bool) -> Ranking:
    """Rank by `measure`, highest first when `most`; ties keep the file's order."""
    if not programs:
        raise ValueError("nothing to compare")
    ordered = sorted(programs, key=measure, reverse=most)
    top = measure(ordered[0])
    return Ranking(tuple(p for p in ordered if measure(p) == top), tuple(p for p in ordered if measure(p) != top))


def by_duration(programs: Sequence[Program], longest: bool) -> Ranking:
    return rank(programs, lambda p: p.duration_months, longest)


def campuses_of(kb: KnowledgeBase, program: Program) -> tuple[Campus, ...]:
    """The campuses a program is taught at in person, in file order (online is not a campus)."""
    found = (kb.campus(d.campus) for d in program.delivery)
    return tuple({c.id: c for c in found if c is not None}.values())


def by_campuses(kb: KnowledgeBase, programs: Sequence[Program], most: bool) -> Ranking:
    return rank(programs, lambda p: len(campuses_of(kb, p)), most)


def breadth(program: Program) -> int:
    """1 for a scope worded as broad, -1 as focused, 0 for neither (or both)."""
    words = set(_words(program.scope))
    return int(bool(words & BROAD_WORDS)) - int(bool(words & FOCUSED_WORDS))


def by_scope(programs: Sequence[Program], broadest: bool) -> Ranking:
    return rank(programs, breadth, broadest)


def credential_level(program: Program) -> int:
    """The highest rung of the ladder its typical credential names (0: none named)."""
    return max((CREDENTIAL_LEVELS.get(word, 0) for word in _words(program.typical_credential)), default=0)


def by_credential(programs: Sequence[Program], highest: bool) -> Ranking:
    return rank(programs, credential_level, highest)


def leads_to(program: Program, credential: str) -> bool:
    """Whether its typical credential names the one asked about ("degree": any degree)."""
    words = _words(program.typical_credential)
    if credential == DEGREE:
        return any(CREDENTIAL_LEVELS.get(word, 0) >= DEGREE_LEVEL for word in words)
    return credential in words


# Words that say nothing about a goal: everyone wants to "work" in a "career" that "fits".
GENERIC_WORDS = frozenset(
    {
        "want", "work", "job", "career", "field", "good", "better", "best", "fit", "suit", "someone",
        "become", "program", "person", "people", "interest", "help", "choose", "pick", "right", "goal",
        "plan", "learn", "study", "take", "love", "enjoy", "thing", "stuff", "kind", "type", "like",
        "day", "dream", "option", "course", "role", "need", "think", "sound",
    }
)  # fmt: skip
# Inflections stripped before comparing words ("keeping" ~ "keep", "safely" ~ "safe" ~
# "safety", "coder" ~ "coding"); longest first.
_SUFFIXES = ("ingly", "ities", "ing", "ers", "ity", "ety", "ies", "ed", "er", "es", "ly", "s", "e", "y")
MIN_STEM = 3


def stem(word: str) -> str:
    """A rough stem: enough to tell that two words of a goal and a program text agree."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return stem(word[: -len(suffix)])
    return word


def goal_stems(words: Iterable[str]) -> tuple[str, ...]:
    """The stems of a visitor's words that could name a goal, in order, without repeats."""
    generic = {stem(w) for w in GENERIC_WORDS}
    stems = (stem(w) for w in words if w.isalpha() and len(w) >= MIN_STEM and w not in STOP_WORDS)
    return tuple(dict.fromkeys(s for s in stems if s not in generic))


def program_stems(program: Program) -> frozenset[str]:
    """What the knowledge base says a program leads to and suits, as stems."""
    texts = [*program.careers, program.career_summary, program.suits, program.scope, *program.topics_covered]
    return frozenset(stem(w) for text in texts for w in _words(text))


def by_goal(programs: Sequence[Program], words: Iterable[str]) -> Ranking | None:
    """The programs whose careers, suits and topics share most of the goal's words.

    A word every compared program's text shares tells them apart no better than none; the
    rest count 1 each, shared by fewer programs counting more. None when no word tells.
    """
    if not programs:
        return None
    texts = {p.id: program_stems(p) for p in programs}
    scores = dict.fromkeys(texts, 0.0)
    for word in goal_stems(words):
        having = [pid for pid, found in texts.items() if word in found]
        if 0 < len(having) < len(programs):
            for pid in having:
                scores[pid] += 1 / len(having)
    if not any(scores.values()):
        return None
    return rank(programs, lambda p: scores[p.id], most=True)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def by(kb: KnowledgeBase, programs: Sequence[Program], dimension: str, most: bool) -> Ranking:
    """Rank on one of DIMENSIONS ("the shorter one": by(kb, programs, DURATION, most=False))."""
    if dimension == DURATION:
        return by_duration(programs, most)
    if dimension == CAMPUSES:
        return by_campuses(kb, programs, most)
    if dimension == SCOPE:
        return by_scope(programs, most)
    if dimension == CREDENTIAL:
        return by_credential(programs, most)
    raise ValueError(f"no such measure: {dimension!r}")
