"""Whether a message is shaped like a question, whatever the NLU made of it.

Inside the inquiry form almost any words could be a name, so the NLU's intent alone cannot
keep "and how long?" or "how long is it" from being taken as one. The shape decides: a
question mark, or a first word (after "and", "so", "ok"...) that opens a question.

Some question words are also first names ("Will Smith", "May Chen", "Can Yilmaz", the
surname "Do"). Those open a question only when a subject follows them ("will it", "can I",
"do you"); the others ("what", "how", "is", "does"...) are never names and open one alone.
Words are whole words between spaces, so "who@example.com" or "Isa" opens nothing.
"""

from __future__ import annotations

import re

# Never a name: the first word alone makes a question ("how long is it", "is it online").
QUESTION_WORDS = frozenset(
    {
        *("what", "how", "which", "where", "when", "why", "who", "whom", "whose"),
        *("is", "are", "was", "were", "does", "did", "could", "would", "should", "shall"),
        *("isn't", "aren't", "wasn't", "weren't", "doesn't", "didn't", "don't", "can't", "won't"),
        *("couldn't", "wouldn't", "shouldn't"),
    }
)
# Also first names or surnames: a question only with a subject after them ("can I", not "Can Yilmaz").
NAME_LIKE_QUESTION_WORDS = frozenset({"will", "may", "can", "do"})
SUBJECTS = frozenset(
    {
        *("i", "you", "u", "we", "they", "he", "she", "it", "there", "one", "anyone", "someone", "somebody"),
        *("this", "that", "these", "those", "the", "a", "an", "my", "your", "our", "their", "its", "any", "not"),
    }
)
# Openers that come before the question itself: "and how long?", "ok so is it online".
LEAD_INS = frozenset({"and", "but", "so", "ok", "okay", "oh", "also", "well", "then", "hmm", "um", "sorry", "wait"})
_PUNCTUATION = ".,;:!\"'()\u2018\u2019\u201c\u201d"
_POSSESSIVE = re.compile(r"'s$")  # "what's", "how's", "where's"


def looks_like_question(text: str) -> bool:
    """True for a question mark anywhere, or a first word that opens a question."""
    return "?" in text or opens_question(text)


def opens_question(text: str) -> bool:
    """True when the first word (after "and", "so", "ok"...) opens a question, whatever the punctuation.

    Where a message is split into clauses ("how long is it and is it online"), this is what
    tells a second question from "and on campus".
    """
    words = _words(text)
    while words and words[0] in LEAD_INS:
        words = words[1:]
    if not words:
        return False
    first = _POSSESSIVE.sub("", words[0])
    if first in QUESTION_WORDS:
        return True
    return first in NAME_LIKE_QUESTION_WORDS and len(words) > 1 and words[1] in SUBJECTS


def _words(text: str) -> list[str]:
    """Lower-cased words between spaces, without the punctuation around them; curly apostrophes made straight."""
    words = (word.strip(_PUNCTUATION).replace("\u2019", "'") for word in text.lower().split())
    return [word for word in words if word]
