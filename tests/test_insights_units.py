"""The insights report's pieces on exact inputs: settings, one conversation's digest, each
section's computation, the tables, page and CSV, and reading a real SQLite store."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.inquiry.store import DELIVERED, Lead, LeadStore
from actions.insights import names, output, settings, tables
from actions.insights.activity import Activity
from actions.insights.asked import Asked
from actions.insights.digest import digest
from actions.insights.feedback import UNSHOWN, Feedback
from actions.insights.funnel import NO_FIELD, Funnel
from actions.insights.leads import LeadStatus, lead_statuses
from actions.insights.report import FORM_FIELDS, NoConversations, build
from actions.insights.settings import SettingError
from actions.insights.source import ConversationSource, SourceError, configured_store_url, engine_for, shown
from actions.insights.unanswered import FALLBACK, SERVICE_TROUBLE, UNKNOWN_TOPIC, Unanswered, wording_key
from tests.conftest import DOMAIN, ROOT
from tests.insights_events import Events, endpoints_for, write_store

NEW_YORK = ZoneInfo("America/New_York")
SEPTEMBER = settings.Period(date(2026, 9, 1), date(2026, 9, 30), NEW_YORK)
HOURS = settings.office_hours("Mon-Fri 08:00-17:00")
ANSWERS = {
    "lead_name": "Dana Rivera",
    "lead_email": "dana.rivera@example.org",
    "lead_phone": "(706) 555-0188",
    "lead_program": "healthcare_it",
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in September 2026, New York time (Sep 1 is a Tuesday)."""
    return datetime(2026, 9, day, hour, minute, tzinfo=NEW_YORK)


# --- settings -------------------------------------------------------------------------------


def test_office_hours_default_to_weekdays_eight_to_five_and_exclude_the_closing_minute(monkeypatch):
    monkeypatch.delenv("OFFICE_HOURS", raising=False)
    hours = settings.office_hours()
    assert hours.text == "Mon-Fri 08:00-17:00"
    assert hours.open_at(at(1, 8)) and hours.open_at(at(1, 16, 59))
    assert not hours.open_at(at(1, 7, 59)) and not hours.open_at(at(1, 17))
    assert not hours.open_at(at(5, 10))  # a Saturday


def test_office_hours_take_several_blocks_lists_and_ranges_that_wrap():
    hours = settings.office_hours("Fri-Mon 10:00-12:00; Wed,Thu 13:30-14:00")
    assert {d for d, _, _ in hours.blocks} == {frozenset({4, 5, 6, 0}), frozenset({2, 3})}
    assert hours.open_at(at(6, 11)) and hours.open_at(at(3, 13, 45))  # Sunday; Thursday
    assert not hours.open_at(at(1, 11))  # Tuesday


@pytest.mark.parametrize("bad", ["Mon-Fri", "9-5", "Mon-Fri 17:00-08:00", "Mon-Fry 08:00-17:00", "Mon 25:00-26:00"])
def test_bad_office_hours_are_refused_with_the_expected_format(bad):
    with pytest.raises(
        SettingError, match=r"OFFICE_HOURS must be days then opening and closing time.*" + re.escape(bad)
    ):
        settings.office_hours(bad)


def test_the_time_zone_defaults_to_new_york_and_a_bad_one_is_refused(monkeypatch):
    monkeypatch.delenv("TIMEZONE", raising=False)
    assert settings.time_zone().key == "America/New_York"
    assert settings.time_zone("Europe/Paris").key == "Europe/Paris"
    with pytest.raises(SettingError, match=r"TIMEZONE must be a time zone name.*'Mars/Olympus'"):
        settings.time_zone("Mars/Olympus")


