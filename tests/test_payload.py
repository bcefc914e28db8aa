"""The CRM payload: versioned, documented by its JSON Schema file, apart from the table."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from actions.inquiry import fields
from actions.inquiry.payload import SCHEMA_FILE, SCHEMA_VERSION, build_payload
from actions.inquiry.store import json_value
from actions.inquiry.store import leads as leads_table
from tests.test_lead_store import make_lead

SCHEMA = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
BOOKKEEPING = ("delivery_status", "delivery_attempts", "delivered_at", "last_error")


def test_the_schema_file_is_a_valid_draft_2020_12_schema_for_this_version():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert SCHEMA_FILE.name == f"lead-payload-v{SCHEMA_VERSION}.schema.json"


@pytest.mark.parametrize(
    "lead",
    [
        make_lead(1),
        make_lead(2, contact_method="text", sms_consent_given=True, sms_consent_text="May we text you?"),
        make_lead(3, page_url=None, questions=[], program_id="not_sure"),
    ],
    ids=["email", "text", "no page, no questions"],
)
def test_payloads_validate_against_the_schema(lead):
    payload = build_payload(lead)
    VALIDATOR.validate(payload)
    assert json.loads(json.dumps(payload)) == payload  # plain JSON, nothing lost on the way


def test_every_key_sent_is_documented_and_every_documented_key_is_sent():
    assert set(build_payload(make_lead(4))) == set(SCHEMA["properties"])
    assert all(prop.get("description") for prop in SCHEMA["properties"].values())


def test_delivery_bookkeeping_stays_out_of_the_payload():
    lead = make_lead(5, delivery_attempts=3, last_error="CRM answered HTTP 503")
    payload = build_payload(lead)
    assert not set(BOOKKEEPING) & set(payload)
    assert set(BOOKKEEPING) <= set(leads_table.c.keys())  # they are stored, just not sent


def test_the_declared_answers_are_sent_under_their_column_names():
    lead = make_lead(6)
    payload = build_payload(lead)
    sent = [column.name for column in fields.columns() if column.sent]
    assert sent and {name: payload[name] for name in sent} == {name: json_value(lead.answers[name]) for name in sent}
    assert payload["lead_id"] == lead.id and payload["schema_version"] == SCHEMA_VERSION


def test_a_payload_missing_a_required_key_or_with_a_wrong_type_is_refused():
    payload = build_payload(make_lead(7))
    assert not VALIDATOR.is_valid({k: v for k, v in payload.items() if k != "email"})
    assert not VALIDATOR.is_valid({**payload, "consent_given": "yes"})
    assert not VALIDATOR.is_valid({**payload, "phone": "423 555 0134"})  # not E.164
