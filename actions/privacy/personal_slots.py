"""Which form slots hold personal data, and how a redacted value of each is shown.

Its own tiny module because two processes need it: the action server declares the form's
fields with it (actions/inquiry/fields.py) and the Rasa server redacts what it stores with
it, without importing the form's actions, spaCy or the knowledge base.
"""

from __future__ import annotations

NAME, EMAIL, PHONE = "name", "email", "phone"
# slot -> kind of personal data; the stored placeholder is "[kind]".
PERSONAL_SLOTS: dict[str, str] = {"lead_name": NAME, "lead_email": EMAIL, "lead_phone": PHONE}
# Rasa's slot naming the field the form asks for, and the form's "do you want to stop?" flag:
# a reply to that question is "yes" or "no", not the field's value.
REQUESTED_SLOT = "requested_slot"
STOP_QUESTION_SLOT = "confirming_stop"
# A visitor's rating of an answer (channels/answer_feedback.py): "up" or "down" and a
# timestamp, never personal, so redaction leaves it exactly as it is (the insights report
# matches the timestamp to the answer).
ANSWER_FEEDBACK_SLOT = "answer_feedback"


def placeholder(kind: str) -> str:
    """What replaces a personal value: says what was there, keeps nothing of it."""
    return f"[{kind}]"
