"""The REST channel refuses unusable requests with a 4xx instead of mixing conversations."""

from __future__ import annotations

import json

import pytest

from channels.visitor_rest import expects_reply, problem_with


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'"hi"', 400),
        (b"", 400),
        (json.dumps({"message": "hi"}).encode(), 400),  # no sender: Rasa would use "default"
        (json.dumps({"sender": "", "message": "hi"}).encode(), 400),
        (json.dumps({"sender": "x" * 10_000, "message": "hi"}).encode(), 400),
        (json.dumps({"sender": 5, "message": "hi"}).encode(), 400),
        (json.dumps({"sender": "v1", "message": 7}).encode(), 400),
        (json.dumps({"sender": "v1", "message": ""}).encode(), 400),
        (json.dumps({"sender": "v1", "message": " \n\t "}).encode(), 400),
        (json.dumps({"sender": "v1", "message": "a" * 100_000}).encode(), 413),
        (json.dumps({"sender": "v1", "message": "hi", "metadata": "page"}).encode(), 400),
        (b"\xff\xfe", 400),
    ],
)
def test_unusable_bodies_are_refused(body, status):
    problem = problem_with(body)
    assert problem is not None and problem[0] == status


@pytest.mark.parametrize(
    "payload",
    [
        {"sender": "visitor-1", "message": "how long is it?"},
        {
            "sender": "visitor-1",
            "message": "<script>alert(1)</script>",
            "metadata": {"page_url": "https://college.example/"},
        },
        {"sender": "visitor-1", "message": "\u0643\u0645 \u0645\u062f\u0629 \ud83d\ude00"},
    ],
)
def test_usable_bodies_pass(payload):
    assert problem_with(json.dumps(payload).encode()) is None


@pytest.mark.parametrize(
    "text", ["how long is it?", "/ask_duration", '/inform{"program": "healthcare_it"}', "/restartx", "restart"]
)
def test_messages_that_need_an_answer(text):
    assert expects_reply(text)


@pytest.mark.parametrize("text", ["/restart", " /session_start ", "/restart{}", "", "  "])
def test_commands_that_answer_nothing(text):
    assert not expects_reply(text)
