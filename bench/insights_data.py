"""Synthetic conversations for the insights report's benchmark, written straight into a tracker
store's `events` table in the shape Rasa writes them (and, optionally, their leads).

    python -m bench.insights_data --conversations 100000 --out sqlite:///bench/results/tmp/insights.sqlite3 \
        [--leads sqlite:///bench/results/tmp/insights-leads.sqlite3] [--since 2026-09-01 --days 30]

Each conversation starts a session and then holds answered questions (with Rasa's full
parse_data: intent ranking, entities, tokens), and by chance an unknown topic, a message not
understood, a failed action (no stored reply), a follow-up offer, an inquiry form left at some
field or completed (with its lead), and thumbs up or down on answers (the feedback contract).
A conversation that reached the form is written redacted, as the tracker store keeps it once
the form ended or its session expired; `--raw` keeps the personal values (the worst case).
Seeded, so two runs make the same data. Rows go in with executemany, 20,000 at a time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from actions.insights.report import FORM_FIELDS
from actions.insights.source import events as events_table
from actions.privacy.personal_slots import PERSONAL_SLOTS, placeholder

BATCH = 20_000
MODEL_META = {"model_id": "5f2c8e0a9b7d4c1e", "assistant_id": "admissions"}
PROGRAMS = ("medical_billing_coding", "healthcare_it")
QUESTIONS = [  # (intent, text, response, program entity)
    (
        "ask_duration",
        "how long is the medical billing and coding program?",
        "reply_duration",
        "medical billing and coding",
    ),
    ("ask_duration", "how many months is health IT", "reply_duration", "health IT"),
    (
        "ask_delivery",
        "can I study health information technology online?",
        "reply_delivery_online",
        "health information technology",
    ),
    ("ask_campus", "which campuses offer billing and coding", "reply_where_offered", "billing and coding"),
    ("ask_difference", "what's the difference between coding and HIT?", "reply_difference_intro", None),
    ("ask_careers", "what jobs can I get after medical coding", "reply_careers", "medical coding"),
    ("ask_curriculum", "what will I learn in health IT?", "reply_curriculum", "health IT"),
    ("ask_program_info", "tell me about your programs", "reply_program_list", None),
    ("ask_fit", "which program is right for me?", "reply_fit_intro", None),
    ("ask_contact", "how do I reach admissions", "reply_contact", None),
]
UNKNOWN = [  # (text, topic name)
    ("how much does tuition cost?", "tuition and costs"),
    ("what does the program cost", "tuition and costs"),
    ("do you offer financial aid or scholarships?", "financial aid"),
    ("when does the next class start", "start dates"),
    ("is there parking on campus?", "housing and campus life"),
    ("are you accredited?", "accreditation"),
    ("what's the salary after graduating", "job placement and salaries"),
    ("please call me back at 706-555-0123 about fees", "tuition and costs"),
]
NOT_UNDERSTOOD = ["asdf qwerty", "purple monkey dishwasher", "hmm??", "can my dog come to class", "lol ok"]
INTENTS = [q[0] for q in QUESTIONS] + ["greet", "affirm", "deny", "inform", "thank", "goodbye"]
OFFICE_START, OFFICE_END = 8, 17


class Writer:
    """Buffers rows and writes them with executemany."""

    def __init__(self, connection: sa.engine.Connection) -> None:
        self.connection = connection
        self.rows: list[dict[str, Any]] = []
        self.written = 0

    def add(self, sender: str, event: dict[str, Any]) -> None:
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        self.rows.append(
            {
                "sender_id": sender,
                "type_name": event["event"],
                "timestamp": event["timestamp"],
                "intent_name": intent,
                "action_name": event.get("name"),
                "data": json.dumps(event),
            }
        )
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.connection.execute(events_table.insert(), self.rows)
            self.written += len(self.rows)
            self.rows = []


class Conversation:
    """One synthetic conversation's events, with a clock that moves a few seconds per event."""

    def __init__(self, rng: random.Random, start: float) -> None:
        self.rng, self.clock = rng, start
        self.events: list[dict[str, Any]] = []

    def tick(self, low: float = 0.01, high: float = 0.2) -> float:
        self.clock += self.rng.uniform(low, high)
        return round(self.clock, 6)

    def add(self, event: str, **data: Any) -> dict[str, Any]:
        made = {"event": event, "timestamp": self.tick(), **data}
        self.events.append(made)
        return made

    def action(self, name: str, policy: str = "RulePolicy") -> None:
        self.add(
            "action",
            metadata=dict(MODEL_META),
            name=name,
            policy=policy,
            confidence=1.0,
            action_text=None,
            hide_rule_turn=False,
        )

    def start(self, page: str) -> None:
        self.action("action_session_start", policy=None)  # type: ignore[arg-type]
        self.add("session_started", metadata={"page_url": page})
        self.action("action_listen")

    def user(self, text: str, intent: str, entities: list[dict[str, Any]] | None = None, page: str = "") -> None:
        self.clock += self.rng.uniform(4, 40)  # the visitor reads and types
        ranking = [{"name": intent, "confidence": round(self.rng.uniform(0.7, 0.99), 4)}]
        ranking += [
            {"name": other, "confidence": round(self.rng.uniform(0, 0.05), 4)}
            for other in self.rng.sample([i for i in INTENTS if i != intent], 9)
        ]
        message_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        metadata = {"page_url": page, "client": "203.0.113.7"}
        self.add(
            "user",
            metadata=metadata,
            text=text,
            parse_data={
                "intent": ranking[0],
                "entities": entities or [],
                "text": text,
                "message_id": message_id,
                "metadata": metadata,
                "text_tokens": [[i, i + 1] for i in range(0, min(len(text), 60), 5)],
                "intent_ranking": ranking,
            },
            input_channel="rest",
            message_id=message_id,
        )

    def bot(self, response: str, text: str, buttons: list[dict[str, str]] | None = None, **values: Any) -> None:
        self.add(
            "bot",
            metadata={"utter_action": response, **MODEL_META, **values},
            text=text,
            data={
                "elements": None,
                "quick_replies": None,
                "buttons": buttons,
                "attachment": None,
                "image": None,
                "custom": None,
            },
        )

    def slot(self, name: str, value: Any) -> None:
        self.add("slot", name=name, value=value)