def test_the_period_runs_from_local_midnight_to_the_midnight_after_until():
    period = settings.period("2026-10-31", "2026-11-01", NEW_YORK)
    assert period.start == datetime(2026, 10, 31, 4, tzinfo=timezone.utc)  # EDT
    assert period.end == datetime(2026, 11, 2, 5, tzinfo=timezone.utc)  # EST: the clocks went back on Nov 1
    assert period.days() == [date(2026, 10, 31), date(2026, 11, 1)]
    assert settings.period("2026-09-01", None, NEW_YORK, today=date(2026, 9, 3)).until == date(2026, 9, 3)


def test_since_after_until_and_bad_dates_are_refused():
    with pytest.raises(SettingError, match=r"--since \(2026-09-02\) is after --until \(2026-09-01\)"):
        settings.period("2026-09-02", "2026-09-01", NEW_YORK)
    with pytest.raises(SettingError, match=r"--since must be a date written YYYY-MM-DD.*'yesterday'"):
        settings.period("yesterday", None, NEW_YORK)
    with pytest.raises(SettingError, match="--until must be a date"):
        settings.period("2026-09-01", "2026-02-30", NEW_YORK)


# --- one conversation's digest ---------------------------------------------------------------


def test_a_message_typed_at_a_personal_field_is_only_its_placeholder_and_values_are_redacted_elsewhere():
    e = Events(at(1, 9))
    e.form_until("lead_program", ANSWERS)
    e.bot("reply_ask_lead_confirmed", "Name: Dana Rivera\nEmail: dana.rivera@example.org")
    e.user("my friend 706-555-0100 asked: does it cost much?", "ask_unknown_topic")
    conversation = digest("c1", e.list)
    texts = [m.text for m in conversation.messages]
    assert texts == ["/request_inquiry", "[name]", "[email]", "[phone]", "my friend [phone] asked: does it cost much?"]
    assert [m.personal for m in conversation.messages] == [False, True, True, True, False]
    assert conversation.messages[3].replies[-1].text == "Name: [name]\nEmail: [email]"
    assert conversation.form_started and conversation.fields_reached == list(ANSWERS)
    assert conversation.last_field == "lead_program"


def test_the_digest_reads_replies_buttons_programs_offers_and_skips_silent_commands():
    e = Events(at(1, 9))
    e.user("/session_start", None)
    e.user("/ask_duration", "ask_duration")
    e.bot("reply_duration", "It takes 15 months.", program_name="x")
    e.slot("program", "medical_billing_coding")
    e.slot("last_programs", ["medical_billing_coding", "healthcare_it"])
    e.bot("reply_inquiry_offer", "Would you like an advisor?")
    conversation = digest("c1", e.list)
    (message,) = conversation.messages
    assert message.button == "/ask_duration" and message.intent == "ask_duration"
    assert message.programs == ["medical_billing_coding", "healthcare_it"]
    assert [(r.response, r.text) for r in message.replies] == [
        ("reply_duration", "It takes 15 months."),
        ("reply_inquiry_offer", "Would you like an advisor?"),
    ]
    assert conversation.offers == 1 and not conversation.form_started


def test_only_the_last_rating_of_an_answer_counts_and_a_malformed_one_is_ignored():
    e = Events(at(1, 9))
    e.user("how long is it?")
    answer = e.bot("reply_duration")
    e.rate(answer, "down")
    e.rate(answer, "up")
    e.slot("answer_feedback", {"rating": "meh", "answer": answer["timestamp"]})
    e.slot("answer_feedback", {"rating": "down", "answer": "yesterday"})
    assert digest("c1", e.list).feedback == {answer["timestamp"]: "up"}


# --- sections --------------------------------------------------------------------------------


