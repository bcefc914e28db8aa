"""Staff edit knowledge/ and the answers follow after an action-server restart, no retraining."""

from __future__ import annotations

from actions.knowledge import load_knowledge
from tests.conftest import edit_yaml, run_action

NEW_PROGRAM = {
    "id": "pharmacy_technician",
    "name": "Pharmacy Technician",
    "aliases": ["pharmacy tech", "pharm tech"],
    "duration_months": 9,
    "typical_credential": "a diploma",
    "delivery": [{"campus": "dalton", "modes": ["on_campus"]}],
    "online_campus": None,
    "scope": "pharmacy practice",
    "topics_covered": ["dispensing"],
    "careers": ["Pharmacy Technician"],
    "career_summary": "Pharmacy technicians help pharmacists.",
    "suits": "people who like detail",
}


def test_changed_duration_added_campus_and_third_program(knowledge_copy, replies):
    def change_programs(data):
        data["programs"][1]["duration_months"] = 20
        data["programs"][0]["delivery"].append({"campus": "dalton", "modes": ["hybrid"]})
        data["programs"].append(NEW_PROGRAM)

    edit_yaml(knowledge_copy / "programs.yml", change_programs)
    edit_yaml(
        knowledge_copy / "campuses.yml",
        lambda d: d["campuses"].append({"id": "dalton", "city": "Dalton", "state": "GA", "aliases": []}),
    )
    kb = load_knowledge(knowledge_copy)
    first, second, pharmacy_technician = kb.programs

    duration = run_action("duration", "how long is health IT", "ask_duration", kb=kb)
    assert duration.text == replies.text("reply_duration", program_name=second.name, duration_months=20)

    dalton = run_action("campus", "what can I study in Dalton?", "ask_campus", kb=kb)
    offers = f"{first.name} ({kb.mode_label('hybrid')}) and {pharmacy_technician.name} ({kb.mode_label('on_campus')})"
    assert dalton.text == replies.text("reply_campus_offers", campus="Dalton, GA", offers=offers)

    pharmacy = run_action("duration", "how long is pharm tech", "ask_duration", kb=kb)
    assert pharmacy.text == replies.text("reply_duration", program_name="Pharmacy Technician", duration_months=9)
    assert pharmacy.slot("program") == "pharmacy_technician"

    every = run_action("duration", "how long are the programs", "ask_duration", kb=kb)
    assert every.texts == [
        replies.text("reply_duration", program_name=p.name, duration_months=p.duration_months)
        for p in (first, second, pharmacy_technician)
    ]
    greeting = run_action("greet", "hi", "greet", kb=kb)
    names = f"{first.name}, {second.name} and Pharmacy Technician"
    assert greeting.text == replies.text("reply_greet", program_names=names)
