"""The atomic Redis lock store (channels/lock_store.py) on a real Redis: tickets served in the
order taken, one holder at a time across stores, threads and processes, tickets that expire
(also a holder killed with -9) and stop blocking, and Rasa loading it from endpoints.yml."""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.exceptions import ConnectionException
from rasa.utils.endpoints import EndpointConfig

from channels import lock_store
from channels.lock_store import AtomicRedisLockStore, redis_client
from tests.conftest import ROOT, wait_for
from tests.lock_worker import HOLDING, take_turns
from tests.servers import HOST, free_port, quiet_env, redis_server

STORE_TYPE = "channels.lock_store.AtomicRedisLockStore"
# A ticket lifetime of about 11.6 days: a unit slip in an expiry (ms for s, or a divisor off by
# one) moves it by at least 1,000 s, far beyond the minute any pause of the machine could.
LONG = 1_000_000
SLACK = 60


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
    with pytest.raises(
        NotImplementedError, match=r"^AtomicRedisLockStore changes tickets only through its atomic steps$"
    ):
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


# --- Each step called in this process (a server calls them the same way) ----------------------


def logged(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


def test_unset_settings_are_those_of_rasas_redis_lock_store():
    """Swapping Rasa's store for this one in endpoints.yml reaches the same Redis, db and keys."""
    rasas = inspect.signature(RedisLockStore.__init__).parameters
    ours = inspect.signature(AtomicRedisLockStore.__init__).parameters
    assert {name: ours[name].default for name in rasas} == {name: rasas[name].default for name in rasas}
    assert (lock_store.DEFAULT_HOST, lock_store.DEFAULT_PORT, lock_store.DEFAULT_DB) == ("localhost", 6379, 1)


def test_every_connection_setting_reaches_the_redis_client_as_its_type():
    """endpoints.yml's values arrive as given (a port may be a string); the client connects lazily."""
    settings = {
        "host": "redis.internal",
        "port": "6380",
        "db": "3",
        "username": "rasa",
        "password": "lock-secret",
        "use_ssl": True,
        "ssl_certfile": "/certs/client.pem",
        "ssl_keyfile": "/certs/client.key",
        "ssl_ca_certs": "/certs/ca.pem",
        "socket_timeout": "2.5",
    }
    pool = redis_client(settings).connection_pool
    assert pool.connection_class is redis.SSLConnection
    given = {name: pool.connection_kwargs[name] for name in ("host", "port", "db", "username", "password")}
    assert given == {"host": "redis.internal", "port": 6380, "db": 3, "username": "rasa", "password": "lock-secret"}
    certificates = [pool.connection_kwargs[name] for name in ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs")]
    assert certificates == ["/certs/client.pem", "/certs/client.key", "/certs/ca.pem"]
    assert pool.connection_kwargs["socket_timeout"] == 2.5
    assert redis_client({**settings, "use_ssl": False}).connection_pool.connection_class is redis.Connection


@pytest.mark.parametrize("key_prefix", [None, ""], ids=["unset", "empty"])
def test_an_unset_key_prefix_uses_rasas_default_without_a_warning(redis_port, key_prefix, caplog):
    with caplog.at_level(logging.WARNING, logger=lock_store.__name__):
        store = AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix=key_prefix)
    assert store.key_prefix == "lock:"
    assert logged(caplog, lock_store.__name__) == []


def test_a_key_prefix_rasa_would_refuse_is_dropped_with_a_warning_naming_the_prefix_used(redis_port, caplog):
    with caplog.at_level(logging.WARNING, logger=lock_store.__name__):
        AtomicRedisLockStore(host=HOST, port=redis_port, db=0, key_prefix="not-alphanumeric")
    assert logged(caplog, lock_store.__name__) == ["Omitting the non-alphanumeric lock store key prefix; using 'lock:'"]


def test_a_served_message_holds_its_own_ticket_for_its_whole_lifetime(store, conversation, caplog):
    issued = time.time()
    caplog.set_level(logging.DEBUG, logger=lock_store.__name__)

    async def message() -> None:
        async with store.lock(conversation, lock_lifetime=LONG) as lock:
            assert lock.conversation_id == conversation
            (ticket,) = lock.tickets
            live = store.get_lock(conversation)
            assert live is not None and [ticket.number] == [held.number for held in live.tickets]
            assert not ticket.has_expired() and abs(ticket.expires - (issued + LONG)) < SLACK

    asyncio.run(message())
    assert logged(caplog, lock_store.__name__) == [f"Acquired lock for conversation '{conversation}'."]


def test_a_waiting_message_looks_again_after_10_ms_doubling_up_to_100_ms(store, conversation, caplog, monkeypatch):
    """Rasa's store waits a whole `wait_time_in_seconds` (1 s) between looks; this one looks sooner."""
    ahead_of_it = store.issue_ticket(conversation)
    pauses = recorded_pauses(monkeypatch, after=7, then=lambda: store.cleanup(conversation, ahead_of_it))
    caplog.set_level(logging.DEBUG, logger=lock_store.__name__)

    async def next_message() -> None:
        async with store.lock(conversation, wait_time_in_seconds=1):
            pass

    asyncio.run(next_message())
    assert pauses == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.1])
    waiting = f"Conversation '{conversation}': 1 ticket(s) ahead; waiting."
    assert logged(caplog, lock_store.__name__) == [waiting] * 7 + [f"Acquired lock for conversation '{conversation}'."]


