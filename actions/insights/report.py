"""The report: every section filled from the period's conversations, read once, one at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from actions.insights.activity import Activity, ActivityResult
from actions.insights.asked import Asked, AskedResult
from actions.insights.digest import digest
from actions.insights.feedback import Feedback, FeedbackResult
from actions.insights.funnel import Funnel, FunnelResult
from actions.insights.leads import LeadStatus
from actions.insights.settings import OfficeHours, Period
from actions.insights.unanswered import Group, Item, Unanswered

# The form's fields in the order it asks them (domain.yml's inquiry_form, actions/inquiry/fields.py).
FORM_FIELDS = (
    "lead_name",
    "lead_email",
    "lead_phone",
    "lead_program",
    "lead_study_option",
    "lead_contact_method",
    "lead_consent",
    "lead_sms_consent",
    "lead_confirmed",
)


class NoConversations(ValueError):
    """The period holds no visitor message: there is nothing to report."""


@dataclass(frozen=True)
class Report:
    period: Period
    office_hours: OfficeHours
    generated: datetime
    activity: ActivityResult
    asked: AskedResult
    unanswered: list[Item]
    groups: list[Group]
    funnel: FunnelResult
    feedback: FeedbackResult


def build(
    period: Period,
    hours: OfficeHours,
    conversations: Iterable[tuple[str, Sequence[Mapping[str, Any]]]],
    leads: Mapping[str, LeadStatus],
    program_names: Mapping[str, str],
    fields: Sequence[str] = FORM_FIELDS,
) -> Report:
    """NoConversations when no conversation in `conversations` has a visitor message."""
    activity, asked, unanswered = Activity(period, hours), Asked(dict(program_names)), Unanswered()
    funnel, feedback = Funnel(fields, leads), Feedback()
    sections = (activity, asked, unanswered, funnel, feedback)
    for sender_id, events in conversations:
        conversation = digest(sender_id, events)
        if not conversation.messages:
            continue
        for section in sections:
            section.add(conversation)
    counted = activity.result()
    if not counted.conversations:
        raise NoConversations(f"no conversations between {period.since} and {period.until} ({period.zone.key})")
    return Report(
        period=period,
        office_hours=hours,
        generated=datetime.now(timezone.utc),
        activity=counted,
        asked=asked.result(),
        unanswered=unanswered.items(),
        groups=unanswered.groups(),
        funnel=funnel.result(),
        feedback=feedback.result(),
    )
