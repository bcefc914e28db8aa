"""deploy/cluster.py's settings and rendered files, without starting anything: the settings are
`make run`'s, a bad one is refused by name, and the endpoints file is read by Rasa's own reader
and by the action server's as one PostgreSQL store, one Redis lock store and nginx's actions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.utils.endpoints import read_endpoint_config

from actions import action_server
from actions.privacy.conversations import store_url
from channels import door
from deploy import render
from deploy.cluster import DEFAULT_MODEL, ROOT, SettingError, Settings, ask_for_upgrade
from deploy.render import Upstream, actions_nginx_config, cluster_endpoints, nginx_config


def test_the_settings_default_to_make_runs_addresses_with_two_replicas_each():
    settings = Settings.from_env({})
    assert (settings.host, settings.rasa_port, settings.actions_port, settings.web_port) == (
        "127.0.0.1",
        5005,
        5055,
        8080,
    )
    assert settings.allowed_origins == ("http://127.0.0.1:8080",)
    assert settings.assistant_url == "http://127.0.0.1:5005"
    assert (settings.rasa_replicas, settings.actions_replicas) == (2, 2)
    assert settings.model == DEFAULT_MODEL and settings.state == ROOT / "runtime" / "cluster"


def test_the_settings_are_read_as_make_run_reads_them():
    settings = Settings.from_env(
        {
            "HOST": "0.0.0.0",
            "RASA_PORT": "6005",
            "WEB_PORT": "9090",
            "ALLOWED_ORIGINS": "https://www.college.edu, https://apply.college.edu",
            "RASA_REPLICAS": "3",
            "ACTIONS_REPLICAS": "1",
        }
    )
    assert settings.allowed_origins == ("https://www.college.edu", "https://apply.college.edu")
    assert settings.assistant_url == "http://0.0.0.0:6005"
    assert (settings.rasa_replicas, settings.actions_replicas, settings.connect_host) == (3, 1, "127.0.0.1")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"RASA_REPLICAS": "0"}, "RASA_REPLICAS must be a whole number from 1 to 16, not '0'"),
        ({"ACTIONS_REPLICAS": "two"}, "ACTIONS_REPLICAS must be a whole number from 1 to 16, not 'two'"),
        ({"RASA_PORT": "70000"}, "RASA_PORT must be a port number"),
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS must list the site origins exactly"),
        ({"WEB_PORT": "5005"}, "must be three different ports"),
        ({"MODEL": "models/none.tar.gz"}, "MODEL: no trained model at"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(environ, named):
    with pytest.raises(SettingError, match=named.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ)


def write_endpoints(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.yml"
    path.write_text(cluster_endpoints(ROOT / "endpoints.yml", actions_port=5055, postgres_port=15432, redis_port=16379))
    return path


def test_rasa_reads_the_cluster_endpoints_as_postgres_redis_and_nginx(tmp_path, monkeypatch):
    monkeypatch.setenv(render.DB_PASSWORD_ENV, "db-secret")
    monkeypatch.setenv(render.REDIS_PASSWORD_ENV, "redis-secret")
    monkeypatch.setenv("ACTIONS_TOKEN", "token-of-the-cluster")
    path = write_endpoints(tmp_path)
    assert "db-secret" not in path.read_text() and "redis-secret" not in path.read_text()  # named, not written

    action = read_endpoint_config(str(path), "action_endpoint")
    assert action is not None and action.url == "http://127.0.0.1:5055/webhook"  # nginx, not one server
    assert action.headers == {"Authorization": "Bearer token-of-the-cluster"}

    tracker = read_endpoint_config(str(path), "tracker_store")
    assert tracker is not None and tracker.type == "channels.tracker_store.SQLTrackerStore"
    assert (tracker.url, tracker.kwargs["dialect"], tracker.kwargs["port"]) == ("127.0.0.1", "postgresql", 15432)
    assert tracker.kwargs["password"] == "db-secret"

    lock = read_endpoint_config(str(path), "lock_store")
    assert lock is not None and lock.type == "channels.lock_store.AtomicRedisLockStore" and lock.url == "127.0.0.1"
    assert (lock.kwargs["port"], lock.kwargs["db"], lock.kwargs["key_prefix"]) == (16379, 0, "admissions")
    assert lock.kwargs["password"] == "redis-secret"


def test_the_action_server_finds_the_same_conversation_store(tmp_path, monkeypatch):
    monkeypatch.setenv(render.DB_PASSWORD_ENV, "db-secret")
    url = sa.engine.make_url(store_url(write_endpoints(tmp_path)))
    assert (url.get_backend_name(), url.host, url.port, url.database) == (
        "postgresql",
        "127.0.0.1",
        15432,
        "admissions",
    )
    assert (url.username, url.password) == ("admissions", "db-secret")
    assert render.database_url(15432, "db-secret") == "postgresql://admissions:db-secret@127.0.0.1:15432/admissions"


def config(rasa: list[Upstream] | None = None, actions: list[Upstream] | None = None) -> str:
    """Both nginx configurations, the visitors' then the actions'."""
    visitors = nginx_config(
        state=Path("/state"),
        host="127.0.0.1",
        rasa_port=5005,
        rasa=[Upstream(6001), Upstream(6002)] if rasa is None else rasa,
    )
    calls = actions_nginx_config(
        state=Path("/state-actions"), actions_port=5055, actions=[Upstream(7001)] if actions is None else actions
    )
    return visitors + calls


def test_nginx_closes_idle_upstream_connections_before_the_servers_do():
    text = config()
    # A server closing an idle connection as nginx sends on it would fail a message.
    assert f"keepalive_timeout {door.KEEP_ALIVE_TIMEOUT_SECONDS - 5}s;" in text
    assert f"keepalive_timeout {action_server.KEEP_ALIVE_TIMEOUT - 1}s;" in text
    assert door.KEEP_ALIVE_TIMEOUT_SECONDS - 5 > 0 and action_server.KEEP_ALIVE_TIMEOUT - 1 > 0


def test_every_replica_is_an_upstream_server_and_one_taken_out_is_marked_down():
    text = config(rasa=[Upstream(6001, down=True), Upstream(6002)])
    assert "server 127.0.0.1:6001 max_fails=1 fail_timeout=10s down;" in text
    assert "server 127.0.0.1:6002 max_fails=1 fail_timeout=10s;" in text
    assert "server 127.0.0.1:7001 max_fails=1 fail_timeout=10s;" in text
    assert re.search(r"%\{\w+\}", text) is None  # every placeholder filled


def test_nginx_is_never_left_without_a_rasa_or_action_server_in_rotation():
    with pytest.raises(ValueError, match="at least one Rasa server"):
        config(rasa=[Upstream(6001, down=True)])
    with pytest.raises(ValueError, match="at least one action server"):
        config(actions=[])


def test_an_upgrade_without_a_running_cluster_says_so(tmp_path, capsys):
    settings = Settings(state=tmp_path)
    assert ask_for_upgrade(settings, DEFAULT_MODEL) == 1
    assert "No cluster is running here (start one with `make cluster`)" in capsys.readouterr().err
    (tmp_path / "launcher.pid").write_text("999999999\n")  # a launcher that is gone
    assert ask_for_upgrade(settings, DEFAULT_MODEL) == 1
    assert not (tmp_path / "upgrade-request").exists()