NEXT_STEPS = [
    {"title": "Compare the programs", "payload": "/ask_difference"},
    {"title": "How long is it?", "payload": "/ask_duration"},
    {"title": "Is it online?", "payload": "/ask_delivery"},
    {"title": "Talk to admissions", "payload": "/ask_contact"},
]
OFFER_BUTTONS = [
    {"title": "Yes, have admissions contact me", "payload": "/request_inquiry"},
    {"title": "No thanks", "payload": "/deny"},
]


def question(c: Conversation, rng: random.Random, page: str) -> None:
    intent, text, response, program = rng.choice(QUESTIONS)
    if rng.random() < 0.15:  # a suggestion button
        text = f"/{intent}"
    entities = [{"entity": "program", "value": program, "start": 0, "end": len(program)}] if program else []
    c.user(text, intent, entities, page)
    c.action(f"action_answer_{intent.removeprefix('ask_')}")
    c.bot(response, f"An answer about {intent.removeprefix('ask_')} with its facts.", NEXT_STEPS)
    chosen = rng.choice(PROGRAMS)
    c.slot("last_topic", intent.removeprefix("ask_"))
    c.slot("last_campuses", [])
    c.slot("last_modes", [])
    c.slot("program", chosen)
    c.slot("last_programs", [chosen])
    c.slot("offered_inquiry", False)
    c.action("action_listen")


def unknown(c: Conversation, rng: random.Random, page: str) -> None:
    text, topic = rng.choice(UNKNOWN)
    c.user(text, "ask_unknown_topic", [], page)
    c.action("action_answer_unknown_topic")
    c.bot("reply_unknown_topic", f"I don't have information about {topic}. Call admissions.", topic=topic)
    c.bot("reply_inquiry_offer", "Would you like an admissions advisor to follow up with you?", OFFER_BUTTONS)
    c.slot("offered_inquiry", True)
    c.action("action_listen")


def not_understood(c: Conversation, rng: random.Random, page: str) -> None:
    c.user(rng.choice(NOT_UNDERSTOOD), "nlu_fallback", [], page)
    c.action("action_answer_fallback")
    c.bot("reply_fallback", "Sorry, I didn't catch that.")
    c.add("rewind")
    c.action("action_listen")


def failed(c: Conversation, rng: random.Random, page: str) -> None:
    intent, text, _response, _program = rng.choice(QUESTIONS)
    c.user(text, intent, [], page)
    c.action(f"action_answer_{intent.removeprefix('ask_')}")  # failed: its events were lost
    c.action("action_listen")


def form(c: Conversation, rng: random.Random, page: str, n: int, complete: bool, raw: bool) -> None:
    """The inquiry form, completed or left at a random field. Unless `raw`, the answers to its
    personal questions are their placeholders, as the tracker store's redaction leaves them once
    the form ended or its session expired (every conversation here is older than that)."""
    c.user("/request_inquiry", "request_inquiry", [], page)
    c.action("inquiry_form")
    c.add("active_loop", name="inquiry_form")
    answers = {
        "lead_name": f"Visitor {n}",
        "lead_email": f"visitor{n}@example.com",
        "lead_phone": f"+1706555{n % 10000:04d}",
        "lead_program": rng.choice(PROGRAMS),
        "lead_study_option": "online",
        "lead_contact_method": "email",
        "lead_consent": True,
        "lead_confirmed": True,
    }
    fields = [f for f in FORM_FIELDS if f != "lead_sms_consent"]
    stop_at = len(fields) if complete else rng.randrange(len(fields))
    for index, slot in enumerate(fields):
        c.slot("requested_slot", slot)
        c.bot(f"reply_ask_{slot}", f"The form's question for {slot}.")
        c.action("action_listen")
        if index == stop_at:
            return  # the visitor left here
        value = answers[slot] if raw or slot not in PERSONAL_SLOTS else placeholder(PERSONAL_SLOTS[slot])
        c.user(str(value) if not isinstance(value, bool) else "yes", "inform", [], page)
        c.action("inquiry_form")
        c.slot(slot, value)
    c.slot("requested_slot", None)
    c.add("active_loop", name=None)
    c.action("action_submit_inquiry")
    c.bot("reply_inquiry_saved", "Thank you! Your details are with the admissions office.")
    for slot in answers:
        c.slot(slot, None)
    c.action("action_listen")


