"""`python -m actions.insights` as staff run it (a subprocess): a report from a real SQLite
store, and every bad input refused with one clear line on stderr, a non-zero exit, and
nothing written to the report folder."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT
from tests.insights_events import Events, endpoints_for, write_store
from tests.servers import free_port, quiet_env

NEW_YORK = ZoneInfo("America/New_York")


def insights(tmp_path: Path, *args: str, store: str | None = None, **env: str) -> subprocess.CompletedProcess:
    endpoints = endpoints_for(tmp_path / "endpoints.yml", store or seeded_store(tmp_path))
    settings = {"ENDPOINTS_FILE": str(endpoints), "LEADS_DATABASE_URL": f"sqlite:///{tmp_path / 'leads.sqlite3'}"}
    return subprocess.run(
        [sys.executable, "-m", "actions.insights", *args],
        cwd=ROOT,
        env=quiet_env(**{**settings, **env}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def seeded_store(tmp_path: Path) -> str:
    e = Events(datetime(2026, 9, 2, 10, tzinfo=NEW_YORK))
    e.user("how long is health IT?")
    e.bot("reply_duration")
    e.user("is there a dorm?", "ask_unknown_topic")
    e.bot("reply_unknown_topic", topic="housing and campus life")
    return write_store(tmp_path / "conversations.sqlite3", {"visitor-1": e.list})


def test_a_report_is_written_from_the_configured_store(tmp_path):
    result = insights(tmp_path, "--since", "2026-09-01", "--until", "2026-09-30", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "wrote 17 files" in result.stdout
    assert "is there a dorm?" in (tmp_path / "out" / "unanswered.csv").read_text()
    assert (tmp_path / "out" / "index.html").is_file() and not (tmp_path / "leads.sqlite3").exists()


def unreachable() -> str:
    return f"postgresql://staff:s3cret-pass@127.0.0.1:{free_port()}/rasa"


@pytest.mark.parametrize(
    "args, env, store, message",
    [
        (
            ["--since", "2026-10-01", "--until", "2026-10-05"],
            {},
            None,
            "no conversations between 2026-10-01 and 2026-10-05",
        ),
        (
            ["--since", "2026-09-05", "--until", "2026-09-01"],
            {},
            None,
            "--since (2026-09-05) is after --until (2026-09-01)",
        ),
        (["--since", "1/9/2026"], {}, None, "--since must be a date written YYYY-MM-DD"),
        (["--since", "2026-09-01"], {"OFFICE_HOURS": "weekdays 9 to 5"}, None, "OFFICE_HOURS must be days then"),
        (["--since", "2026-09-01"], {"TIMEZONE": "Eastern"}, None, "TIMEZONE must be a time zone name"),
        (["--since", "2026-09-01"], {}, "empty", "holds no conversations"),
        (["--since", "2026-09-01"], {}, "unreachable", "cannot be reached (OperationalError)"),
        (["--since", "2026-09-01"], {"LEADS_DATABASE_URL": unreachable()}, None, "lead store postgresql://staff:***@"),
    ],
    ids=[
        "empty-range",
        "since-after-until",
        "bad-date",
        "office-hours",
        "time-zone",
        "no-conversations",
        "unreachable-store",
        "unreachable-leads",
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_written(tmp_path, args, env, store, message):
    url = {"empty": write_store(tmp_path / "empty.sqlite3", {}), "unreachable": unreachable(), None: None}[store]
    out = tmp_path / "out"
    result = insights(tmp_path, *args, "--out", str(out), store=url, **env)
    assert result.returncode == 2
    assert result.stderr.startswith("insights: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "s3cret-pass" not in result.stderr + result.stdout
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_failed_report_leaves_the_previous_one_as_it_was(tmp_path):
    out = tmp_path / "out"
    assert insights(tmp_path, "--since", "2026-09-01", "--until", "2026-09-30", "--out", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = insights(tmp_path, "--since", "2026-10-01", "--until", "2026-10-02", "--out", str(out))
    assert result.returncode == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
