"""Find programs, campuses, terms and unknown topics in a visitor's raw text.

The patterns come from the knowledge base's names and aliases, so a new alias, campus or
program is recognised as soon as the action server restarts: no retraining. Exact matches
use spaCy's PhraseMatcher on lower-cased tokens; misspellings ("medcal biling") fall back
to a fuzzy comparison of token windows against multi-letter aliases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from actions.knowledge import KnowledgeBase
from actions.language.comparison import NO_COMPARISON, Comparison, ComparisonFinder
from actions.language.places import PlaceFinder, Places
from actions.language.references import Reference, find_references, points_back
from actions.language.similarity import FUZZY_MIN_LENGTH, FUZZY_THRESHOLD
from actions.language.similarity import similarity as _similarity

PROGRAM = "program"
CAMPUS = "campus"
TERM = "term"
UNKNOWN_TOPIC = "unknown_topic"
MODE = "mode"
KINDS = (PROGRAM, CAMPUS, TERM, UNKNOWN_TOPIC, MODE)

# Long messages are legal input but nobody names a program after the first few sentences;
# bounding the text keeps matching cost flat whatever a visitor pastes.
MAX_CHARS = 600
# Words that ask about every program at once ("how long are the programs?").
ALL_PROGRAMS_CUES = frozenset({"programs", "both", "each", "courses", "them", "they", "either", "two"})
# How visitors name the delivery modes, besides the knowledge base's own labels (the
# delivery_modes of programs.yml). Keys are mode ids; a mode the knowledge base lacks is skipped.
MODE_WORDS = {
    "on_campus": ["on campus", "on-campus", "in person", "in-person", "at the campus", "face to face", "on site"],
    "hybrid": ["hybrid", "blended", "part online"],
    "online": ["online", "on line", "remote", "remotely", "distance", "distance learning", "virtually", "from home"],
}


@dataclass(frozen=True)
class Mention:
    kind: str
    id: str
    text: str
    start: int  # token index, to keep mentions in the order the visitor wrote them


@dataclass(frozen=True)
class Reading:
    """What a message names: the knowledge base's entries, and places that are not campuses."""

    mentions: list[Mention]
    places: Places
    # What the programs are compared on, and the phrases pointing back at programs.
    comparison: Comparison = NO_COMPARISON
    references: tuple[Reference, ...] = ()
    # "it", "the program": about the program discussed (see references.points_back).
    points_back: bool = False


class KnowledgeMatcher:
    def __init__(self, kb: KnowledgeBase, nlp: Language | None = None) -> None:
        self._nlp = nlp or spacy.blank("en")
        self._exact = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._aliases: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
        for kind, identifier, names in _names(kb):
            patterns = [self._nlp.make_doc(name) for name in names]
            self._exact.add(f"{kind}:{identifier}", patterns)
            self._aliases[kind].extend((name.lower(), identifier) for name in names)
        self._places = PlaceFinder(self._nlp)
        self._comparisons = ComparisonFinder(self._nlp)

    def find(self, text: str) -> list[Mention]:
        """All mentions in `text`, longest match first where two overlap, in text order."""
        return [m for m, _ in self._spans(self._nlp.make_doc(text[:MAX_CHARS]))]

    def read(self, text: str) -> Reading:
        """Mentions, and places the knowledge base does not name (a campus alias wins)."""
        doc = self._nlp.make_doc(text[:MAX_CHARS])
        spans = self._spans(doc)
        taken = {i for _, span in spans for i in range(span.start, span.end)}
        places = self._places.find(doc)
        free = tuple(p for p in places.named if not taken.intersection(range(p.start, p.end)))
        references = tuple(find_references(doc, self._comparisons.cues(doc)))
        pointing = frozenset(i for r in references for i in r.tokens)
        comparison = self._comparisons.find(doc, skip=pointing)
        return Reading([m for m, _ in spans], Places(free, places.near_me), comparison, references, points_back(doc))

    def _spans(self, doc: Doc) -> list[tuple[Mention, Span]]:
        by_kind: dict[str, list[Span]] = {kind: [] for kind in KINDS}
        for match_id, start, end in self._exact(doc):
            kind, identifier = self._nlp.vocab.strings[match_id].split(":", 1)
            by_kind[kind].append(Span(doc, start, end, label=identifier))
        mentions: list[tuple[Mention, Span]] = []
        for kind, spans in by_kind.items():
            spans = filter_spans(spans + self._fuzzy(doc, kind, spans))
            mentions.extend((Mention(kind, s.label_, s.text, s.start), s) for s in spans)
        return sorted(mentions, key=lambda pair: pair[0].start)

    def resolve(self, kind: str, value: str) -> str | None:
        """Map a value Rasa extracted (or a payload id) to a knowledge-base id."""
        wanted = " ".join(value.lower().split())
        ids = {identifier for _, identifier in self._aliases[kind]}
        if wanted.replace(" ", "_") in ids:
            return wanted.replace(" ", "_")
        best = max(
            ((_similarity(wanted, alias), identifier) for alias, identifier in self._aliases[kind]),
            default=(0.0, None),
        )
        return best[1] if best[0] >= FUZZY_THRESHOLD else None

    def asks_about_all(self, text: str) -> bool:
        return any(t.lower_ in ALL_PROGRAMS_CUES for t in self._nlp.make_doc(text[:MAX_CHARS]))

    def _fuzzy(self, doc: Doc, kind: str, exact: Sequence[Span]) -> list[Span]:
        taken = {i for span in exact for i in range(span.start, span.end)}
        first_letters = [token.lower_[:1] for token in doc]
        found: list[Span] = []
        for alias, identifier in self._aliases[kind]:
            if len(alias) < FUZZY_MIN_LENGTH:
                continue
            width = len(alias.split())
            for start in range(len(doc) - width + 1):
                # _similarity rules out a different first letter; checking it here first
                # skips building most windows (the action server's largest cost per turn).
                if first_letters[start] != alias[0] or taken.intersection(range(start, start + width)):
                    continue
                window = doc[start : start + width]
                if _similarity(window.text.lower(), alias) >= FUZZY_THRESHOLD:
                    found.append(Span(doc, start, start + width, label=identifier))
        return found


def _names(kb: KnowledgeBase) -> Iterable[tuple[str, str, list[str]]]:
    for program in kb.programs:
        yield PROGRAM, program.id, [program.name, *program.aliases]
    for campus in kb.campuses:
        yield CAMPUS, campus.id, [campus.city, campus.label, *campus.aliases]
    for term in kb.terms:
        yield TERM, term.id, [term.name, *term.aliases]
    for topic in kb.unknown_topics:
        yield UNKNOWN_TOPIC, topic.id, [topic.name, *topic.aliases]
    for mode, label in kb.delivery_modes.items():
        yield MODE, mode, [label, *MODE_WORDS.get(mode, [])]
