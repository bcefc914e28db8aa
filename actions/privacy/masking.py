"""Contact details a visitor types outside the form, masked in what is stored.

A visitor may paste an email address or phone number into a question; the question is kept
(reports still see what was asked), the address and number are not.
"""

from __future__ import annotations

import re

import phonenumbers

from actions.privacy.personal_slots import EMAIL, PHONE, placeholder

REGION = "US"  # numbers without a country code are read as US numbers, as the form reads them
# What email-validator accepts in practice (dot-atom local part, dotted domain with a
# top-level label), Unicode letters included.
_EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
)
# A phone number has at least this many digits; fewer: no need to run the matcher.
_MIN_PHONE_DIGITS = 7


def might_contain_contact_details(text: str) -> bool:
    """A cheap test that lets an ordinary message skip the matchers (every turn calls it)."""
    return "@" in text or sum(ch.isdigit() for ch in text) >= _MIN_PHONE_DIGITS


def mask_contact_details(text: str) -> str:
    """The text with each email address replaced by "[email]" and each phone number by "[phone]"."""
    if not might_contain_contact_details(text):
        return text
    text = _EMAIL.sub(placeholder(EMAIL), text)
    matches = list(phonenumbers.PhoneNumberMatcher(text, REGION))
    for match in reversed(matches):  # from the end, so earlier offsets stay right
        text = text[: match.start] + placeholder(PHONE) + text[match.end :]
    return text
