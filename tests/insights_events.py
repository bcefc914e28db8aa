"""Stored events as Rasa writes them, made by hand for the insights report's unit tests.

Each builder returns the event dict Rasa stores in its `events` table's `data` column (the
keys the report reads, and those Rasa adds around them), with a clock moving one second per
event, so a test says exactly what a conversation held.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from actions.insights.source import events as events_table


class Events:
    def __init__(self, start: datetime) -> None:
        self.clock = start.timestamp()
        self.list: list[dict[str, Any]] = []

    def _add(self, event: str, **data: Any) -> dict[str, Any]:
        self.clock += 1
        made = {"event": event, "timestamp": self.clock, **data}
        self.list.append(made)
        return made

    def user(self, text: str, intent: str | None = "ask_duration") -> dict[str, Any]:
        parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text, "intent_ranking": []}
        return self._add("user", text=text, parse_data=parse, input_channel="rest", metadata={})

    def bot(self, response: str | None, text: str = "an answer", **values: Any) -> dict[str, Any]:
        metadata = {"utter_action": response, **values} if response else {}
        return self._add("bot", text=text, data={"buttons": None}, metadata=metadata)

    def slot(self, name: str, value: Any) -> dict[str, Any]:
        return self._add("slot", name=name, value=value)

    def loop(self, name: str | None) -> dict[str, Any]:
        return self._add("active_loop", name=name)

    def action(self, name: str) -> dict[str, Any]:
        return self._add("action", name=name, policy="RulePolicy", confidence=1.0)

    def rate(self, answer: dict[str, Any], rating: str) -> dict[str, Any]:
        """A thumbs up or down on `answer`, as the feedback contract stores it."""
        return self.slot("answer_feedback", {"rating": rating, "answer": answer["timestamp"]})

    def form_until(self, field: str, answers: dict[str, str]) -> None:
        """The inquiry form started and answered field by field until it asks `field`."""
        self.user("/request_inquiry", "request_inquiry")
        self.loop("inquiry_form")
        for slot, value in answers.items():
            self.slot("requested_slot", slot)
            self.bot(f"reply_ask_{slot}", "a form question")
            if slot == field:
                return
            self.user(value, "inform")
            self.slot(slot, value)
        self.slot("requested_slot", field)
        self.bot(f"reply_ask_{field}", "a form question")


def write_store(path: Path, conversations: dict[str, list[dict[str, Any]]]) -> str:
    """A SQLite conversation store holding these conversations, rows as Rasa writes them; its URL."""
    return write_events(f"sqlite:///{path}", conversations)


def write_events(url: str, conversations: dict[str, list[dict[str, Any]]]) -> str:
    """These conversations written into the `events` table at `url` (created), as Rasa writes them."""
    engine = sa.create_engine(url, future=True)
    events_table.metadata.create_all(engine)
    with engine.begin() as connection:
        for sender, events in conversations.items():
            for event in events:
                connection.execute(
                    events_table.insert().values(
                        sender_id=sender,
                        type_name=event["event"],
                        timestamp=event["timestamp"],
                        intent_name=((event.get("parse_data") or {}).get("intent") or {}).get("name"),
                        action_name=event.get("name"),
                        data=json.dumps(event),
                    )
                )
    engine.dispose()
    return url


def endpoints_for(path: Path, url: str) -> Path:
    """An endpoints file whose tracker store is `url` (Rasa's `type: SQL` with a whole URL)."""
    path.write_text(f'tracker_store:\n  type: SQL\n  url: "{url}"\n')
    return path
