"""Check what a visitor types into the inquiry form.

Each validator returns the cleaned value or raises `Invalid` with a reason that can be
shown to the visitor. Reasons never repeat the input: it is personal data.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "US"
MAX_NAME_LENGTH = 100
# Letters (any script, accents included), with the joiners real names use.
# What people type when they mean something: words and everyday punctuation. Markup, code
# and SQL are not requests ("<script>" must not be read as "stop").
_PLAIN_WORDS = re.compile(r"^[\w\s'\u2019\".,!?:()\-]*\w[\w\s'\u2019\".,!?:()\-]*$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\u2019.\-][^\W\d_]*)*$")
# Where email-validator's message turns from the kind of problem to its details, which can
# quote the address ("...invalid characters: '_'", "...is invalid (... of 'exa\u2603mple' ...)").
_EMAIL_DETAILS = re.compile(r":| \(")


class Invalid(ValueError):
    """The value cannot be used; str(error) says why, in words for the visitor."""


def clean_text(value: object) -> str:
    """Plain text: control characters dropped, whitespace folded, Unicode normalised.

    Tabs and line breaks are control characters that separate words: they fold into spaces.
    """
    text = unicodedata.normalize("NFC", str(value or ""))
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())


def is_plain_words(value: object) -> bool:
    """True for text made of words and everyday punctuation, as a real request is."""
    return bool(_PLAIN_WORDS.match(clean_text(value)))


def full_name(value: object) -> str:
    name = clean_text(value)
    if not name:
        raise Invalid("I didn't get a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"That's longer than the {MAX_NAME_LENGTH} characters a name can have here.")
    if not _NAME.match(name) or not any(ch.isalpha() for ch in name):
        raise Invalid("A name can contain letters, spaces, hyphens and apostrophes only.")
    if len(name.replace(" ", "")) < 2:
        raise Invalid("That looks too short for a full name.")
    return name


def email(value: object) -> str:
    text = clean_text(value)
    if not text:
        raise Invalid("I didn't get an email address.")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(f"That doesn't look like a valid email address ({_email_reason(error)}).") from None
    return result.normalized


def _email_reason(error: EmailNotValidError) -> str:
    """email-validator's messages can quote the address; keep only the kind of problem."""
    return _EMAIL_DETAILS.split(str(error))[0].rstrip(". ").lower()


def phone(value: object, region: str = DEFAULT_REGION) -> str:
    """A dialable number in E.164 form (+18007059182); US numbers need no country code."""
    text = clean_text(value)
    if not text:
        raise Invalid("I didn't get a phone number.")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise Invalid("That doesn't look like a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            "That number isn't valid: please include the area code (and the country code if it's outside the US)."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