def rate(c: Conversation, rng: random.Random) -> None:
    """Thumbs on some answers (feedback contract): a SlotSet naming the answer's timestamp."""
    answers = [e for e in c.events if e["event"] == "bot" and e["metadata"]["utter_action"] != "reply_inquiry_offer"]
    for answer in answers:
        if rng.random() < 0.2:
            c.slot(
                "answer_feedback", {"rating": "up" if rng.random() < 0.75 else "down", "answer": answer["timestamp"]}
            )


def conversation(rng: random.Random, n: int, start: float, raw: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The events of conversation n as the tracker store keeps them (see `form`), and whether it
    ended with a saved lead."""
    c = Conversation(rng, start)
    page = rng.choice(["https://college.example/", "https://college.example/programs/health-it"])
    c.start(page)
    c.user("hi", "greet", [], page)
    c.action("action_answer_greet")
    c.bot("reply_greet", "Hi! I'm the admissions assistant.", NEXT_STEPS)
    c.action("action_listen")
    for _ in range(rng.randint(1, 5)):
        question(c, rng, page)
    roll = rng.random()
    if roll < 0.15:
        unknown(c, rng, page)
    elif roll < 0.22:
        not_understood(c, rng, page)
    elif roll < 0.24:
        failed(c, rng, page)
    rate(c, rng)
    saved = False
    roll = rng.random()
    if roll < 0.10:
        form(c, rng, page, n, complete=True, raw=raw)
        saved = True
    elif roll < 0.18:
        form(c, rng, page, n, complete=False, raw=raw)
    return c.events, saved


def start_time(rng: random.Random, since: date, days: int) -> float:
    """A start in the period, two thirds of them in office hours (Eastern time, roughly)."""
    day = since + timedelta(days=rng.randrange(days))
    hour = rng.randrange(OFFICE_START, OFFICE_END) if rng.random() < 0.66 else rng.randrange(24)
    moment = datetime.combine(day, time(hour, rng.randrange(60)), timezone(timedelta(hours=-4)))
    return moment.timestamp()


def generate(
    count: int, since: date, days: int, seed: int, raw: bool = False
) -> Iterator[tuple[str, list[dict[str, Any]], bool]]:
    rng = random.Random(seed)
    for n in range(count):
        sender = f"bench-{uuid.UUID(int=rng.getrandbits(128))}"
        events, saved = conversation(rng, n, start_time(rng, since, days), raw)
        yield sender, events, saved


def write_leads(url: str, saved: list[tuple[str, float, int]]) -> None:
    from actions.inquiry.store import DELIVERED, PENDING, Lead, LeadStore, leads

    lead_store = LeadStore(url)
    lead_store.ensure_schema()
    rows = []
    for sender, at, n in saved:
        moment = datetime.fromtimestamp(at, timezone.utc)
        answers = {
            "name": f"Visitor {n}",
            "email": f"visitor{n}@example.com",
            "phone": f"+1706555{n % 10000:04d}",
            "program_id": PROGRAMS[n % 2],
            "study_option": "online",
            "contact_method": "email",
            "consent_given": True,
            "consent_text": "May the college's admissions office contact you?",
            "consent_at": moment,
        }
        lead = Lead(sender, answers, created_at=moment, delivery_status=DELIVERED if n % 3 else PENDING)
        rows.append(lead.row())
    with lead_store._engine.begin() as connection:  # bulk: LeadStore saves one at a time
        for begin in range(0, len(rows), 2000):
            connection.execute(leads.insert(), rows[begin : begin + 2000])
    lead_store.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.insights_data", description=__doc__.splitlines()[0])
    p.add_argument("--conversations", type=int, default=100_000)
    p.add_argument("--out", required=True, help="the tracker store's database URL (its events table is created)")
    p.add_argument("--leads", help="a lead store URL to write the completed forms' leads to")
    p.add_argument("--since", type=date.fromisoformat, default=date(2026, 9, 1))
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--raw", action="store_true", help="keep the forms' personal values (not redacted)")
    args = p.parse_args(argv)
    engine = sa.create_engine(args.out, future=True)
    events_table.metadata.create_all(engine)
    saved: list[tuple[str, float, int]] = []
    with engine.begin() as connection:
        writer = Writer(connection)
        made = generate(args.conversations, args.since, args.days, args.seed, args.raw)
        for n, (sender, events, lead) in enumerate(made):
            for event in events:
                writer.add(sender, event)
            if lead:
                saved.append((sender, events[-1]["timestamp"], n))
        writer.flush()
    engine.dispose()
    if args.leads:
        write_leads(args.leads, saved)
    print(f"wrote {args.conversations} conversations ({writer.written} events) and {len(saved)} completed forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
