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


def test_tabs_and_line_breaks_between_words_keep_the_words_apart():
    assert validators.clean_text("Mary\nJane\tO'Neil\r\n") == "Mary Jane O'Neil"
    assert validators.full_name("Mary\nJane") == "Mary Jane"


@pytest.mark.parametrize("raw", ["423 555 013", "423555013", "(423) 555-013", "423 555 01345"])
def test_us_numbers_with_nine_or_eleven_digits_are_refused(raw):
    with pytest.raises(validators.Invalid):
        validators.phone(raw)


@pytest.mark.parametrize("raw", ["Wu", "Ng", "Li"])
def test_the_shortest_names_people_have_are_accepted(raw):
    assert validators.full_name(raw) == raw


def test_a_name_may_be_exactly_as_long_as_the_limit_and_no_longer():
    longest = "Mary " + "a" * (validators.MAX_NAME_LENGTH - len("Mary "))
    assert validators.full_name(longest) == longest
    with pytest.raises(validators.Invalid) as refused:
        validators.full_name(longest + "a")
    assert str(validators.MAX_NAME_LENGTH) in str(refused.value)  # the visitor learns the limit


REFUSED = {
    validators.full_name: ["", "x" * (validators.MAX_NAME_LENGTH + 1), "R2D2", "J"],
    validators.email: ["", "mary", "mary@example", "mary@example..com", "mary@exam_ple.com"],
    validators.phone: ["", "call me maybe", "+1 123 456 7890"],
}


def reason(validator, raw: str) -> str:
    with pytest.raises(validators.Invalid) as refused:
        validator(raw)
    return str(refused.value)


@pytest.mark.parametrize("validator", REFUSED, ids=lambda v: v.__name__)
def test_each_kind_of_mistake_gets_its_own_reason(validator):
    """The visitor is told what to fix: an empty answer, a wrong character and a wrong length differ."""
    reasons = [reason(validator, raw) for raw in REFUSED[validator]]
    assert len(set(reasons)) == len(reasons), reasons


@pytest.mark.parametrize(
    "validator, raw", [(v, raw) for v, raws in REFUSED.items() for raw in raws], ids=lambda x: getattr(x, "__name__", x)
)
def test_every_reason_reads_as_a_sentence_to_the_visitor(validator, raw):
    """Shown as the bot's own words: a capital, a full stop, no shouting, no stray punctuation."""
    text = reason(validator, raw)
    assert text[0].isupper() and text.endswith(".") and text != text.upper() and ".)" not in text, text


@pytest.mark.parametrize(
    "raw, quoted",
    [
        ("mary@exa\u2603mple.com", "exa\u2603mple"),
        ("mary@\u0661\u0662a.com", "\u0661\u0662a"),
        ("mary@[IPv6:zzzz]", "zzzz"),
        ("mary@exam_ple.com", "'_'"),
    ],
)
def test_email_reasons_never_quote_any_part_of_the_address(raw, quoted):
    """email-validator's own messages quote the bad part; the visitor's reply must not repeat it."""
    assert quoted.lower() not in reason(validators.email, raw).lower()
