"""Rasa's own checks on the project: data validation, conversation tests, NLU held-out score."""

from __future__ import annotations

import json
import re

import pytest

from actions.inquiry import fields
from channels.language_classifier import INTENT_NAME
from tests.conftest import DOMAIN, MEASUREMENTS, ROOT
from tests.servers import MODEL, failed_stories, rasa_cli

pytestmark = pytest.mark.slow

NLU_THRESHOLD = 0.93  # issue 11: intent accuracy and macro F1 both fail under it


def test_training_data_validates_without_warnings():
    """`rasa data validate` passes; its only remarks may be the known false positive.

    Rasa's validator cannot see responses that custom actions send, so it reports each
    `reply_*` response as "not used in any story or rule". Those are accepted only when an
    answer handler really sends that response, as is `other_language` having no training
    examples (the pipeline sets it); any other warning fails the test.
    """
    result = rasa_cli("data", "validate")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    code = [*(ROOT / "actions").rglob("*.py"), *(ROOT / "channels").rglob("*.py")]
    source = "".join(path.read_text() for path in code)
    # Named in the code, or the question of a form field (reply_ask_<slot>, checked against the
    # domain by test_form_fields) that the consent prompts fill in themselves.
    sent_by_code = set(re.findall(r'"(reply_\w+)"', source)) | {f.question_response for f in fields.FIELDS}
    unused = re.compile(r"The utterance '(\w+)' is not used in any story or rule\.")
    # Never learned: the NLU pipeline's language step sets it (channels/language_classifier.py).
    set_by_the_pipeline = f"The intent '{INTENT_NAME}' is listed in the domain file, but is not found in the NLU"
    warnings = [line for line in output.splitlines() if "UserWarning" in line or "WARNING" in line]
    unexplained = [
        w
        for w in warnings
        if not ((m := unused.search(w)) and m.group(1) in sent_by_code) and set_by_the_pipeline not in w
    ]
    assert not unexplained, "\n".join(unexplained)
    domain_replies = {name for name in DOMAIN["responses"] if name.startswith("reply_")}
    assert domain_replies == sent_by_code, "a reply_* response is unused or missing"


def test_conversation_stories_pass(tmp_path):
    failures = failed_stories(MODEL, "tests/test_stories.yml", tmp_path, "--e2e")
    assert not failures, failures


def test_inquiry_form_stories_pass(tmp_path):
    """Intents are given here: inside the form the validation action reads the reply."""
    failures = failed_stories(MODEL, "tests/test_form_stories.yml", tmp_path)
    assert not failures, failures


def test_nlu_held_out_accuracy_and_macro_f1(tmp_path):
    result = rasa_cli(
        "test", "nlu", "-m", str(MODEL), "--nlu", "tests/nlu_holdout.yml", "--out", str(tmp_path), "--no-plot"
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    accuracy, macro_f1 = report["accuracy"], report["macro avg"]["f1-score"]
    MEASUREMENTS.append(
        f"NLU held-out ({report['weighted avg']['support']} examples): "
        f"intent accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f}"
    )
    worst = sorted(
        (v["f1-score"], k)
        for k, v in report.items()
        if isinstance(v, dict) and "support" in v and k not in ("macro avg", "weighted avg", "micro avg")
    )[:5]
    assert accuracy >= NLU_THRESHOLD and macro_f1 >= NLU_THRESHOLD, f"weakest intents: {worst}"
