"""`python -m deploy.cluster` (`make cluster`): the assistant on several processes, as on several hosts.

`make run` is one Rasa server, one action server and SQLite files. This starts what a deployment
on several hosts runs, on this machine: PostgreSQL (conversations and leads), Redis (the lock
that lets one replica at a time answer a conversation, and the shared rate-limit counts),
RASA_REPLICAS Rasa servers and ACTIONS_REPLICAS action servers on loopback ports of their own,
nginx in front of each kind (on HOST:RASA_PORT for visitors; another on loopback ACTIONS_PORT for
the Rasa servers' action calls, so that reloading the first never touches those), and the demo
page on WEB_PORT. Every address, port and secret is the
one `make run` uses (scripts/run.sh), so the widget and every client are unchanged.

Ctrl-C (or SIGTERM) stops everything it started, in order: the demo page, nginx (its requests
finished), the Rasa servers, the actions' nginx, the action servers, Redis, PostgreSQL. A child that stops on its
own stops the cluster too, with its log's last lines. Logs and data: runtime/cluster/.
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

from deploy import render, stores
from deploy.processes import Service, ServiceFailed, children, free_port, http_ok
from deploy.render import LOOPBACK, Upstream

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "admissions.tar.gz"
NGINX = Path("/usr/sbin/nginx")
MAX_REPLICAS = 16
# Seconds to wait for a server: a Rasa server loads its model first, and on a busy 2-core
# machine several start at once.
RASA_START_SECONDS = 300
ACTIONS_START_SECONDS = 180
STORE_START_SECONDS = 60
DRAIN_SECONDS = 150  # longer than nginx's worker_shutdown_timeout: old workers are gone by then
# How `python -m deploy.cluster upgrade` reaches the running launcher (files in CLUSTER_DIR, then SIGUSR1).
LAUNCHER_PID, UPGRADE_REQUEST, UPGRADE_RESULT = "launcher.pid", "upgrade-request", "upgrade-result"


class SettingError(ValueError):
    """A malformed setting; the message names it."""


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingError(f"{name} must be a port number (1-65535), not {raw!r}")
    return int(raw)


def _replicas(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise SettingError(f"{name} must be a whole number from 1 to {MAX_REPLICAS}, not {raw!r}")
    return int(raw)


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(value.replace(",", " ").split())
    for origin in origins:
        if "*" in origin:
            raise SettingError(
                f"ALLOWED_ORIGINS must list the site origins exactly (e.g. https://www.college.edu), not {origin!r}"
            )
    return origins


@dataclass(frozen=True)
class Settings:
    """What `make run` reads (scripts/run.sh), plus the number of replicas."""

    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8080
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8080",)
    assistant_url: str = "http://127.0.0.1:5005"
    rasa_replicas: int = 2
    actions_replicas: int = 2
    model: Path = DEFAULT_MODEL
    runtime: Path = ROOT / "runtime"  # the secrets `make run` keeps (actions-token, client-key-secret)
    state: Path = ROOT / "runtime" / "cluster"  # the cluster's data, logs and rendered configuration
    web: bool = True  # serve the demo page

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """SettingError naming the setting when one is malformed: nothing is started then."""
        host = environ.get("HOST", "").strip() or "127.0.0.1"
        rasa_port = _port(environ, "RASA_PORT", 5005)
        web_port = _port(environ, "WEB_PORT", 8080)
        model = Path(environ.get("MODEL", "").strip() or DEFAULT_MODEL)
        if not model.is_absolute():
            model = ROOT / model
        if not model.is_file():
            raise SettingError(f"MODEL: no trained model at {model} (make train)")
        state = Path(environ.get("CLUSTER_DIR", "").strip() or ROOT / "runtime" / "cluster")
        settings = cls(
            host=host,
            rasa_port=rasa_port,
            actions_port=_port(environ, "ACTIONS_PORT", 5055),
            web_port=web_port,
            allowed_origins=_origins(environ.get("ALLOWED_ORIGINS", "") or f"http://{host}:{web_port}"),
            assistant_url=environ.get("ASSISTANT_URL", "").strip() or f"http://{host}:{rasa_port}",
            rasa_replicas=_replicas(environ, "RASA_REPLICAS", 2),
            actions_replicas=_replicas(environ, "ACTIONS_REPLICAS", 2),
            model=model,
            state=state if state.is_absolute() else ROOT / state,
        )
        ports = [settings.rasa_port, settings.actions_port, settings.web_port]
        if len(set(ports)) != len(ports):
            raise SettingError("RASA_PORT, ACTIONS_PORT and WEB_PORT must be three different ports")
        return settings

    @property
    def connect_host(self) -> str:
        """Where this machine reaches the public port (HOST may be every interface)."""
        return LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host


@dataclass
class Secrets:
    """The shared secrets: from the environment, else kept in runtime/ as scripts/run.sh keeps them."""

    actions_token: str
    client_key_secret: str
    db_password: str
    redis_password: str

    @classmethod
    def load(cls, settings: Settings, environ: Mapping[str, str]) -> Secrets:
        return cls(
            actions_token=environ.get("ACTIONS_TOKEN")
            or stores.secret(settings.runtime / "actions-token", make="urlsafe"),
            client_key_secret=environ.get("CLIENT_KEY_SECRET") or stores.secret(settings.runtime / "client-key-secret"),
            db_password=stores.secret(settings.state / "postgres-password"),
            redis_password=stores.secret(settings.state / "redis-password"),
        )


@dataclass
class Ports:
    """The internal loopback ports, chosen free at every start (nginx's config says which)."""

    postgres: int
    redis: int
    rasa: list[int]
    actions: list[int]

    @classmethod
    def choose(cls, settings: Settings) -> Ports:
        taken = {settings.rasa_port, settings.actions_port, settings.web_port}
        return cls(
            postgres=free_port(taken=taken),
            redis=free_port(taken=taken),
            rasa=[free_port(taken=taken) for _ in range(settings.rasa_replicas)],
            actions=[free_port(taken=taken) for _ in range(settings.actions_replicas)],
        )


def nginx_worker_user() -> str | None:
    """nginx started by root runs its workers as Debian's www-data (else: as whoever started it)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("www-data")
    except KeyError:
        return "nobody nogroup"
    return "www-data"


@dataclass
class Cluster:
    """The whole topology as a context manager: started on entry, stopped (in order) on exit.

    `env` is added to every server's environment (tests lift the per-address limits, as every
    test visitor comes from 127.0.0.1).
    """

    settings: Settings
    env: Mapping[str, str] = field(default_factory=dict)
    postgres: Service | None = None
    redis: Service | None = None
    actions: list[Service] = field(default_factory=list)
    rasa: list[Service] = field(default_factory=list)
    nginx: Service | None = None  # the visitors'
    nginx_actions: Service | None = None  # the Rasa servers' way to the action servers
    web: Service | None = None
    ports: Ports | None = None
    secrets: Secrets | None = None
    _out_of_rotation: set[int] = field(default_factory=set)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- where things are ---------------------------------------------------------------

    @property
    def webhook(self) -> str:
        """The REST webhook visitors post to (through nginx)."""
        return f"http://{self.settings.connect_host}:{self.settings.rasa_port}/webhooks/rest/webhook"

    @property
    def leads_url(self) -> str:
        assert self.ports and self.secrets, "the cluster is not started"
        return render.database_url(self.ports.postgres, self.secrets.db_password)

    @property
    def endpoints_file(self) -> Path:
        return self.settings.state / "endpoints.yml"

    def services(self) -> list[Service]:
        """Every child, in the order they start."""
        found = [self.postgres, self.redis, *self.actions, self.nginx_actions, *self.rasa, self.nginx, self.web]
        return [service for service in found if service is not None]

    def sessions(self) -> list[int]:
        """The session id of every child started (each leads its own): what is left of them is findable."""
        return [service.pid for service in self.services() if service.process is not None]

    # --- starting -----------------------------------------------------------------------

    def start(self) -> None:
        """Starts everything, each part once what it needs answers; on failure stops what started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        settings = self.settings
        settings.state.mkdir(parents=True, exist_ok=True)
        self.secrets = Secrets.load(settings, {**os.environ, **self.env})
        self.ports = ports = Ports.choose(settings)
        self.postgres = stores.postgres(settings.state, ports.postgres, self.secrets.db_password, self._base_env())
        self._launch([self.postgres], STORE_START_SECONDS)
        stores.create_database(ports.postgres, self.secrets.db_password)
        self.redis = stores.redis_server(settings.state, ports.redis, self.secrets.redis_password, self._base_env())
        self._launch([self.redis], STORE_START_SECONDS)
        self.endpoints_file.write_text(
            render.cluster_endpoints(
                ROOT / "endpoints.yml",
                actions_port=settings.actions_port,
                postgres_port=ports.postgres,
                redis_port=ports.redis,
            )
        )
        # The first of each kind alone: it creates the tables (lead store migrations, Rasa's
        # events table), which several at once would race to create.
        self.actions = [self._action_server(i, port) for i, port in enumerate(ports.actions)]
        self.rasa = [self._rasa_server(i, port, settings.model) for i, port in enumerate(ports.rasa)]
        self._launch(self.actions[:1], ACTIONS_START_SECONDS)
        self._launch([*self.actions[1:], *self.rasa[:1]], RASA_START_SECONDS)
        self.nginx_actions = self._nginx("nginx-actions", settings.actions_port, http_ok(self._actions_health()))
        self._write_nginx_config("nginx-actions")
        self._launch([self.nginx_actions], STORE_START_SECONDS)
        self._launch(self.rasa[1:], RASA_START_SECONDS)
        self.nginx = self._nginx(
            "nginx", settings.rasa_port, http_ok(f"http://{settings.connect_host}:{settings.rasa_port}/")
        )
        self._write_nginx_config("nginx")
        self._launch([self.nginx], STORE_START_SECONDS)
        if settings.web:
            self.web = self._web()
            self._launch([self.web], ACTIONS_START_SECONDS)

    def _launch(self, services: Sequence[Service], timeout: float) -> None:
        for service in services:
            service.start()
        for service in services:
            service.wait_until_ready(timeout)

    def _base_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }

    def _server_env(self) -> dict[str, str]:
        """What every Rasa and action server shares: secrets, stores, and the tests' `env`."""
        assert self.ports and self.secrets
        return {
            **self._base_env(),
            "ACTIONS_TOKEN": self.secrets.actions_token,
            "CLIENT_KEY_SECRET": self.secrets.client_key_secret,
            render.DB_PASSWORD_ENV: self.secrets.db_password,
            render.REDIS_PASSWORD_ENV: self.secrets.redis_password,
            "RATE_LIMIT_STORAGE": render.rate_limit_storage(self.ports.redis, self.secrets.redis_password),
            "LEADS_DATABASE_URL": self.leads_url,
            "ENDPOINTS_FILE": str(self.endpoints_file),
            # Requests reach the Rasa servers through nginx on loopback: only its X-Forwarded-For
            # is believed (channels/door.py), and nginx writes that header itself.
            "TRUSTED_PROXIES": LOOPBACK,
            "ACTIONS_HOST": LOOPBACK,
            **self.env,
        }

    def _action_server(self, index: int, port: int) -> Service:
        return Service(
            name=f"actions-{index + 1}",
            args=[sys.executable, "-m", "actions", "--port", str(port)],
            log=self.settings.state / "logs" / f"actions-{index + 1}.log",
            ready=http_ok(f"http://{LOOPBACK}:{port}/health"),
            env=self._server_env(),
            cwd=ROOT,
            port=port,
        )

    def _rasa_server(self, index: int, port: int, model: Path) -> Service:
        args = [
            sys.executable,
            "-m",
            "channels.server",
            "run",
            "-m",
            str(model),
            "-i",
            LOOPBACK,
            "-p",
            str(port),
            "--endpoints",
            str(self.endpoints_file),
            "--credentials",
            str(ROOT / "credentials.yml"),
        ]
        if self.settings.allowed_origins:
            args += ["--cors", *self.settings.allowed_origins]
        return Service(
            name=f"rasa-{index + 1}",
            args=args,
            log=self.settings.state / "logs" / f"rasa-{index + 1}.log",
            ready=http_ok(f"http://{LOOPBACK}:{port}/"),
            env=self._server_env(),
            cwd=ROOT,
            port=port,
        )

    def _actions_health(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.actions_port}/health"

    def _nginx(self, name: str, port: int, ready: Callable[[], bool]) -> Service:
        """One nginx, `name` its folder in the state folder ("nginx": the visitors', "nginx-actions")."""
        if not NGINX.exists():
            raise ServiceFailed("nginx is not installed: run `make setup` as root, or apt-get install nginx")
        (self.settings.state / name).mkdir(parents=True, exist_ok=True)
        return Service(
            name=name,
            args=[*self._nginx_command(name), "-g", "daemon off;"],
            log=self.settings.state / "logs" / f"{name}.log",
            ready=ready,
            env=self._base_env(),
            port=port,
            stop_signal=signal.SIGQUIT,  # graceful: requests being answered are finished first
        )

    def _nginx_command(self, name: str) -> list[str]:
        prefix = self.settings.state / name
        return [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]

    def _write_nginx_config(self, name: str) -> None:
        assert self.ports
        prefix = self.settings.state / name
        if name == "nginx-actions":
            config = render.actions_nginx_config(
                state=prefix,
                actions_port=self.settings.actions_port,
                actions=[Upstream(port) for port in self.ports.actions],
                worker_user=nginx_worker_user(),
            )
        else:
            config = render.nginx_config(
                state=prefix,
                host=self.settings.host,
                rasa_port=self.settings.rasa_port,
                rasa=[Upstream(port, i in self._out_of_rotation) for i, port in enumerate(self.ports.rasa)],
                worker_user=nginx_worker_user(),
            )
        (prefix / "nginx.conf").write_text(config)

    def _web(self) -> Service:
        port = self.settings.web_port
        args = [sys.executable, "-m", "web.serve", "--host", self.settings.host, "--port", str(port)]
        return Service(
            name="web",
            args=[*args, "--server-url", self.settings.assistant_url],
            log=self.settings.state / "logs" / "web.log",
            ready=http_ok(f"http://{self.settings.connect_host}:{port}/"),
            env=self._base_env(),
            cwd=ROOT,
            port=port,
        )

    # --- a new model, replica by replica -------------------------------------------------

    def rolling_upgrade(self, model: Path, progress: Callable[[str], None] = lambda _message: None) -> None:
        """Replaces every Rasa server by one serving `model`, one at a time, refusing no message.

        For each replica: nginx stops sending it messages (its configuration marks it `down`,
        then a reload), the messages it is answering finish (nginx's old workers exit only once
        theirs are answered), it is stopped and started again with the new model, and once its
        health endpoint answers it is put back. The others answer meanwhile, so a cluster of
        one Rasa server cannot be upgraded this way (ValueError).
        """
        model = model.resolve()
        if not model.is_file():
            raise ValueError(f"no trained model at {model}")
        if len(self.rasa) < 2:
            raise ValueError("a rolling upgrade needs two Rasa servers or more: one answers while another restarts")
        for index, old in enumerate(list(self.rasa)):
            progress(f"{old.name}: out of rotation, finishing its messages")
            self._set_out_of_rotation({index})
            old.stop()
            progress(f"{old.name}: starting with {model.name}")
            assert old.port is not None
            new = self._rasa_server(index, old.port, model)
            self.rasa[index] = new
            new.start()
            new.wait_until_ready(RASA_START_SECONDS)
            self._set_out_of_rotation(set())
            progress(f"{old.name}: back in rotation")
        self.settings = replace(self.settings, model=model)

    def _set_out_of_rotation(self, replicas: set[int]) -> None:
        """Re-renders nginx's configuration, reloads it, and returns once the workers of the
        previous configuration have finished every request they had and exited."""
        assert self.nginx is not None and self.nginx.process is not None
        self._out_of_rotation = replicas
        self._write_nginx_config("nginx")
        check = subprocess.run([*self._nginx_command("nginx"), "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise ServiceFailed(f"nginx refused its new configuration:\n{check.stderr[-2000:]}")
        previous = set(self.nginx_workers())
        self.nginx.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + DRAIN_SECONDS
        while previous & set(self.nginx_workers()):
            if time.monotonic() > deadline:
                raise ServiceFailed(f"nginx's previous workers were still busy after {DRAIN_SECONDS} s")
            time.sleep(0.1)

    # --- stopping -----------------------------------------------------------------------

    def stop(self) -> None:
        """Stops every child in the reverse order of starting: visitors are turned away at nginx
        before the servers behind it go, and the stores go last."""
        for service in reversed(self.services()):
            service.stop()

    # --- watching -----------------------------------------------------------------------

    def stopped_on_its_own(self) -> Service | None:
        """The first child that is no longer running, if any."""
        return next((service for service in self.services() if not service.running()), None)

    def nginx_workers(self) -> list[int]:
        return children(self.nginx.pid) if self.nginx else []


def _print_started(cluster: Cluster) -> None:
    settings, ports = cluster.settings, cluster.ports
    assert ports
    print(f"Rasa REST webhook (nginx): {cluster.webhook}  (CORS: {' '.join(settings.allowed_origins)})")
    print(f"  Rasa servers on {LOOPBACK} ports {', '.join(map(str, ports.rasa))}")
    actions = ", ".join(map(str, ports.actions))
    print(f"  action servers on {LOOPBACK} ports {actions} (their nginx: {LOOPBACK}:{settings.actions_port})")
    print(f"  PostgreSQL on {LOOPBACK}:{ports.postgres}, Redis on {LOOPBACK}:{ports.redis}")
    if settings.web:
        print(f"Demo page with the chat widget: http://{settings.host}:{settings.web_port}/")
    print(f"Logs: {settings.state / 'logs'}  (Ctrl-C stops everything)", flush=True)


_upgrade_asked = False


def _ask_upgrade(_signum: int, _frame: object) -> None:
    global _upgrade_asked
    _upgrade_asked = True


def _watch(cluster: Cluster) -> int:
    """Until Ctrl-C: stops the cluster when a child stops on its own; upgrades when asked."""
    global _upgrade_asked
    while True:
        stopped = cluster.stopped_on_its_own()
        if stopped is not None:
            code = stopped.process.returncode if stopped.process else None
            print(f"{stopped.name} stopped on its own (exit status {code}); stopping the cluster.", file=sys.stderr)
            print(stopped.log_tail(), file=sys.stderr)
            return 1
        if _upgrade_asked:
            _upgrade_asked = False
            _upgrade_as_asked(cluster)
        time.sleep(1)


def _upgrade_as_asked(cluster: Cluster) -> None:
    state = cluster.settings.state
    model = Path((state / UPGRADE_REQUEST).read_text().strip())
    print(f"Rolling upgrade to {model}...", flush=True)
    try:
        cluster.rolling_upgrade(model, progress=lambda message: print(f"  {message}", flush=True))
    except (ValueError, ServiceFailed) as error:
        print(f"The rolling upgrade stopped: {error}", file=sys.stderr, flush=True)
        (state / UPGRADE_RESULT).write_text(f"failed: {error}\n")
        return
    print(f"Every Rasa server now serves {model}.", flush=True)
    (state / UPGRADE_RESULT).write_text(f"done: {model}\n")


def ask_for_upgrade(settings: Settings, model: Path, timeout: float = 1800) -> int:
    """`python -m deploy.cluster upgrade`: asks the running cluster for a rolling upgrade and waits for it."""
    try:
        pid = int((settings.state / LAUNCHER_PID).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        print("No cluster is running here (start one with `make cluster`).", file=sys.stderr)
        return 1
    (settings.state / UPGRADE_RESULT).unlink(missing_ok=True)
    (settings.state / UPGRADE_REQUEST).write_text(f"{model.resolve()}\n")
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    result = settings.state / UPGRADE_RESULT
    while not result.exists():
        if time.monotonic() > deadline:
            print(f"No answer from the cluster after {timeout:.0f} s; see its terminal.", file=sys.stderr)
            return 1
        time.sleep(1)
    outcome = result.read_text().strip()
    print(outcome)
    return 0 if outcome.startswith("done") else 1


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        nargs="?",
        choices=("run", "upgrade"),
        default="run",
        help="run: start the cluster (default); upgrade: replace the model of a running cluster, replica by replica",
    )
    parser.add_argument("--model", type=Path, help="upgrade: the new model (default: MODEL, as `make train` writes it)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingError as error:
        print(f"Cannot start the cluster: {error}", file=sys.stderr)
        return 2
    if args.command == "upgrade":
        return ask_for_upgrade(settings, args.model or settings.model)
    return run(settings)


def run(settings: Settings) -> int:
    """Starts the cluster and keeps it until Ctrl-C or SIGTERM, then stops everything it started."""
    # SIGINT too: a shell starting the command in the background leaves SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    signal.signal(signal.SIGUSR1, _ask_upgrade)
    cluster = Cluster(settings)
    print(f"Starting {settings.rasa_replicas} Rasa and {settings.actions_replicas} action servers...", flush=True)
    try:
        cluster.start()
        (settings.state / LAUNCHER_PID).write_text(f"{os.getpid()}\n")
        _print_started(cluster)
        return _watch(cluster)
    except KeyboardInterrupt:
        return 0
    except (ServiceFailed, stores.StoreSetupFailed) as error:
        print(f"Cannot start the cluster: {error}", file=sys.stderr)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
        (settings.state / LAUNCHER_PID).unlink(missing_ok=True)
        print("Stopping the cluster...", file=sys.stderr, flush=True)
        cluster.stop()
        print("Stopped.", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
