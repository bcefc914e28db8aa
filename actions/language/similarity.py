"""How close a visitor's word is to a known one: typos, not synonyms."""

from __future__ import annotations

from difflib import SequenceMatcher

FUZZY_MIN_LENGTH = 5
FUZZY_THRESHOLD = 0.84


def similarity(candidate: str, known: str) -> float:
    """0..1 closeness; typos rarely hit the first letter, so a different one rules it out."""
    if not candidate or candidate[0] != known[0] or abs(len(candidate) - len(known)) > 3:
        return 0.0
    matcher = SequenceMatcher(None, candidate, known)
    if matcher.quick_ratio() < FUZZY_THRESHOLD:
        return 0.0
    return matcher.ratio()
