"""Split a message into clauses, each of which may ask something of its own.

The NLU gives one intent per message, but "how long is it and is it online?" asks two
things. Sentences end at "?", "!", "." or ";"; inside one, a comma or a conjunction ("and",
"also", "plus", "or", "but", "then") starts a new clause only when the words after it open a
question ("and is it online", ", how long"). Anything else stays together: "online and on
campus", "<program> and <program>", "<city>, <state>" split nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from actions.language.question_shape import LEAD_INS, looks_like_question, opens_question

# As the matcher: nobody asks a new question after the first few sentences.
MAX_CHARS = 600
_SENTENCE_END = re.compile(r"[?!.;]+(?=\s|$)|\n")
_JOINER = re.compile(r",|&|\b(?:and|also|plus|or|but|then)\b", re.IGNORECASE)
# Ways to ask without a question word: "tell me how long it takes", "wondering whether it's online",
# and question words as typed in a hurry ("hw long", "whats", "wich").
_ASKING = re.compile(
    r"^(?:(?:" + "|".join(sorted(LEAD_INS)) + r")[\s,]+)*"
    r"(?:please\s+)?(?:tell me|let me know|explain|whether|i(?:'d| would)? like to know|id like to know"
    r"|i want to know|i wanna know|i need to know|i(?: was|'m)? wondering|wondering|i wonder|curious"
    r"|hw|hws|hows|whats|wat|wats|wht|wher|wheres|wich|whch)\b",
    re.IGNORECASE,
)
_STRIP = " \t,"


@dataclass(frozen=True)
class Clause:
    text: str
    # Character offsets in the message, so Rasa's entities can be placed in their clause.
    start: int
    end: int
    # Shaped like a question: only such a clause can be a question of its own.
    asks: bool


def clauses(text: str) -> list[Clause]:
    """The message's clauses in the visitor's order (one for a message that asks one thing)."""
    text = text[:MAX_CHARS]
    found: list[Clause] = []
    for start, end in _sentences(text):
        for part_start, part_end in _parts(text, start, end):
            clause = _clause(text, part_start, part_end)
            if clause:
                found.append(clause)
    return found


def asks(text: str) -> bool:
    """A question mark, a question word first, or a request to be told ("tell me how long...")."""
    return looks_like_question(text) or _opens_asking(text)


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for end in _SENTENCE_END.finditer(text):
        yield start, end.end()
        start = end.end()
    if start < len(text):
        yield start, len(text)


def _parts(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The sentence cut before each joiner that a question follows; the joiner is left out."""
    part_start = start
    for joiner in _JOINER.finditer(text, start, end):
        rest = text[joiner.end() : end]
        if text[part_start : joiner.start()].strip(_STRIP) and (opens_question(rest) or _opens_asking(rest)):
            yield part_start, joiner.start()
            part_start = joiner.end()
    yield part_start, end


def _opens_asking(text: str) -> bool:
    return bool(_ASKING.match(text.strip(_STRIP).replace("\u2019", "'")))


def _clause(text: str, start: int, end: int) -> Clause | None:
    piece = text[start:end]
    stripped = piece.strip(_STRIP)
    if not stripped.strip("?!.;"):
        return None
    begin = start + piece.index(stripped)
    return Clause(stripped, begin, begin + len(stripped), asks(stripped))
