"""What was asked: visitor messages per question type (intent) and per program, and the
suggestion buttons clicked.

A message typed at a personal form field (name, email, phone) is not a question and is not
counted; every other visitor message is, by the intent Rasa read in it. A message counts for
each program its answer was about (the answer's `last_programs`, else its `program` slot).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from actions.insights import names
from actions.insights.digest import Conversation


@dataclass(frozen=True)
class AskedResult:
    intents: list[tuple[str, str, int]]  # (intent, readable name, messages), most first
    programs: list[tuple[str, int]]  # (program name, messages), most first
    buttons: list[tuple[str, str, int]]  # (payload, button title, clicks), most first


class Asked:
    def __init__(self, program_names: dict[str, str]) -> None:
        self._program_names = program_names
        self._intents: Counter[str] = Counter()
        self._programs: Counter[str] = Counter()
        self._buttons: Counter[str] = Counter()

    def add(self, conversation: Conversation) -> None:
        for message in conversation.messages:
            if message.personal:
                continue
            self._intents[message.intent or ""] += 1
            self._programs.update(set(message.programs))
            if message.button:
                self._buttons[message.button] += 1

    def result(self) -> AskedResult:
        programs: Counter[str] = Counter()
        for program_id, count in self._programs.items():
            programs[self._program_names.get(program_id, program_id)] += count
        return AskedResult(
            intents=[(name, names.intent(name), count) for name, count in _ranked(self._intents)],
            programs=_ranked(programs),
            buttons=[(payload, names.button(payload), count) for payload, count in _ranked(self._buttons)],
        )


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Most first; equal counts in name order, so the report is the same every run."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
