"""What the inquiry form accepts, and the reasons it gives for what it refuses."""

from __future__ import annotations

import pytest

from actions.inquiry import validators

PERSONAL = ["hi@nowhere", "555", "<script>"]


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
        ("José García Márquez", "José García Márquez"),
        ("  anne   de la cruz ", "anne de la cruz"),
        ("Zoë D\u2019Arcy", "Zoë D\u2019Arcy"),
        ("Nguyễn Thị Minh", "Nguyễn Thị Minh"),
        ("Jean-Luc St. Pierre", "Jean-Luc St. Pierre"),
    ],
)
def test_names_accepted(raw, cleaned):
    assert validators.full_name(raw) == cleaned


@pytest.mark.parametrize(
    "raw", ["", "   ", "J", "<script>alert(1)</script>", "R2D2", "john@example.com", "x" * 101, "--"]
)
def test_names_refused(raw):
    with pytest.raises(validators.Invalid):
        validators.full_name(raw)


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("mary@example.com", "mary@example.com"),
        ("Mary.ONeil+college@Example.COM", "Mary.ONeil+college@example.com"),
        ("  spaced@example.org ", "spaced@example.org"),
        ("o'neil@sub.example.co.uk", "o'neil@sub.example.co.uk"),
    ],
)
def test_emails_accepted_without_network_lookups(raw, cleaned):
    assert validators.email(raw) == cleaned


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "mary",
        "mary@",
        "@example.com",
        "mary@example",
        "mary@@example.com",
        "a b@example.com",
        "mary@example..com",
        "<b>x</b>@example.com",
    ],
)
def test_emails_refused_with_a_reason_that_does_not_echo_them(raw):
    with pytest.raises(validators.Invalid) as refused:
        validators.email(raw)
    assert str(refused.value) and (not raw.strip() or raw.strip() not in str(refused.value))


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("(423) 555-0134", "+14235550134"),
        ("423.555.0134", "+14235550134"),
        ("+1 800 705 9182", "+18007059182"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
    ],
)
def test_phones_stored_as_e164(raw, e164):
    assert validators.phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "555-0134", "call me maybe", "+1 123 456 7890", "1" * 30])
def test_phones_refused(raw):
    with pytest.raises(validators.Invalid):
        validators.phone(raw)


def test_control_characters_and_nul_bytes_are_dropped():
    assert validators.clean_text("Ann\x00 Lee\u200b\n") == "Ann Lee"


@pytest.mark.parametrize(
    "text", ["stop", "never mind!", "I'd rather not continue.", "nah, cancel it (sorry)", "Ça suffit"]
)
def test_requests_are_plain_words(text):
    assert validators.is_plain_words(text)


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script>", "'; DROP TABLE leads; --", "a=1", "", "...", '{"stop": 1}']
)
def test_markup_and_code_are_not_plain_words(text):
    assert not validators.is_plain_words(text)
