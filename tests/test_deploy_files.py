"""The deployment files (deploy/): Kubernetes manifests valid against the 1.28 schemas, offline; an
endpoints.yml that Rasa reads and whose classes exist; environment variables that the servers
really read, with every secret they need provided and none committed; a docker-compose file with
its services and health checks; systemd units that systemd accepts.

Nothing here starts a container: Docker has no daemon on this machine and there is no Kubernetes
(deploy/README.md says what was and was not run).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints

from tests.servers import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
SITE_PACKAGES = Path(inspect.getfile(yaml)).parents[1]
IMAGE = "registry.example.edu/admissions"
SECRET_NAME = "admissions-secrets"

# Variables of the libraries under the servers, set to quiet or private values; each must
# appear in that library's source (checked below), so a name that no longer means anything fails.
LIBRARY_SETTINGS = {
    "RASA_TELEMETRY_ENABLED": "rasa",  # no usage data leaves the college
    "TF_CPP_MIN_LOG_LEVEL": "rasa",  # TensorFlow's C++ log level, which Rasa sets and reads
    "SQLALCHEMY_SILENCE_UBER_WARNING": "sqlalchemy",
}
# The shell's, the interpreter's and (while the image is built) pip's own.
PROCESS_SETTINGS = {
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
# Secrets each server cannot do without, besides the ${VARIABLES} of its endpoints.yml: the shared
# action token; one client-key secret for every Rasa replica (or each counts visitors apart); the
# leads database (else leads would go to a SQLite file inside a container); one erasure salt.
RASA_SECRETS = {"ACTIONS_TOKEN", "CLIENT_KEY_SECRET"}
ACTIONS_SECRETS = {"ACTIONS_TOKEN", "LEADS_DATABASE_URL", "ERASURE_SALT"}
OPTIONAL_SECRETS = {"LEADS_WEBHOOK_URL", "LEADS_WEBHOOK_SECRET"}  # without a CRM, leads wait for export


# --- What the code reads ----------------------------------------------------------------------


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _original_code(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, but not inside `make mutation`'s mutated copies of a function (`x_f__mutmut_3`),
    whose changed strings are no setting the code reads."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def code_settings() -> set[str]:
    """Every environment variable the servers' code reads: `environ.get("X")`, `environ["X"]`,
    `os.getenv("X")`, and the `..._ENV = "X"` (and speedups' SWITCH) names those read through."""
    names: set[str] = set()
    files = [*ROOT.glob("actions/**/*.py"), *ROOT.glob("channels/**/*.py"), *ROOT.glob("web/*.py")]
    for path in files:
        for node in _original_code(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and (value := _text(node.value)):
                if any(isinstance(t, ast.Name) and (t.id.endswith("_ENV") or t.id == "SWITCH") for t in node.targets):
                    names.add(value)
            elif isinstance(node, ast.Call) and node.args and (value := _text(node.args[0])):
                func = node.func
                if isinstance(func, ast.Attribute) and (
                    (func.attr == "get" and _is_environ(func.value)) or func.attr == "getenv"
                ):
                    names.add(value)
            elif isinstance(node, ast.Subscript) and _is_environ(node.value) and (value := _text(node.slice)):
                names.add(value)
    return names


def test_the_scan_finds_the_settings_of_each_server_and_the_demo_page():
    """The checks below compare against this scan: it must see what each part reads."""
    found = code_settings()
    assert {"ACTIONS_TOKEN", "LEADS_DATABASE_URL", "LEADS_DELIVERY_LEASE", "ENDPOINTS_FILE"} <= found  # actions
    assert {"CLIENT_KEY_SECRET", "TRUSTED_PROXIES", "RASA_SPEEDUPS", "RATE_LIMIT_STORAGE"} <= found  # Rasa
    assert {"HOST", "WEB_PORT", "PRIVACY_URL"} <= found  # the demo page
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", name) for name in found), found


@pytest.mark.parametrize("name, package", sorted(LIBRARY_SETTINGS.items()))
def test_each_library_setting_is_one_its_library_reads(name, package):
    sources = (SITE_PACKAGES / package).rglob("*.py")
    assert any(f'"{name}"' in path.read_text(encoding="utf-8", errors="replace") for path in sources)


# --- Reading the deployment files -------------------------------------------------------------


def manifests() -> list[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object in deploy/k8s, named `file:Kind/name`."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def container(deployment: str) -> dict[str, Any]:
    (only,) = objects("Deployment")[deployment]["spec"]["template"]["spec"]["containers"]
    return only


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def env_file(path: Path) -> dict[str, str]:
    """NAME=value lines, as systemd's EnvironmentFile and Compose's .env read them."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


def endpoint_refs(path: Path) -> set[str]:
    """The ${VARIABLES} an endpoints.yml takes from the environment (its comments aside)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", "\n".join(lines)))


def k8s_endpoints(tmp_path: Path) -> Path:
    """The ConfigMap's endpoints.yml, as the pods see it mounted."""
    path = tmp_path / "endpoints.yml"
    path.write_text(objects("ConfigMap")["admissions-endpoints"]["data"]["endpoints.yml"], encoding="utf-8")
    return path


# --- Kubernetes: valid, and wired together ----------------------------------------------------


@pytest.mark.parametrize("name, doc", manifests(), ids=[name for name, _ in manifests()])
def test_every_manifest_validates_against_the_kubernetes_1_28_schemas(name, doc):
    kubernetes_validate.validate(doc, "1.28", strict=True)  # raises, naming the field, when invalid


def test_the_validation_is_strict_a_misspelt_field_fails():
    """A typo would otherwise be ignored by the cluster: a probe never configured."""
    rasa = objects("Deployment")["admissions-rasa"]
    probe_spec = rasa["spec"]["template"]["spec"]["containers"][0]
    probe_spec["readinesProbe"] = probe_spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(rasa, "1.28", strict=True)


def test_the_manifests_hold_every_part_and_no_secret():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests()}
    assert {
        ("Deployment", "admissions-rasa"),
        ("Deployment", "admissions-actions"),
        ("Deployment", "admissions-redis"),
        ("StatefulSet", "admissions-postgres"),
        ("ConfigMap", "admissions-endpoints"),
        *(("Service", f"admissions-{part}") for part in ("rasa", "actions", "redis", "postgres")),
    } <= kinds
    assert not [kind for kind, _ in kinds if kind == "Secret"]  # made with kubectl, never committed


@pytest.mark.parametrize(
    "deployment, port, path",
    [("admissions-rasa", 5005, "/"), ("admissions-actions", 5055, "/health")],
)
def test_the_servers_run_two_replicas_with_resources_and_probes_on_their_health_endpoint(deployment, port, path):
    spec = objects("Deployment")[deployment]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0  # a rollout never drops below two
    server = container(deployment)
    assert server["image"].startswith(IMAGE + ":")
    assert [p["containerPort"] for p in server["ports"] if p["name"] == "http"] == [port]
    for probe in ("readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert {"cpu", "memory"} <= set(server["resources"]["requests"]) and "memory" in server["resources"]["limits"]
    security = server["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    assert objects("Deployment")[deployment]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_rasa_probe_is_the_root_route_the_server_has_without_its_http_api(monkeypatch):
    """`rasa run` without --enable-api serves "/" (and the channels) only: /status would 404."""
    from rasa.core import run
    from sanic import Sanic

    monkeypatch.setattr(Sanic, "test_mode", True)  # another test may have made an app of that name
    app = run._create_app_without_api(cors=None)
    paths = {"/" + route.path.lstrip("/") for route in app.router.routes}
    assert "/" in paths and "/status" not in paths
    assert "--enable-api" not in container("admissions-rasa")["command"]


def test_the_action_servers_health_endpoint_needs_no_token():
    from actions import server_auth

    assert "/health" in server_auth.OPEN_PATHS


@pytest.mark.parametrize("part", ["rasa", "actions", "redis", "postgres"])
def test_each_service_selects_its_pods_and_targets_a_named_port(part):
    service = objects("Service")[f"admissions-{part}"]
    workloads = {**objects("Deployment"), **objects("StatefulSet")}
    pod = workloads[f"admissions-{part}"]["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_the_endpoints_configmap_is_mounted_where_both_servers_read_it():
    for deployment in ("admissions-rasa", "admissions-actions"):
        pod = objects("Deployment")[deployment]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "admissions-endpoints")
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
        assert mount["mountPath"] == "/etc/admissions"
    rasa_command = container("admissions-rasa")["command"]
    assert rasa_command[rasa_command.index("--endpoints") + 1] == "/etc/admissions/endpoints.yml"
    actions_env = {e["name"]: e.get("value") for e in container("admissions-actions")["env"]}
    assert actions_env["ENDPOINTS_FILE"] == "/etc/admissions/endpoints.yml"


# --- endpoints.yml: what Rasa reads, classes that exist ----------------------------------------


ENDPOINT_FILES = {
    "k8s": None,  # the ConfigMap's
    "systemd": SYSTEMD / "endpoints.yml",
    "compose": DEPLOY / "compose" / "endpoints.yml",
}
ACTION_URLS = {
    "k8s": "http://admissions-actions:5055/webhook",  # the actions Service
    "systemd": "http://127.0.0.1:5055/webhook",  # nginx on the host (deploy/nginx/admissions.conf)
    "compose": "http://nginx:5055/webhook",  # nginx's actions server (deploy/compose/nginx.conf)
}


@pytest.fixture(params=sorted(ENDPOINT_FILES))
def endpoints_file(request, tmp_path, monkeypatch) -> Iterator[tuple[str, Path]]:
    path = ENDPOINT_FILES[request.param] or k8s_endpoints(tmp_path)
    for name in endpoint_refs(path):
        monkeypatch.setenv(name, f"value-of-{name}")  # as each container's environment holds them
    yield request.param, path


def load_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as missing:
        if missing.name == "channels.lock_store":
            pytest.skip("channels/lock_store.py (AtomicRedisLockStore) is another part of issue 12, not merged here")
        raise


def keyword_arguments(cls: type) -> set[str]:
    return set(inspect.signature(cls).parameters) - {"args", "kwargs"}


def test_rasa_reads_the_endpoints_with_the_secrets_from_the_environment(endpoints_file):
    kind, path = endpoints_file
    endpoints = AvailableEndpoints.read_endpoints(str(path))
    assert endpoints.action is not None and endpoints.action.url == ACTION_URLS[kind]
    assert endpoints.action.headers == {"Authorization": "Bearer value-of-ACTIONS_TOKEN"}
    assert endpoints.tracker_store is not None and endpoints.tracker_store.kwargs["password"] == (
        "value-of-TRACKER_DB_PASSWORD"
    )
    assert endpoint_refs(path) == {"ACTIONS_TOKEN", "TRACKER_DB_PASSWORD", "REDIS_PASSWORD"}


def test_the_tracker_store_is_ours_on_postgresql_with_arguments_rasas_sql_store_takes(endpoints_file):
    _, path = endpoints_file
    store = AvailableEndpoints.read_endpoints(str(path)).tracker_store
    assert store is not None and store.type == "channels.tracker_store.SQLTrackerStore"
    cls = load_class(store.type)
    assert issubclass(cls, SQLTrackerStore) and issubclass(cls, TrackerStore)
    assert store.kwargs["dialect"] == "postgresql"
    assert set(store.kwargs) <= keyword_arguments(SQLTrackerStore)  # `url` is passed as `host`


def test_the_lock_store_takes_rasas_redis_lock_store_arguments_and_its_class_exists(endpoints_file):
    _, path = endpoints_file
    store = AvailableEndpoints.read_endpoints(str(path)).lock_store
    assert store is not None and store.type == "channels.lock_store.AtomicRedisLockStore"
    assert set(store.kwargs) <= keyword_arguments(RedisLockStore)  # the contract: the same keywords
    assert store.kwargs["key_prefix"] == "admissions" and store.kwargs["db"] == 0
    assert issubclass(load_class(store.type), LockStore)


def test_the_k8s_action_url_is_the_actions_service():
    url = urlsplit(ACTION_URLS["k8s"])
    service = objects("Service")["admissions-actions"]
    assert url.hostname == service["metadata"]["name"] and url.port == service["spec"]["ports"][0]["port"]


# --- Environment variables: only what the code reads; every secret provided ----------------------


def k8s_env(deployment: str) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container(deployment)["env"]}


def dockerfile_env() -> set[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", line[4:]))
    return names


EXEC_START = re.compile(r"^ExecStart=((?:[^\n]*\\\n)*[^\n]*)", re.MULTILINE)  # with its continued lines


def exec_start_vars() -> set[str]:
    """Variables the units' command lines take from their EnvironmentFile."""
    names: set[str] = set()
    for path in SYSTEMD.glob("*.service"):
        for command in EXEC_START.findall(path.read_text(encoding="utf-8")):
            names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", command))
    return names


def readable() -> set[str]:
    refs = set().union(*(endpoint_refs(p) for p in (SYSTEMD / "endpoints.yml", DEPLOY / "compose" / "endpoints.yml")))
    return code_settings() | refs | set(LIBRARY_SETTINGS) | PROCESS_SETTINGS


def test_the_k8s_servers_set_only_variables_the_code_reads(tmp_path):
    refs = endpoint_refs(k8s_endpoints(tmp_path))
    for deployment in ("admissions-rasa", "admissions-actions"):
        unknown = set(k8s_env(deployment)) - code_settings() - refs - set(LIBRARY_SETTINGS)
        assert not unknown, f"{deployment} sets {unknown}, which nothing reads"


def test_the_compose_servers_set_only_variables_the_code_reads():
    services = compose()["services"]
    for name in ("rasa-1", "rasa-2", "actions-1", "actions-2"):
        unknown = set(services[name]["environment"]) - readable()
        assert not unknown, f"{name} sets {unknown}, which nothing reads"


def test_the_image_and_the_systemd_settings_set_only_variables_something_reads():
    assert dockerfile_env() and not dockerfile_env() - readable()
    settings = set(env_file(SYSTEMD / "admissions.env")) | set(env_file(SYSTEMD / "secrets.env.example"))
    assert not settings - readable() - exec_start_vars()
    assert exec_start_vars() <= set(env_file(SYSTEMD / "admissions.env"))  # what the units use is set


@pytest.mark.parametrize(
    "deployment, needed", [("admissions-rasa", RASA_SECRETS), ("admissions-actions", ACTIONS_SECRETS)]
)
def test_each_k8s_server_gets_every_secret_it_needs_from_the_secret_never_a_literal(deployment, needed, tmp_path):
    env = k8s_env(deployment)
    for name in needed | endpoint_refs(k8s_endpoints(tmp_path)):
        reference = env[name].get("valueFrom", {}).get("secretKeyRef")
        assert reference == {"name": SECRET_NAME, "key": name}, name  # required: not `optional`
    secret_names = needed | OPTIONAL_SECRETS | {"TRACKER_DB_PASSWORD", "REDIS_PASSWORD"}
    literals = {name for name, entry in env.items() if "value" in entry}
    assert not literals & secret_names


def secret_refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every secretKeyRef in a manifest, however deep."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "secretKeyRef":
                yield value
            else:
                yield from secret_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from secret_refs(item)


def test_the_k8s_secret_keys_are_the_documented_ones():
    refs = [ref for _, doc in manifests() for ref in secret_refs(doc)]
    assert {ref["name"] for ref in refs} == {SECRET_NAME}
    keys = {ref["key"] for ref in refs}
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert keys == RASA_SECRETS | ACTIONS_SECRETS | OPTIONAL_SECRETS | {"TRACKER_DB_PASSWORD", "REDIS_PASSWORD"}
    assert all(f"--from-literal={key}=" in readme for key in keys)  # the `kubectl create secret` line


def test_each_compose_server_requires_every_secret_it_needs():
    services, text = compose()["services"], COMPOSE_FILE.read_text(encoding="utf-8")
    refs = endpoint_refs(DEPLOY / "compose" / "endpoints.yml")
    for name, needed in (("rasa-1", RASA_SECRETS), ("actions-1", ACTIONS_SECRETS)):
        env = services[name]["environment"]
        for secret in (needed | refs) - {"LEADS_DATABASE_URL"}:
            assert env[secret].startswith(f"${{{secret}:?"), (name, secret)  # compose stops when unset
    assert "postgresql://admissions:${TRACKER_DB_PASSWORD}@postgres:5432/leads" in text
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert required <= set(env_file(DEPLOY / "compose.env.example"))


def test_the_systemd_secrets_file_names_every_secret_with_no_value_filled_in():
    example = env_file(SYSTEMD / "secrets.env.example")
    needed = RASA_SECRETS | ACTIONS_SECRETS | OPTIONAL_SECRETS | endpoint_refs(SYSTEMD / "endpoints.yml")
    assert needed <= set(example)
    assert {name: value for name, value in example.items() if value and "PASSWORD@" not in value} == {}


def test_the_deploy_readme_lists_every_variable_the_servers_read_and_every_secret():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    documented = code_settings() | set(LIBRARY_SETTINGS) | endpoint_refs(SYSTEMD / "endpoints.yml")
    missing = sorted(name for name in documented if f"`{name}`" not in readme)
    assert not missing, f"deploy/README.md does not list {missing}"


# --- docker-compose ------------------------------------------------------------------------------


SERVERS = {"rasa-1", "rasa-2", "actions-1", "actions-2"}


def test_the_compose_file_runs_nginx_two_rasa_two_actions_redis_and_postgres_each_with_a_health_check():
    services = compose()["services"]
    assert set(services) == SERVERS | {"nginx", "redis", "postgres"}
    for name, service in services.items():
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD" and len(check) > 1, name
    assert "127.0.0.1:5005/" in " ".join(services["rasa-1"]["healthcheck"]["test"])
    assert "127.0.0.1:5055/health" in " ".join(services["actions-1"]["healthcheck"]["test"])


def test_the_compose_servers_run_the_image_read_only_as_the_dockerfile_builds_it():
    services = compose()["services"]
    for name in SERVERS:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert services["rasa-1"]["command"][:3] == ["python", "-m", "channels.server"]
    assert services["actions-1"]["command"][:3] == ["python", "-m", "actions"]


def test_the_compose_nginx_balances_exactly_the_replicas_and_never_resends_a_request():
    conf = (DEPLOY / "compose" / "nginx.conf").read_text(encoding="utf-8")
    upstreams = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", conf))
    assert set(re.findall(r"server (rasa-\d):5005", upstreams["rasa"])) == {"rasa-1", "rasa-2"}
    assert set(re.findall(r"server (actions-\d):5055", upstreams["actions"])) == {"actions-1", "actions-2"}
    assert re.findall(r"proxy_next_upstream ([^;]*);", conf) == ["error timeout"]  # never non_idempotent
    trusted = compose()["services"]["rasa-1"]["environment"]["TRUSTED_PROXIES"]
    assert trusted == compose()["services"]["nginx"]["networks"]["default"]["ipv4_address"]


@pytest.mark.skipif(not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists(), reason="nginx not installed")
def test_nginx_accepts_the_compose_config(tmp_path):
    """`nginx -t` with the services' names as loopback (no Docker network here)."""
    conf = (DEPLOY / "compose" / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(r"server (rasa|actions)-\d:", "server 127.0.0.1:", conf).replace(
        "/tmp/nginx.pid", str(tmp_path / "pid")
    )
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


# --- The image -----------------------------------------------------------------------------------


def test_the_image_is_python_3_10_with_the_pinned_lock_and_runs_unprivileged():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert bases and all(base.startswith("python:3.10-") for base in bases)
    assert "COPY requirements.lock " in text and "pip install -r /tmp/requirements.lock" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "scripts/build_spacy_model.py" in text and "rasa train --fixed-model-name admissions" in text


def test_the_image_leaves_secrets_and_local_state_out():
    ignored = set((DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", "runtime", "models", "**/*.env", ".git"} <= ignored


# --- systemd ---------------------------------------------------------------------------------------


def unit(name: str) -> str:
    return (SYSTEMD / name).read_text(encoding="utf-8")


HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter=@system-service",
)


@pytest.mark.parametrize("name", ["admissions-rasa@.service", "admissions-actions@.service"])
def test_each_server_is_a_templated_unit_on_the_instances_port_with_secrets_from_a_file_and_hardened(name):
    text = unit(name)
    exec_start = EXEC_START.search(text)
    assert exec_start is not None
    assert re.search(r"(-p|--port) %i\b", exec_start.group(1))  # `systemctl start ...@5006` picks the port
    assert "EnvironmentFile=/etc/admissions/secrets.env" in text.splitlines()
    assert "User=admissions" in text.splitlines()
    for option in HARDENING:
        assert option in text.splitlines(), option


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", ["admissions-rasa@.service", "admissions-actions@.service"])
def test_systemd_accepts_the_unit(tmp_path, name):
    """`systemd-analyze verify` on an instance, with this checkout's interpreter in ExecStart."""
    instance = tmp_path / name.replace("@.", "@5006.")
    instance.write_text(unit(name).replace("/opt/admissions/.venv/bin/python", sys.executable), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(instance)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
