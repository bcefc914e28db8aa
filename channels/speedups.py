"""Rasa 3.6's per-turn costs, removed without changing what they compute.

Profiling the Rasa server under load (README "Benchmark") found:
- each action server response is checked with `jsonschema.validate(result, spec)`, which
  first validates the constant spec itself against the JSON Schema 2020-12 metaschema:
  about two thirds of the server's CPU time. Here the spec is checked once and its
  validator reused; every response is still validated, and an invalid one raises the same
  ValidationError with Rasa's hint;
- every stored event read back is matched to its class by walking all Event subclasses
  (`Event.resolve_by_type`): 7% of the time once the above was gone. Here the classes are
  looked up by type name, with Rasa's own walk for a name not seen yet;
- every call to the action server opens a new HTTP client session and TCP connection
  (11% after the above). Here one session per event loop keeps connections alive, for at
  most KEEPALIVE_SECONDS idle: less than the action server's own keep-alive (Sanic's
  default is 5 s), so the client never reuses a connection the server is closing.

Turn 300 of a conversation cost ~10x turn 1 (README "Benchmark", bench/turns.py), because every
prediction rebuilt the dialogue state at every action of the session. Here a policy gets only
the states it looks at, the last ones, built incrementally (channels/state_window.py):
- MemoizationPolicy (and any policy with `max_history`): the last `max_history` states, which
  is all its featurizer keeps;
- RulePolicy without `max_history`: one more state than its longest rule. A rule is checked
  against the conversation's last states only (a conversation state further back than the
  rule is long matches anything, RulePolicy._is_rule_applicable), so the rules found are the
  same; when none is, the key Rasa makes of all states only serves to look it up among the
  rules (`rules_not_in_stories`), where no key longer than every rule can be, whole or windowed.
Any other policy or featurizer, or a conversation with action_unlikely_intent, gets Rasa's own.
Those states, the processor and the policies all ask for the tracker's applied events (events
not undone by a revert or a loop), over the whole session, several times a turn: they are
extended turn by turn instead (channels/applied_events.py).

Every call to the action server carried every event of the session (Rasa 3.6 sends the tracker
with EventVerbosity.ALL), serialised, sent and parsed again at each action. Only
`action_submit_inquiry` reads older events (the questions asked before the form, the page the
chat began on: actions/inquiry/lead_builder.py); rasa_sdk itself reads only the slot events at
the end (`Tracker.slots_to_validate`). So every other action gets the events from the latest
visitor message on (and the action before it), with the rest of the tracker (slots, latest
message, active loop...) unchanged; ACTIONS_READING_HISTORY get them all.
(The tracker store keeps recent conversations' events between turns: channels/tracker_cache.py.)

Installed only by the Rasa server's entry point (`python -m channels.server`, channels/server.py),
never on import. Each patch replaces a private Rasa function as it is in Rasa RASA_VERSION:
on any other Rasa, or when a replaced function is gone or is no longer Rasa's, the server
refuses to start and says which patch did not fit (channels/patching.py).

RASA_SPEEDUPS=off in the environment switches them off (plain Rasa); `on` is the default.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import aiohttp
import rasa
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.policy import Policy, SupportedData
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from channels import patching
from channels.applied_events import AppliedEvents
from channels.patching import Patch, RefusedPatches
from channels.state_window import Walks

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the Rasa whose functions these replace, read line by line
SWITCH = "RASA_SPEEDUPS"
KEEPALIVE_SECONDS = 2.0
# Custom actions that read events before the latest visitor message: they get the whole session.
ACTIONS_READING_HISTORY = frozenset({"action_submit_inquiry"})

_event_classes: dict[str, type[Event]] = {}
_walks = Walks()
_applied = AppliedEvents()
_rule_windows: weakref.WeakKeyDictionary[RulePolicy, int] = weakref.WeakKeyDictionary()
# The event loop is part of the key (and kept alive by it), so a new loop never gets a
# session bound to a closed one.
_sessions: dict[tuple[asyncio.AbstractEventLoop, tuple[tuple[str, str], ...]], aiohttp.ClientSession] = {}


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    validator_class = validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(_response_validator().iter_errors(result))  # what jsonschema.validate raises
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def resolve_event_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes.get(type_name)
    if found is None:
        for cls in all_subclasses(Event):  # the first class with the name wins, as in Rasa
            _event_classes.setdefault(cls.type_name, cls)
        found = _event_classes.get(type_name)
    if found is not None:
        return found
    return patching.rasa_function(EVENT_CLASSES_BY_NAME)(type_name, default)


class _Kept:
    """`async with` on a shared session: entering gives it, leaving keeps it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def endpoint_session(self: EndpointConfig) -> Any:
    """What EndpointConfig.session returns (Rasa uses it only in `async with`)."""
    if self.basic_auth:
        return patching.rasa_function(KEPT_CONNECTIONS)(self)
    key = (asyncio.get_running_loop(), tuple(sorted((self.headers or {}).items())))
    session = _sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
        _sessions[key] = session
    return _Kept(session)


