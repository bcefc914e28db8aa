"""`make cluster` (deploy/cluster.py): real PostgreSQL, Redis, nginx and two replicas each of the
Rasa and action servers on loopback, spoken to through nginx over REST as the widget does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from actions.knowledge import load_knowledge
from actions.privacy.personal_slots import PERSONAL_SLOTS, placeholder
from channels import door
from deploy.processes import children, session_members
from tests.cluster import running_cluster, stored_events, user_texts
from tests.conftest import ROOT, wait_for
from tests.conversations import DANA, Scripts
from tests.replies import load_replies
from tests.servers import ACTIONS_TOKEN, HOST, converse, exported_leads, free_port, quiet_env

pytestmark = pytest.mark.slow

SCRIPTS = Scripts(load_knowledge(), load_replies())


def visitor() -> str:
    return f"cluster-{uuid.uuid4()}"


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(web=True) as running:
        yield running


def test_a_question_and_its_follow_ups_are_answered_through_nginx(cluster):
    converse(cluster.webhook, visitor(), SCRIPTS.questions()[0])


def test_an_inquiry_through_nginx_is_saved_once_and_each_message_processed_once(cluster):
    sender = visitor()
    turns = SCRIPTS.inquiry()
    converse(cluster.webhook, sender, turns)
    [lead] = exported_leads(cluster.leads_url, sender)  # staff's export, from PostgreSQL
    assert (lead["name"], lead["email"], lead["phone"]) == (DANA.name, DANA.email, DANA.stored_phone)
    said = user_texts(stored_events(cluster.leads_url, sender))
    # Each message stored once, in order. Contact details are redacted in the store (a message
    # typed at a contact question is replaced by its placeholder), so such a turn shows "[kind]".
    assert len(said) == len(turns)
    differ = [(stored, sent) for stored, (sent, _) in zip(said, turns, strict=True) if stored != sent]
    assert {stored for stored, _ in differ} <= {placeholder(kind) for kind in PERSONAL_SLOTS.values()}


def test_a_body_over_16_kb_gets_the_rasa_servers_413_answer_from_nginx(cluster):
    body = b'{"sender": "big", "message": "' + b"a" * door.MAX_BODY_BYTES + b'"}'
    response = httpx.post(cluster.webhook, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.json() == {"error": door.TOO_LARGE}


def test_the_demo_page_and_its_origin_reach_the_assistant_through_nginx(cluster):
    settings = cluster.settings
    page = httpx.get(f"http://{HOST}:{settings.web_port}/", timeout=30)
    assert page.status_code == 200
    assert settings.assistant_url in page.headers["Content-Security-Policy"]  # the widget may call nginx
    origin = settings.allowed_origins[0]
    preflight = httpx.options(
        cluster.webhook, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}, timeout=30
    )
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin


def test_stopping_the_cluster_leaves_no_process_behind(cluster):
    sessions = cluster.sessions()
    assert len(sessions) == 2 + 2 + 2 + 2 + 1  # postgres, redis, two of each server, two nginx, the demo page
    assert len(session_members(sessions)) > len(sessions)  # nginx's workers, PostgreSQL's helpers...
    cluster.stop()
    assert session_members(sessions) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{HOST}:{cluster.settings.rasa_port}/", timeout=5)


def test_ctrl_c_stops_the_cluster_command_and_everything_it_started():
    state = Path(tempfile.mkdtemp(prefix="cluster-cli-"))
    state.chmod(0o755)
    rasa_port, web_port = free_port(), free_port()
    env = quiet_env(
        HOST=HOST,
        RASA_PORT=str(rasa_port),
        ACTIONS_PORT=str(free_port()),
        WEB_PORT=str(web_port),
        RASA_REPLICAS="1",
        ACTIONS_REPLICAS="1",
        CLUSTER_DIR=str(state),
        ACTIONS_TOKEN=ACTIONS_TOKEN,
        CLIENT_KEY_SECRET="0123456789abcdef0123456789abcdef",
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deploy.cluster"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url, page = f"http://{HOST}:{rasa_port}/", f"http://{HOST}:{web_port}/"
        # The demo page starts last, once nginx answers.
        assert wait_for(lambda: _answers(page) or launcher.poll() is not None, 420, pause=1)
        assert launcher.poll() is None, launcher.stdout.read().decode() if launcher.stdout else ""
        started = children(launcher.pid)
        assert len(started) == 7  # postgres, redis, an action server, a Rasa server, two nginx, the demo page
        # `make cluster-upgrade` reaches the running command, which refuses: one Rasa server cannot roll.
        upgrade = subprocess.run(
            [sys.executable, "-m", "deploy.cluster", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert upgrade.returncode == 1
        assert "failed: a rolling upgrade needs two Rasa servers or more" in upgrade.stdout
        assert _answers(url)  # and goes on serving
        os.kill(launcher.pid, signal.SIGINT)  # what Ctrl-C sends
        assert launcher.wait(120) == 0
        output = launcher.stdout.read().decode() if launcher.stdout else ""
        assert "Stopped." in output
        assert session_members(started) == []  # each child led its own session
        assert not _answers(url)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        shutil.rmtree(state, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.TransportError:
        return False
