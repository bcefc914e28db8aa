"""The held-out conversation file: its schema, read strictly, and checked against the knowledge base.

A typo in an expectation must stop the run, not turn into a check that always passes: unknown
keys, wrong types, and program, campus, term, topic, response or field ids the knowledge base or
the domain does not have are refused, naming the conversation and the turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, Field, StrictBool, StrictStr, ValidationError, root_validator, validator

from actions.knowledge import KnowledgeBase
from tests.holdout_checks import CHECKS, REPLY_LANGUAGES, Checker

HOLDOUT_FILE = Path(__file__).resolve().parent / "conversations_holdout.yml"
TRAINING_DATA = Path(__file__).resolve().parents[1] / "data"
# Issue 11's categories; each turn counts towards one.
CATEGORIES = (
    "plain",  # the questions the article answers directly
    "combinations",  # program x campus x mode; places the college lacks; "near me"
    "comparisons",  # shorter, longer, more campuses, broader, credential, a stated goal
    "references",  # "the other one", "that one", "the first", "the longer one", "both", "either"
    "two_questions",  # two questions in one message
    "interest",  # "I want to do X": context, not consent
    "form_questions",  # a question inside the inquiry form
    "languages",  # Spanish and other languages
    "out_of_scope",  # weather, jokes, other schools
)
Category = Literal[
    "plain",
    "combinations",
    "comparisons",
    "references",
    "two_questions",
    "interest",
    "form_questions",
    "languages",
    "out_of_scope",
]

if TYPE_CHECKING:
    Text = str
else:
    from pydantic import constr

    Text = constr(strict=True, strip_whitespace=True, min_length=1, max_length=5000)


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class Offering(_Strict):
    program: StrictStr
    campus: StrictStr | None = None
    mode: StrictStr | None = None


class Options(_Strict):
    campus: StrictStr | None = None
    mode: StrictStr | None = None


def _listed(value: Any) -> Any:
    """A single id where a list is expected is a list of one."""
    return [value] if isinstance(value, str) else value


class Expect(_Strict):
    """What a right reply must contain: every check given must hold (see tests/holdout_checks.py)."""

    duration_of: list[StrictStr] | None = None
    credential_of: list[StrictStr] | None = None
    scope_of: list[StrictStr] | None = None
    curriculum_of: list[StrictStr] | None = None
    careers_of: list[StrictStr] | None = None
    where_offered: list[StrictStr] | None = None
    overview_of: StrictStr | None = None
    answer_first: StrictStr | None = None
    mentions_programs: list[StrictStr] | Literal[True] | None = None
    not_mentions_programs: list[StrictStr] | None = None
    says_yes: StrictBool | Literal["never"] | None = None
    offering: Offering | None = None
    programs_offering: Options | None = None
    campus_list: Literal[True] | None = None
    mentions_campuses: list[StrictStr] | None = None
    taught_at: StrictStr | None = None
    shortest: list[StrictStr] | Literal[True] | None = None
    longest: list[StrictStr] | Literal[True] | None = None
    most_campuses: list[StrictStr] | Literal[True] | None = None
    phone: Literal[True] | None = None
    unknown_topic: StrictStr | None = None
    definition_of: StrictStr | None = None
    relationship: Literal["coding_in_health_it", "same_or_different"] | None = None
    response: StrictStr | None = None
    not_response: StrictStr | None = None
    offers_follow_up: StrictBool | None = None
    form_started: StrictBool | None = None
    asks_field: StrictStr | None = None
    field_asked_again: StrictStr | None = None
    buttons: StrictBool | None = None
    reply_language: StrictStr | None = None
    contains: list[Text] | None = None
    contains_any: list[Text] | None = None
    not_contains: list[Text] | None = None

    _lists = validator(
        "duration_of",
        "credential_of",
        "scope_of",
        "curriculum_of",
        "careers_of",
        "where_offered",
        "mentions_programs",
        "not_mentions_programs",
        "mentions_campuses",
        "shortest",
        "longest",
        "most_campuses",
        "contains",
        "contains_any",
        "not_contains",
        pre=True,
        allow_reuse=True,
    )(_listed)

    @root_validator(skip_on_failure=True)
    def _something(cls, values: dict[str, Any]) -> dict[str, Any]:
        if all(value is None for value in values.values()):
            raise ValueError("states no check")
        return values

    def checks(self) -> dict[str, Any]:
        """The checks given (in the schema's order), with plain values."""
        return {name: _plain(value) for name, value in self.__dict__.items() if value is not None}


def _plain(value: Any) -> Any:
    return value.dict() if isinstance(value, BaseModel) else value


class Turn(_Strict):
    say: Text
    expect: Expect
    # Two questions in one message: `then` must hold for the reply after `expect`'s answer.
    then: Expect | None = None
    category: Category | None = None  # default: the conversation's


class Conversation(_Strict):
    id: StrictStr
    category: Category
    turns: list[Turn] = Field(..., min_items=1)

    @validator("id")
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            raise ValueError("use lower-case letters, digits and dashes")
        return value


class HoldoutFile(_Strict):
    conversations: list[Conversation] = Field(..., min_items=1)

    @validator("conversations")
    def _unique(cls, conversations: list[Conversation]) -> list[Conversation]:
        ids = [c.id for c in conversations]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"conversation ids used twice: {repeated}")
        return conversations


