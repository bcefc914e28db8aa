"""The action server's token check and its startup settings (issue 10): unit tests.

The check over a real action server, with the Rasa server sending the token, is in
tests/test_abuse_actions.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from actions import action_server
from actions.server_auth import MISSING, WRONG, refusal, token_from_env
from tests.servers import ROOT, quiet_env

TOKEN = "a-test-token-for-the-unit-tests-0123456789"


@pytest.mark.parametrize(
    "authorization, reason",
    [
        (None, MISSING),
        ("", MISSING),
        ("Bearer", MISSING),
        ("Bearer ", MISSING),
        (f"Basic {TOKEN}", MISSING),  # another scheme is no token
        (TOKEN, MISSING),  # the bare token, without its scheme
        ("Bearer wrong", WRONG),
        (f"Bearer {TOKEN}x", WRONG),
        (f"Bearer {TOKEN[:-1]}", WRONG),
        (f"Bearer {TOKEN.upper()}", WRONG),
        (f"Bearer {TOKEN}", None),
        (f"bearer {TOKEN}", None),  # the scheme's case does not matter (RFC 9110)
        (f"  Bearer  {TOKEN}  ", None),
    ],
)
def test_only_the_right_bearer_token_passes(authorization, reason):
    assert refusal(authorization, TOKEN) == reason


def test_the_token_is_read_from_its_setting():
    assert token_from_env({"ACTIONS_TOKEN": TOKEN}) == TOKEN


@pytest.mark.parametrize(
    "environ, says",
    [
        ({}, "ACTIONS_TOKEN is not set"),
        ({"ACTIONS_TOKEN": ""}, "ACTIONS_TOKEN is not set"),
        ({"ACTIONS_TOKEN": "short"}, "at least 32 characters"),
        ({"ACTIONS_TOKEN": "a" * 40 + " b"}, "letters, digits"),  # a space would break the header
        ({"ACTIONS_TOKEN": "a" * 40 + "$HOME"}, "letters, digits"),  # Rasa would read ${...} in it
    ],
)
def test_a_missing_or_weak_token_is_refused_with_how_to_set_one(environ, says):
    with pytest.raises(ValueError, match=says):
        token_from_env(environ)


def test_the_action_server_listens_on_loopback_unless_actions_host_moves_it():
    assert action_server.host({}) == "127.0.0.1"
    assert action_server.host({"HOST": "0.0.0.0"}) == "127.0.0.1"  # the Rasa server's setting is not its
    assert action_server.host({"ACTIONS_HOST": "10.0.0.5"}) == "10.0.0.5"


def test_the_action_server_keeps_connections_longer_than_the_rasa_server_reuses_them():
    from channels.speedups import KEEPALIVE_SECONDS

    assert action_server.KEEP_ALIVE_TIMEOUT > KEEPALIVE_SECONDS


def test_the_action_server_refuses_to_start_without_a_token(tmp_path):
    env = quiet_env(LEADS_DATABASE_URL=f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    env.pop("ACTIONS_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Cannot start the action server: ACTIONS_TOKEN is not set" in result.stderr
