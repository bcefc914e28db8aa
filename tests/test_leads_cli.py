"""The staff command line: export, list and retry, reading LEADS_DATABASE_URL.

Most tests call `actions.leads.main` in this process (so mutation testing sees the code they
run); one runs `python -m actions.leads` as staff do.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from actions.inquiry import fields
from actions.inquiry.store import DELIVERED, Lead, LeadStore, utc_now
from actions.leads import EXPORT_COLUMNS, main
from tests.crm import SECRET, FakeCRM
from tests.servers import ROOT, leads_cli, quiet_env
from tests.test_lead_store import make_lead


def _store(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = LeadStore(url)
    old = make_lead(1, created_at=utc_now() - timedelta(days=30), name='=HYPERLINK("x")', consent_text="")
    new = make_lead(2, questions=["is it online?"], name="-Ann", page_url="@home\tpage")
    store.save(old), store.save(new)
    return url, store, old, new


def test_export_jsonl_and_since(tmp_path):
    url, _, old, new = _store(tmp_path)
    result = leads_cli(url, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [old.id, new.id]
    assert rows[1]["email"] == new.answers["email"] and rows[1]["questions"] == ["is it online?"]
    assert list(rows[1]) == EXPORT_COLUMNS
    since = (utc_now() - timedelta(days=1)).date().isoformat()
    recent = leads_cli(url, "export", "--since", since).stdout.splitlines()
    assert [json.loads(line)["id"] for line in recent] == [new.id]


def test_the_command_line_starts_without_the_language_layer():
    """Staff commands read the field declarations, which must not pull in spaCy (seconds of start-up)."""
    code = "import sys, actions.leads; print(sorted(m for m in ('spacy', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=quiet_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@dataclass
class Leads:
    """A leads database the command line is pointed at (LEADS_DATABASE_URL), and a way to run it."""

    store: LeadStore
    capsys: pytest.CaptureFixture[str]

    def save(self, *leads: Lead) -> None:
        for lead in leads:
            self.store.save(lead)

    def run(self, *args: str) -> tuple[int, str, str]:
        """`python -m actions.leads ARGS` in this process: exit code, standard output and error."""
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        return code, out, err

    def export_csv(self, *args: str) -> list[dict[str, str]]:
        code, out, _ = self.run("export", "--format", "csv", *args)
        assert code == 0
        return list(csv.DictReader(io.StringIO(out)))

    def export_jsonl(self, *args: str) -> list[dict]:
        code, out, _ = self.run("export", *args)
        assert code == 0
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def leads(tmp_path, monkeypatch, capsys) -> Iterator[Leads]:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    monkeypatch.setenv("LEADS_DATABASE_URL", url)
    monkeypatch.delenv("LEADS_WEBHOOK_URL", raising=False)
    store = LeadStore(url)
    yield Leads(store, capsys)
    store.dispose()


def test_export_csv_defuses_spreadsheet_formulas(leads):
    old = make_lead(1, created_at=utc_now() - timedelta(days=30), name='=HYPERLINK("x")', consent_text="")
    new = make_lead(2, questions=["is it online?"], name="-Ann", page_url="@home\tpage")
    leads.save(old, new)
    rows = leads.export_csv()
    assert len(rows) == 2 and rows[0]["id"] == old.id
    assert rows[0]["name"] == '\'=HYPERLINK("x")'
    assert rows[1]["name"] == "'-Ann" and rows[1]["page_url"] == "'@home\tpage"
    assert rows[0]["consent_text"] == ""  # nothing to defuse in an empty value


@pytest.mark.parametrize(
    "start", ["=", "+", "-", "@", "\t", "\r"], ids=["equals", "plus", "minus", "at", "tab", "carriage-return"]
)
def test_csv_export_guards_every_start_a_spreadsheet_reads_as_a_formula(leads, start):
    typed = start + "cmd|' /C calc'!A0"  # what a visitor could type as a name or a question
    leads.save(make_lead(3, name=typed, questions=[typed]))
    [row] = leads.export_csv()
    assert row["name"] == "'" + typed and row["questions"] == "'" + typed


def test_csv_export_leaves_plain_values_as_they_are(leads):
    lead = make_lead(4, name="Ann Lee", consent_text="", questions=["is it online?", "a=b or c-d?"])
    leads.save(lead)
    [row] = leads.export_csv()
    assert row["name"] == "Ann Lee" and row["consent_text"] == ""  # an empty value exports as empty
    assert row["questions"].split(" | ") == lead.questions  # each question, readable in one cell
    assert row["delivery_attempts"] == "0" and row["id"] == lead.id


def test_the_export_columns_are_the_declared_answers_and_the_bookkeeping(leads):
    leads.save(make_lead(5))
    code, out, _ = leads.run("export", "--format", "csv")
    header = next(csv.reader(io.StringIO(out)))
    assert code == 0 and header == EXPORT_COLUMNS
    exported = [column.name for column in fields.columns() if column.exported]
    assert [name for name in header if name in exported] == exported
    assert {"id", "created_at", "delivery_status", "delivery_attempts", "delivered_at"} <= set(header)


def test_export_is_jsonl_unless_csv_is_asked_for_with_names_kept_readable(leads):
    lead = make_lead(6, name="José Núñez", questions=["¿es en línea?"])
    leads.save(lead)
    code, default, _ = leads.run("export")
    assert code == 0 and leads.run("export", "--format", "jsonl")[1] == default
    assert "José Núñez" in default and "¿es en línea?" in default  # not \\u escapes in a text editor
    [row] = [json.loads(line) for line in default.splitlines()]
    assert row["name"] == lead.answers["name"] and row["questions"] == lead.questions
    assert row["created_at"] == lead.created_at.isoformat()


MIDNIGHT = datetime(2026, 9, 1, tzinfo=timezone.utc)


@pytest.fixture
def new_york_clock() -> Iterator[None]:
    """The machine's local time zone set to New York, to show nothing depends on it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize(
    "since", ["2026-09-01", "2026-09-01T00:00:00", "2026-09-01T02:00:00+02:00", "2026-08-31T20:00:00-04:00"]
)
def test_since_includes_leads_created_exactly_then_in_utc_unless_an_offset_is_given(leads, new_york_clock, since):
    exactly = make_lead(7, created_at=MIDNIGHT)
    leads.save(make_lead(8, created_at=MIDNIGHT - timedelta(microseconds=1)), exactly)
    assert [row["id"] for row in leads.export_jsonl("--since", since)] == [exactly.id]
    assert [row["id"] for row in leads.export_csv("--since", since)] == [exactly.id]


