"""Issue 11's gate: the held-out conversations over the real Rasa and action servers, 95% of turns right.

tests/conversations_holdout.yml is played by tests/holdout_runner.py against the trained model
and the action server on loopback (started as the other slow suites start them), each
conversation as a new visitor over the REST webhook. The share per category is printed at the
end of the run; a failure lists every miss with what was expected and what was said.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actions.knowledge import load_knowledge
from tests.conftest import MEASUREMENTS
from tests.holdout_checks import Checker
from tests.holdout_runner import REQUIRED_SHARE, run
from tests.replies import load_replies
from tests.servers import action_server, rasa_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("holdout")
    with action_server(workdir) as actions, rasa_server(workdir, actions) as url:
        yield url


def test_the_held_out_conversations_are_answered_right_in_95_percent_of_turns(webhook: str) -> None:
    report = run(webhook, Checker(load_knowledge(), load_replies()))
    MEASUREMENTS.extend(report.summary())
    assert report.share >= REQUIRED_SHARE, report.text()
