"""The CRM webhook: where leads are POSTed, each POST signed as Standard Webhooks specifies.

A receiver verifies a POST with any Standard Webhooks library (`standardwebhooks` in Python)
and the shared secret. The headers:

- `webhook-id`: the lead id and a digest of the body (`<lead id>.<16 hex>`). The spec asks for
  the same id when a message is sent again: a lead is one message however often it is retried
  (or re-queued by staff), while a lead the visitor updated (one lead per person a day) is a new
  message the CRM must not drop as a repeat. The payload's `lead_id` says which record it updates.
- `webhook-timestamp`: when this attempt was signed (Unix seconds), so a receiver can refuse a
  replayed POST (the libraries allow five minutes).
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
- `Idempotency-Key`: the same as `webhook-id`, for CRMs that drop repeats by that header.

The secret is configured in the spec's form, `whsec_` and the base64 of at least 32 random
bytes (`python -m actions.leads new-secret` makes one). Leads hold personal data, so they go
over https, or plain http to this machine only; anything else refuses to start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import math
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

import httpx
import standardwebhooks

from actions.inquiry.payload import build_payload
from actions.inquiry.schedule import parse_retry_after
from actions.inquiry.store import Lead, utc_now

WEBHOOK_URL_ENV = "LEADS_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "LEADS_WEBHOOK_SECRET"
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 32
NEW_SECRET_COMMAND = "python -m actions.leads new-secret"
# Answers that say "not now" rather than "never": a timeout and too many requests.
RETRYABLE_4XX = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})


class WebhookSettingError(ValueError):
    """LEADS_WEBHOOK_URL or LEADS_WEBHOOK_SECRET is unusable: delivery does not start."""


def new_secret() -> str:
    """A fresh secret in the form LEADS_WEBHOOK_SECRET takes and receivers' libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(MIN_SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The signing key a `whsec_<base64>` secret holds; WebhookSettingError (never quoting the
    secret) when it is missing, malformed or too short to resist guessing."""
    how = f"generate one with `{NEW_SECRET_COMMAND}` and give the CRM the same value"
    if not secret:
        raise WebhookSettingError(f"{WEBHOOK_SECRET_ENV} must be set when {WEBHOOK_URL_ENV} is: {how}")
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookSettingError(f"{WEBHOOK_SECRET_ENV} must start with '{SECRET_PREFIX}' (base64 follows): {how}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise WebhookSettingError(f"{WEBHOOK_SECRET_ENV} is not valid base64 after '{SECRET_PREFIX}': {how}") from None
    if len(key) < MIN_SECRET_BYTES:
        raise WebhookSettingError(f"{WEBHOOK_SECRET_ENV} holds {len(key)} bytes, fewer than {MIN_SECRET_BYTES}: {how}")
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1
    except ValueError:
        return False


def check_url(url: str) -> None:
    """https anywhere, http to this machine only; WebhookSettingError otherwise. The message
    names the host at most: a URL may carry a token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = urlsplit(""), ""
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise WebhookSettingError(f"{WEBHOOK_URL_ENV} must be an https:// address of the CRM's webhook")
    if scheme == "http" and not is_loopback(host):
        raise WebhookSettingError(
            f"{WEBHOOK_URL_ENV} would send leads unencrypted to {host}: use https://"
            " (plain http:// is allowed to this machine only: localhost, 127.0.0.0/8, ::1)"
        )


@dataclass(frozen=True)
class Answer:
    """What one attempt came to: `delivered`, `retry` (not now) or `refused` (never).

    `reason` is ours, never the CRM's words: its body or reason phrase may echo the lead.
    """

    outcome: str
    reason: str | None = None
    retry_after: timedelta | None = None


def read_answer(response: httpx.Response, now: datetime) -> Answer:
    """2xx delivers; a 4xx other than 408 and 429 refuses the lead for good; anything else
    (5xx, 408, 429, a redirect) is retried, not before the CRM's Retry-After if it gave one."""
    code = response.status_code
    if 200 <= code < 300:
        return Answer("delivered")
    try:
        reason = f"CRM answered HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:  # a code with no standard name
        reason = f"CRM answered HTTP {code}"
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return Answer("refused", reason)
    return Answer("retry", reason, parse_retry_after(response.headers.get("Retry-After"), now))


def message_id(lead_id: str, body: str) -> str:
    """The same for every retry of one version of a lead (the payload has no send time), new for an update."""
    return f"{lead_id}.{hashlib.sha256(body.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(repr=False)  # a credential: never in logs or tracebacks
    timeout: float = 10.0
    _signer: standardwebhooks.Webhook = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_url(self.url)
        object.__setattr__(self, "_signer", standardwebhooks.Webhook(secret_key(self.secret)))

    @classmethod
    def from_env(cls) -> Webhook | None:
        """The configured webhook, None without LEADS_WEBHOOK_URL; WebhookSettingError when unusable."""
        url = os.environ.get(WEBHOOK_URL_ENV)
        return cls(url, os.environ.get(WEBHOOK_SECRET_ENV, "")) if url else None

    def signed_headers(self, message_id: str, body: str, at: datetime) -> dict[str, str]:
        """The Standard Webhooks headers for `body` sent at `at` (an aware UTC time)."""
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(math.floor(at.timestamp())),
            "webhook-signature": self._signer.sign(message_id, at, body),
        }

    def send(self, client: httpx.Client, lead: Lead) -> Answer:
        """POST the lead once; what came of it. Only the store's bookkeeping decides what next."""
        body = json.dumps(build_payload(lead), sort_keys=True)
        message = message_id(lead.id, body)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message,
            **self.signed_headers(message, body, utc_now()),
        }
        try:
            response = client.post(self.url, content=body.encode(), headers=headers, timeout=self.timeout)
        except httpx.TransportError as error:  # unreachable, reset, too slow: the CRM may be back soon
            return Answer("retry", type(error).__name__)
        return read_answer(response, utc_now())
