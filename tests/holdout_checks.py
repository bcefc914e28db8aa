"""What a right reply must contain, checked against the knowledge base, not against wording.

The held-out conversations (tests/conversations_holdout.yml) state each turn's expectation as
named checks (`duration_of: healthcare_it`, `yes: false`, `campus_list: true`...). Each check
here reads the facts it needs from the knowledge base at run time and the sentences it
recognises from domain.yml through Rasa's own generator, so staff editing knowledge/ or the
wording does not make a right answer look wrong. What a check asks is what issue 11 asks:
a yes or no first, the figures, the program the visitor meant named first.

A reply is split into sentences. "First" means the first sentence of the reply (or of the
part a `then` check looks at, see `turn_failures`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from actions.knowledge import KnowledgeBase
from actions.knowledge.base import ONLINE
from actions.knowledge.model import Program
from tests.replies import PLACEHOLDER, Replies

# A sentence ends at . ! or ? followed by a space and a capital (or an opening ¿ ¡ "), so
# "15 months vs. 18" and "Chattanooga, TN" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\u00bf\u00a1\u00c0-\u00de\"'(])")
_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|not|none|neither)\b", re.IGNORECASE)
# The responses the inquiry form asks its fields with: reply_ask_lead_<field>[_variant].
FIELD_PROMPT_PREFIX = "reply_ask_lead_"
INQUIRY_OFFER_RESPONSE = "reply_inquiry_offer"
INQUIRY_PAYLOAD = "/request_inquiry"
UNKNOWN_TOPIC_GENERIC = "reply_unknown_topic_generic"
# Languages a reply is told apart in; a check names one of them by its ISO 639-1 code.
REPLY_LANGUAGES = {
    "en": Language.ENGLISH,
    "es": Language.SPANISH,
    "fr": Language.FRENCH,
    "de": Language.GERMAN,
    "pt": Language.PORTUGUESE,
    "it": Language.ITALIAN,
}


@dataclass(frozen=True)
class Reply:
    """What the assistant sent for one visitor message: its sentences, in order, and its buttons."""

    sentences: tuple[str, ...]
    buttons: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_messages(cls, messages: Iterable[Mapping[str, Any]]) -> Reply:
        """From the REST webhook's answer: a list of {"text", "buttons"...} messages."""
        sentences: list[str] = []
        buttons: list[Mapping[str, Any]] = []
        for message in messages:
            for line in str(message.get("text") or "").splitlines():
                sentences.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
            buttons.extend(message.get("buttons") or [])
        return cls(tuple(sentences), tuple(buttons))

    @classmethod
    def from_text(cls, *texts: str) -> Reply:
        return cls.from_messages({"text": text} for text in texts)

    @property
    def text(self) -> str:
        return "\n".join(self.sentences)

    @property
    def first(self) -> str:
        return self.sentences[0] if self.sentences else ""

    def part(self, start: int, stop: int | None = None) -> Reply:
        return Reply(self.sentences[start:stop], self.buttons)


# A check takes the checker, its value from the file and the reply; it returns what is wrong, or None.
Check = Callable[["Checker", Any, Reply], str | None]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


