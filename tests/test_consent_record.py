"""The consent record a TCPA review asks for: the moment each consent was given, the version of
its wording, the channel, and the page reduced to origin + path; in the lead, the CRM payload,
the export, and through the migration that adds its columns to a database with leads in it."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from actions.inquiry import fields, migrate
from actions.inquiry.consent import record_slot, wording_version
from actions.inquiry.form_actions import ALL_SLOTS, ValidateInquiryForm
from actions.inquiry.page_address import origin_and_path
from actions.inquiry.payload import build_payload
from actions.inquiry.store import LeadStore, utc_now
from actions.leads import EXPORT_COLUMNS
from tests.conftest import DOMAIN
from tests.servers import leads_cli
from tests.test_inquiry_form import COMPLETE, Result, after, ask, leads_db, make_tracker, run, submitted_lead
from tests.test_lead_store import make_lead
from tests.test_payload import VALIDATOR

__all__ = ["leads_db"]  # the fixture, shared with the form's tests

CONSENTS = [f for f in fields.FIELDS if f.record]
TEXTING = {**COMPLETE, "lead_contact_method": "text", "lead_sms_consent": True}


def user_said(text: str, channel: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "affirm"}}, "input_channel": channel}


def reply(requested: str, text: str, intent: str, slots: dict[str, Any], channel: str = "rest") -> Result:
    """The visitor's reply to `requested`, typed on `channel`."""
    tracker = make_tracker(text, intent, {**slots, "requested_slot": requested}, events=[user_said(text, channel)])
    return run(ValidateInquiryForm(), tracker)


def record_of(field: fields.FormField, slots: dict[str, Any]) -> Any:
    return slots.get(record_slot(field.slot))


@pytest.mark.parametrize("field", CONSENTS, ids=lambda f: f.slot)
def test_a_yes_records_its_moment_wording_version_and_channel(field):
    before = datetime.now(timezone.utc)
    said_yes = reply(field.slot, "yes", "affirm", TEXTING, channel="cmdline")
    record = said_yes.slot(record_slot(field.slot))
    assert said_yes.slot(field.slot) is True
    assert before <= datetime.fromisoformat(record["at"]) <= datetime.now(timezone.utc)
    assert record["wording_version"] == wording_version(DOMAIN, f"reply_ask_{field.slot}")
    assert record["channel"] == "cmdline"
    assert (
        reply(field.slot, "yes", "affirm", TEXTING, channel="rest").slot(record_slot(field.slot))["channel"] == "rest"
    )


@pytest.mark.parametrize("field", CONSENTS, ids=lambda f: f.slot)
def test_a_declined_or_unclear_consent_records_nothing_and_clears_what_was_recorded(field):
    given = after(TEXTING, reply(field.slot, "yes", "affirm", TEXTING))
    assert record_of(field, given)
    declined = reply(field.slot, "no", "deny", given)
    assert declined.slot(record_slot(field.slot)) is None and declined.slot(field.slot) is None
    assert all(declined.slot(record_slot(f.slot)) is None for f in CONSENTS)  # asked again, both
    unclear = reply(field.slot, "maybe later", "out_of_scope", {**TEXTING, field.slot: None})
    assert unclear.slot(record_slot(field.slot)) == "<unset>"


def given_both() -> dict[str, Any]:
    slots = after(TEXTING, ask("lead_consent", TEXTING))  # keeps the wording asked, as the form does
    slots = after(slots, reply("lead_consent", "yes", "affirm", slots))
    slots = after(slots, ask("lead_sms_consent", slots))  # keeps the wording asked, as the form does
    slots = after(slots, reply("lead_sms_consent", "yes", "affirm", slots))
    assert all(record_of(f, slots) for f in CONSENTS)
    return slots


def test_a_new_contact_method_clears_both_consents_records():
    changed = reply("lead_contact_method", "email", "inform", given_both())
    assert changed.slot("lead_contact_method") == "email"
    assert all(changed.slot(f.slot) is None and changed.slot(record_slot(f.slot)) is None for f in CONSENTS)


