"""The atomic Redis lock store (channels/lock_store.py) on a real Redis: tickets served in the
order taken, one holder at a time across stores, threads and processes, tickets that expire
(also a holder killed with -9) and stop blocking, and Rasa loading it from endpoints.yml."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.exceptions import ConnectionException
from rasa.utils.endpoints import EndpointConfig

from channels.lock_store import AtomicRedisLockStore
from tests.conftest import ROOT, wait_for
from tests.lock_worker import HOLDING, take_turns
from tests.servers import HOST, free_port, quiet_env, redis_server

STORE_TYPE = "channels.lock_store.AtomicRedisLockStore"


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    with redis_server() as server:
        yield server.port


@pytest.fixture
def prefix() -> str:
    return f"test{uuid.uuid4().hex}"  # alphanumeric, as Rasa's key prefixes must be


@pytest.fixture
def store(redis_port: int, prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=prefix)


@pytest.fixture
def conversation() -> str:
    return f"visitor-{uuid.uuid4()}"


def ahead(store: AtomicRedisLockStore, conversation: str, *tickets: int) -> list[int]:
    return [store.tickets_ahead(conversation, ticket)[0] for ticket in tickets]


def keys(store: AtomicRedisLockStore, prefix: str) -> list[str]:
    return sorted(key.decode() for key in store.red.keys(f"{prefix}*"))


def test_tickets_are_served_in_the_order_they_were_taken(store, conversation):
    first, second, third = (store.issue_ticket(conversation) for _ in range(3))
    assert first < second < third
    assert ahead(store, conversation, first, second, third) == [0, 1, 2]
    store.cleanup(conversation, first)
    assert ahead(store, conversation, second, third) == [0, 1]
    store.cleanup(conversation, third)  # a waiter that gave up leaves the order as it was
    assert ahead(store, conversation, second) == [0]


def test_messages_of_one_conversation_are_handled_one_at_a_time_in_arrival_order(store, conversation):
    order: list[str] = []
    inside: list[str] = []

    async def message(name: str) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            inside.append(name)
            assert inside == [name], f"{inside} held the lock at once"
            await asyncio.sleep(0.01)
            order.append(name)
            inside.remove(name)

    async def arrive() -> None:
        await asyncio.gather(*(message(name) for name in "abcdef"))  # each takes its ticket in turn

    asyncio.run(arrive())
    assert order == list("abcdef")


def test_a_conversation_held_through_one_store_waits_in_another(redis_port, prefix, conversation):
    """Two stores are two Rasa servers: what one holds, the other waits for."""
    first = AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=prefix)
    second = AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=prefix)
    held = first.issue_ticket(conversation)
    waiting = second.issue_ticket(conversation)
    assert ahead(second, conversation, waiting) == [1]
    assert ahead(first, conversation, held) == [0]
    first.cleanup(conversation, held)
    assert ahead(second, conversation, waiting) == [0]
    other = f"other-{uuid.uuid4()}"  # another conversation is never held up by this one
    assert ahead(first, other, first.issue_ticket(other)) == [0]


def test_stores_in_several_threads_never_hold_a_conversation_at_once(redis_port, prefix, conversation):
    red = redis.Redis(host=HOST, port=redis_port, db=0)
    failures: list[BaseException] = []

    def server() -> None:
        try:
            store = AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=prefix)
            asyncio.run(take_turns(store, red, conversation, rounds=5, concurrent=3))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=server) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert int(red.get(f"{conversation}:count") or 0) == 4 * 5 * 3  # no update lost
    assert red.get(f"{conversation}:overlaps") is None  # nobody ever found another holder inside


def test_server_processes_never_hold_a_conversation_at_once(redis_port, prefix, conversation):
    args = ["--port", str(redis_port), "--key-prefix", prefix, "--conversation", conversation]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lock_worker", *args, "--rounds", "8", "--concurrent", "3"],
            cwd=ROOT,
            env=quiet_env(),
        )
        for _ in range(3)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    red = redis.Redis(host=HOST, port=redis_port, db=0)
    assert int(red.get(f"{conversation}:count") or 0) == 3 * 8 * 3
    assert red.get(f"{conversation}:overlaps") is None


def test_a_ticket_whose_holder_vanished_stops_blocking_once_its_lifetime_is_over(store, prefix, conversation):
    stale = store.issue_ticket(conversation, lock_lifetime=2)  # its server never gives it back
    mine = store.issue_ticket(conversation)
    assert ahead(store, conversation, mine) == [1]
    assert 0 < store.red.pttl(f"{prefix}:lock:{{{conversation}}}:t:{stale}") <= 2000  # Redis expires it
    assert wait_for(lambda: ahead(store, conversation, mine) == [0], timeout=10)


def test_a_server_killed_while_holding_a_conversation_blocks_it_no_longer_than_the_lock_lifetime(
    store, redis_port, prefix, conversation
):
    args = ["--port", str(redis_port), "--key-prefix", prefix, "--conversation", conversation]
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.lock_worker", *args, "--hold", "--lifetime", "3"],
        cwd=ROOT,
        env=quiet_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == HOLDING
        lock = store.get_lock(conversation)
        assert lock is not None and len(lock.tickets) == 1
        holder.kill()  # SIGKILL: no cleanup runs
        holder.wait()
        assert store.get_lock(conversation) is not None  # its ticket outlives it, for its lifetime only

        async def next_message() -> bool:
            async with store.lock(conversation, wait_time_in_seconds=0.05):
                return True

        assert asyncio.run(asyncio.wait_for(next_message(), timeout=20))
    finally:
        holder.kill()
        holder.wait()
    assert keys(store, prefix) == [f"{prefix}:lock:tickets"]  # the dead ticket and the queue are gone


def test_a_ticket_that_expires_while_waiting_raises_rasas_lock_error(store, conversation):
    blocker = store.issue_ticket(conversation)

    async def late_message() -> None:
        async with store.lock(conversation, lock_lifetime=0.2, wait_time_in_seconds=0.02):
            pytest.fail("served although its ticket expired while another held the conversation")

    with pytest.raises(LockError, match=conversation):
        asyncio.run(asyncio.wait_for(late_message(), timeout=20))
    assert ahead(store, conversation, blocker) == [0]


def test_a_holder_that_outlived_its_ticket_gives_back_nothing_of_the_next_holders(store, conversation):
    slow = store.issue_ticket(conversation, lock_lifetime=0.2)
    assert wait_for(lambda: store.get_lock(conversation) is None, timeout=10)
    following = store.issue_ticket(conversation)
    store.cleanup(conversation, slow)  # the slow turn ends late
    lock = store.get_lock(conversation)
    assert lock is not None and [ticket.number for ticket in lock.tickets] == [following]


def test_nothing_is_left_in_redis_but_the_counter_once_every_ticket_is_given_back(store, prefix, conversation):
    async def messages() -> None:
        async def one() -> None:
            async with store.lock(conversation, wait_time_in_seconds=0.01):
                assert keys(store, prefix) != [f"{prefix}:lock:tickets"]

        await asyncio.gather(one(), one(), one())

    asyncio.run(messages())
    assert keys(store, prefix) == [f"{prefix}:lock:tickets"]
    assert not store.is_someone_waiting(conversation)


def test_the_lock_shows_its_live_tickets_in_order_with_their_expiry(store, conversation):
    first = store.issue_ticket(conversation, lock_lifetime=30)
    second = store.issue_ticket(conversation, lock_lifetime=60)
    lock = store.get_lock(conversation)
    assert lock is not None and [t.number for t in lock.tickets] == [first, second]
    assert lock.tickets[0].expires < lock.tickets[1].expires
    assert store.is_someone_waiting(conversation)
    assert not lock.is_locked(first) and lock.is_locked(second)
    store.delete_lock(conversation)
    assert store.get_lock(conversation) is None
    with pytest.raises(NotImplementedError):
        store.save_lock(lock)  # writing a whole lock back is Rasa's race


def test_rasa_loads_it_from_endpoints_yml_with_the_redis_lock_stores_settings(tmp_path: Path, redis_port):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f"lock_store:\n  type: {STORE_TYPE}\n  url: {HOST}\n  port: {redis_port}\n  db: 0\n"
        "  key_prefix: admissions\n  socket_timeout: 5\n"
    )
    created = LockStore.create(AvailableEndpoints.read_endpoints(str(endpoints)).lock_store)
    assert isinstance(created, AtomicRedisLockStore)
    assert created.key_prefix == "admissions:lock:"
    connection = created.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"], connection["socket_timeout"]) == (
        HOST,
        redis_port,
        0,
        5,
    )


@pytest.mark.parametrize("key_prefix", ["not-alphanumeric", ""])
def test_a_key_prefix_rasa_would_refuse_falls_back_to_rasas_default(redis_port, key_prefix):
    store = AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=key_prefix)
    assert store.key_prefix == "lock:"


def test_an_unknown_setting_in_endpoints_yml_is_refused_by_name(redis_port):
    config = EndpointConfig(url=HOST, type=STORE_TYPE, port=redis_port, colour="blue")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['colour'\]"):
        LockStore.create(config)


def test_an_unreachable_redis_stops_the_server_at_start_naming_where_it_looked():
    port = free_port()  # nothing listens there
    with pytest.raises(ConnectionException, match=f"lock store's Redis at {HOST}:{port}"):
        LockStore.create(EndpointConfig(url=HOST, type=STORE_TYPE, port=port, db=0))