def test_activity_counts_conversations_on_their_first_message_and_turns_on_their_own_hour():
    first = Events(datetime(2026, 9, 1, 16, 59, 59, tzinfo=NEW_YORK))  # a Tuesday
    second = Events(at(5, 10) - timedelta(seconds=1))  # a Saturday
    first.user("hi", "greet")  # Tue 17:00:00 exactly: closed
    first.clock = at(2, 9).timestamp()
    first.user("how long?")  # Wed 09:00:01: open
    second.user("hi", "greet")
    activity = Activity(SEPTEMBER, HOURS)
    for sender, e in (("a", first), ("b", second)):
        activity.add(digest(sender, e.list))
    result = activity.result()
    assert len(result.days) == 30 and result.days[0] == (date(2026, 9, 1), 1, 1)
    assert result.days[1] == (date(2026, 9, 2), 0, 1) and result.days[4] == (date(2026, 9, 5), 1, 1)
    assert result.conversations_by_hour[1][17] == 1 and result.conversations_by_hour[5][10] == 1
    assert result.turns_by_hour[2][9] == 1
    assert (result.conversations, result.conversations_outside, result.turns, result.turns_outside) == (2, 2, 3, 2)
    assert result.share_outside == 1.0 and result.turn_share_outside == pytest.approx(2 / 3)


def test_asked_counts_intents_programs_and_buttons_but_never_a_personal_answer():
    e = Events(at(1, 9))
    e.user("how long is billing?", "ask_duration")
    e.slot("last_programs", ["medical_billing_coding"])
    e.user("/ask_delivery", "ask_delivery")
    e.slot("program", "healthcare_it")
    e.user("/ask_delivery", "ask_delivery")
    e.slot("last_programs", ["retired_program"])
    e.form_until("lead_phone", ANSWERS)
    asked = Asked({"medical_billing_coding": "Medical Billing and Coding", "healthcare_it": "Health IT"})
    asked.add(digest("c1", e.list))
    result = asked.result()
    assert result.intents == [
        ("ask_delivery", "Online or in person", 2),
        ("ask_duration", "How long a program takes", 1),
        ("request_inquiry", "Asked to be contacted", 1),
    ]
    assert result.programs == [("Health IT", 1), ("Medical Billing and Coding", 1), ("retired_program", 1)]
    assert result.buttons == [
        ("/ask_delivery", "Is it online?", 2),
        ("/request_inquiry", "Yes, have admissions contact me", 1),
    ]


def test_every_intent_of_the_domain_has_a_readable_name_and_every_suggestion_a_title():
    assert set(DOMAIN["intents"]) <= set(names.INTENTS)
    assert names.intent("ask_new_thing") == "New thing" and names.intent(None) == "Not classified"
    assert names.button('/ask_campus{"program": "x"}') == "Which campuses?" and names.button("/odd") == "/odd"
    assert list(names.FIELDS) == DOMAIN["forms"]["inquiry_form"]["required_slots"] == list(FORM_FIELDS)


def test_the_unanswered_queue_holds_unknown_topics_fallbacks_and_failed_actions_newest_first():
    e = Events(at(1, 9))
    e.user("how long is it?")
    e.bot("reply_duration")
    e.user("what does tuition cost? mail me at ann@example.com", "ask_unknown_topic")
    e.bot("reply_unknown_topic", "I don't have information about tuition and costs.", topic="tuition and costs")
    e.bot("reply_inquiry_offer")
    e.user("blorp", "nlu_fallback")
    e.bot("reply_fallback")
    e.user("is there a gym?", "ask_unknown_topic")
    e.bot("reply_unknown_topic_generic")
    e.user("which campuses?", "ask_campus")  # the action failed: no stored reply
    e.form_until("lead_email", ANSWERS)  # the form's questions are replies: nothing unanswered there
    queue = Unanswered()
    queue.add(digest("c1", e.list))
    items = queue.items()
    assert [(i.text, i.reason, i.topic) for i in items] == [
        ("which campuses?", SERVICE_TROUBLE, None),
        ("is there a gym?", UNKNOWN_TOPIC, None),
        ("blorp", FALLBACK, None),
        ("what does tuition cost? mail me at [email]", UNKNOWN_TOPIC, "tuition and costs"),
    ]
    assert all(i.conversation_id == "c1" for i in items)


