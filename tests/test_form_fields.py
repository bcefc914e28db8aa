"""The form's field declarations (actions/inquiry/fields.py) against domain.yml, and what is
derived from them: the ask actions, the lead's columns, the export and the payload."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.inquiry import fields, form_actions
from actions.inquiry.form_actions import ALL_SLOTS, ASK_ACTIONS
from actions.inquiry.store import LeadStore
from actions.inquiry.store import leads as leads_table
from actions.leads import EXPORT_COLUMNS
from tests.conftest import DOMAIN

FORM = DOMAIN["forms"]["inquiry_form"]
SLOTS = [f.slot for f in fields.FIELDS]


def test_the_fields_are_the_forms_required_slots_in_the_same_order():
    assert FORM["required_slots"] == SLOTS
    assert len(set(SLOTS)) == len(SLOTS)


@pytest.mark.parametrize("field", fields.FIELDS, ids=lambda f: f.slot)
def test_each_field_is_filled_from_the_visitors_text_only_while_it_is_asked(field):
    slot = DOMAIN["slots"][field.slot]
    assert slot["influence_conversation"] is False
    assert slot["mappings"] == [
        {"type": "from_text", "conditions": [{"active_loop": "inquiry_form", "requested_slot": field.slot}]}
    ]


@pytest.mark.parametrize("field", fields.FIELDS, ids=lambda f: f.slot)
def test_each_field_has_its_ask_action_and_question(field):
    assert f"action_ask_{field.slot}" in DOMAIN["actions"]
    assert ASK_ACTIONS[field.slot]().name() == f"action_ask_{field.slot}"
    assert f"reply_ask_{field.slot}" in DOMAIN["responses"]


@pytest.mark.parametrize("field", fields.FIELDS, ids=lambda f: f.slot)
def test_the_action_server_asks_each_field_with_its_declared_prompt(field):
    """The ask actions are made while form_actions is imported, before mutation testing
    switches a mutant on: making one again here lets `make mutation` check how they are made."""
    executor = ActionExecutor()
    executor.register_action(form_actions._ask_action_for(field))
    state = {"sender_id": "visitor-1", "slots": {"lead_contact_method": "text", "lead_phone": "+14235550134"}}
    served = asyncio.run(executor.run({"next_action": f"action_ask_{field.slot}", "tracker": state, "domain": DOMAIN}))
    dispatcher = CollectingDispatcher()
    events = field.ask(dispatcher, Tracker.from_dict(state), DOMAIN)
    assert served == {"events": events, "responses": dispatcher.messages} and dispatcher.messages


def test_kept_wordings_have_slots_the_actions_set_and_are_cleared_with_the_form():
    wording_slots = [f.wording_slot for f in fields.FIELDS if f.wording_slot]
    assert wording_slots  # the consents keep the question the visitor agreed to
    for slot in wording_slots:
        assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]
    assert set(SLOTS) | set(wording_slots) <= set(ALL_SLOTS)


def test_dependents_come_later_in_the_form_so_asking_again_reaches_them():
    for field in fields.FIELDS:
        for dependent in field.dependents:
            assert SLOTS.index(dependent) > SLOTS.index(field.slot), (field.slot, dependent)


def test_every_field_in_the_summary_can_be_named_to_change_it():
    for field in fields.FIELDS:
        assert bool(field.label) == bool(field.names), field.slot


def test_a_field_asked_only_sometimes_may_be_empty_in_the_lead():
    for field in fields.FIELDS:
        if field.asked_if is not None:
            assert all(column.nullable for column in field.columns), field.slot


def test_the_table_export_and_payload_take_their_answer_columns_from_the_declarations():
    names = [column.name for column in fields.columns()]
    assert len(set(names)) == len(names)
    assert set(names) <= set(leads_table.c.keys())
    assert [n for n in EXPORT_COLUMNS if n in names] == [c.name for c in fields.columns() if c.exported]


def test_the_personal_fields_are_the_contact_details():
    """Issue #9's redaction and the log checks find contact details by this flag."""
    personal = {f.slot for f in fields.FIELDS if f.personal}
    assert {"lead_name", "lead_email", "lead_phone"} <= personal


def test_each_answer_column_is_declared_as_the_migrations_made_it(tmp_path):
    """The `leads` table is built from the declarations when store.py is imported; building
    each column again here checks the declarations against a migrated database directly."""
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = LeadStore(url)
    store.ensure_schema()
    store.dispose()
    engine = sa.create_engine(url, future=True)
    migrated = {c["name"]: c for c in sa.inspect(engine).get_columns("leads")}
    engine.dispose()
    for declared in (column.sa_column() for column in fields.columns()):
        made = migrated[declared.name]
        assert (declared.type.python_type, declared.nullable) == (made["type"].python_type, made["nullable"])
