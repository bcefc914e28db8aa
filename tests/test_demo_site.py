"""The demo page server's configuration: what the widget is told, and what is refused at start."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from actions.knowledge import load_knowledge
from web import serve


def widget_config(privacy: str | None) -> dict:
    content = serve.generated_content(load_knowledge(), "http://127.0.0.1:5005/", privacy)
    body, content_type = content["/widget/widget-config.json"]
    assert content_type.startswith("application/json")
    return json.loads(body)


def test_the_widget_is_told_the_privacy_page_only_when_one_is_set():
    assert widget_config(None)["privacy_url"] is None
    assert widget_config("https://college.example/privacy")["privacy_url"] == "https://college.example/privacy"
    assert widget_config(None)["phone"] == load_knowledge().admissions.phone


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "/privacy", "college.example/privacy", "ftp://college.example/p", "https://"]
)
def test_a_privacy_url_that_is_not_an_absolute_web_address_is_refused_at_start(bad, capsys):
    assert serve.main(["--server-url", "http://127.0.0.1:5005", "--privacy-url", bad]) == 2
    assert "PRIVACY_URL must be an absolute http(s) URL" in capsys.readouterr().err


# The server itself: its headers, and a client that stalls


@contextlib.contextmanager
def running_site(timeout: float = serve.READ_TIMEOUT_SECONDS) -> Iterator[str]:
    """The demo page server in a thread on loopback; yields its URL."""
    server = serve.make_server("127.0.0.1", 0, "http://127.0.0.1:5005", timeout=timeout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_every_response_carries_the_content_security_policy_and_the_other_security_headers():
    with running_site() as url:
        for path in ("/", "/apply.html", "/widget/widget.js", "/widget/widget-config.json", "/missing"):
            headers = httpx.get(url + path, timeout=10).headers
            policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
            assert policy["script-src"] == "'self'"  # no inline script, no eval, no CDN
            assert policy["connect-src"] == "'self' http://127.0.0.1:5005"  # the page and the assistant only
            assert policy["frame-ancestors"] == "'self'" and headers["X-Frame-Options"] == "SAMEORIGIN"
            assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
            assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
            assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_pages_hold_no_inline_script():
    for path in serve.PAGES:
        page = serve.render_page(path, load_knowledge()).decode()
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
        assert scripts and all(body.strip() == "" for body in scripts), scripts  # each one has a src
        assert re.search(r"<script\b[^>]*\bsrc=", page) and not re.search(r"\son[a-z]+=", page)


@pytest.mark.slow
def test_a_client_that_sends_half_a_request_is_dropped_after_the_timeout_while_others_are_served():
    with running_site(timeout=1.0) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ...and never the blank line
            assert httpx.get(url + "/", timeout=10).status_code == 200  # another visitor meanwhile
            slow.settimeout(30)  # far longer than the server's: a server that waits fails here
            assert slow.recv(1024) == b""  # closed by the server, with no answer
