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


def test_changed_duration_added_campus_and_third_program(knowledge_copy):
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

    duration = run_action("duration", "how long is health IT", "ask_duration", kb=kb)
    assert duration.text == "Healthcare Information Technology takes 20 months to complete."

    dalton = run_action("campus", "what can I study in Dalton?", "ask_campus", kb=kb)
    assert (
        dalton.text
        == "Our Dalton, GA campus offers Medical Billing and Coding (hybrid) and Pharmacy Technician (on campus)."
    )

    pharmacy = run_action("duration", "how long is pharm tech", "ask_duration", kb=kb)
    assert pharmacy.text == "Pharmacy Technician takes 9 months to complete."
    assert pharmacy.slot("program") == "pharmacy_technician"

    every = run_action("duration", "how long are the programs", "ask_duration", kb=kb)
    assert len(every.texts) == 3
    greeting = run_action("greet", "hi", "greet", kb=kb)
    assert "Medical Billing and Coding, Healthcare Information Technology and Pharmacy Technician" in greeting.text
