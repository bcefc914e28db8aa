"""The demo page server's configuration: what the widget is told, and what is refused at start."""

from __future__ import annotations

import json

import pytest

from actions.knowledge import load_knowledge
from web import serve


def widget_config(privacy: str | None) -> dict:
    content = serve.generated_content(load_knowledge(), "http://127.0.0.1:5005/", privacy)
    body, content_type = content["/widget/widget-config.json"]
    assert content_type.startswith("application/json")
    return json.loads(body)


def test_the_widget_is_told_the_privacy_page_only_when_one_is_set():
    assert widget_config(None)["privacy_url"] is None
    assert widget_config("https://college.example/privacy")["privacy_url"] == "https://college.example/privacy"
    assert widget_config(None)["phone"] == load_knowledge().admissions.phone


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "/privacy", "college.example/privacy", "ftp://college.example/p", "https://"]
)
def test_a_privacy_url_that_is_not_an_absolute_web_address_is_refused_at_start(bad, capsys):
    assert serve.main(["--server-url", "http://127.0.0.1:5005", "--privacy-url", bad]) == 2
    assert "PRIVACY_URL must be an absolute http(s) URL" in capsys.readouterr().err
