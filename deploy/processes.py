"""The cluster's child processes: started in sessions of their own, stopped by pid, checked by health.

Each child leads its own session, so Ctrl-C in the terminal reaches the launcher only, which
then stops the children in order; the session id also finds every process a child forked
(nginx's workers, PostgreSQL's backends) when checking that none is left behind. A child is
also sent SIGTERM if the launcher dies without stopping it (Linux's parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_TIMEOUT_SECONDS = 30  # Rasa and Sanic finish the requests they have, then exit


class ServiceFailed(RuntimeError):
    """A child did not start, or stopped on its own; the message ends with its log's tail."""


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1", taken: set[int] | None = None) -> int:
    """A port nobody listens on now; `taken` (ports already handed out) is never returned, and gets this one."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if taken is None or port not in taken:
            if taken is not None:
                taken.add(port)
            return port


def http_ok(url: str) -> Callable[[], bool]:
    """Ready when the URL answers below 500."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    return check


@dataclass
class Service:
    """One child process: what runs, where its output goes, and how to tell it is ready."""

    name: str
    args: Sequence[str]
    log: Path
    ready: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)
    port: int | None = None
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                list(self.args),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Sent when the thread that started it ends: the launcher starts every child from its main thread.
                preexec_fn=_die_with_parent,
                user=self.user,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.running():
                raise ServiceFailed(f"{self.name} stopped while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceFailed(f"{self.name} was not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Asks it to stop, waits, then kills it; its session's other processes too."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        kill_session(self.pid)

    def kill(self) -> None:
        """kill -9, as a crash would end it (tests of losing a replica)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else "(no output)"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # after "pid (command)": state, ppid, pgrp, session, ...


def session_members(sessions: Iterable[int]) -> list[int]:
    """Live processes in these sessions (zombies not counted: they are gone but for their exit status)."""
    wanted = set(sessions)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[3]) in wanted:
            found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (nginx's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[0] != "Z" and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def kill_session(session: int) -> None:
    """SIGKILL whatever of a stopped child's session is still there (a stray worker)."""
    for pid in session_members([session]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