def test_a_waiting_message_never_pauses_longer_than_the_wait_time_it_was_given(store, conversation, monkeypatch):
    ahead_of_it = store.issue_ticket(conversation)
    pauses = recorded_pauses(monkeypatch, after=4, then=lambda: store.cleanup(conversation, ahead_of_it))

    async def next_message() -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.03):
            pass

    asyncio.run(next_message())
    assert pauses == pytest.approx([0.01, 0.02, 0.03, 0.03])


def recorded_pauses(monkeypatch: pytest.MonkeyPatch, after: int, then: Callable[[], None]) -> list[float]:
    """Notes each pause of the waiting loop (and still yields to the event loop); after `after`
    pauses, runs `then` (the message ahead is answered)."""
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == after:
            then()
        await real_sleep(0)

    monkeypatch.setattr(lock_store.asyncio, "sleep", pause)
    return pauses


def test_a_tickets_time_left_and_expiry_are_reported_in_seconds(store, conversation):
    issued = time.time()
    ticket = store.issue_ticket(conversation, lock_lifetime=LONG)
    ahead_of_it, left = store.tickets_ahead(conversation, ticket)
    assert ahead_of_it == 0 and LONG - SLACK < left <= LONG
    lock = store.get_lock(conversation)
    assert lock is not None and lock.conversation_id == conversation
    assert abs(lock.tickets[0].expires - (issued + LONG)) < SLACK


def test_finishing_a_turn_serves_the_next_ticket(store, conversation):
    first, second = store.issue_ticket(conversation), store.issue_ticket(conversation)
    store.finish_serving(conversation, first)
    assert ahead(store, conversation, second) == [0]
    lock = store.get_lock(conversation)
    assert lock is not None and [ticket.number for ticket in lock.tickets] == [second]


def test_updating_a_lock_drops_the_tickets_redis_has_expired_from_the_queue(store, prefix, conversation):
    gone = store.issue_ticket(conversation)
    store.red.delete(f"{prefix}:lock:{{{conversation}}}:t:{gone}")  # as Redis does when its lifetime ends
    queue = f"{prefix}:lock:{{{conversation}}}:queue"
    assert store.red.zrange(queue, 0, -1) == [str(gone).encode()]
    store.update_lock(conversation)
    assert keys(store, prefix) == [f"{prefix}:lock:tickets"]


def test_deleting_a_lock_removes_its_tickets_and_says_so_in_rasas_log(store, prefix, conversation, caplog):
    store.issue_ticket(conversation)
    store.issue_ticket(conversation)
    caplog.set_level(logging.DEBUG, logger="rasa.core.lock_store")
    store.delete_lock(conversation)
    assert keys(store, prefix) == [f"{prefix}:lock:tickets"]  # the tickets too, not only the queue
    store.delete_lock(conversation)
    assert logged(caplog, "rasa.core.lock_store") == [
        f"Deleted lock for conversation '{conversation}'.",
        f"Could not delete lock for conversation '{conversation}'.",
    ]


def test_with_redis_gone_a_message_fails_with_rasas_lock_error_and_a_ticket_not_given_back_is_logged(
    conversation, caplog
):
    with redis_server() as server:
        store = AtomicRedisLockStore(host=HOST, port=server.port, db=0)
        ticket = store.issue_ticket(conversation)
    with pytest.raises(LockError) as taking:
        store.issue_ticket(conversation)
    with pytest.raises(LockError) as looking:
        store.tickets_ahead(conversation, ticket)
    for refused in (taking.value, looking.value):
        assert isinstance(refused.__cause__, redis.ConnectionError)
        assert str(refused) == f"Error while acquiring lock. Error:\n{refused.__cause__}"
    caplog.set_level(logging.ERROR, logger=lock_store.__name__)
    store.cleanup(conversation, ticket)  # the turn ends normally: Redis would expire the ticket
    (record,) = [record for record in caplog.records if record.name == lock_store.__name__]
    assert record.getMessage() == f"Could not give back a ticket of conversation {conversation}"
    assert record.exc_info is not None and isinstance(record.exc_info[1], redis.ConnectionError)