def states_window(policy: Policy) -> int | None:
    """How many of the last states decide this policy's prediction; None: not known here."""
    featurizer = policy.featurizer
    if type(featurizer) is not MaxHistoryTrackerFeaturizer:
        return None
    if featurizer.max_history:
        return featurizer.max_history
    if not isinstance(policy, RulePolicy):
        return None
    window = _rule_windows.get(policy)
    if window is None:
        keys = [key for lookup in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH) for key in policy.lookup.get(lookup, {})]
        window = 1 + max((len(policy._rule_key_to_state(key)) for key in keys), default=0)
        _rule_windows[policy] = window
    return window


def prediction_states(
    self: Policy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Policy._prediction_states: MaxHistoryTrackerFeaturizer.prediction_states on the last states."""
    window = states_window(self)
    ml_data = self.supported_data() == SupportedData.ML_DATA
    states = None
    if window is not None and type(tracker) is DialogueStateTracker:
        states = _walks.last_states(tracker, domain, window, ml_data, rule_only_data)
    if states is None:
        return patching.rasa_function(STATES_WINDOW)(
            self, tracker, domain, use_text_for_last_user_input, rule_only_data
        )
    featurizer = self.featurizer
    assert isinstance(featurizer, MaxHistoryTrackerFeaturizer)
    # As the featurizer does: (no action_unlikely_intent states to remove), slice, choose the input.
    states = featurizer.slice_state_history(states, featurizer.max_history)
    featurizer._choose_last_user_input([states], use_text_for_last_user_input)
    return states


def _last_index(events: Sequence[Event], kind: type[Event], before: int) -> int | None:
    """Where the last event of this kind before index `before` is (None: there is none); looks
    back from `before` only, so a long session's older turns are not read."""
    return next((index for index in range(before - 1, -1, -1) if isinstance(events[index], kind)), None)


def latest_turn(tracker: DialogueStateTracker) -> list[Event]:
    """The events from the action before the latest visitor message on (all, without one)."""
    events = list(tracker.events)
    message = _last_index(events, UserUttered, len(events))
    if message is None:
        return events
    action = _last_index(events, ActionExecuted, message)
    return events[action or 0 :]  # no action before the message: from the start


def action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> dict[str, Any]:
    """RemoteAction._action_call_format, the tracker's events cut to the latest turn."""
    if self.name() in ACTIONS_READING_HISTORY:
        return patching.rasa_function(LATEST_TURN_TO_ACTIONS)(self, tracker, domain)
    tracker_state = tracker.current_state(EventVerbosity.NONE)
    tracker_state["events"] = [event.as_dict() for event in latest_turn(tracker)]
    result = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": tracker_state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = domain.as_dict()
    return result


def applied_events(self: DialogueStateTracker) -> list[Event]:
    if type(self) is not DialogueStateTracker:  # e.g. training's trackers with cached states
        return patching.rasa_function(APPLIED_EVENTS_EXTENDED)(self)
    return _applied.of(self)


RESPONSE_SCHEMA_CHECKED_ONCE = Patch(
    "action server responses validated against a schema checked once",
    RemoteAction,
    "_validate_action_result",
    RASA_VERSION,
    validate_action_result,
)
EVENT_CLASSES_BY_NAME = Patch(
    "event classes looked up by name", Event, "resolve_by_type", RASA_VERSION, staticmethod(resolve_event_by_type)
)
KEPT_CONNECTIONS = Patch(
    "action server connections kept alive", EndpointConfig, "session", RASA_VERSION, endpoint_session
)
STATES_WINDOW = Patch(
    "policies given the last dialogue states, built incrementally",
    Policy,
    "_prediction_states",
    RASA_VERSION,
    prediction_states,
)
APPLIED_EVENTS_EXTENDED = Patch(
    "applied events extended turn by turn", DialogueStateTracker, "applied_events", RASA_VERSION, applied_events
)
LATEST_TURN_TO_ACTIONS = Patch(
    "the action server sent the latest turn's events",
    RemoteAction,
    "_action_call_format",
    RASA_VERSION,
    action_call_format,
)
PATCHES = (
    RESPONSE_SCHEMA_CHECKED_ONCE,
    EVENT_CLASSES_BY_NAME,
    KEPT_CONNECTIONS,
    STATES_WINDOW,
    APPLIED_EVENTS_EXTENDED,
    LATEST_TURN_TO_ACTIONS,
)


def install() -> None:
    """All three patches, or RefusedPatches (and Rasa unchanged) if any does not fit this Rasa."""
    patching.install(
        PATCHES,
        how_to_switch_off=(
            f"Check each patch in channels/speedups.py against this Rasa and update RASA_VERSION, "
            f"or start with {SWITCH}=off to run plain Rasa without them."
        ),
    )


def uninstall() -> None:
    patching.uninstall(PATCHES)
    _walks.clear()
    _applied.clear()


def installed() -> bool:
    """Whether this process runs with the speedups (what else follows the switch asks this)."""
    return all(patching.is_installed(patch) for patch in PATCHES)


def switched_on(environ: Mapping[str, str]) -> bool:
    value = environ.get(SWITCH, "on").strip().lower()
    if value not in ("on", "off"):
        raise RefusedPatches(f"{SWITCH} must be 'on' or 'off', not {value!r}; nothing was changed.")
    return value == "on"


def install_as_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Installs the patches unless switched off; logs which, once. True when installed."""
    if not switched_on(environ):
        logger.info("Rasa speedups: off (%s=off)", SWITCH)
        return False
    install()
    logger.info("Rasa speedups: on (%d patches)", len(PATCHES))
    return True
