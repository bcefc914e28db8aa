"""The page a visitor chatted from, reduced to what a consent record needs: origin and path.

The widget sends the page's full URL; its query string and fragment can carry campaign ids,
session tokens or an email address, and a URL may carry credentials (userinfo), so none of
them is kept. An address that is not valid Unicode text (a lone UTF-16 surrogate, which JSON's
"\\ud800" escape can carry) is not one either: no database could store it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
MAX_LENGTH = 2000


def origin_and_path(url: str) -> str | None:
    """`scheme://host[:port]/path` of a web address; None for anything that is not one."""
    if not is_text(url):
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:  # e.g. a port that is not a number, a malformed IPv6 host
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not host:
        return None
    if ":" in host:  # an IPv6 address is written in brackets
        host = f"[{host}]"
    origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")
    return (origin + (parts.path or "/"))[:MAX_LENGTH]


def is_text(value: str) -> bool:
    """Whether `value` is valid Unicode text, as UTF-8 (and so every store) can hold it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
