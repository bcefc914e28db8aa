"""Only the Rasa server may run actions: every request carries the shared secret ACTIONS_TOKEN.

Without it, anyone who reaches the action server's port could post a made-up tracker to
`/webhook` and have `action_submit_inquiry` store it. The Rasa server sends the token as
`Authorization: Bearer <token>` (endpoints.yml `action_endpoint.headers`, filled from the
environment by Rasa's `${ACTIONS_TOKEN}`), never in the URL, where access logs would keep
it. Every request but `/health` (a liveness probe that runs nothing and shows nothing) is
checked before anything runs, in constant time; a missing or wrong token gets 401 with a
JSON reason.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping

from sanic import Sanic, response
from sanic.request import Request

TOKEN_ENV = "ACTIONS_TOKEN"
MIN_TOKEN_LENGTH = 32
OPEN_PATHS = frozenset({"/health"})
# What a header and Rasa's ${...} substitution carry unchanged: no spaces, quotes or "$".
_TOKEN_CHARACTERS = re.compile(r"^[A-Za-z0-9._~+/=-]+$")
MISSING = "missing action server token: send 'Authorization: Bearer <ACTIONS_TOKEN>'"
WRONG = "wrong action server token"


def token_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The shared secret, or ValueError saying how to set one (the server does not start open)."""
    token = environ.get(TOKEN_ENV, "")
    if not token:
        raise ValueError(
            f"{TOKEN_ENV} is not set: the action server answers only the Rasa server, which sends it. "
            f"`make run` generates one into runtime/; otherwise set the same value for both servers "
            f"(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_CHARACTERS.match(token):
        raise ValueError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters of letters, digits and . _ ~ + / = -"
        )
    return token


def refusal(authorization: str | None, token: str) -> str | None:
    """Why a request with this Authorization header may not run anything; None when it may."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return MISSING
    # Digests first, so the comparison takes as long whatever the length of what was sent.
    if not hmac.compare_digest(_digest(given.strip()), _digest(token)):
        return WRONG
    return None


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def require_token(app: Sanic, token: str) -> None:
    """Answer 401 to every request without the token, before any route (or action) runs."""

    @app.on_request
    async def check_token(request: Request) -> response.HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        reason = refusal(request.headers.get("Authorization"), token)
        if reason is None:
            return None
        return response.json({"error": reason}, status=401, headers={"WWW-Authenticate": "Bearer"})
