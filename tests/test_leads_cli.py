"""The staff command line: export, list and retry, reading LEADS_DATABASE_URL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from actions.inquiry.store import LeadStore, utc_now
from tests.crm import FakeCRM
from tests.servers import leads_cli
from tests.test_lead_store import make_lead


def _store(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = LeadStore(url)
    old = make_lead(1, created_at=utc_now() - timedelta(days=30), name='=HYPERLINK("x")')
    new = make_lead(2, questions=["is it online?"])
    store.save(old), store.save(new)
    return url, store, old, new


def test_export_jsonl_and_since(tmp_path):
    url, _, old, new = _store(tmp_path)
    result = leads_cli(url, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [old.id, new.id]
    assert rows[1]["email"] == new.email and rows[1]["questions"] == ["is it online?"]
    since = (utc_now() - timedelta(days=1)).date().isoformat()
    recent = leads_cli(url, "export", "--since", since).stdout.splitlines()
    assert [json.loads(line)["id"] for line in recent] == [new.id]


def test_export_csv_defuses_spreadsheet_formulas(tmp_path):
    url, _, old, _ = _store(tmp_path)
    rows = list(csv.DictReader(io.StringIO(leads_cli(url, "export", "--format", "csv").stdout)))
    assert len(rows) == 2 and rows[0]["id"] == old.id
    assert rows[0]["name"] == '\'=HYPERLINK("x")'


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