def test_a_contact_method_changed_at_the_summary_clears_both_consents_records():
    changed = reply("lead_confirmed", "change my contact method", "inform", given_both())
    assert all(changed.slot(record_slot(f.slot)) is None for f in CONSENTS)


def test_a_new_phone_number_clears_only_the_text_consents_record():
    changed = reply("lead_phone", "+1 423 555 0199", "inform", given_both())
    assert changed.slot(record_slot("lead_sms_consent")) is None
    assert changed.slot(record_slot("lead_consent")) == "<unset>"  # kept: the number is not in its wording


def test_the_records_are_cleared_with_the_form():
    assert {record_slot(f.slot) for f in CONSENTS} <= set(ALL_SLOTS)
    for field in CONSENTS:
        assert DOMAIN["slots"][record_slot(field.slot)]["mappings"] == [{"type": "custom"}]


def test_the_wording_version_follows_the_template_not_the_values_filled_in():
    response = "reply_ask_lead_sms_consent"
    version = wording_version(DOMAIN, response)
    assert version.startswith(response + "@") and version == wording_version(copy.deepcopy(DOMAIN), response)
    edited = copy.deepcopy(DOMAIN)
    edited["responses"][response][0]["text"] += " Reply STOP to opt out."
    assert wording_version(edited, response) != version
    assert wording_version(DOMAIN, "reply_ask_lead_consent") != version
    texting = after(TEXTING, ask("lead_sms_consent", TEXTING))
    assert texting["lead_phone"] not in version and texting["lead_phone"] in texting["lead_sms_consent_wording"]


def test_the_lead_keeps_each_consents_moment_not_the_submit_time(leads_db):
    slots = {**given_both(), "lead_id": "7f1d3c2e-0000-4000-8000-0000000000c1"}
    recorded = {f.slot: record_of(f, slots) for f in CONSENTS}
    earlier = (utc_now() - timedelta(minutes=5)).isoformat()  # consent given before the summary
    slots[record_slot("lead_consent")] = {**recorded["lead_consent"], "at": earlier}
    lead = submitted_lead(leads_db, slots).answers
    assert lead["consent_at"] == datetime.fromisoformat(earlier)
    assert lead["sms_consent_at"] == datetime.fromisoformat(recorded["lead_sms_consent"]["at"])
    for field in CONSENTS:
        record = fields.BY_SLOT[field.slot].record
        assert record is not None
        assert lead[record.wording_version.name] == recorded[field.slot]["wording_version"]
        assert lead[record.channel.name] == "rest"


def test_a_visitor_contacted_by_email_keeps_no_text_consent_record(leads_db):
    slots = {**given_both(), "lead_contact_method": "email", "lead_id": "7f1d3c2e-0000-4000-8000-0000000000c2"}
    slots["lead_consent_wording"] = COMPLETE["lead_consent_wording"]  # the consent named email
    lead = submitted_lead(leads_db, slots).answers
    assert lead["sms_consent_at"] is None and lead["sms_consent_wording_version"] is None
    assert lead["sms_consent_channel"] is None and lead["consent_channel"] == "rest"


def test_a_form_begun_before_the_record_existed_is_still_saved_at_its_submit_time(leads_db, caplog):
    slots = {**COMPLETE, "lead_id": "7f1d3c2e-0000-4000-8000-0000000000c3"}  # no record slot
    before = utc_now()
    lead = submitted_lead(leads_db, slots)
    assert before <= lead.answers["consent_at"] <= utc_now() and lead.answers["consent_wording_version"] is None
    assert lead.id in caplog.text and COMPLETE["lead_email"] not in caplog.text
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [message for message in warned if message.startswith(f"lead {lead.id}: consent given before")]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://college.example/programs/hit", "https://college.example/programs/hit"),
        ("https://college.example/apply?email=ana%40example.com&utm_source=x", "https://college.example/apply"),
        ("https://college.example/apply#step-2", "https://college.example/apply"),
        ("https://ana:secret@college.example/apply?x=1#y", "https://college.example/apply"),
        ("HTTPS://College.Example:8443/Apply/", "https://college.example:8443/Apply/"),
        ("https://college.example", "https://college.example/"),
        ("https://college.example?utm=1", "https://college.example/"),
        ("  http://[2001:db8::1]:8080/p?q  ", "http://[2001:db8::1]:8080/p"),
        ("javascript:alert(1)", None),
        ("mailto:ana@example.com", None),
        ("/relative/path?x=1", None),
        ("https://", None),
        ("https://college.example:notaport/p", None),
        ("https://[::1/p", None),
        ("", None),
    ],
)
def test_the_page_is_reduced_to_origin_and_path(url, kept):
    assert origin_and_path(url) == kept


