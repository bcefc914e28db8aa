"""Reply texts made by Rasa's own response generator from a domain, as the server makes them.

Tests compare what the assistant said with these texts, so an edit of domain.yml's wording
changes what the tests expect, and the templating checked is Rasa's, not a copy of it.
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.shared.core.domain import Domain

PROJECT_DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"
# The output channel of the REST webhook: channel-specific variations are chosen for it.
CHANNEL = CollectingOutputChannel.name()
# How Rasa's interpolator finds placeholders (rasa.core.nlg.interpolator.interpolate_text).
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


class Replies:
    """Every response of one domain, filled by `TemplatedNaturalLanguageGenerator`.

    Rasa sends one of a response's variations chosen at random (among those its channel and
    condition filters allow). Here each variation has a generator of its own, so the choice
    is no choice: `variations()` gives all of them, in domain order, for checks against a
    live server, which may send any; `text()` gives the first, so a unit test that fills both
    the action's message and its expectation here compares like with like, every time.

    Placeholders are filled from the values given only, never from slots (the actions pass
    every value), and one left without a value fails loudly: Rasa would send `{name}` as is.
    Conditional variations are not chosen, as no slot is set.
    """

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self._responses = domain.responses
        self._filter = ResponseVariationFilter(domain.responses)
        self._generators = {
            name: [TemplatedNaturalLanguageGenerator({name: [variation]}) for variation in variations]
            for name, variations in domain.responses.items()
        }

    def variations(self, response: str, **values: Any) -> tuple[str, ...]:
        """Each text the server may send for `response` with these values."""
        if response not in self._responses:
            raise KeyError(f"the domain has no response {response!r}")
        allowed = self._filter.responses_for_utter_action(response, CHANNEL, {})
        chosen = [i for i, variation in enumerate(self._responses[response]) if any(variation is a for a in allowed)]
        if not chosen:
            raise AssertionError(f"{response} has no variation Rasa would send on the {CHANNEL} channel")
        return tuple(self._fill(response, index, values) for index in chosen)

    def text(self, response: str, **values: Any) -> str:
        """The first variation's text: the same one every time."""
        return self.variations(response, **values)[0]

    def message_text(self, message: dict[str, Any]) -> str:
        """The text Rasa sends for a message an action dispatched (`CollectingDispatcher.messages`).

        As Rasa's RemoteAction does: every other field of the message is a value for the
        response's placeholders, and a `text` the action gave replaces the generated one.
        """
        name = message.get("response")
        values = {key: value for key, value in message.items() if key != "response"}
        generated = self.text(name, **values) if name else ""
        return message.get("text") or generated

    def _fill(self, response: str, index: int, values: dict[str, Any]) -> str:
        template = self._responses[response][index].get("text", "")
        missing = sorted({name for name in PLACEHOLDER.findall(template) if values.get(name) is None})
        if missing:
            raise AssertionError(f"{response} lacks values for {missing}")
        filled = self._generators[response][index].generate_from_slots(response, {}, CHANNEL, **values)
        if filled is None or "text" not in filled:
            raise AssertionError(f"{response}: Rasa generated no text for variation {index}")
        return str(filled["text"])


@cache
def load_replies(domain_path: Path = PROJECT_DOMAIN) -> Replies:
    """The replies of a domain file, loaded once per test session."""
    with warnings.catch_warnings():
        # Rasa 3.6 warns on every domain load that slot auto-fill was removed in 3.0: not a finding.
        warnings.filterwarnings("ignore", message="Slot auto-fill has been removed", category=UserWarning)
        return Replies(Domain.load(domain_path))
