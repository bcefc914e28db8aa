"""`python -m bench --cluster`: the cluster (deploy/cluster.py) as a third assistant, beside the
single process and the baseline: nginx in front of RASA_REPLICAS Rasa servers and
ACTIONS_REPLICAS action servers, on PostgreSQL and Redis, all on this machine.

It serves the model trained for the run, with the limits lifted as for the single process
(every simulated visitor comes from 127.0.0.1). Each of its processes is named for the CPU
table ("rasa-1", "actions-2", "nginx", "redis", "postgres"), which shows what each replica adds.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from deploy.cluster import Cluster
from tests.cluster import CLUSTER_TEST_ENV, cluster_settings

LEVELS = (1, 10, 50, 100, 200)


@contextlib.contextmanager
def running(model: Path, rasa_replicas: int, actions_replicas: int) -> Iterator[Cluster]:
    """A started cluster serving `model`; stopped and its folder removed afterwards. The folder
    is not under the project: PostgreSQL runs as the postgres user and must reach it."""
    state = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    state.chmod(0o755)
    settings = replace(cluster_settings(state, rasa_replicas, actions_replicas), model=model)
    try:
        with Cluster(settings, env=CLUSTER_TEST_ENV) as cluster:
            yield cluster
    finally:
        shutil.rmtree(state, ignore_errors=True)


def processes(cluster: Cluster) -> dict[str, int]:
    """Each server process of the cluster by name (its descendants count with it)."""
    named = [cluster.nginx, *cluster.rasa, *cluster.actions, cluster.redis, cluster.postgres]
    return {service.name: service.pid for service in named if service is not None and service.process is not None}