def columns_of(line: str) -> list[int]:
    """Where each column of a table line starts."""
    return [match.start() for match in re.finditer(r"(?:^|(?<=  ))\S", line)]


def test_list_is_a_readable_table(leads):
    older = make_lead(9, created_at=datetime(2026, 9, 1, 8, 5, 59, tzinfo=timezone.utc), name="Bo Li")
    newer = make_lead(10, name="Maximiliana Oyelaran-Whitfield", contact_method="text")
    refused = make_lead(20, name="Al Xu")
    leads.save(older, newer, refused)
    leads.store.mark_delivered(newer.id)
    leads.store.mark_failed(refused.id, "CRM answered HTTP 422 Unprocessable Entity")
    code, out, _ = leads.run("list")
    header, *rows, footer = out.splitlines()
    assert code == 0 and footer == "3 lead(s)"
    assert header.split() == ["created", "(UTC)", "id", "name", "program", "contact", "status", "note"]
    starts = columns_of(header)
    assert starts[0] == 0 and all(columns_of(row) == starts for row in rows)  # every column lines up
    for row, lead in zip(rows, (older, newer, refused), strict=True):
        created = row[: starts[1]].strip()
        assert datetime.strptime(created, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc) == lead.created_at.replace(
            second=0, microsecond=0
        )
        short_id, name = row[starts[1] : starts[2]].strip(), row[starts[2] : starts[3]].strip()
        assert len(short_id) >= 8 and lead.id.startswith(short_id) and name == lead.answers["name"]
        program, contact = row[starts[3] : starts[4]].strip(), row[starts[4] : starts[5]].strip()
        assert (program, contact) == (lead.answers["program_id"], lead.answers["contact_method"])
    states = [(row[starts[5] : starts[6]].strip(), row[starts[6] :]) for row in rows]
    delivered_at = leads.store.get(newer.id).delivered_at
    assert states == [
        ("pending", "not tried yet"),
        (DELIVERED, f"delivered {delivered_at:%Y-%m-%d %H:%M}"),
        ("failed", "CRM answered HTTP 422 Unprocessable Entity"),
    ]


