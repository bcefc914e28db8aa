"""Rasa 3.6 changed so that what the action server answers on an error never reaches the log.

When the action server answers an error, Rasa raises `ClientResponseError`, whose message
holds the whole response body; RemoteAction.run re-raises it as the cause of a RasaException
and the processor logs that with its traceback. An action server like rasa_sdk's answers a
failing action with the request it got, the tracker, so the log held every slot and message
of the conversation. Here the message keeps the status and reason only; the body stays in
`.text`, where RemoteAction reads a rejection (400) from.

Installed by the Rasa server's entry point (channels/server.py) always: unlike the speedups,
privacy is not switched off. On a Rasa other than RASA_VERSION the server refuses to start
and says why (channels/patching.py).
"""

from __future__ import annotations

import aiohttp
from rasa.utils.endpoints import ClientResponseError

from channels import patching
from channels.patching import Patch

RASA_VERSION = "3.6.21"  # the Rasa whose ClientResponseError.__init__ this replaces, read line by line


def client_response_error_without_body(self: ClientResponseError, status: int, message: str, text: str) -> None:
    self.status = status
    self.message = message
    self.text = text
    aiohttp.ClientError.__init__(self, f"{status}, {message}")


NO_RESPONSE_BODY_IN_ERRORS = Patch(
    "action server error bodies kept out of exception messages",
    ClientResponseError,
    "__init__",
    RASA_VERSION,
    client_response_error_without_body,
)
PATCHES = (NO_RESPONSE_BODY_IN_ERRORS,)


def install() -> None:
    """The patches, or RefusedPatches (and Rasa unchanged) if any does not fit this Rasa."""
    patching.install(
        PATCHES,
        how_to_switch_off=(
            "Check each patch in channels/privacy_patches.py against this Rasa and update RASA_VERSION; "
            "there is no switch: these keep contact details out of the logs."
        ),
    )


def uninstall() -> None:
    patching.uninstall(PATCHES)
