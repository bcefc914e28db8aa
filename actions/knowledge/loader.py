"""Load the YAML knowledge base and refuse it, precisely, when it is wrong.

Every problem is reported as `file: entry: field: reason`, so the member of staff who
edited the file can find the line without reading Python.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from actions.knowledge.base import ONLINE, KnowledgeBase
from actions.knowledge.model import (
    CampusesFile,
    ContactFile,
    DefinitionsFile,
    ProgramsFile,
    UnknownTopicsFile,
)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "knowledge"
KNOWLEDGE_DIR_ENV = "KNOWLEDGE_DIR"

FileModel = TypeVar("FileModel", bound=BaseModel)


class KnowledgeError(ValueError):
    """The knowledge base cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid knowledge base:\n  " + "\n  ".join(problems))


def knowledge_dir() -> Path:
    return Path(os.environ.get(KNOWLEDGE_DIR_ENV) or DEFAULT_DIR)


def load_knowledge(directory: Path | None = None) -> KnowledgeBase:
    """Read and validate every knowledge file; raise KnowledgeError listing all problems."""
    directory = Path(directory or knowledge_dir())
    problems: list[str] = []
    files = {
        "programs.yml": ProgramsFile,
        "campuses.yml": CampusesFile,
        "definitions.yml": DefinitionsFile,
        "contact.yml": ContactFile,
        "unknown_topics.yml": UnknownTopicsFile,
    }
    parsed: dict[str, Any] = {}
    for name, model in files.items():
        parsed[name] = _parse_file(directory / name, model, problems)
    if problems:
        raise KnowledgeError(problems)

    programs: ProgramsFile = parsed["programs.yml"]
    campuses: CampusesFile = parsed["campuses.yml"]
    definitions: DefinitionsFile = parsed["definitions.yml"]
    problems.extend(_cross_check(programs, campuses))
    problems.extend(_duplicate_ids("programs.yml", "programs", (p.id for p in programs.programs)))
    problems.extend(_duplicate_ids("campuses.yml", "campuses", (c.id for c in campuses.campuses)))
    problems.extend(_ambiguous_aliases(programs, campuses))
    if problems:
        raise KnowledgeError(problems)

    return KnowledgeBase(
        programs=tuple(programs.programs),
        campuses=tuple(campuses.campuses),
        delivery_modes=dict(programs.delivery_modes),
        terms=tuple(definitions.terms),
        relationship=definitions.relationship,
        choosing=definitions.choosing,
        admissions=parsed["contact.yml"].admissions,
        unknown_topics=tuple(parsed["unknown_topics.yml"].topics),
    )


def _parse_file(path: Path, model: type[FileModel], problems: list[str]) -> FileModel | None:
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing (looked in {path.parent})")
        return None
    except UnicodeDecodeError as error:  # e.g. saved as Windows-1252 by an editor
        line = error.object[: error.start].count(b"\n") + 1
        problems.append(f"{path.name}: not UTF-8 text at line {line}: save the file with UTF-8 encoding")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{path.name}: {_yaml_problem(error, text)}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name}: must be a mapping of sections, found {type(data).__name__}")
        return None
    try:
        return model.parse_obj(data)
    except ValidationError as error:
        problems.extend(_describe(path.name, data, dict(e)) for e in error.errors())
        return None


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """`not valid YAML at line N: reason`, on one line, for each kind of error PyYAML raises."""
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow: no mark
        line = text.count("\n", 0, error.position) + 1
        return f"not valid YAML at line {line}: {str(error).splitlines()[0]}"
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark else ""
    return f"not valid YAML{where}: {getattr(error, 'problem', error)}"


def _describe(file_name: str, data: dict[str, Any], error: dict[str, Any]) -> str:
    """`programs.yml: programs[1] (id 'healthcare_it'): duration_months: reason`."""
    parts: list[str] = []
    node: Any = data
    for key in error["loc"]:
        if isinstance(key, int):
            label = f"{parts.pop() if parts else ''}[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and "id" in node:
                label += f" (id '{node['id']}')"
            parts.append(label)
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return f"{file_name}: {': '.join(parts)}: {error['msg']}"


def _cross_check(programs: ProgramsFile, campuses: CampusesFile) -> Iterable[str]:
    campus_ids = {c.id for c in campuses.campuses}
    modes = set(programs.delivery_modes) - {ONLINE}
    for index, program in enumerate(programs.programs):
        entry = f"programs.yml: programs[{index}] (id '{program.id}')"
        if program.online_campus and program.online_campus not in campus_ids:
            yield f"{entry}: online_campus: no campus with id '{program.online_campus}' in campuses.yml"
        if not program.delivery and not program.online_campus:
            yield f"{entry}: delivery: the program must be offered at a campus or online"
        for d_index, delivery in enumerate(program.delivery):
            if delivery.campus not in campus_ids:
                yield f"{entry}: delivery[{d_index}]: campus: no campus with id '{delivery.campus}' in campuses.yml"
            for mode in delivery.modes:
                if mode not in modes:
                    yield (
                        f"{entry}: delivery[{d_index}]: modes: unknown mode '{mode}' "
                        f"(known: {', '.join(sorted(modes))})"
                    )
    if ONLINE not in programs.delivery_modes:
        yield f"programs.yml: delivery_modes: must define '{ONLINE}'"


def _duplicate_ids(file_name: str, section: str, ids: Iterable[str]) -> Iterable[str]:
    seen = set()
    for index, identifier in enumerate(ids):
        if identifier in seen:
            yield f"{file_name}: {section}[{index}] (id '{identifier}'): id: used more than once"
        seen.add(identifier)


def _ambiguous_aliases(programs: ProgramsFile, campuses: CampusesFile) -> Iterable[str]:
    """An alias naming two programs (or two campuses) would make answers a coin toss."""
    named: list[tuple[str, str, list[tuple[str, list[str]]]]] = [
        ("programs.yml", "programs", [(p.id, [p.name, *p.aliases]) for p in programs.programs]),
        ("campuses.yml", "campuses", [(c.id, [c.city, *c.aliases]) for c in campuses.campuses]),
    ]
    for file_name, section, entries in named:
        owner: dict[str, str] = {}
        for index, (entry_id, names) in enumerate(entries):
            for alias in {n.lower() for n in names}:
                if alias in owner and owner[alias] != entry_id:
                    yield (
                        f"{file_name}: {section}[{index}] (id '{entry_id}'): aliases: "
                        f"'{alias}' already names '{owner[alias]}'"
                    )
                owner[alias] = entry_id
