"""When visitors chat: conversations and turns per day and per hour of the week, and how many
come while the admissions office is closed (OFFICE_HOURS in TIMEZONE).

A conversation counts on the local day and hour of its first visitor message in the period; a
turn is one visitor message (typed or a button), on its own day and hour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from actions.insights.digest import Conversation
from actions.insights.settings import OfficeHours, Period


@dataclass(frozen=True)
class ActivityResult:
    days: list[tuple[date, int, int]]  # (local day, conversations, turns), every day of the period
    conversations_by_hour: list[list[int]]  # [weekday 0=Mon][hour]
    turns_by_hour: list[list[int]]
    conversations: int
    turns: int
    conversations_outside: int  # started while the office was closed
    turns_outside: int

    @property
    def share_outside(self) -> float:
        return self.conversations_outside / self.conversations if self.conversations else 0.0

    @property
    def turn_share_outside(self) -> float:
        return self.turns_outside / self.turns if self.turns else 0.0


class Activity:
    def __init__(self, period: Period, hours: OfficeHours) -> None:
        self.period, self.hours = period, hours
        self._conversations: Counter[tuple[date, int, int]] = Counter()  # (day, weekday, hour)
        self._turns: Counter[tuple[date, int, int]] = Counter()
        self._outside = [0, 0]  # conversations, turns

    def add(self, conversation: Conversation) -> None:
        for position, message in enumerate(conversation.messages):
            local = datetime.fromtimestamp(message.timestamp, self.period.zone)
            key = (local.date(), local.weekday(), local.hour)
            closed = not self.hours.open_at(local)
            self._turns[key] += 1
            self._outside[1] += closed
            if position == 0:
                self._conversations[key] += 1
                self._outside[0] += closed

    def result(self) -> ActivityResult:
        per_day_conversations: Counter[date] = Counter()
        per_day_turns: Counter[date] = Counter()
        by_hour = [[0] * 24 for _ in range(7)]
        turns_by_hour = [[0] * 24 for _ in range(7)]
        for (day, weekday, hour), count in self._conversations.items():
            per_day_conversations[day] += count
            by_hour[weekday][hour] += count
        for (day, weekday, hour), count in self._turns.items():
            per_day_turns[day] += count
            turns_by_hour[weekday][hour] += count
        return ActivityResult(
            days=[(day, per_day_conversations[day], per_day_turns[day]) for day in self.period.days()],
            conversations_by_hour=by_hour,
            turns_by_hour=turns_by_hour,
            conversations=sum(self._conversations.values()),
            turns=sum(self._turns.values()),
            conversations_outside=self._outside[0],
            turns_outside=self._outside[1],
        )
