"""Text that is not valid Unicode never costs a visitor their inquiry (issue 10, bounded requests).

JSON's "\\ud800" escape carries a lone UTF-16 surrogate into a Python string, and no UTF-8
store can hold one: the leads database fails mid-insert. Whatever the REST channel lets in
must be storable, so:
- a page address holding one is no page address: the door drops it, and so does the action
  server reading a tracker's metadata (a lead is saved without its page);
- a sender holding one is not printable and a message holding one is refused with 400 and
  a reason, before Rasa stores or logs anything of it;
- the lead store refuses such text in any column or question from any other path (a crafted
  tracker sent to the action server with its token) as StoreUnavailable, before writing
  anything: the visitor is told it was not saved.
"""

from __future__ import annotations

import json
import logging

import pytest
from rasa_sdk import Tracker

from actions.inquiry.form_actions import SubmitInquiry
from actions.inquiry.page_address import is_text, origin_and_path
from actions.inquiry.store import StoreUnavailable
from channels.door import visitor_metadata
from channels.visitor_rest import problem_with
from tests.conftest import PHONE
from tests.test_inquiry_form import COMPLETE, leads_db, make_tracker, run, said, say, submitted_lead
from tests.test_lead_store import make_lead

__all__ = ["leads_db"]  # the fixture, used by name

SURROGATE_PAGE = "https://college.example/programs/\ud800"
LONE_SURROGATES = ["\ud800", "\udfff", "a\udc00b", "\ud83d"]  # \ud83d: half of an emoji


def body_with(**payload: object) -> bytes:
    """The body as a client writes it: JSON's \\u escapes (UTF-8 itself cannot hold the surrogate)."""
    return json.dumps(payload).encode("ascii")


@pytest.mark.parametrize("surrogate", LONE_SURROGATES)
def test_text_with_a_lone_surrogate_is_not_text_and_a_whole_pair_is(surrogate):
    assert not is_text(surrogate)
    assert is_text("\U0001f600 caf\u00e9")


@pytest.mark.parametrize("surrogate", LONE_SURROGATES)
def test_a_page_address_with_a_lone_surrogate_is_no_page_address(surrogate):
    for url in (f"https://college.example/programs/{surrogate}", f"https://college.example/?q={surrogate}"):
        assert origin_and_path(url) is None
        assert visitor_metadata({"page_url": url}, "k1") == {"client": "k1"}  # the message keeps its client


def test_the_door_still_keeps_a_page_address_in_any_script():
    page = "https://college.example/programmes/caf\u00e9-\u4e2d\u6587-\U0001f600"
    assert visitor_metadata({"page_url": page + "?x=1"}, "k1") == {"page_url": page, "client": "k1"}


@pytest.mark.parametrize("surrogate", LONE_SURROGATES)
def test_a_message_with_a_lone_surrogate_is_refused_with_a_reason(surrogate):
    assert problem_with(body_with(sender="v1", message=f"I'm Ana {surrogate}")) == (
        400,
        "'message' must be valid Unicode text (it holds a lone UTF-16 surrogate)",
    )
    assert problem_with(body_with(sender="v1", message="I'm Ana \U0001f600")) is None  # a whole emoji is text


@pytest.mark.parametrize("surrogate", LONE_SURROGATES)
def test_a_sender_with_a_lone_surrogate_is_refused_with_a_reason(surrogate):
    problem = problem_with(body_with(sender=f"visitor-{surrogate}", message="hi"))
    assert problem is not None and problem[0] == 400 and "'sender'" in problem[1] and "printable" in problem[1]


def test_a_page_with_a_lone_surrogate_in_a_trackers_metadata_is_dropped_and_the_lead_saved(leads_db):
    """The action server called directly (with its token): the page is not kept, the inquiry is."""
    events = [said("how long is it?", "ask_duration", page_url=SURROGATE_PAGE)]
    lead = submitted_lead(leads_db, COMPLETE, events)
    assert lead.page_url is None and lead.answers["email"] == COMPLETE["lead_email"]


def test_a_conversation_id_with_a_lone_surrogate_is_answered_not_saved_and_nothing_is_stored(leads_db, caplog):
    plain = make_tracker("yes", "affirm", COMPLETE)
    crafted = Tracker(
        "crafted-\ud800", dict(COMPLETE), plain.latest_message, [], False, None, plain.active_loop, "action_listen"
    )
    result = run(SubmitInquiry(), crafted)
    assert result.texts == [say("reply_inquiry_not_saved", phone=PHONE)]
    assert list(leads_db.all()) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    reason = "lead could not be saved (not valid Unicode text in conversation_id)"
    assert errors == [f"lead {COMPLETE['lead_id']} not saved: {reason}"]


@pytest.mark.parametrize(
    "overrides, columns",
    [
        ({"page_url": SURROGATE_PAGE}, "page_url"),
        ({"conversation_id": "c-\udc00", "name": "Ana \ud800"}, "conversation_id, name"),
    ],
)
def test_the_store_refuses_text_it_cannot_hold_naming_the_columns_and_keeps_nothing(leads_db, overrides, columns):
    with pytest.raises(StoreUnavailable) as refused:
        leads_db.save(make_lead(1, **overrides))
    assert str(refused.value) == f"lead could not be saved (not valid Unicode text in {columns})"
    assert "Ana" not in str(refused.value) and list(leads_db.all()) == []


def test_the_store_refuses_to_update_an_earlier_lead_with_text_it_cannot_hold(leads_db):
    earlier = make_lead(1)
    leads_db.save(earlier)
    with pytest.raises(StoreUnavailable, match=r"not valid Unicode text in page_url"):
        leads_db.replace(earlier.id, make_lead(2, page_url=SURROGATE_PAGE))
    kept = leads_db.get(earlier.id)
    assert kept is not None and kept.page_url == earlier.page_url and kept.answers["name"] == "Visitor 1"


def test_questions_with_a_lone_surrogate_are_refused_too_though_json_could_escape_them(leads_db):
    """Kept as JSON escapes, they would fail later: in the CSV export and the CRM payload."""
    with pytest.raises(StoreUnavailable, match=r"not valid Unicode text in questions\)$"):
        leads_db.save(make_lead(1, questions=["is it online?", "and at night? \ud800"]))
    assert list(leads_db.all()) == []
