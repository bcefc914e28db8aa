"""What "the other one", "that one", "the second one", "the shorter one" and "both" point at.

They point into the conversation: the program it is on (the `program` slot) and the
programs of the last answer, in the order it gave them (the `last_programs` slot). What
cannot be resolved (no program discussed yet) points at nothing, and the message is read
as if it named no program.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from actions.knowledge import KnowledgeBase, comparisons
from actions.knowledge.model import Program
from actions.language.references import EXTREME, GROUP, ORDINAL, OTHER, THIS, Reference


@dataclass(frozen=True)
class Memory:
    focus: Program | None  # the program the conversation is on
    last: tuple[Program, ...]  # the last answer's programs, in its order


def meant(
    kb: KnowledgeBase, named: Sequence[tuple[int, Program]], references: Sequence[Reference], memory: Memory
) -> tuple[Program, ...]:
    """The programs a message is about, named or pointed at, in the order written.

    `named` holds each program named with its token position. "The other one" next to a
    named program is the other one than that, and "the shorter one" among named programs
    is one of them: the named ones give way to what the reference picked.
    """
    names = _unique(p for _, p in named)
    picked: list[tuple[int, Program]] = []
    replaced = False
    for reference in references:
        found = point(kb, reference, names, memory)
        picks = (reference.kind == OTHER and names) or (reference.kind == EXTREME and len(names) > 1)
        replaced = replaced or bool(picks and found)
        picked.extend((reference.start, p) for p in found)
    if not replaced:
        picked.extend(named)
    return _unique(p for _, p in sorted(picked, key=lambda pair: pair[0]))


def point(kb: KnowledgeBase, reference: Reference, names: tuple[Program, ...], memory: Memory) -> tuple[Program, ...]:
    """The programs one reference points at (none when the conversation cannot tell)."""
    last = memory.last if len(memory.last) > 1 else ()
    if reference.kind == OTHER:
        base = names or ((memory.focus,) if memory.focus else memory.last if len(memory.last) == 1 else ())
        if not base:
            return ()
        pool = last if {p.id for p in base} < {p.id for p in last} else kb.programs
        return tuple(p for p in pool if p not in base)
    if reference.kind == THIS:
        return (memory.focus,) if memory.focus else memory.last if len(memory.last) == 1 else ()
    if reference.kind == ORDINAL:
        listed = last or kb.programs
        index = reference.index
        return (listed[index],) if -len(listed) <= index < len(listed) else ()
    if reference.kind == GROUP:
        return () if names else (last or kb.programs)
    if reference.kind == EXTREME and reference.cue:
        pool = names if len(names) > 1 else (last or kb.programs)
        return comparisons.by(kb, pool, reference.cue.dimension, reference.cue.most).leaders
    return ()


def _unique(programs: Iterable[Program]) -> tuple[Program, ...]:
    return tuple({p.id: p for p in programs}.values())
