"""Program facts: loaded once from knowledge/*.yml, validated, then read-only."""

from __future__ import annotations

from functools import lru_cache

from actions.knowledge.base import KnowledgeBase, Offering
from actions.knowledge.loader import KnowledgeError, knowledge_dir, load_knowledge


@lru_cache(maxsize=1)
def current() -> KnowledgeBase:
    """The knowledge base the running action server answers from (loaded on first use)."""
    return load_knowledge(knowledge_dir())


__all__ = ["KnowledgeBase", "KnowledgeError", "Offering", "current", "knowledge_dir", "load_knowledge"]
