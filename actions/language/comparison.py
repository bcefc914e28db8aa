"""Find what a visitor compares the programs on ("which one is shorter?").

A comparison names a measure (a cue: "shorter", "more campuses", "broader", "a certificate")
and often asks to pick ("which one", "... than ...", "what's the quickest"). The words are a
closed vocabulary read here exactly (and misspelt), so no intent or entity has to be
trained per measure and the figures come from the knowledge base (actions/knowledge/comparisons.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from actions.knowledge.comparisons import CAMPUSES, CREDENTIAL, DEGREE, DURATION, SCOPE
from actions.language.similarity import FUZZY_MIN_LENGTH, FUZZY_THRESHOLD, similarity


@dataclass(frozen=True)
class Cue:
    """One measure named: which end is asked (`most`: longer, broader, more campuses, higher),
    whether the words compare by themselves ("shorter") or only after "which" ("short",
    "a certificate"), and for credentials the one named."""

    dimension: str
    most: bool
    comparative: bool
    start: int
    end: int
    superlative: bool = False
    credential: str | None = None


# phrase -> (dimension, most, comparative, superlative)
_MEASURES: dict[str, tuple[str, bool, bool, bool]] = {}


def _add(dimension: str, most: bool, comparative: bool, superlative: bool, *phrases: str) -> None:
    for phrase in phrases:
        _MEASURES[phrase] = (dimension, most, comparative, superlative)


_add(DURATION, False, True, False, "shorter", "quicker", "faster", "sooner", "less time", "fewer months", "less amount")
_add(DURATION, False, True, True, "shortest", "quickest", "fastest", "soonest", "least time", "least amount")
_add(DURATION, True, True, False, "longer", "slower", "more time", "more months", "takes longer")
_add(DURATION, True, True, True, "longest", "slowest", "most time", "most months")
_add(DURATION, False, False, False, "short", "quick", "fast")
_add(SCOPE, True, True, False, "broader", "wider", "more general", "more broad", "covers more", "more topics")
_add(SCOPE, True, True, True, "broadest", "widest", "most general", "most topics")
_add(SCOPE, False, True, False, "narrower", "more focused", "more specialized", "more specific", "less broad")
_add(SCOPE, False, True, True, "narrowest", "most focused", "most specialized", "most specific")
_add(SCOPE, True, False, False, "broad", "wide range")
_add(SCOPE, False, False, False, "focused", "specialized", "narrow")
_add(CAMPUSES, True, True, False, "more campuses", "more locations", "more places", "more cities", "more campus")
_add(CAMPUSES, True, True, True, "most campuses", "most locations", "most places", "most cities")
_add(CAMPUSES, False, True, False, "fewer campuses", "less campuses", "fewer locations", "less locations")
_add(CAMPUSES, False, True, True, "fewest campuses", "fewest locations", "least campuses")
_add(CREDENTIAL, True, True, False, "higher credential", "higher degree", "more advanced", "higher level")
_add(CREDENTIAL, False, True, False, "lower credential", "lower degree", "less advanced", "lower level")
# A credential named: which program leads to it (asked with "which").
_CREDENTIALS = {
    "certificate": "certificate",
    "certificates": "certificate",
    "diploma": "diploma",
    "diplomas": "diploma",
    "associate": "associate",
    "associates": "associate",
    "bachelor": "bachelor",
    "bachelors": "bachelor",
    "master": "master",
    "masters": "master",
    "degree": DEGREE,
    "degrees": DEGREE,
}
# "No longer", "any longer": not about the programs' length.
_NEGATING = frozenset({"no", "any"})
# After "which", these nouns ask about something other than a program ("which campus").
NOT_PROGRAMS = frozenset(
    {
        "campus", "campuses", "location", "locations", "city", "cities", "state", "states", "place",
        "places", "mode", "modes", "format", "formats", "credential", "credentials", "degree", "degrees",
        "certificate", "certificates", "diploma", "career", "careers", "job", "jobs", "topic", "topics",
        "subject", "subjects", "class", "classes", "month", "months", "site", "sites", "way", "ways",
    }
)  # fmt: skip
WHICH = frozenset({"which", "wich", "whcih", "whichever"})
# "what's the quickest", "what is the longest": a superlative after these picks a program.
WHAT = frozenset({"what", "whats"})


@dataclass(frozen=True)
class Comparison:
    """The measures a message names, in order, and whether it asks to pick among programs."""

    cues: tuple[Cue, ...]
    chooser: bool
    # Lower-cased words of the message, for goals ("which one suits a coding specialist").
    words: tuple[str, ...]

    @property
    def compares(self) -> bool:
        """A comparative ("shorter") compares by itself; other measures only when picking."""
        return any(c.comparative for c in self.cues) or (self.chooser and bool(self.cues))


NO_COMPARISON = Comparison((), False, ())


class ComparisonFinder:
    def __init__(self, nlp: Language) -> None:
        self._matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for phrase in [*_MEASURES, *_CREDENTIALS]:
            self._matcher.add(phrase, [nlp.make_doc(phrase)])
        self._fuzzy = [p for p in [*_MEASURES, *_CREDENTIALS] if " " not in p and len(p) > FUZZY_MIN_LENGTH]

    def find(self, doc: Doc, skip: frozenset[int] = frozenset()) -> Comparison:
        """The cues outside token positions `skip` (references such as "the shorter one")."""
        every = self.cues(doc)
        cues = tuple(c for c in every if not skip.intersection(range(c.start, c.end)))
        return Comparison(cues, self._chooser(doc, every), tuple(t.lower_ for t in doc))

    def cues(self, doc: Doc) -> list[Cue]:
        found: dict[int, Cue] = {}
        negated: set[int] = set()
        for match_id, start, end in self._matcher(doc):
            cue = _cue(doc.vocab.strings[match_id], start, end)
            if cue and start and doc[start - 1].lower_ in _NEGATING and cue.dimension == DURATION:
                negated.update(range(start, end))
            elif cue and (start not in found or found[start].end < end):
                found[start] = cue
        taken = negated | {i for c in found.values() for i in range(c.start, c.end)}
        for token in doc:
            if token.i in taken or len(token) < FUZZY_MIN_LENGTH:
                continue
            best = max(self._fuzzy, key=lambda phrase: similarity(token.lower_, phrase))
            if similarity(token.lower_, best) >= FUZZY_THRESHOLD and (cue := _cue(best, token.i, token.i + 1)):
                found[token.i] = cue
        # A longer phrase wins over the words inside it ("more focused" over "focused").
        cues = sorted(found.values(), key=lambda c: (c.start, -c.end))
        kept: list[Cue] = []
        for cue in cues:
            if not kept or cue.start >= kept[-1].end:
                kept.append(cue)
        return kept

    @staticmethod
    def _chooser(doc: Doc, cues: list[Cue]) -> bool:
        tokens = [t.lower_ for t in doc]
        for i, word in enumerate(tokens):
            if word in WHICH and (i + 1 == len(tokens) or tokens[i + 1] not in NOT_PROGRAMS):
                return True
            if word == "than":
                return True
        # "what's the quickest?": a superlative within a few words of "what".
        whats = [i for i, word in enumerate(tokens) if word in WHAT]
        return any(c.superlative and any(0 < c.start - i <= 4 for i in whats) for c in cues)


def _cue(phrase: str, start: int, end: int) -> Cue | None:
    if phrase in _CREDENTIALS:
        return Cue(CREDENTIAL, True, False, start, end, credential=_CREDENTIALS[phrase])
    if phrase in _MEASURES:
        dimension, most, comparative, superlative = _MEASURES[phrase]
        return Cue(dimension, most, comparative, start, end, superlative)
    return None