def test_a_personal_answer_is_never_in_the_queue_even_when_it_got_no_reply():
    e = Events(at(1, 9))
    e.form_until("lead_email", ANSWERS)
    e.user("dana.rivera@example.org", "inform")  # the visitor left before the reply was stored
    queue = Unanswered()
    queue.add(digest("c1", e.list))
    assert queue.items() == []


def test_wording_groups_ignore_order_case_punctuation_plurals_and_function_words():
    assert wording_key("What's the cost of parking?") == wording_key("Parking costs!!") == "cost parking"
    assert wording_key("Do you have evening classes") != wording_key("Do you have weekend classes")


def test_groups_are_by_topic_else_wording_newest_group_first_with_counts():
    queue = Unanswered()
    for hour, text, topic in [
        (9, "how much is it", "tuition and costs"),
        (10, "Is there PARKING?", None),
        (11, "parking?", None),
        (12, "what are the fees", "tuition and costs"),
    ]:
        e = Events(at(2, hour))
        e.user(text, "ask_unknown_topic")
        e.bot("reply_unknown_topic" if topic else "reply_fallback", topic=topic) if topic else e.bot("reply_fallback")
        queue.add(digest(f"c{hour}", e.list))
    groups = queue.groups()
    assert [(g.label, g.count) for g in groups] == [("Topic: tuition and costs", 2), ("parking?", 2)]
    assert [i.text for i in groups[1].items] == ["parking?", "Is there PARKING?"]


def test_the_funnel_counts_conversations_at_each_step_and_where_forms_were_left():
    offered, left_at_email, saved, never_asked = (
        Events(at(1, 9)),
        Events(at(1, 10)),
        Events(at(1, 11)),
        Events(at(1, 12)),
    )
    offered.user("how much?", "ask_unknown_topic")
    offered.bot("reply_unknown_topic")
    offered.bot("reply_inquiry_offer")
    offered.user("and fees?", "ask_unknown_topic")
    offered.bot("reply_inquiry_offer")  # a second offer: still one conversation offered
    left_at_email.form_until("lead_email", ANSWERS)
    saved.form_until("lead_program", ANSWERS)
    never_asked.user("/request_inquiry", "request_inquiry")
    never_asked.loop("inquiry_form")
    leads = {"saved": LeadStatus(saved=1, delivered=1), "elsewhere": LeadStatus(saved=1)}
    funnel = Funnel(FORM_FIELDS, leads)
    for sender, e in (("offered", offered), ("left", left_at_email), ("saved", saved), ("never", never_asked)):
        funnel.add(digest(sender, e.list))
    result = funnel.result()
    assert (result.conversations, result.offered, result.form_started, result.saved, result.delivered) == (
        4,
        1,
        3,
        1,
        1,
    )
    assert dict(result.reached) == {
        "lead_name": 2,
        "lead_email": 2,
        "lead_phone": 1,
        "lead_program": 1,
        **dict.fromkeys(FORM_FIELDS[4:], 0),
    }
    assert result.left_at == [(NO_FIELD, 1), ("lead_email", 1)]


def test_feedback_gives_the_helpful_share_per_question_type_and_the_unhelpful_messages():
    e = Events(at(1, 9))
    e.user("how long is it? call 706-555-0111", "ask_duration")
    long = e.bot("reply_duration", "It takes 15 months.")
    e.user("is it online?", "ask_delivery")
    online = e.bot("reply_delivery_online", "Yes, online.")
    e.form_until("lead_email", ANSWERS)
    prompt = e.list[-1]  # "What's your email?" answered the visitor's name
    e.rate(long, "down")
    e.rate(online, "up")
    e.rate(prompt, "down")
    e.slot("answer_feedback", {"rating": "down", "answer": 12.5})  # an answer outside the period: skipped
    feedback = Feedback()
    feedback.add(digest("c1", e.list))
    result = feedback.result()
    assert result.per_type == [  # most rated first, then by name
        ("Gave a detail", 0, 1),
        ("How long a program takes", 0, 1),
        ("Online or in person", 1, 0),
    ]
    assert (result.helpful, result.rated) == (1, 3)
    assert [(u.question_type, u.message, u.answer) for u in result.unhelpful] == [
        ("Gave a detail", UNSHOWN, "a form question"),
        ("How long a program takes", "how long is it? call [phone]", "It takes 15 months."),
    ]


