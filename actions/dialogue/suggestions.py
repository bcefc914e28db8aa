"""Suggestion buttons: the next steps offered under an answer.

Buttons send an intent payload, so they work whatever the NLU model makes of their title,
and they rely on the remembered program ("Is it online?" after a duration answer).
"""

from __future__ import annotations

# key -> (title, payload). Titles are navigation labels, not facts.
CATALOG: dict[str, tuple[str, str]] = {
    "difference": ("Compare the programs", "/ask_difference"),
    "duration": ("How long is it?", "/ask_duration"),
    "delivery": ("Is it online?", "/ask_delivery"),
    "campus": ("Which campuses?", "/ask_campus"),
    "curriculum": ("What will I learn?", "/ask_curriculum"),
    "careers": ("Career paths", "/ask_careers"),
    "fit": ("Which one fits me?", "/ask_fit"),
    "contact": ("Talk to admissions", "/ask_contact"),
}
# What a visitor most often wants next, in order of usefulness.
PREFERENCE = ("difference", "duration", "delivery", "campus", "curriculum", "careers", "fit", "contact")
MAX_BUTTONS = 4


def next_steps(topic: str) -> list[dict[str, str]]:
    """Up to four follow-ups, never the question just answered; admissions last."""
    keys = [k for k in PREFERENCE if k not in (topic, "contact")][:MAX_BUTTONS]
    if topic != "contact":
        keys = [*keys[: MAX_BUTTONS - 1], "contact"]
    return [{"title": CATALOG[k][0], "payload": CATALOG[k][1]} for k in keys]


def inquiry_offer() -> list[dict[str, str]]:
    """Yes starts the inquiry form; no goes back to questions."""
    return [
        {"title": "Yes, have admissions contact me", "payload": "/request_inquiry"},
        {"title": "No thanks", "payload": "/deny"},
    ]
