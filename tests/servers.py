"""Start the real action server and Rasa server on loopback for end-to-end tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Optional

import httpx

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "admissions.tar.gz"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server not up after {timeout}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _process(args, url: str, log: Path, env: Dict[str, str], timeout: float) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
    try:
        _wait_until_up(process, url, log, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def action_server(workdir: Path, knowledge_dir: Optional[Path] = None) -> Iterator[str]:
    """Yields the action webhook URL."""
    port = free_port()
    env = {"SANIC_HOST": HOST, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if knowledge_dir:
        env["KNOWLEDGE_DIR"] = str(knowledge_dir)
    args = [sys.executable, "-m", "actions", "--port", str(port)]
    with _process(args, f"http://{HOST}:{port}/health", workdir / f"actions-{port}.log", env, 90):
        yield f"http://{HOST}:{port}/webhook"


@contextlib.contextmanager
def rasa_server(workdir: Path, action_url: str, model: Path = MODEL) -> Iterator[str]:
    """Yields the REST webhook URL of a Rasa server using the given action server."""
    port = free_port()
    endpoints = workdir / f"endpoints-{port}.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{action_url}"\n')
    args = [
        str(VENV_BIN / "rasa"), "run", "-m", str(model), "-i", HOST, "-p", str(port),
        "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
    ]
    with _process(args, f"http://{HOST}:{port}/", workdir / f"rasa-{port}.log", {"TF_CPP_MIN_LOG_LEVEL": "2"}, 180):
        yield f"http://{HOST}:{port}/webhooks/rest/webhook"


def say(webhook: str, sender: str, text: str, **metadata) -> list:
    body = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    response = httpx.post(webhook, json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)
