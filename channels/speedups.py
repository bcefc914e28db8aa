"""Three of Rasa 3.6's per-turn costs, removed without changing what they compute.

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
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import aiohttp
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from channels import patching
from channels.patching import Patch, RefusedPatches

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the Rasa whose functions these replace, read line by line
SWITCH = "RASA_SPEEDUPS"
KEEPALIVE_SECONDS = 2.0

_event_classes: dict[str, type[Event]] = {}
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
PATCHES = (RESPONSE_SCHEMA_CHECKED_ONCE, EVENT_CLASSES_BY_NAME, KEPT_CONNECTIONS)


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
