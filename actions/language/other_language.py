"""Whether a message is clearly not English, and in which language it is.

The assistant answers in English only; a message in another language gets a short reply
saying so (in Spanish for Spanish). The language is told by lingua, from character n-gram
models, not from a word list. What would mislead it is taken out first:

- the knowledge base's own names (program and campus names), which are
  English in any sentence;
- proper names: a capitalised word that does not start a sentence ("my name is José
  Gutiérrez", "a campus near San Antonio"), unless the whole message is in capitals;
- addresses and numbers (an email, a phone number).

What is left must be long enough to judge: short English ("gotta go", "uh huh") is scored
as German or Italian as often as English, so a Latin-script message needs MIN_WORDS words
left. A message in another script (Chinese, Arabic, Cyrillic...) cannot be English, however
short. In Latin script the winning language must be sure (MIN_CONFIDENCE) and English
unlikely (MAX_ENGLISH).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from actions.knowledge import KnowledgeBase

# The Latin-script languages told apart (their models are loaded up front, ~30-50 MB each,
# see tests/README.md): English, Spanish, the languages that would otherwise be taken for
# Spanish (Vietnamese too, for its accents), and German and Dutch, which without a model of
# their own pass as English. Tagalog is left out: it claimed "are you chatgpt". Every English
# example the NLU learns or is scored on stays English with these (tests/test_other_language.py).
# A message in another script needs no model: it cannot be English (its language is UNDETERMINED).
LANGUAGES = (
    Language.ENGLISH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.ITALIAN,
    Language.FRENCH,
    Language.VIETNAMESE,
    Language.GERMAN,
    Language.DUTCH,
)
UNDETERMINED = "und"  # ISO 639-2's code for a language not identified
MIN_WORDS = 3
# Two words are enough when lingua's rules are certain: letters only Spanish has ("¿", "ñ").
MIN_WORDS_IF_CERTAIN = 2
CERTAIN = 0.99
MIN_CONFIDENCE = 0.5
MAX_ENGLISH = 0.15
# Nobody changes language after the first few sentences; bounding the text bounds the cost.
MAX_CHARS = 400

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?¿¡:;]$")
_NOT_WORDS = re.compile(r"\S*[@\d/]\S*")  # emails, phone numbers, links, "ICD-10"


@dataclass(frozen=True)
class Detected:
    language: str  # ISO 639-1 code: "es"
    confidence: float  # lingua's, among LANGUAGES


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    """Built once per process, every model loaded up front: no first-message pause."""
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).with_preloaded_language_models().build()


def known_names(kb: KnowledgeBase) -> list[str]:
    """The knowledge base's names for its programs and campuses: English whatever surrounds them."""
    names = [name for p in kb.programs for name in (p.name, *p.aliases)]
    names += [name for c in kb.campuses for name in (c.city, *c.aliases)]
    return names


class LanguageGuard:
    """Tells messages clearly not in English; built once from the knowledge base's names."""

    def __init__(self, names: Iterable[str], lingua: LanguageDetector | None = None) -> None:
        ordered = sorted({n.strip().lower() for n in names if n.strip()}, key=len, reverse=True)
        alternatives = "|".join(re.escape(name) for name in ordered)
        self._names = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if ordered else None
        self._lingua = lingua or detector()

    def detect(self, text: str) -> Detected | None:
        """The message's language when it is clearly not English; None for English or too little to tell."""
        words = self.judged_words(text)
        if not words:
            return None
        if not _mostly_latin(words):
            return Detected(UNDETERMINED, 1.0)
        if len(words) < MIN_WORDS_IF_CERTAIN:
            return None
        found = self._verdict(" ".join(words))
        if found is None or len(words) >= MIN_WORDS or found.confidence >= CERTAIN:
            return found
        return None

    def judged_words(self, text: str) -> list[str]:
        """The words the language is judged by: without known names, proper names, addresses or numbers."""
        text = text[:MAX_CHARS]
        if text.startswith("/"):  # a button's payload
            return []
        if self._names:
            text = self._names.sub(" ", text)
        text = _NOT_WORDS.sub(" ", text)
        tokens = text.split()
        shouting = not any(ch.islower() for ch in text)  # "QUIERO SABER MAS": capitals name nothing
        kept: list[str] = []
        starts_sentence = True
        for token in tokens:
            words = _WORD.findall(token)
            if words and (starts_sentence or shouting or not words[0][:1].isupper()):
                kept.extend(words)
            if words or _SENTENCE_END.search(token):  # a lone "¿" opens one, "hola," goes on
                starts_sentence = bool(_SENTENCE_END.search(token))
        return kept

    def _verdict(self, judged: str) -> Detected | None:
        values = self._lingua.compute_language_confidence_values(judged)
        english = next((v.value for v in values if v.language == Language.ENGLISH), 0.0)
        top = values[0]
        if top.language == Language.ENGLISH or top.value < MIN_CONFIDENCE or english > MAX_ENGLISH:
            return None
        return Detected(top.language.iso_code_639_1.name.lower(), top.value)


def _mostly_latin(words: list[str]) -> bool:
    letters = [ch for word in words for ch in word]
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin * 2 >= len(letters)