def test_a_period_without_a_visitor_message_is_refused():
    e = Events(at(1, 9))
    e.bot("reply_greet")
    e.user("/session_start", None)
    with pytest.raises(NoConversations, match="no conversations between 2026-09-01 and 2026-09-30"):
        build(SEPTEMBER, HOURS, [("c1", e.list)], {}, {})


# --- the written report ----------------------------------------------------------------------


@pytest.fixture
def sample_report():
    conversations = []
    for n in range(3):
        e = Events(at(1 + n, 9 + n))
        e.user("how long is billing & coding <b>?", "ask_duration")
        answer = e.bot("reply_duration", "It takes 15 months.")
        e.slot("last_programs", ["medical_billing_coding"])
        e.user("do you have housing", "ask_unknown_topic")
        e.bot("reply_unknown_topic", topic="housing and campus life")
        e.rate(answer, "down" if n else "up")
        e.form_until("lead_phone", ANSWERS)
        conversations.append((f"conv-{n}", e.list))
    return build(SEPTEMBER, HOURS, conversations, {"conv-0": LeadStatus(1, 1)}, {"medical_billing_coding": "Billing"})


def test_the_report_folder_holds_the_page_its_charts_and_a_csv_of_every_table(sample_report, tmp_path):
    written = output.write_report(sample_report, tmp_path / "report")
    names_written = {p.name for p in written}
    made = tables.all_tables(sample_report)
    assert names_written == {
        "index.html",
        *(f"{name}.csv" for name in made),
        *(f"{c}.png" for c in ("per_day", "per_hour_of_week", "question_types", "funnel")),
    }
    for png in (tmp_path / "report").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (tmp_path / "report" / "funnel.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Step", "Conversations", "Share"]
    assert rows[1:4] == [
        ["Conversations", "3", "100.0%"],
        ["Follow-up offered", "0", "0.0%"],
        ["Form started", "3", "100.0%"],
    ]
    assert ["Lead saved", "1", "33.3%"] in rows and ["Lead delivered to the CRM", "1", "33.3%"] in rows
    assert [r[:2] for r in csv.reader((tmp_path / "report" / "unanswered_groups.csv").open())][1] == [
        "Topic: housing and campus life",
        "3",
    ]
    assert not list(tmp_path.glob(".report-*")), "the scratch folder is removed"


def test_the_page_is_self_contained_and_accessible(sample_report, tmp_path):
    output.write_report(sample_report, tmp_path / "r")
    page = (tmp_path / "r" / "index.html").read_text()
    assert not re.search(r"<script|<link|@import|url\(|https?://", page), "nothing is fetched from elsewhere"
    assert page.count("<table") == page.count("<caption>") == 12
    assert '<th scope="col">' in page and '<th scope="row">' in page
    images = re.findall(r'<img src="([^"]+)" alt="([^"]+)">', page)
    assert {src for src, _ in images} == {"per_day.png", "per_hour_of_week.png", "question_types.png", "funnel.png"}
    funnel_alt = dict(images)["funnel.png"]
    assert "Conversations: 3" in funnel_alt and "Lead saved: 1" in funnel_alt
    assert "billing &amp; coding &lt;b&gt;?" in page and "<b>?" not in page  # visitor text is escaped
    for heading in ("When visitors chat", "What was asked", "The unanswered queue", "The funnel", "Answer feedback"):
        assert f">{heading}</h2>" in page


