"""The reply helper fills responses exactly as the Rasa server does, and refuses to guess."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

from actions.dialogue.answers import HANDLERS
from tests.conftest import render, run_action
from tests.replies import Replies, load_replies


@pytest.fixture
def made_up(tmp_path: Path) -> Replies:
    """A domain of made-up responses: several variations, one for another channel only."""
    responses = {
        "reply_two_ways": [{"text": "First, {name} in {place}."}, {"text": "Second, {name} in {place}."}],
        "reply_elsewhere": [{"text": "Here."}, {"text": "Only there.", "channel": "another_channel"}],
    }
    path = tmp_path / "domain.yml"
    path.write_text(yaml.safe_dump({"version": "3.1", "responses": responses}))
    return load_replies(path)


def rasa_sends(replies: Replies, message: dict) -> str:
    """What Rasa's RemoteAction makes of an action's message, with each response's first variation."""
    domain = replies.domain
    first_only = {name: variations[:1] for name, variations in domain.responses.items()}
    tracker = DialogueStateTracker.from_events("visitor", [], slots=domain.slots)
    uttered = asyncio.run(
        RemoteAction._utter_responses(
            [dict(message)], CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(first_only), tracker
        )
    )
    return uttered[0].text


@pytest.mark.parametrize("topic", HANDLERS)
def test_every_answer_reads_as_the_rasa_server_sends_it(replies, topic):
    turn = run_action(topic, "hello", f"ask_{topic}")
    assert [render(m) for m in turn.messages] == [rasa_sends(replies, m) for m in turn.messages]


def test_a_placeholder_without_a_value_fails_loudly(made_up):
    with pytest.raises(AssertionError, match=r"reply_two_ways lacks values for \['place'\]"):
        made_up.text("reply_two_ways", name="Ana")
    with pytest.raises(AssertionError, match=r"\['name', 'place'\]"):
        made_up.text("reply_two_ways", name=None)
    with pytest.raises(KeyError):
        made_up.text("reply_not_in_the_domain")


def test_every_variation_is_expected_and_the_first_is_the_deterministic_one(made_up):
    both = made_up.variations("reply_two_ways", name="Ana", place="Rome")
    assert both == ("First, Ana in Rome.", "Second, Ana in Rome.")
    assert {made_up.text("reply_two_ways", name="Ana", place="Rome") for _ in range(20)} == {both[0]}
    assert made_up.variations("reply_elsewhere") == ("Here.",)  # not the other channel's


def test_a_text_given_by_the_action_replaces_the_response_as_in_rasa(made_up):
    message = {"response": "reply_elsewhere", "text": "Given.", "buttons": []}
    assert made_up.message_text(message) == "Given." == rasa_sends(made_up, message)


def test_no_response_has_a_placeholder_named_text(replies):
    """Rasa sends an action's `text` value in place of the response, wording and all: a
    `{text}` placeholder would silently drop whatever staff write around it."""
    offending = [
        name
        for name, variations in replies.domain.responses.items()
        for variation in variations
        if "{text}" in (variation.get("text") or "")
    ]
    assert offending == []
