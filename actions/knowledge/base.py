"""The validated knowledge base and the fact look-ups built on it."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    modes: tuple[str, ...]

    @property
    def online(self) -> bool:
        return self.modes == (ONLINE,)


@dataclass(frozen=True)
class KnowledgeBase:
    programs: tuple[Program, ...]
    campuses: tuple[Campus, ...]
    delivery_modes: dict[str, str]
    terms: tuple[Term, ...]
    relationship: Relationship
    choosing: str
    admissions: Admissions
    unknown_topics: tuple[UnknownTopic, ...]
    _programs_by_id: dict[str, Program] = field(init=False, repr=False, compare=False)
    _campuses_by_id: dict[str, Campus] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_programs_by_id", {p.id: p for p in self.programs})
        object.__setattr__(self, "_campuses_by_id", {c.id: c for c in self.campuses})

    def program(self, program_id: str) -> Program | None:
        return self._programs_by_id.get(program_id)

    def campus(self, campus_id: str) -> Campus | None:
        return self._campuses_by_id.get(campus_id)

    def term(self, term_id: str) -> Term | None:
        return next((t for t in self.terms if t.id == term_id), None)

    def unknown_topic(self, topic_id: str) -> UnknownTopic | None:
        return next((t for t in self.unknown_topics if t.id == topic_id), None)

    def mode_label(self, mode: str) -> str:
        return self.delivery_modes[mode]

    def offerings(self, program: Program) -> list[Offering]:
        """In-person offerings first (in file order), then online study, if any."""
        found = [Offering(program, self._campuses_by_id[d.campus], tuple(d.modes)) for d in program.delivery]
        if program.online_campus:
            found.append(Offering(program, self._campuses_by_id[program.online_campus], (ONLINE,)))
        return found

    def offerings_at(self, campus: Campus) -> list[Offering]:
        return [o for p in self.programs for o in self.offerings(p) if o.campus.id == campus.id]

    def online_campus(self, program: Program) -> Campus | None:
        return self.campus(program.online_campus) if program.online_campus else None
