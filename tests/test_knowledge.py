"""Loading knowledge/: the facts from the article, and precise refusals of bad edits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.knowledge import KnowledgeError, knowledge_dir, load_knowledge
from actions.knowledge.loader import DEFAULT_DIR, KNOWLEDGE_DIR_ENV
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
    at_tulsa = [(o.program.id, o.campus.id, o.modes) for o in kb.offerings_at(kb.campus("tulsa"))]
    assert at_tulsa == [("medical_billing_coding", "tulsa", ("on_campus",))]


def _yaml(directory: Path, file_name: str):
    return yaml.safe_load((directory / file_name).read_text(encoding="utf-8"))


def test_every_section_of_every_file_reaches_the_knowledge_base():
    kb = load_knowledge(DEFAULT_DIR)
    definitions, contact = _yaml(DEFAULT_DIR, "definitions.yml"), _yaml(DEFAULT_DIR, "contact.yml")
    assert [p.id for p in kb.programs] == [p["id"] for p in _yaml(DEFAULT_DIR, "programs.yml")["programs"]]
    assert kb.delivery_modes == _yaml(DEFAULT_DIR, "programs.yml")["delivery_modes"]
    assert [c.id for c in kb.campuses] == [c["id"] for c in _yaml(DEFAULT_DIR, "campuses.yml")["campuses"]]
    assert [t.id for t in kb.terms] == [t["id"] for t in definitions["terms"]]
    assert kb.relationship.dict() == {key: text.strip() for key, text in definitions["relationship"].items()}
    assert kb.choosing == definitions["choosing"].strip()
    assert kb.admissions.dict() == contact["admissions"]
    assert [t.id for t in kb.unknown_topics] == [t["id"] for t in _yaml(DEFAULT_DIR, "unknown_topics.yml")["topics"]]


def test_each_id_finds_its_own_entry_and_an_unknown_id_nothing(kb):
    for entries, find in (
        (kb.programs, kb.program),
        (kb.campuses, kb.campus),
        (kb.terms, kb.term),
        (kb.unknown_topics, kb.unknown_topic),
    ):
        assert [find(entry.id) for entry in entries] == list(entries)
        assert find("no_such_id") is None


def test_the_knowledge_dir_variable_points_the_action_server_at_another_copy(knowledge_copy, monkeypatch):
    edit_yaml(knowledge_copy / "contact.yml", lambda d: d["admissions"].update(inquiry="the new form"))
    monkeypatch.delenv(KNOWLEDGE_DIR_ENV, raising=False)
    assert knowledge_dir() == DEFAULT_DIR
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(knowledge_copy))
    assert knowledge_dir() == knowledge_copy
    assert load_knowledge().admissions.inquiry == "the new form"


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
        (
            "programs.yml",
            lambda d: _program(d, "healthcare_it").update(delivery=[], online_campus=None),
            "programs.yml: programs[1] (id 'healthcare_it'): delivery: the program must be offered at a campus or "
            "online",
        ),
        (
            "campuses.yml",
            lambda d: d["campuses"][3].update(id="tulsa"),
            "campuses.yml: campuses[3] (id 'tulsa'): id: used more than once",
        ),
        (
            "campuses.yml",
            lambda d: d["campuses"][3]["aliases"].append("Oklahoma"),
            "campuses.yml: campuses[3] (id 'augusta'): aliases: 'oklahoma' already names 'tulsa'",
        ),
        (
            "campuses.yml",
            lambda d: d["campuses"].append(None),  # a "-" left on its own line
            "campuses.yml: campuses[4]: none is not an allowed value",
        ),
    ],
)
def test_invalid_edit_is_refused_naming_file_entry_and_field(knowledge_copy, file_name, change, expected):
    edit_yaml(knowledge_copy / file_name, change)
    assert expected in _problems(knowledge_copy)


def _line_of(text: str, part: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if part in line)


def test_broken_yaml_names_the_line(knowledge_copy):
    path = knowledge_copy / "campuses.yml"
    path.write_text(path.read_text().replace("  - id: tulsa", "  - id: [tulsa"))
    assert "campuses.yml: not valid YAML at line" in _problems(knowledge_copy)


@pytest.mark.parametrize(
    "original, broken, reason",
    [
        ("  - id: tulsa", "\t- id: tulsa", "'\\t'"),  # a tab where YAML needs spaces
        ("city: Tulsa", "city: Tul\x07sa", "#x0007"),  # a control character pasted in
    ],
)
def test_broken_yaml_is_one_problem_naming_the_line_and_the_character(knowledge_copy, original, broken, reason):
    path = knowledge_copy / "campuses.yml"
    text = path.read_text().replace(original, broken)
    path.write_text(text)
    [problem] = _problems(knowledge_copy).splitlines()
    assert problem.startswith(f"campuses.yml: not valid YAML at line {_line_of(text, broken)}: ")
    assert reason in problem


def test_a_file_saved_in_another_encoding_is_named_with_the_line(knowledge_copy):
    path = knowledge_copy / "contact.yml"
    text = path.read_text().replace("inquiry: ", "inquiry: the café's ")
    path.write_bytes(text.encode("cp1252"))
    expected = f"contact.yml: not UTF-8 text at line {_line_of(text, 'café')}: save the file with UTF-8 encoding"
    assert _problems(knowledge_copy) == expected


def test_a_file_that_is_not_a_mapping_of_sections_is_named(knowledge_copy):
    (knowledge_copy / "contact.yml").write_text("- (800) 705-9182\n")
    assert _problems(knowledge_copy) == "contact.yml: must be a mapping of sections, found list"


def test_an_unknown_mode_is_refused_listing_the_known_ones(knowledge_copy):
    edit_yaml(
        knowledge_copy / "programs.yml", lambda d: _program(d, "healthcare_it")["delivery"][0].update(modes=["x"])
    )
    in_person = sorted(set(_yaml(knowledge_copy, "programs.yml")["delivery_modes"]) - {"online"})
    assert f"unknown mode 'x' (known: {', '.join(in_person)})" in _problems(knowledge_copy)


def test_the_refusal_lists_every_problem_on_its_own_line(knowledge_copy):
    edit_yaml(knowledge_copy / "contact.yml", lambda d: d["admissions"].update(phone="12", inquiry=""))
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(knowledge_copy)
    problems = raised.value.problems
    assert len(problems) == 2
    assert str(raised.value).splitlines() == ["invalid knowledge base:", *(f"  {p}" for p in problems)]


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