class Checker:
    """The checks of one knowledge base and one domain."""

    def __init__(self, kb: KnowledgeBase, replies: Replies) -> None:
        self.kb = kb
        self.replies = replies

    # --- evaluating a turn ---------------------------------------------------------------

    def failures(self, expect: Mapping[str, Any], reply: Reply) -> list[str]:
        """What is wrong with the reply, one line per failed check (none: right)."""
        found = [(name, CHECKS[name](self, value, reply)) for name, value in expect.items() if value is not None]
        return [f"{name}: {problem}" for name, problem in found if problem]

    def turn_failures(self, expect: Mapping[str, Any], then: Mapping[str, Any] | None, reply: Reply) -> list[str]:
        """With `then` (two questions in one message): the reply is cut after the first sentence
        at which everything in `expect` holds, and `then` must hold for what follows, so both
        answers are there and in the visitor's order."""
        if not then:
            return self.failures(expect, reply)
        for cut in range(1, len(reply.sentences) + 1):
            if not self.failures(expect, reply.part(0, cut)):
                rest = self.failures(then, reply.part(cut))
                return [f"then {problem}" for problem in rest]
        return self.failures(expect, reply) or ["then: nothing after the first answer"]

    # --- facts -------------------------------------------------------------------------------

    def program(self, program_id: str) -> Program:
        found = self.kb.program(program_id)
        if found is None:
            raise KeyError(f"the knowledge base has no program {program_id!r}")
        return found

    def programs(self, ids: Sequence[str] | bool) -> list[Program]:
        """The programs named, or (True) every program of the knowledge base."""
        return list(self.kb.programs) if ids is True else [self.program(i) for i in ids or ()]

    def options(self, program: Program) -> list[tuple[str, str]]:
        """(campus id, mode) for each way programs.yml says the program is taught."""
        found = [(d.campus, mode) for d in program.delivery for mode in d.modes]
        return found + ([(program.online_campus, ONLINE)] if program.online_campus else [])

    def fitting(self, program: Program, campus: str | None, mode: str | None) -> list[tuple[str, str]]:
        """The program's options that answer "at <campus> <mode>?": a campus without a mode
        asks about studying there in person; neither asks about any option."""
        modes = [mode] if mode else [m for m in self.kb.delivery_modes if m != ONLINE or campus is None]
        return [(c, m) for c, m in self.options(program) if m in modes and campus in (None, c)]

    def city(self, campus_id: str) -> str:
        campus = self.kb.campus(campus_id)
        if campus is None:
            raise KeyError(f"the knowledge base has no campus {campus_id!r}")
        return campus.city

    def in_person_campuses(self, program: Program) -> list[str]:
        return list(dict.fromkeys(c for c, m in self.options(program) if m != ONLINE))

    # --- reading a reply -----------------------------------------------------------------------

    def named(self, sentence: str) -> list[Program]:
        """The programs a sentence names (by their names as the knowledge base has them), in order."""
        positions = [(sentence.find(p.name), p) for p in self.kb.programs if p.name in sentence]
        return [program for _, program in sorted(positions, key=lambda found: found[0])]

    def names_first(self, sentence: str, wanted: Iterable[Program]) -> bool:
        named = self.named(sentence)
        return bool(named) and named[0] in list(wanted)

    def stated(self, reply: Reply, program: Program, fact: Callable[[str], bool]) -> bool:
        """A sentence states the fact about the program: it names the program, or no program at all."""
        return any(fact(s) and (program in self.named(s) or not self.named(s)) for s in reply.sentences)

    def pattern(self, response: str) -> re.Pattern[str]:
        return response_pattern(self.replies, response)

    def says(self, reply: Reply, response: str) -> re.Match[str] | None:
        return self.pattern(response).search(reply.text)

    def field_prompts(self, field: str | None = None) -> list[str]:
        prefix = FIELD_PROMPT_PREFIX + (field or "")
        responses = [r for r in self.replies.domain.responses if r.startswith(prefix)]
        # reply_ask_lead_program_discussed is the program's; reply_ask_lead_consent is not sms_consent's
        return [r for r in responses if field is None or r == prefix or r.startswith(prefix + "_")]

    def asks_at_end(self, reply: Reply, field: str) -> re.Match[str] | None:
        for response in self.field_prompts(field):
            found = re.search(rf"(?:{self.pattern(response).pattern})\s*\Z", reply.text, re.DOTALL)
            if found:
                return found
        return None


