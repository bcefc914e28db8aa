"""Find where a visitor points back at programs instead of naming them.

"the other one", "that one", "the second one", "the shorter one", "both": what they point at
depends on the conversation, which actions/dialogue/references.py knows; here they are only
found, in the order written.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc

from actions.language.comparison import WHAT, WHICH, Cue

OTHER = "other"
THIS = "this"
ORDINAL = "ordinal"
GROUP = "group"
EXTREME = "extreme"

# Nouns a visitor uses for a program after "the other", "that", "the second"...
HEADS = frozenset({"one", "ones", "program", "programs", "course", "courses", "option", "choice", "track"})
ORDINALS = {"first": 0, "1st": 0, "former": 0, "second": 1, "2nd": 1, "latter": -1, "third": 2, "3rd": 2, "last": -1}
# Ordinals that point by themselves ("the latter"), without "one" after them.
_STANDALONE = frozenset({"former", "latter"})
GROUPS = frozenset({"both", "either", "neither"})
_GROUP_PAIRS = frozenset({("the", "two"), ("these", "two"), ("those", "two"), ("each", "one")})
_DEMONSTRATIVES = frozenset({"that", "this", "same"})
# "Is it offered in <city>?", "is the program online?": the program discussed, whatever the question.
_PRONOUNS = frozenset({"it"})
_ONE_PROGRAM = frozenset({"program", "course", "track"})


@dataclass(frozen=True)
class Reference:
    kind: str
    start: int
    end: int
    index: int = 0  # ORDINAL: position in the list pointed at (-1: the last)
    cue: Cue | None = None  # EXTREME: the measure ("the shorter one": duration, least)

    @property
    def tokens(self) -> frozenset[int]:
        return frozenset(range(self.start, self.end))


def find_references(doc: Doc, cues: list[Cue]) -> list[Reference]:
    """References in text order. `cues` are the message's measures (ComparisonFinder.cues)."""
    words = [t.lower_ for t in doc]
    found: list[Reference] = []
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i else ""
        ends = _ends(doc, i + 1)
        if word in ("other", "another") and (after in HEADS or ends):
            found.append(Reference(OTHER, i - (before == "the"), i + 1 + (after in HEADS)))
        elif word in _DEMONSTRATIVES and after in HEADS and not (word == "same" and before != "the"):
            found.append(Reference(THIS, i, i + 2))
        elif word in ORDINALS and before == "the" and (after in HEADS or ends or word in _STANDALONE):
            found.append(Reference(ORDINAL, i - 1, i + 1 + (after in HEADS), index=ORDINALS[word]))
        elif word in GROUPS or (word, after) in _GROUP_PAIRS:
            found.append(Reference(GROUP, i, i + 1 + ((word, after) in _GROUP_PAIRS)))
    for cue in cues:
        follows = words[cue.end] if cue.end < len(words) else ""
        points = follows in HEADS or follows == "of" or _ends(doc, cue.end)
        # "which is the shorter one?" asks to pick; "is the shorter one online?" points.
        asks = _picks(words[max(0, cue.start - 4) : cue.start - 1])
        if cue.credential is None and cue.start and words[cue.start - 1] == "the" and points and not asks:
            found.append(Reference(EXTREME, cue.start - 1, cue.end + (follows in HEADS), cue=cue))
    return sorted(found, key=lambda r: r.start)


# Words between "what" and "the shorter one" when the question picks it ("what's", "what
# would be"); any other ("what jobs does the shorter one lead to") asks about the one pointed at.
_PICKING = frozenset({"is", "'s", "s", "was", "would", "will", "be"})


def _picks(before: list[str]) -> bool:
    """'which ...' or 'what's' just before "the <measure> one": a question that picks it."""
    for i, word in enumerate(before):
        if word in WHICH or (word in WHAT and all(w in _PICKING for w in before[i + 1 :])):
            return True
    return False


def _ends(doc: Doc, i: int) -> bool:
    """Nothing, or only punctuation or a conjunction, follows position i."""
    return i >= len(doc) or doc[i].is_punct or doc[i].lower_ in ("and", "or", "but", "too", "then")


def points_back(doc: Doc) -> bool:
    """'it' or 'the program': the message is about the program the conversation is on.

    Unlike a reference this picks no program; it tells "is it offered in <city>?" (about the
    program discussed) from "what is offered in <city>?" (about the campus).
    """
    words = [t.lower_ for t in doc]
    return any(
        word in _PRONOUNS or (word == "the" and i + 1 < len(words) and words[i + 1] in _ONE_PROGRAM)
        for i, word in enumerate(words)
    )
