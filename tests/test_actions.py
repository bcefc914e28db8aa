"""Every answer action, run as the action server runs it (rasa_sdk Tracker + dispatcher)."""

from __future__ import annotations

import re

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from actions.dialogue import answers, phrasing, suggestions
from actions.dialogue.answers import HANDLERS, Answer, Utterance
from actions.dialogue.context import OFFER_SLOT
from actions.knowledge import load_knowledge
from actions.knowledge.offerings import Option, options
from actions.question_actions import _action_for
from tests.conftest import DOMAIN, ROOT, edit_yaml, run_action

MBC, HIT = "medical_billing_coding", "healthcare_it"


def test_the_action_server_registers_exactly_the_domain_actions():
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(DOMAIN["actions"])
    assert {f"action_answer_{t}" for t in HANDLERS} <= set(executor.actions)


@pytest.mark.parametrize("topic, intent", [(t, f"ask_{t}") for t in HANDLERS])
def test_every_action_answers_with_filled_responses_and_next_steps(topic, intent):
    turn = run_action(topic, "hello", intent)  # rendering fails on any unfilled placeholder
    assert turn.texts and all(t.strip() for t in turn.texts)
    assert turn.buttons and all(b["payload"].startswith("/") for b in turn.buttons)
    if topic in ("fallback", "other_language"):  # forget the message they could not answer
        assert turn.events == [{"event": "rewind", "timestamp": None}]
    else:
        assert turn.slot("last_topic") in HANDLERS


def test_duration_for_both_programs_when_none_is_named(kb, replies):
    turn = run_action("duration", "how long are the programs?", "ask_duration")
    assert turn.texts == [
        replies.text("reply_duration", program_name=p.name, duration_months=p.duration_months) for p in kb.programs
    ]
    assert turn.slot("program") is None


def test_duration_of_a_misspelled_program_is_remembered(kb, replies):
    billing = kb.program(MBC)
    turn = run_action("duration", "how lng is medcal biling", "ask_duration")
    assert turn.text == replies.text(
        "reply_duration", program_name=billing.name, duration_months=billing.duration_months
    )
    assert turn.slot("program") == MBC


def test_follow_up_questions_use_the_program_discussed(kb, replies):
    health_it, billing = kb.program(HIT), kb.program(MBC)
    turn = run_action("delivery", "is it online?", "ask_delivery", slots={"program": HIT})
    assert turn.text == replies.text(
        "reply_delivery_online",
        program_name=health_it.name,
        online_campus=kb.online_campus(health_it).label,
        in_person=phrasing.in_person(kb, health_it),
    )
    where = run_action("campus", "where else can I take it?", "ask_campus", slots={"program": MBC})
    assert where.text == replies.text(
        "reply_where_offered", program_name=billing.name, where=phrasing.where(kb, billing)
    )


def test_plural_question_overrides_the_program_discussed(kb, replies):
    turn = run_action("duration", "how long do both take", "ask_duration", slots={"program": HIT})
    assert turn.texts == [
        replies.text("reply_duration", program_name=p.name, duration_months=p.duration_months) for p in kb.programs
    ]
    assert turn.slot("program") is None


def test_and_billing_and_coding_switches_program_for_the_last_question(kb, replies):
    billing = kb.program(MBC)
    turn = run_action(
        "followup",
        "and billing and coding?",
        "inform",
        entities=[{"entity": "program", "value": "billing and coding"}],
        slots={"program": HIT, "last_topic": "duration"},
    )
    assert turn.text == replies.text(
        "reply_duration", program_name=billing.name, duration_months=billing.duration_months
    )
    assert turn.slot("program") == MBC and turn.slot("last_topic") == "duration"


def test_follow_up_without_a_question_gives_the_overview(kb, replies):
    health_it = kb.program(HIT)
    turn = run_action("followup", "HIT", "inform", slots={"last_topic": "greet"})
    assert turn.text == replies.text(
        "reply_program_overview",
        program_name=health_it.name,
        duration_months=health_it.duration_months,
        scope=health_it.scope,
        where=phrasing.where(kb, health_it),
    )