@dataclass(frozen=True)
class PlayedTurn:
    """One turn as the runner plays it."""

    conversation: str
    index: int  # 1-based, within its conversation
    category: str
    say: str
    expect: dict[str, Any]
    then: dict[str, Any] | None


class HoldoutFileError(ValueError):
    """The file is unusable; the message names where and why."""


def load_holdout(checker: Checker, path: Path = HOLDOUT_FILE) -> HoldoutFile:
    """The file, validated against its schema, the knowledge base and the domain."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        holdout = HoldoutFile.parse_obj(data)
    except (yaml.YAMLError, ValidationError) as error:
        raise HoldoutFileError(f"{path.name}: {error}") from None
    problems = [
        f"{path.name}: {conversation.id} turn {number}: {problem}"
        for conversation in holdout.conversations
        for number, turn in enumerate(conversation.turns, 1)
        for expect in (turn.expect, turn.then)
        if expect
        for problem in unknown_references(checker, expect)
    ]
    if problems:
        raise HoldoutFileError("\n".join(problems))
    return holdout


def turns(holdout: HoldoutFile) -> Iterator[tuple[Conversation, PlayedTurn]]:
    for conversation in holdout.conversations:
        for number, turn in enumerate(conversation.turns, 1):
            yield (
                conversation,
                PlayedTurn(
                    conversation.id,
                    number,
                    turn.category or conversation.category,
                    turn.say,
                    turn.expect.checks(),
                    turn.then.checks() if turn.then else None,
                ),
            )


def unknown_references(checker: Checker, expect: Expect) -> list[str]:
    """Ids the knowledge base or the domain does not have (each would make a check meaningless)."""
    kb: KnowledgeBase = checker.kb
    checks = expect.checks()
    assert set(checks) <= set(CHECKS), set(checks) - set(CHECKS)
    programs, campuses, modes = {p.id for p in kb.programs}, {c.id for c in kb.campuses}, set(kb.delivery_modes)
    problems: list[str] = []

    def known(kind: str, value: str | None, ids: set[str]) -> None:
        if value is not None and value not in ids:
            problems.append(f"no {kind} {value!r} (known: {', '.join(sorted(ids))})")

    for name in (
        "duration_of",
        "credential_of",
        "scope_of",
        "curriculum_of",
        "careers_of",
        "where_offered",
        "not_mentions_programs",
    ):
        for value in checks.get(name) or []:
            known("program", value, programs)
    for name in ("mentions_programs", "shortest", "longest", "most_campuses"):
        if isinstance(checks.get(name), list):
            for value in checks[name]:
                known("program", value, programs)
    for name in ("overview_of", "answer_first"):
        known("program", checks.get(name), programs)
    for value in checks.get("mentions_campuses") or []:
        known("campus", value, campuses)
    known("campus", checks.get("taught_at"), campuses)
    for name in ("offering", "programs_offering"):
        if name in checks:
            known("program", checks[name].get("program"), programs)
            known("campus", checks[name].get("campus"), campuses)
            known("delivery mode", checks[name].get("mode"), modes)
    known("unknown topic", checks.get("unknown_topic"), {t.id for t in kb.unknown_topics})
    known("term", checks.get("definition_of"), {t.id for t in kb.terms})
    responses = set(checker.replies.domain.responses)
    known("response", checks.get("response"), responses)
    known("response", checks.get("not_response"), responses)
    fields = {r.removeprefix("reply_ask_lead_") for r in responses if r.startswith("reply_ask_lead_")}
    known("form field", checks.get("asks_field"), fields)
    known("form field", checks.get("field_asked_again"), fields)
    known("language", checks.get("reply_language"), set(REPLY_LANGUAGES))
    return problems


def normalized(text: str) -> str:
    """For comparing a visitor's message with training examples: case, spaces and end punctuation aside."""
    return " ".join(text.lower().split()).strip(" ?!.")


def training_examples(data_dir: Path = TRAINING_DATA) -> set[str]:
    """Every example text the model is trained on (entity markup removed), as Rasa reads them."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts: set[str] = set()
    for path in sorted(data_dir.glob("**/*.yml")):
        if "nlu:" not in path.read_text(encoding="utf-8"):
            continue
        for example in load_data(str(path)).training_examples:
            if example.get("text"):
                texts.add(normalized(example.get("text")))
    return texts
