"""The choices the form offers, derived from the knowledge base.

Where to study depends on the program: only its real campuses, hybrid where offered, and
online through its online campus. Options are identified as `campus:mode`.

The language layer (spaCy) is imported only inside the functions that read a reply: the
field declarations import this module, and the lead store and the staff command line read
those declarations without needing spaCy's seconds of start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rasa_sdk import Tracker

from actions.knowledge import KnowledgeBase
from actions.knowledge.model import Program

if TYPE_CHECKING:
    from actions.language import KnowledgeMatcher

NOT_SURE = "not_sure"
CONTACT_METHODS = {"email": "email", "phone": "a phone call", "text": "text message"}
CONTACT_METHOD_WORDS = {
    "email": ("email", "e-mail", "mail"),
    "text": ("text", "sms", "texting", "message"),
    "phone": ("phone", "call", "calling", "ring"),
}
_NOT_SURE_WORDS = ("not sure", "unsure", "don't know", "dont know", "undecided", "either", "no idea", "both")


@dataclass(frozen=True)
class StudyOption:
    id: str  # "augusta:hybrid"
    label: str  # "Hybrid at City, ST"


def study_options(kb: KnowledgeBase, program_id: str | None) -> list[StudyOption]:
    """The program's options; every program's when it is unknown or "not sure"."""
    chosen = kb.program(program_id) if program_id else None
    programs = [chosen] if chosen else list(kb.programs)
    found: dict = {}
    for program in programs:
        for offering in kb.offerings(program):
            for mode in offering.modes:
                label = kb.mode_label(mode)
                text = f"{label[0].upper()}{label[1:]} " + (
                    f"through our {offering.campus.label} campus" if offering.online else f"at {offering.campus.label}"
                )
                found.setdefault(f"{offering.campus.id}:{mode}", text)
    return [StudyOption(key, text) for key, text in found.items()]


def match_study_option(
    kb: KnowledgeBase, matcher: KnowledgeMatcher, program_id: str | None, text: str
) -> StudyOption | None:
    """The option the visitor picked: a button label, or words naming a campus and/or mode."""
    options = study_options(kb, program_id)
    wanted = " ".join(text.lower().split())
    for option in options:
        if wanted in (option.label.lower(), option.id):
            return option
    campuses = {m.id for m in matcher.find(text) if m.kind == "campus"}
    modes = [mode for mode, label in kb.delivery_modes.items() if label.lower() in wanted or mode in wanted]
    if "campus" in wanted and "on_campus" not in modes and not campuses:
        modes.append("on_campus")
    candidates = [
        o
        for o in options
        if (not campuses or o.id.split(":")[0] in campuses) and (not modes or o.id.split(":")[1] in modes)
    ]
    if (campuses or modes) and len(candidates) == 1:
        return candidates[0]
    if campuses and len(candidates) > 1 and "on_campus" in {o.id.split(":")[1] for o in candidates} and not modes:
        return next(o for o in candidates if o.id.endswith(":on_campus"))
    return None


def study_option_label(kb: KnowledgeBase, program_id: str | None, option_id: str) -> str:
    """How an option reads on its button (the id itself if the knowledge base no longer has it)."""
    return next((o.label for o in study_options(kb, program_id) if o.id == option_id), option_id)


def discussed_program(kb: KnowledgeBase, tracker: Tracker) -> Program | None:
    """The program the conversation was about before the form: offered first, and "yes" picks it."""
    from actions.dialogue.context import PROGRAM_SLOT  # see the module docstring

    return kb.program(tracker.get_slot(PROGRAM_SLOT) or "")


def match_program(matcher: KnowledgeMatcher, text: str) -> str | None:
    from actions.language import PROGRAM  # see the module docstring

    lowered = text.lower()
    if any(word in lowered for word in _NOT_SURE_WORDS):
        return NOT_SURE
    programs = list(dict.fromkeys(m.id for m in matcher.find(text) if m.kind == PROGRAM))
    if len(programs) == 1:
        return programs[0]
    return matcher.resolve(PROGRAM, text)


def match_choice(words: Mapping[str, Sequence[str]], text: str) -> str | None:
    """The one choice whose words the text uses (none when it uses the words of several)."""
    lowered = text.lower()
    hits = [choice for choice, choice_words in words.items() if any(w in lowered for w in choice_words)]
    return hits[0] if len(hits) == 1 else None