def test_health_it_in_tulsa_is_answered_truthfully(kb, replies):
    health_it, tulsa = kb.program(HIT), kb.campus("tulsa")
    assert all(d.campus != tulsa.id for d in health_it.delivery)  # the question this test asks
    turn = run_action(
        "campus",
        "can I take health IT in Tulsa?",
        "ask_campus",
        entities=[{"entity": "program", "value": "health IT"}, {"entity": "campus", "value": "Tulsa"}],
    )
    in_person = [mode for mode in kb.delivery_modes if mode != "online"]
    assert turn.texts == [
        replies.text(
            "reply_offering_no",
            program_name=health_it.name,
            asked=phrasing.ways(kb, [Option(tulsa, mode) for mode in in_person]),
            others=phrasing.where(kb, health_it),
        )
    ]


def test_campus_questions(kb, replies):
    def offers(campus_id: str) -> str:
        campus = kb.campus(campus_id)
        return replies.text(
            "reply_campus_offers", campus=campus.label, offers=phrasing.offers_at(kb, kb.offerings_at(campus))
        )

    assert run_action("campus", "do you have a campus in Tulsa?", "ask_campus").text == offers("tulsa")
    assert run_action("campus", "what is offered in chattanooga", "ask_campus").text == offers("chattanooga")
    atlanta = run_action(
        "campus", "is there a campus in Atlanta?", "ask_campus", entities=[{"entity": "campus", "value": "atlanta"}]
    )
    assert atlanta.texts[0] == replies.text(
        "reply_campus_unknown", place="Atlanta", campuses=phrasing.campus_labels(kb)
    )
    billing, wilmington = kb.program(MBC), kb.campus("wilmington")
    every = options(kb, billing)
    here = [o for o in every if o.campus == wilmington]
    assert here and all(not o.online for o in here)
    yes = run_action("campus", "can I study MBC in Wilmington", "ask_campus")
    assert yes.text == replies.text(
        "reply_offering_yes_also",
        program_name=billing.name,
        matches=phrasing.ways(kb, here),
        others=phrasing.ways(kb, [o for o in every if o not in here]),
    )


def test_difference_compares_both_programs_side_by_side(kb, replies):
    turn = run_action("difference", "is billing and coding the same as health IT?", "ask_difference")
    assert turn.texts[0].startswith(kb.relationship.same_or_different)
    assert turn.texts[1:] == [
        *(
            replies.text(
                "reply_compare_program",
                program_name=p.name,
                duration_months=p.duration_months,
                scope=p.scope,
                career_summary=p.career_summary,
                credential=p.typical_credential,
                where=phrasing.where(kb, p),
            )
            for p in kb.programs
        ),
        replies.text("reply_inquiry_offer"),
    ]
    assert turn.slot("program") is None


def test_the_difference_intro_keeps_its_domain_wording(kb, replies):
    turn = run_action("difference", "is billing and coding the same as health IT?", "ask_difference")
    assert turn.texts[0] == replies.text("reply_difference_intro", relationship=kb.relationship.same_or_different)


def test_credential_is_not_presented_as_what_the_program_awards(kb, replies):
    health_it = kb.program(HIT)
    turn = run_action("credential", "do I get a degree in health IT?", "ask_credential")
    assert turn.texts == [
        replies.text("reply_credential", program_name=health_it.name, credential=health_it.typical_credential),
        replies.text("reply_credential_caveat", phone=kb.admissions.phone),
    ]


def test_curriculum_careers_and_fit(kb, replies):
    billing, health_it = kb.program(MBC), kb.program(HIT)
    covers = run_action("curriculum", "what does the coding program cover", "ask_curriculum")
    assert covers.text == replies.text(
        "reply_curriculum",
        program_name=billing.name,
        scope=billing.scope,
        topics=phrasing.join(billing.topics_covered),
    )
    jobs = run_action("careers", "what jobs after HIT", "ask_careers")
    assert jobs.text == replies.text(
        "reply_careers",
        program_name=health_it.name,
        careers=phrasing.join(health_it.careers, "or"),
        career_summary=health_it.career_summary,
    )
    fit = run_action("fit", "which one is right for me", "ask_fit")
    assert fit.texts == [
        replies.text("reply_fit_intro", advice=kb.choosing),
        *(replies.text("reply_fit_program", program_name=p.name, suits=p.suits) for p in kb.programs),
        replies.text("reply_offer_follow_up", phone=kb.admissions.phone),
        replies.text("reply_inquiry_offer"),
    ]


