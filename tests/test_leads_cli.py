"""The staff command line: export, list and retry, reading LEADS_DATABASE_URL."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta

from actions.inquiry import fields
from actions.inquiry.store import LeadStore, utc_now
from actions.leads import EXPORT_COLUMNS
from tests.crm import FakeCRM
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


def test_export_csv_defuses_spreadsheet_formulas(tmp_path):
    url, _, old, _ = _store(tmp_path)
    rows = list(csv.DictReader(io.StringIO(leads_cli(url, "export", "--format", "csv").stdout)))
    assert len(rows) == 2 and rows[0]["id"] == old.id
    assert rows[0]["name"] == '\'=HYPERLINK("x")'
    assert rows[1]["name"] == "'-Ann" and rows[1]["page_url"] == "'@home\tpage"
    assert rows[0]["consent_text"] == ""  # nothing to defuse in an empty value


def test_the_export_columns_are_the_declared_answers_and_the_bookkeeping(tmp_path):
    url, *_ = _store(tmp_path)
    header = next(csv.reader(io.StringIO(leads_cli(url, "export", "--format", "csv").stdout)))
    assert header == EXPORT_COLUMNS
    exported = [column.name for column in fields.columns() if column.exported]
    assert [name for name in header if name in exported] == exported
    assert {"id", "created_at", "delivery_status", "delivery_attempts", "delivered_at"} <= set(header)


def test_the_command_line_starts_without_the_language_layer():
    """Staff commands read the field declarations, which must not pull in spaCy (seconds of start-up)."""
    code = "import sys, actions.leads; print(sorted(m for m in ('spacy', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=quiet_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_list_is_a_readable_table(tmp_path):
    url, *_ = _store(tmp_path)
    out = leads_cli(url, "list").stdout.splitlines()
    assert out[0].split() == ["created", "(UTC)", "id", "name", "program", "contact", "status"]
    assert out[-1] == "2 lead(s)" and "pending" in out[1]


def test_retry_delivers_pending_leads(tmp_path, monkeypatch):
    url, store, old, new = _store(tmp_path)
    assert leads_cli(url, "retry").returncode == 2  # no webhook configured: says so
    with FakeCRM("s3cret") as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv("LEADS_WEBHOOK_SECRET", "s3cret")
        result = leads_cli(url, "retry")
    assert result.returncode == 0 and result.stdout.strip() == "delivered 2 of 2 pending lead(s)"
    assert set(crm.accepted) == {old.id, new.id} and crm.bad_signatures == []
    assert store.pending() == []
