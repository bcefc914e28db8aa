"""Comparisons and references through the real Rasa and action servers, as visitors write them.

Each conversation goes over the REST webhook with a fresh sender, so the NLU's intent is the
server's own and the references resolve against the slots the server's actions set. What a
reply must contain is filled from knowledge/ by Rasa's generator (tests/replies.py); the
edited copy (a third program at a fourth campus) runs on an action server reading it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from actions.knowledge import KnowledgeBase, comparisons, load_knowledge
from actions.knowledge.model import Program
from tests.conversations import Expected
from tests.replies import Replies, load_replies
from tests.servers import action_server, converse, rasa_server
from tests.test_combinations_server import edited_knowledge
from tests.test_comparisons import HIT, MBC, PHARMACY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("comparisons")
    with action_server(workdir) as actions, rasa_server(workdir, actions) as url:
        yield url


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KnowledgeBase]]:
    workdir = tmp_path_factory.mktemp("comparisons-edited")
    knowledge = edited_knowledge(workdir / "knowledge")
    with action_server(workdir, knowledge) as actions, rasa_server(workdir, actions) as url:
        yield url, load_knowledge(knowledge)


class Says:
    """What replies must contain, from one knowledge base."""

    def __init__(self, kb: KnowledgeBase, replies: Replies) -> None:
        self.kb, self.replies = kb, replies

    def program(self, program_id: str) -> Program:
        found = self.kb.program(program_id)
        assert found
        return found

    def duration(self, program_id: str) -> Expected:
        p = self.program(program_id)
        return self.replies.variations("reply_duration", program_name=p.name, duration_months=p.duration_months)

    def months(self, program_id: str) -> str:
        p = self.program(program_id)
        return f"{p.name} takes {p.duration_months} months"

    def quickest(self) -> Expected:
        """The figures themselves: "<quickest> ...: 15 months, vs 18 months for <the other>"."""
        quickest, other = sorted(self.kb.programs, key=lambda p: p.duration_months)  # the project's two
        return (
            f"{quickest.name} is the quickest to complete: {quickest.duration_months} months, "
            f"vs {other.duration_months} months for {other.name}",
        )

    def online_first(self, program_id: str) -> Expected:
        return (f"Yes, {self.program(program_id).name}",)


@pytest.fixture(scope="module")
def says() -> Says:
    return Says(load_knowledge(), load_replies())


def test_which_is_shorter_then_it_then_the_other_one(project, says):
    quickest = comparisons.by_duration(says.kb.programs, longest=False).leaders[0]
    other = next(p for p in says.kb.programs if p.id != quickest.id)
    converse(
        project,
        f"cmp-{uuid.uuid4()}",
        [
            ("which one is shorter?", says.quickest()),
            ("ok and is it online?", says.online_first(quickest.id)),
            ("how long is the other one?", says.duration(other.id)),
        ],
    )


def test_the_other_program_after_one_was_discussed(project, says):
    converse(
        project,
        f"cmp-{uuid.uuid4()}",
        [
            ("how long is medical coding?", says.duration(MBC)),
            # (a duration answer or an overview: either gives its months)
            ("what about the other program, how long is that?", says.months(HIT)),
        ],
    )


@pytest.mark.parametrize(
    "text, leader, measure",
    [
        ("which takes less time", MBC, comparisons.DURATION),
        ("which one has more campuses?", MBC, comparisons.CAMPUSES),
        ("which is broader, MBC or HIT?", HIT, comparisons.SCOPE),
        ("wich one is more focused", MBC, comparisons.SCOPE),
        ("which one leads to a certificate?", MBC, comparisons.CREDENTIAL),
        ("I want to keep patient data safe, which program fits?", HIT, "goal"),
        ("which is better if i want to be a coding specialist", MBC, "goal"),
    ],
)
def test_each_measure_names_its_leader_first(project, says, text, leader, measure):
    """The leader is the knowledge base's: checked here against programs.yml's fields."""
    kb = says.kb
    expected_leader = {
        comparisons.DURATION: lambda: min(kb.programs, key=lambda p: p.duration_months).id,
        comparisons.CAMPUSES: lambda: max(kb.programs, key=lambda p: len(p.delivery)).id,
        comparisons.SCOPE: lambda: leader,
        comparisons.CREDENTIAL: lambda: next(p.id for p in kb.programs if "certificate" in p.typical_credential),
        "goal": lambda: leader,
    }[measure]()
    assert expected_leader == leader
    name = says.program(leader).name
    openings = (f"{name} is", f"That's {name}", f"For that goal, {name}")
    converse(project, f"cmp-{uuid.uuid4()}", [(text, openings)])


def test_which_can_be_done_online_and_which_is_hybrid(project, says):
    online = [p for p in says.kb.programs if p.online_campus]
    hybrid = [p for p in says.kb.programs if any("hybrid" in d.modes for d in p.delivery)]
    each = " and ".join(p.name for p in online) + " can each be studied online"
    only = "Only " + " and ".join(p.name for p in hybrid) + " can be studied hybrid"
    converse(
        project,
        f"cmp-{uuid.uuid4()}",
        [("which ones can be done online?", each), ("which of them is available hybrid", only)],
    )


def test_the_second_one_after_the_difference(project, says):
    second = says.kb.programs[1]
    converse(
        project,
        f"cmp-{uuid.uuid4()}",
        [
            ("what's the difference between the programs?", "Here is how they compare"),
            ("how long is the second one?", says.duration(second.id)),
        ],
    )


def test_the_shorter_one_is_online(project, says):
    quickest = comparisons.by_duration(says.kb.programs, longest=False).leaders[0]
    converse(project, f"cmp-{uuid.uuid4()}", [("is the shorter one online?", says.online_first(quickest.id))])


def test_a_third_program_takes_part(edited):
    url, kb = edited
    pharmacy = kb.program(PHARMACY)
    assert pharmacy and pharmacy.duration_months == min(p.duration_months for p in kb.programs)
    converse(
        url,
        f"cmp-{uuid.uuid4()}",
        [
            (
                "which one is shorter?",
                f"{pharmacy.name} is the quickest to complete: {pharmacy.duration_months} months",
            ),
            ("which can be done online", f"{pharmacy.name} isn't offered online"),
        ],
    )