def test_definitions_and_relationship(kb, replies):
    def definition(term_id: str) -> str:
        return replies.text("reply_definition", definition=kb.term(term_id).text)

    coding = run_action("definition", "what is medical coding", "ask_definition")
    assert coding.texts == [definition("medical_coding")]
    both = run_action("definition", "what are billing and coding", "ask_definition")
    assert sorted(both.texts) == sorted([definition("medical_billing"), definition("medical_coding")])
    part = run_action("coding_in_hit", "is coding part of health IT?", "ask_coding_in_hit")
    assert part.text == replies.text("reply_relationship", relationship=kb.relationship.coding_in_health_it)


@pytest.mark.parametrize(
    "text, topic_ids",
    [
        ("how much is tuition?", ["tuition"]),
        ("do you take FAFSA and when is the next start date", ["financial_aid", "start_dates"]),
        ("is the school accredited", ["accreditation"]),
        ("what salary can I expect", ["job_placement"]),
        ("when do classes start", ["start_dates"]),
    ],
)
def test_unknown_topics_are_answered_honestly_without_figures(kb, replies, text, topic_ids):
    turn = run_action("unknown_topic", text, "ask_unknown_topic")
    topics = phrasing.join([kb.unknown_topic(t).name for t in topic_ids])
    assert turn.texts == [
        replies.text("reply_unknown_topic", topic=topics, phone=kb.admissions.phone),
        replies.text("reply_inquiry_offer"),
    ]
    assert not re.search(r"\$|\d+ ?(%|percent|dollars|weeks)", turn.text)
    assert turn.slot("offered_inquiry") is True
    assert turn.buttons[0] == {"title": "Yes, have admissions contact me", "payload": "/request_inquiry"}


def test_unknown_topic_without_a_recognised_subject(kb, replies):
    turn = run_action("unknown_topic", "what about the other stuff", "ask_unknown_topic")
    assert turn.texts[0] == replies.text("reply_unknown_topic_generic", phone=kb.admissions.phone)


def test_contact_greeting_and_bot_challenge_name_real_facts(kb, replies):
    phone = kb.admissions.phone
    assert run_action("contact", "can I talk to a person", "ask_contact").texts[0] == replies.text(
        "reply_contact", phone=phone
    )
    greeting = run_action("greet", "hi", "greet")
    assert greeting.text == replies.text("reply_greet", program_names=phrasing.program_names(kb))
    assert greeting.slot("program") == "<unset>"
    assert run_action("bot_challenge", "are you a bot", "bot_challenge").text == replies.text(
        "reply_iamabot", phone=phone
    )


def test_buttons_offer_next_steps_but_not_the_question_just_answered():
    turn = run_action("duration", "how long is HIT", "ask_duration")
    payloads = [b["payload"] for b in turn.buttons]
    assert "/ask_duration" not in payloads and payloads[-1] == "/ask_contact" and len(payloads) == 4
    assert all("buttons" not in m or not m["buttons"] for m in turn.messages[:-1])


def test_a_program_without_online_study_is_never_said_to_be_online(knowledge_copy, replies):
    """The knowledge base decides: one program loses its online option, the other keeps only it."""

    def change(data):
        for program in data["programs"]:
            if program["id"] == HIT:
                program["online_campus"] = None
            if program["id"] == MBC:
                program["delivery"] = []

    edit_yaml(knowledge_copy / "programs.yml", change)
    kb = load_knowledge(knowledge_copy)
    health_it, billing = kb.program(HIT), kb.program(MBC)
    assert health_it and billing and kb.online_campus(health_it) is None
    online = kb.online_campus(billing)
    assert online and not billing.delivery
    in_person_only = run_action("delivery", "is health IT online?", "ask_delivery", kb=kb)
    assert in_person_only.texts == [
        replies.text(
            "reply_delivery_in_person_only", program_name=health_it.name, in_person=phrasing.in_person(kb, health_it)
        )
    ]
    online_only = run_action("delivery", "is billing and coding online?", "ask_delivery", kb=kb)
    assert online_only.texts == [
        replies.text("reply_delivery_online_only", program_name=billing.name, online_campus=online.label)
    ]


