"""What the REST channel lets in (issue 10): who a request comes from, how much it may carry,
and what of its metadata is kept. Pure functions and settings; visitor_rest.py applies them.

- A client is its socket peer, or, only when that peer is one of TRUSTED_PROXIES, the address
  the proxies recorded in X-Forwarded-For. An IPv6 client counts as its /64 network: one
  subscriber line gets a whole /64, so per-address counting would be trivially dodged.
- The address itself is never stored: the channel keeps `client`, an HMAC-SHA256 of it with
  CLIENT_KEY_SECRET, so the action server can count leads per client without knowing who.
- Metadata is reduced to an allow-list before Rasa sees it: `page_url` as origin and path,
  and the channel's own `client` (one sent by the visitor is replaced).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from actions.inquiry.page_address import origin_and_path
from actions.rate_limits import RateLimit, parse_limit

MAX_BODY_BYTES = 16 * 1024  # a message is at most 5,000 characters: 16 KB holds it in any script
# The refusal of a larger body, the same from the Rasa server and from nginx in front of it.
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES} bytes"
MAX_PAGE_URL_LENGTH = 512
CLIENT_KEY = "client"  # the metadata key the action server reads (leads per client)
PAGE_URL_KEY = "page_url"

# Seconds a client has to send a whole request, and an idle kept-alive connection stays open.
# A request is at most 16 KB: even a poor mobile line sends it in well under a second.
READ_TIMEOUT_SECONDS = 10
KEEP_ALIVE_TIMEOUT_SECONDS = 15

TRUSTED_PROXIES_ENV = "TRUSTED_PROXIES"
CLIENT_KEY_SECRET_ENV = "CLIENT_KEY_SECRET"
TURN_CAP_ENV = "SESSION_TURN_CAP"
PER_CONVERSATION_ENV = "RATE_LIMIT_PER_CONVERSATION"
PER_ADDRESS_ENV = "RATE_LIMIT_PER_ADDRESS"
# A person reads each answer before the next message: even a fast typist or a button clicker
# stays under one message every 3 seconds for a whole minute.
DEFAULT_PER_CONVERSATION = "20/minute"
# A school lab or library behind one NAT address: 40 visitors each at 6 messages a minute (a
# brisk pace; 2-3 is usual). Still bounds one address to 4 answers a second.
DEFAULT_PER_ADDRESS = "240/minute"
DEFAULT_TURN_CAP = 100
MIN_SECRET_HEX = 16

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """An IP address (an IPv4-mapped IPv6 one as IPv4), or None for anything else."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_proxies(value: str) -> tuple[Network, ...]:
    """TRUSTED_PROXIES: addresses or networks (CIDR), space- or comma-separated; ValueError naming a bad one."""
    networks: list[Network] = []
    for item in re.split(r"[\s,]+", value.strip()):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{TRUSTED_PROXIES_ENV} must list IP addresses or networks (e.g. 10.0.0.5, 10.1.0.0/16), not {item!r}"
            ) from None
    return tuple(networks)


def _trusted(address: Address | None, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The address a request counts against: the peer, unless a trusted proxy forwarded it.

    Behind trusted proxies, X-Forwarded-For is read from the right (each proxy appends the
    address it was called from): the first address that is not a trusted proxy is the
    client's. What a visitor writes there themselves is to its left, so it is never used.
    """
    hop = parse_address(peer)
    if not _trusted(hop, proxies) or not forwarded_for:
        return address_key(hop, peer)
    for entry in reversed(forwarded_for.split(",")):
        found = parse_address(entry)
        if found is None:
            break  # not written by a proxy of ours: count against the last hop we trust
        hop = found
        if not _trusted(hop, proxies):
            break
    return address_key(hop, peer)


def address_key(address: Address | None, fallback: str) -> str:
    """The form an address is counted in: IPv4 as is, IPv6 by its /64 network."""
    if address is None:
        return fallback
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_key(address: str, secret: bytes) -> str:
    """A pseudonym of the client address: the same for the same address, and not reversible
    without the secret (a hash alone could be reversed by trying all IPv4 addresses)."""
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()


def client_secret(environ: Mapping[str, str]) -> bytes:
    """CLIENT_KEY_SECRET (hex, 16+ digits); unset: a random one for this process (run.sh sets one,
    so that keys survive a restart)."""
    value = environ.get(CLIENT_KEY_SECRET_ENV, "").strip()
    if not value:
        return secrets.token_hex(32).encode()
    if len(value) < MIN_SECRET_HEX or not re.fullmatch(r"[0-9a-fA-F]+", value):
        raise ValueError(f"{CLIENT_KEY_SECRET_ENV} must be at least {MIN_SECRET_HEX} hexadecimal digits")
    return value.encode()


def page_url(value: Any) -> str | None:
    """The page a message came from as origin and path (http(s) only, valid Unicode text), cut
    to 512 characters; None when there is no such page (the message is kept without it)."""
    if not isinstance(value, str):
        return None
    reduced = origin_and_path(value)
    return reduced[:MAX_PAGE_URL_LENGTH] if reduced else None


def visitor_metadata(sent: Any, client: str) -> dict[str, str]:
    """The metadata Rasa gets and stores: the allow-listed `page_url` and the channel's `client`."""
    kept: dict[str, str] = {}
    page = page_url(sent.get(PAGE_URL_KEY)) if isinstance(sent, dict) else None
    if page:
        kept[PAGE_URL_KEY] = page
    kept[CLIENT_KEY] = client
    return kept


def turn_cap(environ: Mapping[str, str]) -> int:
    """SESSION_TURN_CAP: visitor messages a session may hold before a fresh start is offered."""
    raw = environ.get(TURN_CAP_ENV, "").strip()
    if not raw:
        return DEFAULT_TURN_CAP
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{TURN_CAP_ENV} must be a whole number of messages, at least 1, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class DoorSettings:
    """Every setting of the door, read and checked once when the channel is created."""

    per_conversation: RateLimit
    per_address: RateLimit
    proxies: tuple[Network, ...]
    secret: bytes
    turn_cap: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DoorSettings:
        """ValueError with the setting's name when one is malformed (the server does not start)."""
        return cls(
            per_conversation=RateLimit(
                "messages per conversation",
                parse_limit(PER_CONVERSATION_ENV, environ.get(PER_CONVERSATION_ENV, DEFAULT_PER_CONVERSATION)),
            ),
            per_address=RateLimit(
                "messages per client address",
                parse_limit(PER_ADDRESS_ENV, environ.get(PER_ADDRESS_ENV, DEFAULT_PER_ADDRESS)),
            ),
            proxies=parse_proxies(environ.get(TRUSTED_PROXIES_ENV, "")),
            secret=client_secret(environ),
            turn_cap=turn_cap(environ),
        )
