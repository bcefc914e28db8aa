"""A rolling upgrade (Cluster.rolling_upgrade, `make cluster-upgrade`): the Rasa servers are
replaced by ones serving a retrained model, one at a time, while visitors keep talking through
nginx. No message may fail, no conversation lose a message, and the new wording must be what
every replica says afterwards.

The new model is trained as staff would train it, with `rasa train` on a copy of the project
whose one response is reworded: Rasa 3.6 leaves responses out of what its policies train on,
so with the project's training cache only the cheap parts are trained again.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from actions.knowledge import load_knowledge
from tests.cluster import running_cluster, stored_events, user_texts
from tests.conftest import MEASUREMENTS, ROOT, edit_yaml
from tests.conversations import BILLING, Conversation, Scripts, answered
from tests.replies import load_replies
from tests.servers import rasa_cli, say, texts

pytestmark = pytest.mark.slow

VISITORS = 15
PAUSE_SECONDS = 0.5  # between a reply and the next message: people read
NEW_WORDING = "Count on {duration_months} months for {program_name}, from the first class to the last."
KB = load_knowledge()
OLD = Scripts(KB, load_replies())


@dataclass(frozen=True)
class Retrained:
    domain: Path
    model: Path


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Retrained]:
    root = tmp_path_factory.mktemp("retrained")
    shutil.copytree(ROOT / "data", root / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    edit_yaml(root / "domain.yml", lambda data: data["responses"].update(reply_duration=[{"text": NEW_WORDING}]))
    started = time.monotonic()
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
        "retrained",
        "--quiet",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    MEASUREMENTS.append(f"cluster upgrade: the reworded model trained in {time.monotonic() - started:.0f} s")
    yield Retrained(root / "domain.yml", root / "models" / "retrained.tar.gz")


def scripts_pairs(new: Scripts) -> list[list[tuple[str, tuple[str, ...]]]]:
    """The project's conversations, each reply allowed to be in the old or the new wording
    (while the upgrade runs, either replica may answer)."""
    old_conversations: list[Conversation] = [*OLD.questions(), OLD.inquiry(repeat=None)]
    new_conversations: list[Conversation] = [*new.questions(), new.inquiry(repeat=None)]
    return [
        [(message, (*old, *fresh)) for (message, old), (_, fresh) in zip(before, after, strict=True)]
        for before, after in zip(old_conversations, new_conversations, strict=True)
    ]


def test_a_rolling_upgrade_fails_no_message_loses_no_conversation_and_brings_the_new_wording(retrained, tmp_path):
    new = Scripts(KB, load_replies(retrained.domain))
    billing = OLD.program(BILLING)
    question = f"how long is {billing.name.lower()}?"
    old_answer, new_answer = OLD.duration(billing), new.duration(billing)
    assert not set(old_answer) & set(new_answer)
    conversations = scripts_pairs(new)

    with running_cluster(logs=tmp_path / "logs") as cluster:
        for _ in range(4):  # both replicas, twice: the old wording until the upgrade
            assert answered(texts(say(cluster.webhook, f"before-{uuid.uuid4()}", question)), old_answer)

        upgrading = threading.Event()
        upgrading.set()
        errors: list[str] = []
        said: dict[str, int] = {}  # conversation -> messages answered

        def visitor(n: int) -> None:
            index = n
            while upgrading.is_set():
                sender = f"upgrade-{uuid.uuid4()}"
                said[sender] = 0
                for message, expected in conversations[index % len(conversations)]:
                    try:
                        reply = texts(say(cluster.webhook, sender, message))
                    except httpx.HTTPError as error:
                        errors.append(f"{sender}: {type(error).__name__} after {said[sender]} messages")
                        break
                    said[sender] += 1
                    if not answered(reply, expected):
                        errors.append(f"{sender}: unexpected reply {reply[:200]!r}")
                        break
                    time.sleep(PAUSE_SECONDS)
                index += 1

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=VISITORS) as pool:
            running = [pool.submit(visitor, n) for n in range(VISITORS)]
            try:
                cluster.rolling_upgrade(retrained.model)
            finally:
                upgrading.clear()
            for future in running:
                future.result()
        elapsed = time.monotonic() - started
        messages = sum(said.values())

        MEASUREMENTS.append(
            f"cluster upgrade: 2 Rasa servers replaced one at a time in {elapsed:.0f} s while {VISITORS} visitors "
            f"sent {messages} messages in {len(said)} conversations: {len(errors)} failed"
        )
        assert errors == []
        for sender, count in said.items():
            assert len(user_texts(stored_events(cluster.leads_url, sender))) == count, sender  # nothing lost
        for _ in range(4):  # both replicas now say it the new way
            reply = texts(say(cluster.webhook, f"after-{uuid.uuid4()}", question))
            assert answered(reply, new_answer) and not answered(reply, old_answer)
        assert all(replica.running() for replica in cluster.rasa)
