"""What the visitor is asking about: this turn's mentions first, then the conversation's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from rasa_sdk import Tracker

from actions.dialogue import references
from actions.knowledge import KnowledgeBase
from actions.knowledge.model import Campus, Program, Term, UnknownTopic
from actions.language import CAMPUS, MODE, PROGRAM, TERM, UNKNOWN_TOPIC, KnowledgeMatcher
from actions.language.clauses import Clause
from actions.language.comparison import NO_COMPARISON, Comparison
from actions.language.places import Places

PROGRAM_SLOT = "program"
TOPIC_SLOT = "last_topic"
# The programs the last answer was about, in its order ("the second one", "both").
LAST_PROGRAMS_SLOT = "last_programs"
# The campuses and modes (ids) the last yes-or-no answer was about ("and the other one?").
LAST_CAMPUSES_SLOT = "last_campuses"
LAST_MODES_SLOT = "last_modes"
OFFER_SLOT = "offered_inquiry"
# The entity the NLU's language step gives a message in another language (ISO 639-1 code).
LANGUAGE_ENTITY = "language"
# How sure the NLU must be of any intent (config.yml's FallbackClassifier threshold).
MIN_INTENT_CONFIDENCE = 0.2


@dataclass(frozen=True)
class Context:
    mentioned_programs: tuple[Program, ...]
    remembered_program: Program | None
    all_programs: tuple[Program, ...]
    asks_about_all: bool
    campuses: tuple[Campus, ...]
    unknown_places: tuple[str, ...]
    terms: tuple[Term, ...]
    unknown_topics: tuple[UnknownTopic, ...]
    previous_topic: str | None
    # Delivery modes named (ids of the knowledge base's delivery_modes), in the visitor's order.
    modes: tuple[str, ...] = ()
    # "Is there a campus near me?": a place only the visitor knows.
    near_me: bool = False
    # The question topic the NLU ranked best after its first choice ("and how long?" is a
    # follow-up first, then a duration question); None when none is likely enough.
    also_asks: str | None = None
    # The language of a message that is not in English ("es"); None for English.
    language: str | None = None
    # What the message compares the programs on ("which one is shorter?"), if anything.
    comparison: Comparison = NO_COMPARISON
    # "Is it offered in <city>?": the message points back at the program discussed ("it", "the program").
    points_back: bool = False
    # The campuses and modes the last yes-or-no answer was about, for a follow-up that names none.
    previous_campuses: tuple[Campus, ...] = ()
    previous_modes: tuple[str, ...] = ()

    @classmethod
    def about(cls, programs: tuple[Program, ...], all_programs: tuple[Program, ...] | None = None) -> Context:
        """A context naming exactly these programs and nothing else: to reuse a per-program handler."""
        return cls(
            mentioned_programs=programs,
            remembered_program=None,
            all_programs=programs if all_programs is None else all_programs,
            asks_about_all=False,
            campuses=(),
            unknown_places=(),
            terms=(),
            unknown_topics=(),
            previous_topic=None,
        )

    @property
    def programs(self) -> tuple[Program, ...]:
        """Programs the question is about: named now, else the one discussed, else all."""
        if self.mentioned_programs:
            return self.mentioned_programs
        if self.remembered_program and not self.asks_about_all:
            return (self.remembered_program,)
        return self.all_programs


def read_context(tracker: Tracker, kb: KnowledgeBase, matcher: KnowledgeMatcher, part: Clause | None = None) -> Context:
    """The latest message's context; with `part`, of that clause of it only (its words, its entities)."""
    message: dict[str, Any] = tracker.latest_message or {}
    text = message.get("text") or ""
    entities: list[dict[str, Any]] = message.get("entities") or []
    if part is not None:
        text = part.text
        entities = [e for e in entities if part.start <= int(e.get("start", -1)) < part.end]
    reading = matcher.read(text) if not text.startswith("/") else None
    mentions = reading.mentions if reading else []
    pointing = reading.references if reading else ()
    places = reading.places if reading else Places((), False)
    found: dict[str, list[str]] = {
        kind: [m.id for m in mentions if m.kind == kind] for kind in (PROGRAM, CAMPUS, TERM, UNKNOWN_TOPIC, MODE)
    }
    unknown_places: list[str] = []
    for place in places.named:
        # A state the college has campuses in ("in TN") names those campuses.
        in_state = [c.id for c in kb.campuses if place.state and c.state.upper() == place.state]
        found[CAMPUS].extend(in_state)
        if not in_state:
            unknown_places.append(place.name)
    # Rasa's entities catch what the matcher cannot know: payload ids and unknown places.
    for entity in entities:
        kind, value = entity.get("entity"), str(entity.get("value") or "")
        if kind not in (PROGRAM, CAMPUS) or not value.strip():
            continue
        resolved = matcher.resolve(kind, value)
        if resolved:
            found[kind].append(resolved)
        elif kind == CAMPUS and not places.near_me and not matcher.find(value):
            # (a value the matcher knows, "online" say, was tagged as a place by mistake;
            # "Dallas" is already in "Dallas, TX")
            extracted = value.strip().title()
            if not any(extracted.lower() in known.lower() for known in unknown_places):
                unknown_places.append(extracted)

    remembered = kb.program(tracker.get_slot(PROGRAM_SLOT) or "")
    # Named in the text (with where), then Rasa's entities (payloads) after the text.
    named = [(m.start, p) for m in mentions if m.kind == PROGRAM and (p := kb.program(m.id))]
    named += [
        (len(text), p) for p in _unique(kb.program(i) for i in found[PROGRAM]) if p.id not in {q.id for _, q in named}
    ]
    last = tracker.get_slot(LAST_PROGRAMS_SLOT) or []
    memory = references.Memory(remembered, _unique(kb.program(str(i)) for i in last))
    return Context(
        mentioned_programs=references.meant(kb, named, pointing, memory),
        remembered_program=remembered,
        all_programs=kb.programs,
        asks_about_all=matcher.asks_about_all(text),
        campuses=_unique(kb.campus(i) for i in found[CAMPUS]),
        unknown_places=tuple(dict.fromkeys(unknown_places)),
        modes=tuple(dict.fromkeys(found[MODE])),
        near_me=places.near_me,
        terms=_unique(kb.term(i) for i in found[TERM]),
        unknown_topics=_unique(kb.unknown_topic(i) for i in found[UNKNOWN_TOPIC]),
        previous_topic=tracker.get_slot(TOPIC_SLOT),
        also_asks=_also_asks(message),
        language=_language(message),
        comparison=reading.comparison if reading else NO_COMPARISON,
        points_back=bool(reading and reading.points_back),
        previous_campuses=_unique(kb.campus(str(i)) for i in tracker.get_slot(LAST_CAMPUSES_SLOT) or []),
        previous_modes=tuple(m for m in (tracker.get_slot(LAST_MODES_SLOT) or []) if m in kb.delivery_modes),
    )


def _language(message: dict[str, Any]) -> str | None:
    for entity in message.get("entities") or []:
        if entity.get("entity") == LANGUAGE_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def _also_asks(message: dict[str, Any]) -> str | None:
    ranking = message.get("intent_ranking") or []
    chosen = (message.get("intent") or {}).get("name")
    for intent in ranking:
        name = str(intent.get("name") or "")
        if name != chosen and name.startswith("ask_") and float(intent.get("confidence") or 0) >= MIN_INTENT_CONFIDENCE:
            return name.removeprefix("ask_")
    return None


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_Identified)


def _unique(items: Iterable[_T | None]) -> tuple[_T, ...]:
    """Drop Nones and repeats, keep the order the visitor used."""
    seen: dict[str, _T] = {}
    for item in items:
        if item is not None and item.id not in seen:
            seen[item.id] = item
    return tuple(seen.values())
