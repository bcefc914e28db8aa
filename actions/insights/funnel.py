"""The funnel: how many conversations got the follow-up offer, started the inquiry form,
reached each of its fields, left a saved lead, and had it delivered to the CRM.

Counts are conversations, not events: a conversation that was offered twice counts once.
Drop-off is where a conversation that started the form but left no lead was when it stopped:
the last field the form asked for ("before the first field" when it asked none). It is read from
the last field, not from the difference of two fields' counts, because the form skips fields
(text consent is asked only of visitors who chose texts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actions.insights.digest import Conversation
from actions.insights.leads import LeadStatus

NO_FIELD = ""  # the form started and was left before it asked anything


@dataclass(frozen=True)
class FunnelResult:
    conversations: int
    offered: int
    form_started: int
    reached: list[tuple[str, int]]  # (field slot, conversations that were asked it), form order
    saved: int  # conversations with a saved lead
    delivered: int  # conversations whose lead the CRM took
    left_at: list[tuple[str, int]]  # (field slot or NO_FIELD, conversations that stopped there)


class Funnel:
    def __init__(self, fields: Sequence[str], leads: Mapping[str, LeadStatus]) -> None:
        self.fields = list(fields)
        self._leads = leads
        self._counts: Counter[str] = Counter()
        self._reached: Counter[str] = Counter()
        self._left: Counter[str] = Counter()

    def add(self, conversation: Conversation) -> None:
        if not conversation.messages:
            return
        lead = self._leads.get(conversation.sender_id, LeadStatus())
        self._counts["conversations"] += 1
        self._counts["offered"] += conversation.offers > 0
        self._counts["saved"] += lead.saved > 0
        self._counts["delivered"] += lead.delivered > 0
        if conversation.form_started or conversation.fields_reached:
            self._counts["form_started"] += 1
            self._reached.update(conversation.fields_reached)
            if not lead.saved:
                self._left[conversation.last_field or NO_FIELD] += 1

    def result(self) -> FunnelResult:
        extra = sorted(set(self._reached) - set(self.fields))  # a field this code does not know (renamed)
        order = [*self.fields, *extra]
        left_order = [NO_FIELD, *order, *sorted(set(self._left) - {NO_FIELD, *order})]
        return FunnelResult(
            conversations=self._counts["conversations"],
            offered=self._counts["offered"],
            form_started=self._counts["form_started"],
            reached=[(slot, self._reached[slot]) for slot in order],
            saved=self._counts["saved"],
            delivered=self._counts["delivered"],
            left_at=[(slot, self._left[slot]) for slot in left_order if self._left[slot]],
        )