@pytest.mark.parametrize("topic", [t for t in HANDLERS if t not in ("fallback", "other_language")])
def test_the_offer_flag_is_set_exactly_when_the_answer_offers_a_follow_up(replies, topic):
    """data/rules.yml starts the form on a "yes" only while the flag is true, so an answer
    without the offer must clear a flag an earlier answer set."""
    turn = run_action(topic, "hello", f"ask_{topic}", slots={OFFER_SLOT: True})
    offered = replies.text("reply_inquiry_offer") in turn.texts
    assert turn.slot(OFFER_SLOT) is offered


def test_a_fallback_leaves_the_offer_as_it_was():
    turn = run_action("fallback", "blorp", "nlu_fallback", slots={OFFER_SLOT: True})
    assert turn.slot(OFFER_SLOT) == "<unset>"  # rewound: the offer made before still stands


def test_a_yes_starts_the_form_only_while_an_offer_stands():
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    on_yes = [r for r in rules if r["steps"][0] == {"intent": "affirm"} and {"action": "inquiry_form"} in r["steps"]]
    assert on_yes
    assert all({"slot_was_set": [{OFFER_SLOT: True}]} in rule.get("condition", []) for rule in on_yes)


def test_an_entity_of_another_kind_does_not_hide_the_program_after_it(kb, replies):
    """A button payload names the program by id; other entities (a future extractor's) are skipped."""
    health_it = kb.program(HIT)
    turn = run_action(
        "duration",
        '/ask_duration{"program": "healthcare_it"}',
        "ask_duration",
        entities=[{"entity": "time", "value": "next week"}, {"entity": "program", "value": HIT}],
        slots={"program": MBC},
    )
    assert turn.texts == [
        replies.text("reply_duration", program_name=health_it.name, duration_months=health_it.duration_months)
    ]
    assert turn.slot("program") == HIT


def test_an_entity_without_a_value_is_ignored():
    """`/ask_campus{"campus": null}` typed by a visitor: no campus named, not a place called "None"."""
    empty = run_action(
        "campus", '/ask_campus{"campus": null}', "ask_campus", entities=[{"entity": "campus", "value": None}]
    )
    assert empty.texts == run_action("campus", "/ask_campus", "ask_campus").texts


@pytest.fixture
def registry(monkeypatch):
    """The answer registries, restored after a test adds to them."""
    monkeypatch.setattr(answers, "HANDLERS", dict(answers.HANDLERS))
    monkeypatch.setattr(answers, "PROGRAM_TOPICS", list(answers.PROGRAM_TOPICS))


def test_a_new_handler_is_an_action_and_only_per_program_ones_are_repeated_for_another_program(kb, registry):
    def made_up(topic: str):
        return lambda kb, ctx: Answer(topic, [Utterance("reply_anything_else")], ctx.programs)

    answers.handles("open_days")(made_up("open_days"))
    answers.handles("tuition_plan", per_program=True)(made_up("tuition_plan"))
    action = _action_for("tuition_plan")()
    assert action.name() == "action_answer_tuition_plan"
    assert answers.answer("followup", kb, _context(kb, "tuition_plan")).topic == "tuition_plan"
    assert answers.answer("followup", kb, _context(kb, "open_days")).topic == "program_info"


def _context(kb, previous_topic: str):
    from actions.dialogue.context import Context

    return Context((kb.program(HIT),), None, kb.programs, False, (), (), (), (), previous_topic)


@pytest.mark.parametrize("topic", sorted({*suggestions.CATALOG, "greet"}))
def test_next_steps_never_repeat_the_question_just_answered_and_end_with_admissions(topic):
    buttons = suggestions.next_steps(topic)
    payloads = [b["payload"] for b in buttons]
    assert len(buttons) == suggestions.MAX_BUTTONS and len(set(payloads)) == len(payloads)
    assert suggestions.CATALOG.get(topic, ("", "/none"))[1] not in payloads
    if topic != "contact":
        assert payloads[-1] == suggestions.CATALOG["contact"][1]


@pytest.mark.parametrize("offer", ["next_steps", "inquiry_offer"])
def test_buttons_have_a_title_and_send_an_intent_the_domain_knows(offer):
    buttons = suggestions.next_steps("duration") if offer == "next_steps" else suggestions.inquiry_offer()
    for button in buttons:
        assert set(button) == {"title", "payload"}
        assert button["title"].strip() and not button["title"].startswith("/")
        assert button["payload"].startswith("/") and button["payload"][1:] in DOMAIN["intents"]
