"""Staff edit a fact in knowledge/ and the wording in domain.yml, and the tests follow.

A copy of the project is edited (a program's duration, a campus added; the duration reply
reworded, a second wording for the name question), a model is trained on the edited domain,
and the real action server (reading the edited knowledge) and Rasa server (with that model)
get the project's conversation scripts, which expect what the edited copy says.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.knowledge import load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from tests.conftest import ROOT, edit_yaml
from tests.conversations import HEALTH_IT, Scripts
from tests.replies import load_replies
from tests.servers import action_server, converse, failed_stories, rasa_cli, rasa_server

pytestmark = pytest.mark.slow

NEW_CAMPUS_ID = "dalton"
NEW_CAMPUS = {"id": NEW_CAMPUS_ID, "city": "Dalton", "state": "GA", "aliases": ["dalton"]}
EXTRA_MONTHS = 3
DURATION_WORDING = "Plan on {duration_months} months for {program_name}, from the first class to the last."
NAME_QUESTION_VARIATION = "May I have your full name, please? The advisor will ask for you by it."


@dataclass(frozen=True)
class EditedProject:
    knowledge: Path
    domain: Path
    model: Path


def edit_knowledge(knowledge: Path) -> None:
    def change_programs(data: dict) -> None:
        health_it = next(p for p in data["programs"] if p["id"] == HEALTH_IT)
        health_it["duration_months"] += EXTRA_MONTHS
        health_it["delivery"].append({"campus": NEW_CAMPUS_ID, "modes": ["hybrid"]})

    edit_yaml(knowledge / "programs.yml", change_programs)
    edit_yaml(knowledge / "campuses.yml", lambda data: data["campuses"].append(NEW_CAMPUS))


def edit_domain(domain: Path) -> None:
    def change_wording(data: dict) -> None:
        data["responses"]["reply_duration"] = [{"text": DURATION_WORDING}]
        data["responses"]["reply_ask_lead_name"].append({"text": NAME_QUESTION_VARIATION})

    edit_yaml(domain, change_wording)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EditedProject]:
    """The edited copy, with a model trained on its domain (about 40 s)."""
    root = tmp_path_factory.mktemp("edited-project")
    shutil.copytree(DEFAULT_DIR, root / "knowledge")
    shutil.copytree(ROOT / "data", root / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    edit_knowledge(root / "knowledge")
    edit_domain(root / "domain.yml")
    result = rasa_cli(
        "train",
        "--config",
        str(root / "config.yml"),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        str(root / "data"),
        "--out",
        str(root / "models"),
        "--fixed-model-name",
        "edited",
        "--quiet",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    yield EditedProject(root / "knowledge", root / "domain.yml", root / "models" / "edited.tar.gz")


def test_the_conversations_expect_the_edits_and_the_servers_give_them(edited, tmp_path):
    project = Scripts(load_knowledge(), load_replies())
    replies = load_replies(edited.domain)
    scripts = Scripts(load_knowledge(edited.knowledge), replies)
    health_it = scripts.program(HEALTH_IT)
    new_duration = replies.text(
        "reply_duration", program_name=health_it.name, duration_months=health_it.duration_months
    )
    conversations = scripts.admissions()

    # The edits are real, and the scripts expect them.
    assert health_it.duration_months == project.program(HEALTH_IT).duration_months + EXTRA_MONTHS
    assert new_duration not in project.duration(health_it)  # the project's wording, the edited fact
    assert len(replies.variations("reply_ask_lead_name")) == 2
    expected = [text for conversation in conversations for _, texts in conversation for text in texts]
    assert new_duration in expected
    assert any(scripts.campus(NEW_CAMPUS_ID).label in text for text in expected)

    with (
        action_server(tmp_path, edited.knowledge) as actions,
        rasa_server(tmp_path, actions, model=edited.model) as url,
    ):
        for conversation in conversations:
            converse(url, f"edited-{uuid.uuid4()}", conversation)


def test_the_conversation_stories_pass_on_the_edited_model(edited, tmp_path):
    """The stories check actions, not texts: the edits change no action."""
    failures = failed_stories(edited.model, "tests/test_stories.yml", tmp_path, "--e2e")
    assert not failures, failures
