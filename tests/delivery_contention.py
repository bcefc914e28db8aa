"""Several delivery processes over one lead store and one CRM: how often is a lead POSTed?

`contend()` saves N pending leads, starts `processes` delivery processes (tests/delivery_loop.py,
`threads` loops each) against the same database and the stand-in CRM (tests/crm.py, which counts
the POSTs of each lead), lets them start their rounds together, optionally kills one with
SIGKILL once the CRM has seen `kill_after` POSTs, and waits until every lead is delivered.

Used by tests/test_delivery_contention.py, and on its own to measure any version of the
delivery code (README "Several action servers"):

    .venv/bin/python -m tests.delivery_contention --database postgresql --leads 200 --processes 4 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from actions.inquiry.store import DELIVERED, PENDING, LeadStore, leads, utc_now
from tests.crm import SECRET, FakeCRM
from tests.servers import ROOT, postgres_server, quiet_env
from tests.test_lead_store import make_lead


@dataclass
class Outcome:
    """What the CRM received, what the store says, and what was in flight at a kill."""

    lead_ids: list[str]
    posts: Counter
    delivered: set[str]
    exit_codes: list[int]
    in_flight_at_kill: list[str] = field(default_factory=list)

    @property
    def repeated(self) -> dict[str, int]:
        """Each lead POSTed more than once, with its POST count."""
        return {lead: count for lead, count in self.posts.items() if count > 1}

    @property
    def duplicate_posts(self) -> int:
        return sum(count - 1 for count in self.repeated.values())

    def summary(self) -> dict[str, object]:
        return {
            "leads": len(self.lead_ids),
            "posts": sum(self.posts[lead] for lead in self.lead_ids),
            "delivered": len(self.delivered),
            "leads_posted_more_than_once": len(self.repeated),
            "duplicate_posts": self.duplicate_posts,
            "in_flight_at_kill": len(self.in_flight_at_kill),
            "exit_codes": self.exit_codes,
        }


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database's URL: a SQLite file in workdir, or a throwaway PostgreSQL server."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'leads.sqlite3'}"
        return
    with postgres_server() as server:
        yield server.url


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """As tests/conftest.py's (importing it here would load the whole assistant)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def held_by(engine: sa.engine.Engine, claimant: str) -> list[str]:
    """Pending leads a claim of `claimant` holds: those its process is sending."""
    query = sa.select(leads.c.id).where(leads.c.delivery_status == PENDING, leads.c.claimed_by.like(f"{claimant}:%"))
    with engine.connect() as connection:
        return sorted(connection.execute(query).scalars())


def contend(
    url: str,
    workdir: Path,
    *,
    count: int = 200,
    processes: int = 4,
    threads: int = 1,
    lease: float | None = None,
    crm_delay: float = 0.0,
    kill_after: int | None = None,
    deadline: float = 150.0,
) -> Outcome:
    """Deliver `count` leads with `processes` x `threads` delivery loops; see the module docstring.

    The killed process is the first one (claimant `loop-0`); its in-flight leads are read from
    the store right after the kill (claims exist from revision 0005 on, so `kill_after` needs them).
    """
    store = LeadStore(url)
    now = utc_now()
    made = [make_lead(n, created_at=now - timedelta(seconds=count - n)) for n in range(count)]
    for lead in made:
        store.save(lead)
    start = workdir / f"start-{time.monotonic_ns()}"
    lease_args = ["--lease", str(lease)] if lease is not None else []
    in_flight: list[str] = []
    with FakeCRM(SECRET, delay=crm_delay) as crm:
        children = []
        for n in range(processes):
            claimant = ["--claimant", f"loop-{n}"] if lease is not None else []
            args = ["--url", url, "--crm", crm.url, "--start", str(start), "--threads", str(threads)]
            log = (workdir / f"loop-{n}.log").open("w")
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.delivery_loop",
                        *args,
                        *lease_args,
                        *claimant,
                        "--deadline",
                        str(deadline),
                    ],
                    cwd=ROOT,
                    env=quiet_env(),
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
            )
            log.close()
        try:
            for child in children:  # each has its store and webhook ready: they start together
                assert child.stdout is not None
                line = child.stdout.readline()
                if line.strip() != "ready":
                    raise RuntimeError(f"a delivery process did not start; see {workdir}/loop-*.log")
            start.touch()
            if kill_after is not None:
                engine = sa.create_engine(url, future=True)
                # Once the CRM has seen that many POSTs, while the victim holds a lead (sending it).
                mid_round = lambda: crm.requests >= kill_after and bool(held_by(engine, "loop-0"))  # noqa: E731
                if not wait_for(mid_round, deadline):
                    raise RuntimeError(f"the CRM never saw {kill_after} POSTs with loop-0 sending")
                children[0].kill()  # SIGKILL: no cleanup, its claims stay in the store
                children[0].wait()
                in_flight = held_by(engine, "loop-0")
                engine.dispose()
            codes = [child.wait(timeout=deadline + 30) for child in children]
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        posts = Counter(crm.posts)
    delivered = {lead.id for lead in store.all() if lead.delivery_status == DELIVERED}
    store.dispose()
    return Outcome([lead.id for lead in made], posts, delivered, codes, in_flight)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lease", type=float, help="seconds; only for delivery code with claims")
    parser.add_argument("--crm-delay", type=float, default=0.0)
    parser.add_argument("--kill-after", type=int)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="contention-") as tmp, database(args.database, Path(tmp)) as url:
        outcome = contend(
            url,
            Path(tmp),
            count=args.leads,
            processes=args.processes,
            threads=args.threads,
            lease=args.lease,
            crm_delay=args.crm_delay,
            kill_after=args.kill_after,
        )
    print(json.dumps(outcome.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
