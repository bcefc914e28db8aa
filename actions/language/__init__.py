"""spaCy-based recognisers built from the knowledge base."""

from __future__ import annotations

from functools import lru_cache

from actions import knowledge
from actions.language.matcher import CAMPUS, MODE, PROGRAM, TERM, UNKNOWN_TOPIC, KnowledgeMatcher, Mention


@lru_cache(maxsize=1)
def current() -> KnowledgeMatcher:
    """The matcher for the knowledge base the action server is answering from."""
    return KnowledgeMatcher(knowledge.current())


__all__ = ["CAMPUS", "MODE", "PROGRAM", "TERM", "UNKNOWN_TOPIC", "KnowledgeMatcher", "Mention", "current"]
