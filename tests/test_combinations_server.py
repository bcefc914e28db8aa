"""Combination questions through the real Rasa and action servers, as visitors phrase them.

A sample of program x campus x mode questions (and places the college lacks) goes over the
REST webhook, so the NLU's intent and entities are the server's own. The expected replies
come from tests/test_combinations.py's reading of programs.yml; the edited copy (a third
program, a fourth campus) is served by an action server reading it, with the project's model.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.dialogue import phrasing
from actions.knowledge import KnowledgeBase, load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from tests.conftest import edit_yaml
from tests.conversations import answered
from tests.replies import load_replies
from tests.servers import action_server, rasa_server, say, texts
from tests.test_combinations import Question, expected
from tests.test_knowledge_edits import NEW_PROGRAM

pytestmark = pytest.mark.slow

HIT, MBC, PHARMACY = "healthcare_it", "medical_billing_coding", NEW_PROGRAM["id"]
# (what the visitor says, program id, campus id or None, mode or None)
PROJECT_SAMPLE = [
    ("Can Health IT be studied on campus in Chattanooga?", HIT, "chattanooga", "on_campus"),
    ("Is there a hybrid option for medical coding?", MBC, None, "hybrid"),
    ("can I do health IT hybrid in Augusta", HIT, "augusta", "hybrid"),
    ("is billing and coding taught in person at the Wilmington campus?", MBC, "wilmington", "on_campus"),
    ("could I take HIT online through the Tulsa campus", HIT, "tulsa", "online"),
    ("do you have medical billing and coding in Wilmington?", MBC, "wilmington", None),
    ("can I take health IT in Tulsa?", HIT, "tulsa", None),
    ("is healthcare information technology available in person?", HIT, None, "on_campus"),
]
EDITED_SAMPLE = [
    ("can I study pharmacy tech on campus in Dalton?", PHARMACY, "dalton", "on_campus"),
    ("is health IT hybrid in Dalton", HIT, "dalton", "hybrid"),
    ("is there a hybrid option for pharmacy tech?", PHARMACY, None, "hybrid"),
    ("can I take medical coding at the Dalton campus?", MBC, "dalton", None),
]
ELSEWHERE = [
    ("do you offer medical coding in Florida?", "Florida"),
    ("can I study health IT on campus in Atlanta?", "Atlanta"),
    ("I'm in Dallas, TX. can I do billing and coding hybrid?", "Dallas, TX"),
]


def edited_knowledge(target: Path) -> Path:
    shutil.copytree(DEFAULT_DIR, target)

    def change_programs(data: dict) -> None:
        data["programs"].append(NEW_PROGRAM)
        next(p for p in data["programs"] if p["id"] == HIT)["delivery"].append(
            {"campus": "dalton", "modes": ["hybrid"]}
        )

    edit_yaml(target / "programs.yml", change_programs)
    edit_yaml(
        target / "campuses.yml",
        lambda data: data["campuses"].append({"id": "dalton", "city": "Dalton", "state": "GA", "aliases": []}),
    )
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("combinations")
    with action_server(workdir) as actions, rasa_server(workdir, actions) as url:
        yield url


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KnowledgeBase]]:
    workdir = tmp_path_factory.mktemp("combinations-edited")
    knowledge = edited_knowledge(workdir / "knowledge")
    with action_server(workdir, knowledge) as actions, rasa_server(workdir, actions) as url:
        yield url, load_knowledge(knowledge)


def check(url: str, kb: KnowledgeBase, text: str, program_id: str, campus_id: str | None, mode: str | None) -> None:
    program, campus = kb.program(program_id), kb.campus(campus_id) if campus_id else None
    assert program
    intent = "ask_campus"  # the intent only picks the action; both answer a combination alike
    yes, reply_text = expected(kb, load_replies(), Question(text, intent, program, campus, mode))
    reply = texts(say(url, f"combo-{uuid.uuid4()}", text))
    assert answered(reply, reply_text), f"{text!r}: {reply}"
    assert reply.startswith("Yes") is yes


@pytest.mark.parametrize("text, program_id, campus_id, mode", PROJECT_SAMPLE)
def test_the_servers_answer_combinations_from_the_knowledge_base(project, text, program_id, campus_id, mode):
    check(project, load_knowledge(), text, program_id, campus_id, mode)


@pytest.mark.parametrize("text, program_id, campus_id, mode", EDITED_SAMPLE)
def test_the_servers_answer_combinations_from_an_edited_copy(edited, text, program_id, campus_id, mode):
    url, kb = edited
    check(url, kb, text, program_id, campus_id, mode)


@pytest.mark.parametrize("text, place", ELSEWHERE)
def test_places_the_college_lacks_get_the_campus_list_over_the_webhook(project, text, place):
    kb = load_knowledge()
    reply = texts(say(project, f"combo-{uuid.uuid4()}", text))
    campuses = phrasing.campus_labels(kb)
    assert answered(reply, load_replies().variations("reply_campus_unknown", place=place, campuses=campuses)), reply
    assert "Yes" not in reply


def test_near_me_gets_the_campus_list(project):
    reply = texts(say(project, f"combo-{uuid.uuid4()}", "is there a campus near me?"))
    campuses = phrasing.campus_labels(load_knowledge())
    assert answered(reply, load_replies().variations("reply_campus_near_me", campuses=campuses)), reply
    assert "Yes" not in reply