def test_an_existing_report_folder_is_updated_in_place(sample_report, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("staff notes")
    output.write_report(sample_report, out)
    assert (out / "notes.txt").read_text() == "staff notes" and (out / "index.html").exists()


# --- reading the stores -------------------------------------------------------------------------


def test_the_store_is_streamed_one_conversation_at_a_time_within_the_period(tmp_path):
    inside, before, other = Events(at(3, 9)), Events(datetime(2026, 8, 31, 23, 59, tzinfo=NEW_YORK)), Events(at(4, 9))
    inside.user("how long?")
    inside.action("action_listen")
    inside.slot("last_topic", "duration")
    inside.slot("program", "healthcare_it")
    before.user("hi", "greet")
    other.user("hello", "greet")
    url = write_store(tmp_path / "c.sqlite3", {"b-inside": inside.list, "a-before": before.list, "c-other": other.list})
    source = ConversationSource(url)
    source.check()
    found = list(source.conversations(SEPTEMBER.start, SEPTEMBER.end))
    assert [sender for sender, _ in found] == ["b-inside", "c-other"]
    assert [e["event"] for e in found[0][1]] == ["user", "slot"]  # actions and unread slots are not fetched
    assert found[0][1][1] == {
        "event": "slot",
        "timestamp": inside.list[3]["timestamp"],
        "name": "program",
        "value": "healthcare_it",
    }
    source.dispose()


def test_a_missing_empty_or_unreadable_store_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match=r"conversation store sqlite:///.*missing.sqlite3 does not exist"):
        engine_for(f"sqlite:///{tmp_path / 'missing.sqlite3'}", "conversation store")
    assert not (tmp_path / "missing.sqlite3").exists()
    empty = write_store(tmp_path / "empty.sqlite3", {})
    with pytest.raises(SourceError, match=r"holds no conversations$"):
        ConversationSource(empty).check()
    (tmp_path / "none.sqlite3").write_bytes(b"")
    with pytest.raises(SourceError, match=r"holds no conversations \(no events table\)"):
        ConversationSource(f"sqlite:///{tmp_path / 'none.sqlite3'}").check()
    assert shown("postgresql://staff:s3cret@db.example/rasa") == "postgresql://staff:***@db.example/rasa"


def test_the_store_is_found_in_the_endpoints_file_and_a_store_kept_elsewhere_is_refused(tmp_path):
    assert str(configured_store_url(endpoints_for(tmp_path / "e.yml", "sqlite:////x/c.db"))) == "sqlite:////x/c.db"
    assert str(configured_store_url(ROOT / "endpoints.yml")) == "sqlite:///runtime/conversations.sqlite3"
    (tmp_path / "redis.yml").write_text("tracker_store:\n  type: redis\n")
    with pytest.raises(SourceError, match="keeps no conversations in SQL"):
        configured_store_url(tmp_path / "redis.yml")


def test_lead_statuses_count_saved_and_delivered_leads_per_conversation_since_the_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = LeadStore(url)
    answers: dict[str, object] = {"name": "A", "email": "a@example.org", "phone": "+17065550100"}
    answers |= {"program_id": "healthcare_it"}
    answers |= {"study_option": "online", "contact_method": "email", "consent_given": True, "consent_text": "ok"}
    answers |= {"consent_at": at(2, 9)}
    store.save(Lead("conv-1", answers, created_at=at(2, 9)))
    store.save(Lead("conv-1", answers, created_at=at(2, 10), delivery_status=DELIVERED))
    store.save(Lead("conv-2", answers, created_at=at(3, 9)))
    store.save(Lead("conv-old", answers, created_at=datetime(2026, 8, 30, tzinfo=NEW_YORK)))
    store.dispose()
    assert lead_statuses(url, SEPTEMBER.start) == {"conv-1": LeadStatus(2, 1), "conv-2": LeadStatus(1, 0)}
    assert lead_statuses(f"sqlite:///{tmp_path / 'not-yet.sqlite3'}", SEPTEMBER.start) == {}
    assert not (tmp_path / "not-yet.sqlite3").exists()