def test_the_lead_keeps_the_page_reduced_at_capture(leads_db):
    page = "https://ana:pw@college.example/hit?email=ana%40example.com#top"
    events = [user_said("hi", "rest") | {"metadata": {"page_url": page}}]
    slots = {**COMPLETE, "lead_id": "7f1d3c2e-0000-4000-8000-0000000000c4"}
    assert submitted_lead(leads_db, slots, events).page_url == "https://college.example/hit"


def recorded_lead(n: int, **overrides: Any):
    return make_lead(
        n,
        contact_method="text",
        sms_consent_given=True,
        sms_consent_text="May we text you?",
        sms_consent_at=utc_now(),
        sms_consent_wording_version="reply_ask_lead_sms_consent@0123456789",
        sms_consent_channel="rest",
        **overrides,
    )


def test_the_payload_carries_the_record_and_validates_against_the_schema():
    lead = recorded_lead(1)
    payload = build_payload(lead)
    VALIDATOR.validate(payload)
    assert datetime.fromisoformat(payload["sms_consent_at"]) == lead.answers["sms_consent_at"]
    assert payload["consent_channel"] == lead.answers["consent_channel"]
    assert payload["sms_consent_wording_version"] == lead.answers["sms_consent_wording_version"]
    VALIDATOR.validate(build_payload(make_lead(2, consent_wording_version=None, consent_channel=None)))
    assert not VALIDATOR.is_valid({**payload, "sms_consent_at": 1764360000})
    assert not VALIDATOR.is_valid({**payload, "consent_channel": 7})
    optional = {k: v for k, v in payload.items() if k not in ("consent_wording_version", "sms_consent_channel")}
    assert VALIDATOR.is_valid(optional)  # additive keys: a version 1 payload without them is still valid


def test_the_export_carries_the_record(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    lead = recorded_lead(3)
    store = LeadStore(url)
    store.save(lead)
    store.dispose()
    record_columns = [c.name for f in CONSENTS if f.record for c in f.record.columns]
    assert set(record_columns) <= set(EXPORT_COLUMNS)
    row = json.loads(leads_cli(url, "export", "--format", "jsonl").stdout)
    assert datetime.fromisoformat(row["sms_consent_at"]) == lead.answers["sms_consent_at"]
    assert {name: row[name] for name in record_columns if not name.endswith("_at")} == {
        name: lead.answers[name] for name in record_columns if not name.endswith("_at")
    }


def test_a_database_at_revision_0001_with_leads_is_upgraded_losing_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    engine = sa.create_engine(url, future=True)
    old_leads = [make_lead(n) for n in range(3)]
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), "0001")  # the database as the current code makes it
        table = sa.Table("leads", sa.MetaData(), autoload_with=connection)
        for lead in old_leads:
            row = {**lead.values(), "questions": json.dumps(lead.questions)}
            connection.execute(table.insert().values({c.name: row[c.name] for c in table.c}))
    engine.dispose()

    store = LeadStore(url)
    loaded = {lead.id: lead for lead in store.all()}
    assert store.save(recorded_lead(9)) is True  # the new columns are there
    store.dispose()
    assert set(loaded) == {lead.id for lead in old_leads}
    for lead in old_leads:
        kept = {name: value for name, value in lead.answers.items() if name in table.c}
        assert {name: loaded[lead.id].answers[name] for name in kept} == kept
        assert loaded[lead.id].answers["consent_wording_version"] is None  # not recorded back then
        assert loaded[lead.id].page_url == lead.page_url and loaded[lead.id].questions == lead.questions
