"""The validated knowledge base and the fact look-ups built on it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from actions.knowledge.model import (
    Admissions,
    Campus,
    Program,
    Relationship,
    Term,
    UnknownTopic,
)

ONLINE = "online"


@dataclass(frozen=True)
class Offering:
    """One way to take a program: at a campus in some modes, or online through a campus."""

    program: Program
    campus: Campus
    modes: Tuple[str, ...]

    @property
    def online(self) -> bool:
        return self.modes == (ONLINE,)


@dataclass(frozen=True)
class KnowledgeBase:
    programs: Tuple[Program, ...]
    campuses: Tuple[Campus, ...]
    delivery_modes: Dict[str, str]
    terms: Tuple[Term, ...]
    relationship: Relationship
    choosing: str
    admissions: Admissions
    unknown_topics: Tuple[UnknownTopic, ...]
    _programs_by_id: Dict[str, Program] = field(init=False, repr=False, compare=False)
    _campuses_by_id: Dict[str, Campus] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_programs_by_id", {p.id: p for p in self.programs})
        object.__setattr__(self, "_campuses_by_id", {c.id: c for c in self.campuses})

    def program(self, program_id: str) -> Optional[Program]:
        return self._programs_by_id.get(program_id)

    def campus(self, campus_id: str) -> Optional[Campus]:
        return self._campuses_by_id.get(campus_id)

    def term(self, term_id: str) -> Optional[Term]:
        return next((t for t in self.terms if t.id == term_id), None)

    def unknown_topic(self, topic_id: str) -> Optional[UnknownTopic]:
        return next((t for t in self.unknown_topics if t.id == topic_id), None)

    def mode_label(self, mode: str) -> str:
        return self.delivery_modes[mode]

    def offerings(self, program: Program) -> List[Offering]:
        """In-person offerings first (in file order), then online study, if any."""
        found = [
            Offering(program, self._campuses_by_id[d.campus], tuple(d.modes))
            for d in program.delivery
        ]
        if program.online_campus:
            found.append(Offering(program, self._campuses_by_id[program.online_campus], (ONLINE,)))
        return found

    def offerings_at(self, campus: Campus) -> List[Offering]:
        return [o for p in self.programs for o in self.offerings(p) if o.campus.id == campus.id]

    def online_campus(self, program: Program) -> Optional[Campus]:
        return self.campus(program.online_campus) if program.online_campus else None