def _ids(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def duration_phrase(months: int) -> re.Pattern[str]:
    """'18 months', '18-month', '18 mos' (not '118 months')."""
    return re.compile(rf"(?<![\d.]){months}\s*-?\s*(months?|mos?)\b", re.IGNORECASE)


def _missing(names: Iterable[str]) -> str | None:
    missing = list(names)
    return f"missing {', '.join(missing)}" if missing else None


# --- facts about one program ---------------------------------------------------------------------


def _fact_check(fact: Callable[[Program], Callable[[str], bool]], what: str) -> Check:
    def run(checker: Checker, value: Any, reply: Reply) -> str | None:
        programs = [checker.program(i) for i in _ids(value)]
        return _missing(f"{p.name}'s {what}" for p in programs if not checker.stated(reply, p, fact(p)))

    return run


CHECKS["duration_of"] = _fact_check(lambda p: lambda s: bool(duration_phrase(p.duration_months).search(s)), "duration")
CHECKS["credential_of"] = _fact_check(lambda p: lambda s: p.typical_credential.lower() in s.lower(), "credential")
CHECKS["scope_of"] = _fact_check(lambda p: lambda s: p.scope.lower() in s.lower(), "scope")
CHECKS["curriculum_of"] = _fact_check(
    lambda p: lambda s: any(topic.lower() in s.lower() for topic in p.topics_covered), "topics"
)
CHECKS["careers_of"] = _fact_check(
    lambda p: lambda s: any(c.lower() in s.lower() for c in [*p.careers, first_sentence(p.career_summary)]),
    "careers",
)


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(" ".join(text.split()))[0]


@check("where_offered")
def _where_offered(checker: Checker, value: Any, reply: Reply) -> str | None:
    """Every campus the program is taught at (or through, online) is named, and "online" if it is."""
    problems = []
    for program in (checker.program(i) for i in _ids(value)):
        cities = {checker.city(c) for c, _ in checker.options(program)}
        problems += [f"{program.name} at {city}" for city in sorted(cities) if city not in reply.text]
        if program.online_campus and "online" not in reply.text.lower():
            problems.append(f"{program.name} online")
    return _missing(problems)


@check("overview_of")
def _overview_of(checker: Checker, value: str, reply: Reply) -> str | None:
    """The program named first, with its duration or its scope."""
    program = checker.program(value)
    if not checker.names_first(reply.first, [program]):
        return f"the first sentence does not name {program.name} first: {reply.first!r}"
    facts = (duration_phrase(program.duration_months).search(reply.text), program.scope.lower() in reply.text.lower())
    return None if any(facts) else f"neither {program.name}'s duration nor its scope"


@check("answer_first")
def _answer_first(checker: Checker, value: str, reply: Reply) -> str | None:
    program = checker.program(value)
    if checker.names_first(reply.first, [program]):
        return None
    return f"the first sentence does not name {program.name} first: {reply.first!r}"


@check("mentions_programs")
def _mentions_programs(checker: Checker, value: Any, reply: Reply) -> str | None:
    return _missing(p.name for p in checker.programs(value) if p.name not in reply.text)


@check("not_mentions_programs")
def _not_mentions_programs(checker: Checker, value: Any, reply: Reply) -> str | None:
    named = [p.name for p in checker.programs(value) if p.name in reply.text]
    return f"names {', '.join(named)}" if named else None


# --- yes or no, combinations, places -----------------------------------------------------------------


@check("says_yes")
def _yes(checker: Checker, value: bool | str, reply: Reply) -> str | None:
    """true: the first sentence opens with "Yes"; false: with "No"; "never": no sentence opens with "Yes"."""
    if value == "never":
        said = [s for s in reply.sentences if _YES.match(s)]
        return f"says yes: {said[0]!r}" if said else None
    opening = _YES if value else _NO
    return None if opening.match(reply.first) else f"does not open with {'yes' if value else 'no'}: {reply.first!r}"


@check("offering")
def _offering(checker: Checker, value: Mapping[str, str | None], reply: Reply) -> str | None:
    """Can I study <program> <mode> at <campus>? Yes exactly when programs.yml says so, first;
    then the campuses that fit (after a yes) or every other campus it is taught at (after a no)."""
    program = checker.program(str(value["program"]))
    fits = checker.fitting(program, value.get("campus"), value.get("mode"))
    others = [o for o in checker.options(program) if o not in fits]
    yes = bool(fits)
    problem = _yes(checker, yes, reply)
    if problem:
        return f"{problem} (programs.yml: {'yes' if yes else 'no'})"
    named = checker.named(reply.first)
    if named and program not in named:
        return f"about another program: {reply.first!r}"
    return _missing(
        f"{checker.city(c)} ({m})" for c, m in (fits if yes else others) if checker.city(c) not in reply.text
    )


@check("programs_offering")
def _programs_offering(checker: Checker, value: Mapping[str, str | None], reply: Reply) -> str | None:
    """Which can I do online? Can I do either hybrid? The programs that fit, first, each named,
    with their campuses; a no first when none does."""
    campus, mode = value.get("campus"), value.get("mode")
    fitting = {p.id: checker.fitting(p, campus, mode) for p in checker.kb.programs}
    winners = [p for p in checker.kb.programs if fitting[p.id]]
    if not winners:
        return None if _NO.match(reply.first) else f"none fits, but no 'no' first: {reply.first!r}"
    if not checker.names_first(reply.first, winners) and not _YES.match(reply.first):
        return f"the first sentence does not name {' or '.join(p.name for p in winners)} first: {reply.first!r}"
    cities = {checker.city(c) for p in winners for c, _ in fitting[p.id]}
    return _missing([p.name for p in winners if p.name not in reply.text] + sorted(cities - _in(reply, cities)))


def _in(reply: Reply, words: Iterable[str]) -> set[str]:
    return {w for w in words if w in reply.text}


@check("campus_list")
def _campus_list(checker: Checker, value: bool, reply: Reply) -> str | None:
    return _missing(c.city for c in checker.kb.campuses if c.city not in reply.text)


@check("mentions_campuses")
def _mentions_campuses(checker: Checker, value: Sequence[str], reply: Reply) -> str | None:
    return _missing(city for city in map(checker.city, value) if city not in reply.text)


@check("taught_at")
def _taught_at(checker: Checker, value: str, reply: Reply) -> str | None:
    """Which program is taught in <state of a campus>? The programs taught in person there, named first."""
    winners = [p for p in checker.kb.programs if value in checker.in_person_campuses(p)]
    city = checker.city(value)
    if winners and not checker.names_first(reply.first, winners):
        return f"the first sentence does not name {' or '.join(p.name for p in winners)} first: {reply.first!r}"
    return _missing([p.name for p in winners if p.name not in reply.text] + ([city] if city not in reply.text else []))


# --- comparisons ------------------------------------------------------------------------------------------


def _superlative(key: Callable[[Checker, Program], int], pick: Callable[[Iterable[int]], int], figure: str) -> Check:
    def run(checker: Checker, value: Any, reply: Reply) -> str | None:
        candidates = checker.programs(value)
        best = pick(key(checker, p) for p in candidates)
        winners = [p for p in candidates if key(checker, p) == best]
        if not checker.names_first(reply.first, winners):
            names = " or ".join(p.name for p in winners)
            return f"the first sentence does not name {names} first: {reply.first!r}"
        if figure == "duration":
            return _missing(
                f"{p.name}'s {p.duration_months} months"
                for p in candidates
                if not duration_phrase(p.duration_months).search(reply.text)
            )
        cities = [checker.city(c) for p in winners for c in checker.in_person_campuses(p)]
        return _missing(city for city in cities if city not in reply.text)

    return run


CHECKS["shortest"] = _superlative(lambda c, p: p.duration_months, min, "duration")
CHECKS["longest"] = _superlative(lambda c, p: p.duration_months, max, "duration")
CHECKS["most_campuses"] = _superlative(lambda c, p: len(c.in_person_campuses(p)), max, "campuses")


# --- other answers ------------------------------------------------------------------------------------------


@check("phone")
def _phone(checker: Checker, value: bool, reply: Reply) -> str | None:
    return None if checker.kb.admissions.phone in reply.text else f"no {checker.kb.admissions.phone}"


@check("unknown_topic")
def _unknown_topic(checker: Checker, value: str, reply: Reply) -> str | None:
    """The article says nothing on it: "I don't have information about <topic>" (or the generic
    "I don't have that information"). The phone number is a check of its own: after another
    answer that gave it, it need not come twice."""
    topic = checker.kb.unknown_topic(value)
    if topic is None:
        raise KeyError(f"the knowledge base has no unknown topic {value!r}")
    said = topic.name in reply.text or checker.says(reply, UNKNOWN_TOPIC_GENERIC)
    return None if said else f"does not say it lacks {topic.name}"


@check("definition_of")
def _definition_of(checker: Checker, value: str, reply: Reply) -> str | None:
    term = checker.kb.term(value)
    if term is None:
        raise KeyError(f"the knowledge base has no term {value!r}")
    return None if first_sentence(term.text) in reply.text else f"not {term.name}'s definition"


@check("relationship")
def _relationship(checker: Checker, value: str, reply: Reply) -> str | None:
    text = getattr(checker.kb.relationship, value)
    return None if first_sentence(text) in reply.text else f"not the article's {value}"


@check("response")
def _response(checker: Checker, value: str, reply: Reply) -> str | None:
    return None if checker.says(reply, value) else f"not {value}"


@check("not_response")
def _not_response(checker: Checker, value: str, reply: Reply) -> str | None:
    return f"says {value}" if checker.says(reply, value) else None


@check("offers_follow_up")
def _offers_follow_up(checker: Checker, value: bool, reply: Reply) -> str | None:
    offered = checker.says(reply, INQUIRY_OFFER_RESPONSE) or any(
        b.get("payload") == INQUIRY_PAYLOAD for b in reply.buttons
    )
    if bool(offered) == value:
        return None
    return "no offer of an admissions follow-up" if value else "offers an admissions follow-up"


@check("form_started")
def _form_started(checker: Checker, value: bool, reply: Reply) -> str | None:
    asked = [r for r in checker.field_prompts() if checker.says(reply, r)]
    if bool(asked) == value:
        return None
    return "the inquiry form did not start" if value else f"the inquiry form started ({asked[0]})"


@check("asks_field")
def _asks_field(checker: Checker, value: str, reply: Reply) -> str | None:
    return None if checker.asks_at_end(reply, value) else f"does not end asking for the {value}"


@check("field_asked_again")
def _field_asked_again(checker: Checker, value: str, reply: Reply) -> str | None:
    """Inside the form: an answer first, then the same field's question, last."""
    found = checker.asks_at_end(reply, value)
    if not found:
        return f"does not end asking for the {value} again"
    return None if reply.text[: found.start()].strip() else "the question is asked again, but not answered"


@check("buttons")
def _buttons(checker: Checker, value: bool, reply: Reply) -> str | None:
    return None if bool(reply.buttons) == value else ("no suggestion buttons" if value else "has buttons")


@check("reply_language")
def _reply_language(checker: Checker, value: str, reply: Reply) -> str | None:
    found = language_detector().detect_language_of(reply.text)
    return None if found == REPLY_LANGUAGES[value] else f"in {found.name.lower() if found else 'no language'}"


@check("contains")
def _contains(checker: Checker, value: Sequence[str], reply: Reply) -> str | None:
    return _missing(repr(text) for text in value if text.lower() not in reply.text.lower())


@check("contains_any")
def _contains_any(checker: Checker, value: Sequence[str], reply: Reply) -> str | None:
    return None if any(t.lower() in reply.text.lower() for t in value) else f"none of {list(value)}"


@check("not_contains")
def _not_contains(checker: Checker, value: Sequence[str], reply: Reply) -> str | None:
    found = [t for t in value if t.lower() in reply.text.lower()]
    return f"contains {found}" if found else None


# --- helpers built once ---------------------------------------------------------------------------------------


@cache
def language_detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*REPLY_LANGUAGES.values()).build()


_PATTERNS: dict[tuple[int, str], re.Pattern[str]] = {}


def response_pattern(replies: Replies, response: str) -> re.Pattern[str]:
    """Any text the response may produce, whatever its placeholders hold: each variation filled
    by Rasa's generator with markers, the markers then matching any text."""
    key = (id(replies), response)
    if key not in _PATTERNS:
        variations = replies.domain.responses[response]
        names = {n for v in variations for n in PLACEHOLDER.findall(v.get("text", ""))}
        markers = {name: f"HOLDOUTMARK{i}X" for i, name in enumerate(sorted(names))}
        texts = replies.variations(response, **markers)
        alternatives = []
        for text in texts:
            escaped = re.sub(r"(\\\s|\s)+", r"\\s+", re.escape(text))
            for marker in markers.values():
                escaped = escaped.replace(marker, ".+?")
            alternatives.append(f"(?:{escaped})")
        _PATTERNS[key] = re.compile("|".join(alternatives), re.DOTALL)
    return _PATTERNS[key]