def test_the_readable_names_cover_the_knowledge_base_programs(kb):
    assert names.programs(kb) == {p.id: p.name for p in kb.programs} and len(names.programs(kb)) >= 2
    assert names.programs(None) == {}
    assert Path(ROOT / "actions" / "insights" / "__main__.py").exists()


def test_a_long_table_is_cut_on_the_page_and_whole_in_its_csv(tmp_path):
    from actions.insights import page

    long = tables.Table("long", "A long list", ["Received", "Message"], [[f"t{n}", f"m{n}"] for n in range(505)])
    html = page.table(long)
    assert html.count("<tr>") == 1 + page.HTML_ROWS and "m499" in html and "m500" not in html
    assert f"The first {page.HTML_ROWS} of 505 rows are shown here" in html
    output.write_csv(long, tmp_path / "long.csv")
    assert len((tmp_path / "long.csv").read_text().splitlines()) == 506


def test_a_conversation_without_the_form_has_its_messages_masked_as_the_full_redaction_would():
    from actions.privacy.personal_slots import PERSONAL_SLOTS
    from actions.privacy.redaction import redact_events

    e = Events(at(1, 9))
    e.user("is there parking? write to lee.ann@example.com or call (706) 555-0123", "ask_unknown_topic")
    e.bot("reply_unknown_topic_generic", "I don't have that information.")
    conversation = digest("c1", e.list)
    assert [m.text for m in conversation.messages] == ["is there parking? write to [email] or call [phone]"]
    full = [x["text"] for x in redact_events(e.list, PERSONAL_SLOTS) if x["event"] == "user"]
    assert [m.text for m in conversation.messages] == full


def test_the_report_reads_the_lead_store_the_action_server_writes():
    from actions.inquiry import store
    from actions.insights import leads

    assert leads.DATABASE_URL_ENV == store.DATABASE_URL_ENV and leads.DELIVERED == store.DELIVERED
    assert leads.DEFAULT_FILE == store.RUNTIME_DIR / "leads.sqlite3"
    for column in leads.leads.c:
        assert type(store.leads.c[column.name].type) is type(column.type)


def test_a_conversation_the_store_redacted_reads_the_same_as_the_full_redaction():
    from actions.privacy.personal_slots import PERSONAL_SLOTS
    from actions.privacy.redaction import redact_events

    e = Events(at(1, 9))
    e.form_until("lead_phone", ANSWERS)
    e.user("706 555 0188", "inform")  # typed at the phone question, not yet accepted
    stored = redact_events(e.list, PERSONAL_SLOTS)  # as the tracker store keeps it once the form ended
    assert [m.text for m in digest("c1", stored).messages] == ["/request_inquiry", "[name]", "[email]", "[phone]"]
    stored[-1] = {**stored[-1], "text": "706 555 0188"}  # a typed answer left as it was: still never shown
    assert [m.text for m in digest("c1", stored).messages][-1] == "[phone]"


def test_feedback_finds_its_answer_by_the_exact_timestamp_through_the_store(tmp_path):
    e = Events(at(1, 9))
    e.user("how long is it?")
    answer = e.bot("reply_duration", "It takes 15 months.")
    answer["timestamp"] = 1788267601.1234567  # more digits than SQLite's JSON writes back
    e.rate(answer, "down")
    url = write_store(tmp_path / "c.sqlite3", {"c1": e.list})
    source = ConversationSource(url)
    report = build(SEPTEMBER, HOURS, source.conversations(SEPTEMBER.start, SEPTEMBER.end), {}, {})
    source.dispose()
    assert [(u.message, u.answer) for u in report.feedback.unhelpful] == [("how long is it?", "It takes 15 months.")]
