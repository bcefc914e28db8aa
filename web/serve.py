"""Serve the demo admissions page, the chat widget and its configuration.

Everything the page needs (deep-chat's bundle included) comes from this server, never a
CDN. The facts the pages show (each program's summary, the admissions phone number for
the footer and the widget's "cannot reach the assistant" message) are read from
knowledge/ at start-up, so staff keep changing them in one place.

Every response carries a Content-Security-Policy that lets the page run only the scripts it
serves itself and talk only to itself and the Rasa server, forbids framing by other sites
(`frame-ancestors 'self'`), and sends other sites the origin only (Referrer-Policy). A client
gets READ_TIMEOUT_SECONDS per read: one that sends half a request and waits is dropped,
not waited for.

    python -m web.serve --port 8080 --server-url http://127.0.0.1:5005
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from actions.knowledge import KnowledgeBase, KnowledgeError, load_knowledge

WEB = Path(__file__).resolve().parent
SITE = WEB / "site"
DEEP_CHAT = WEB / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
LAYOUT = SITE / "layout.html"  # head, navigation, footer and the widget snippet of every page

# The demo pages: URL path -> (navigation label, page title, file with the page's <main>).
PAGES: dict[str, tuple[str, str, Path]] = {
    "/": ("Programs", "Health Careers Admissions", SITE / "pages" / "index.html"),
    "/apply.html": ("How to apply", "How to apply - Health Careers Admissions", SITE / "pages" / "apply.html"),
}

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}

READ_TIMEOUT_SECONDS = 10.0

# URL path -> file. Only these are served: nothing else under web/ (or node_modules) leaks.
FILES: dict[str, Path] = {
    "/site.css": SITE / "site.css",
    "/widget/widget.js": SITE / "widget.js",
    "/widget/widget.css": SITE / "widget.css",
    "/widget/deep-chat.js": DEEP_CHAT,
}


def program_cards(kb: KnowledgeBase) -> str:
    """One card per program in the knowledge base, so a new program appears on the page too."""
    cards = (
        f'      <article class="program">\n        <h2>{html.escape(program.name)}</h2>\n'
        f"        <p>{html.escape(program.career_summary)}</p>\n"
        f"        <p>Suits {html.escape(program.suits)}.</p>\n      </article>"
        for program in kb.programs
    )
    return "\n".join(cards)


def render_page(path: str, kb: KnowledgeBase) -> bytes:
    """A demo page in the layout; its facts come from the knowledge base, not the HTML."""
    _, title, main = PAGES[path]
    current = {href: ' aria-current="page"' if href == path else "" for href in PAGES}
    nav = "\n      ".join(
        f'<a href="{href}"{current[href]}>{html.escape(label)}</a>' for href, (label, _, _) in PAGES.items()
    )
    filled = {
        "{{title}}": html.escape(title),
        "{{nav}}": nav,
        "{{main}}": main.read_text().rstrip("\n"),
        "{{program_cards}}": program_cards(kb),  # after {{main}}, which contains it
        "{{admissions_phone}}": html.escape(kb.admissions.phone),
    }
    page = LAYOUT.read_text()
    for mark, value in filled.items():
        page = page.replace(mark, value)
    return page.encode()


def privacy_url(value: str | None) -> str | None:
    """The college's privacy page, linked from the widget's notice: an absolute http(s) URL or none.

    Anything else (a `javascript:` URL, a relative path) is refused at start, not put in a link.
    """
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"PRIVACY_URL must be an absolute http(s) URL, not {value!r}")
    return value


def content_security_policy(server_url: str) -> str:
    """Scripts from this server only (no inline script, no eval); calls to it and the Rasa server.

    Styles may be inline: deep-chat styles its shadow DOM with <style> elements and attributes.
    The favicon is a `data:` URL. Only the site itself may frame the pages.
    """
    parts = urlsplit(server_url)
    assistant = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            f"connect-src 'self' {assistant}".rstrip(),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def security_headers(server_url: str) -> dict[str, str]:
    """Sent with every response."""
    return {
        "Content-Security-Policy": content_security_policy(server_url),
        "X-Frame-Options": "SAMEORIGIN",  # frame-ancestors for browsers that predate it
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


def widget_config(server_url: str, phone: str, privacy: str | None = None) -> bytes:
    """What widget.js fetches: where the assistant is, the number to call without it, and the
    privacy page its notice links to (null: the notice has no link)."""
    return json.dumps({"server_url": server_url.rstrip("/"), "phone": phone, "privacy_url": privacy}).encode()


def generated_content(kb: KnowledgeBase, server_url: str, privacy: str | None = None) -> dict[str, tuple[bytes, str]]:
    """The pages and the widget's configuration, built once: they change only with knowledge/."""
    content = {path: (render_page(path, kb), TYPES[".html"]) for path in PAGES}
    config = widget_config(server_url, kb.admissions.phone, privacy)
    content["/widget/widget-config.json"] = (config, TYPES[".json"])
    return content


class SiteHandler(BaseHTTPRequestHandler):
    """GET-only handler for the generated content plus the fixed set of files above."""

    server_version = "AdmissionsSite"

    def __init__(
        self,
        *args: Any,
        generated: dict[str, tuple[bytes, str]],
        headers: dict[str, str],
        timeout: float = READ_TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> None:
        self.generated = generated
        self.extra_headers = headers
        self.read_timeout = timeout
        super().__init__(*args, **kwargs)  # handles the request

    def setup(self) -> None:
        super().setup()
        # Each read (and write) waits at most this long: a stalled client is dropped
        # (BaseHTTPRequestHandler closes the connection on the timeout).
        self.connection.settimeout(self.read_timeout)

    def do_GET(self) -> None:
        found = self._content(self.path.split("?", 1)[0].split("#", 1)[0])
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.OK, *found)

    def do_HEAD(self) -> None:
        self.do_GET()

    def _content(self, path: str) -> tuple[bytes, str] | None:
        if path in self.generated:
            return self.generated[path]
        file = FILES.get(path)
        if file is None or not file.is_file():
            return None
        return file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines carry nothing staff need, and the chat itself goes to Rasa."""


def make_server(
    host: str, port: int, server_url: str, privacy: str | None = None, timeout: float = READ_TIMEOUT_SECONDS
) -> ThreadingHTTPServer:
    """A ready server; raises KnowledgeError when knowledge/ is invalid."""
    handler = partial(
        SiteHandler,
        generated=generated_content(load_knowledge(), server_url, privacy),
        headers=security_headers(server_url),
        timeout=timeout,
    )
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    parser.add_argument("--server-url", required=True, help="the Rasa server as browsers reach it")
    parser.add_argument(
        "--privacy-url", default=os.environ.get("PRIVACY_URL"), help="the college's privacy page (PRIVACY_URL)"
    )
    args = parser.parse_args(argv)
    try:
        privacy = privacy_url(args.privacy_url)
    except ValueError as error:
        print(f"Cannot start the demo page: {error}", file=sys.stderr)
        return 2
    if not DEEP_CHAT.is_file():
        print(
            f"Cannot serve the widget: {DEEP_CHAT.relative_to(WEB.parent)} is missing; run `make setup`.",
            file=sys.stderr,
        )
        return 2
    try:
        server = make_server(args.host, args.port, args.server_url, privacy)
    except KnowledgeError as error:
        print(f"Cannot start the demo page: {error}", file=sys.stderr)
        return 2
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
