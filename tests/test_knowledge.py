"""Loading knowledge/: the facts from the article, and precise refusals of bad edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.knowledge import KnowledgeError, load_knowledge
from tests.conftest import edit_yaml


def test_the_article_facts_are_loaded(kb):
    mbc = kb.program("medical_billing_coding")
    hit = kb.program("healthcare_it")
    assert (mbc.duration_months, hit.duration_months) == (15, 18)
    assert [o.campus.id for o in kb.offerings(mbc)] == ["chattanooga", "wilmington", "tulsa", "chattanooga"]
    assert [(o.campus.id, o.modes) for o in kb.offerings(hit)] == [
        ("augusta", ("hybrid", "on_campus")),
        ("chattanooga", ("online",)),
    ]
    assert kb.admissions.phone == "(800) 705-9182"
    assert "associate" in hit.typical_credential and "certificate" in mbc.typical_credential


def test_offerings_at_a_campus(kb):
    at_chattanooga = [(o.program.id, o.modes) for o in kb.offerings_at(kb.campus("chattanooga"))]
    assert at_chattanooga == [
        ("medical_billing_coding", ("on_campus",)),
        ("medical_billing_coding", ("online",)),
        ("healthcare_it", ("online",)),
    ]
    assert kb.offerings_at(kb.campus("tulsa"))[0].program.id == "medical_billing_coding"
    assert len(kb.offerings_at(kb.campus("tulsa"))) == 1


def _problems(directory: Path) -> str:
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(directory)
    return "\n".join(raised.value.problems)


def _program(data, program_id):
    return next(p for p in data["programs"] if p["id"] == program_id)


@pytest.mark.parametrize(
    "file_name, change, expected",
    [
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(duration_months="eighteen"),
            "programs.yml: programs[1] (id 'healthcare_it'): duration_months: value is not a valid integer",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(duration_months=0),
            "programs.yml: programs[1] (id 'healthcare_it'): duration_months: must be a whole number of months",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "medical_billing_coding").update(duration_month=15),
            "programs.yml: programs[0] (id 'medical_billing_coding'): duration_month: extra fields not permitted",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "medical_billing_coding").pop("name"),
            "programs.yml: programs[0] (id 'medical_billing_coding'): name: field required",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it")["delivery"][0].update(campus="atlanta"),
            "programs.yml: programs[1] (id 'healthcare_it'): delivery[0]: campus: no campus with id 'atlanta'",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it")["delivery"][0].update(modes=["evening"]),
            "programs.yml: programs[1] (id 'healthcare_it'): delivery[0]: modes: unknown mode 'evening'",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(online_campus="memphis"),
            "programs.yml: programs[1] (id 'healthcare_it'): online_campus: no campus with id 'memphis'",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(id="medical_billing_coding"),
            "programs.yml: programs[1] (id 'medical_billing_coding'): id: used more than once",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it")["aliases"].append("Coding"),
            "programs.yml: programs[1] (id 'healthcare_it'): aliases: 'coding' already names 'medical_billing_coding'",
        ),
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(topics_covered=[]),
            "programs.yml: programs[1] (id 'healthcare_it'): topics_covered: ensure this value has at least 1 items",
        ),
        (
            "programs.yml",
            lambda d: d.update(programs=[]),
            "programs.yml: programs: ensure this value has at least 1 items",
        ),
        (
            "campuses.yml",
            lambda d: d["campuses"][2].update(city=""),
            "campuses.yml: campuses[2] (id 'tulsa'): city: ensure this value has at least 1 characters",
        ),
        (
            "contact.yml",
            lambda d: d["admissions"].update(phone="call us"),
            "contact.yml: admissions: phone: not a phone number",
        ),
        (
            "definitions.yml",
            lambda d: d["relationship"].pop("coding_in_health_it"),
            "definitions.yml: relationship: coding_in_health_it: field required",
        ),
        (
            "unknown_topics.yml",
            lambda d: d["topics"][0].update(aliases=[]),
            "unknown_topics.yml: topics[0] (id 'tuition'): aliases: ensure this value has at least 1 items",
        ),
    ],
)
def test_invalid_edit_is_refused_naming_file_entry_and_field(knowledge_copy, file_name, change, expected):
    edit_yaml(knowledge_copy / file_name, change)
    assert expected in _problems(knowledge_copy)


def test_broken_yaml_names_the_line(knowledge_copy):
    path = knowledge_copy / "campuses.yml"
    path.write_text(path.read_text().replace("  - id: tulsa", "  - id: [tulsa"))
    assert "campuses.yml: not valid YAML at line" in _problems(knowledge_copy)


def test_missing_file_is_named(knowledge_copy):
    (knowledge_copy / "contact.yml").unlink()
    assert "contact.yml: file is missing" in _problems(knowledge_copy)


def test_every_problem_is_reported_at_once(knowledge_copy):
    edit_yaml(
        knowledge_copy / "programs.yml", lambda d: _program(d, "healthcare_it").update(duration_months=-3, scope="")
    )
    edit_yaml(knowledge_copy / "contact.yml", lambda d: d["admissions"].update(phone="12"))
    problems = _problems(knowledge_copy)
    assert "duration_months" in problems and "scope" in problems and "phone" in problems