def test_list_since_shows_only_the_recent_leads(leads):
    recent = make_lead(11, created_at=MIDNIGHT)
    leads.save(make_lead(12, created_at=MIDNIGHT - timedelta(days=1)), recent)
    code, out, _ = leads.run("list", "--since", "2026-09-01")
    assert code == 0 and out.splitlines()[-1] == "1 lead(s)" and recent.id[:8] in out


def test_retry_delivers_pending_leads(leads, monkeypatch):
    old, new = make_lead(13, created_at=utc_now() - timedelta(days=1)), make_lead(14)
    leads.save(old, new)
    code, _, err = leads.run("retry")
    assert code == 2 and "LEADS_WEBHOOK_URL" in err  # no webhook configured: says which setting
    with FakeCRM(SECRET) as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
        code, out, _ = leads.run("retry")
    assert code == 0 and out.strip() == "delivered 2 of 2 pending lead(s)"
    assert set(crm.accepted) == {old.id, new.id} and crm.bad_signatures == []
    assert leads.store.pending() == []


def test_retry_while_the_crm_is_down_says_so_and_fails(leads, monkeypatch):
    leads.save(waiting := make_lead(15))
    leads.store.schedule_retry(waiting.id, "CRM answered HTTP 503 Service Unavailable", utc_now() + timedelta(hours=1))
    with FakeCRM(SECRET) as crm:
        crm.down = True
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
        code, out, _ = leads.run("retry")
    # Staff asked for now: the lead is tried though its next attempt was an hour away.
    assert crm.posts[waiting.id] == 1
    assert code == 1 and out.strip() == "delivered 0 of 1 pending lead(s); 1 still pending, retried later"
    assert len(leads.store.pending()) == 1


def test_a_command_is_required_and_none_delivers_anything(leads, monkeypatch):
    leads.save(make_lead(17))
    with FakeCRM(SECRET) as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        with pytest.raises(SystemExit) as stopped:
            leads.run()
    assert stopped.value.code == 2 and crm.requests == 0
    assert "usage: python -m actions.leads" in leads.capsys.readouterr().err


def test_help_shows_how_to_run_it_each_command_and_the_settings_it_reads(leads):
    with pytest.raises(SystemExit) as stopped:
        leads.run("--help")
    out = leads.capsys.readouterr().out
    assert stopped.value.code == 0 and out.startswith("usage: python -m actions.leads")
    for command in ("export", "list", "retry"):
        assert re.search(rf"^ +{command} +\S", out, re.MULTILINE), f"{command} is not explained"
    assert "LEADS_DATABASE_URL" in out and "LEADS_WEBHOOK_URL" in out
    with pytest.raises(SystemExit):
        leads.run("export", "--help")
    assert re.search(r"^ +--since SINCE +\S", leads.capsys.readouterr().out, re.MULTILINE)  # what a date means


def test_an_unknown_export_format_is_refused_not_silently_csv(leads):
    leads.save(make_lead(18))
    with pytest.raises(SystemExit) as stopped:
        leads.run("export", "--format", "xlsx")
    assert stopped.value.code == 2 and leads.capsys.readouterr().out == ""
