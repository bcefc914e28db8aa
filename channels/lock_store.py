"""A Redis lock store whose tickets are taken atomically, for several Rasa servers.

Rasa 3.6's `RedisLockStore` reads a conversation's lock with GET, adds a ticket in Python and
writes it back with SET (RasaHQ/rasa#11256; the atomic fix went to Rasa Pro only, #11428).
Two Rasa servers taking a ticket for the same conversation at the same moment both read "no
ticket", both write ticket 0 and both process the conversation at once: each saves its own
turn over the other's, and events are lost or interleaved. Its cleanup (finish, look, delete)
is three steps too, so it can delete a ticket another server has just taken.

Here every change is one Redis operation:
- a ticket number comes from INCR on one counter shared by all conversations, so numbers
  never repeat and a conversation's tickets are ordered as they were taken;
- each ticket is a key SET with PX (the lock lifetime): Redis itself forgets the ticket of a
  server killed while holding or waiting, at most `lock_lifetime` after it was taken;
- the queue of a conversation's tickets is a sorted set; taking, checking ("is mine first
  among the live ones?") and giving back a ticket are Lua scripts, so no other server can act
  between reading the queue and changing it.
Rasa's semantics are kept: tickets are served in the order they were taken, a ticket lives
`lock_lifetime` seconds (TICKET_LOCK_LIFETIME, default 60) from when it was taken, waiting
included, and a ticket that expired while waiting raises Rasa's LockError. A waiter polls
every 10 ms, doubling up to 100 ms, where Rasa's waits a second (`wait_time_in_seconds`) between
looks: a visitor's second quick message need not wait up to a second after the first is answered.

endpoints.yml, with the keyword arguments of Rasa's RedisLockStore:
`lock_store: {type: channels.lock_store.AtomicRedisLockStore, url: host, port: 6379, db: 0, key_prefix: admissions}`
Keys: `<prefix>:lock:tickets` (the counter), `<prefix>:lock:{<conversation>}:queue` and
`...:t:<number>`; a conversation's keys share a hash tag, and none outlives its tickets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.shared.exceptions import ConnectionException
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# Rasa's RedisLockStore's defaults, so a store configured for Rasa's connects to the same Redis.
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 6379
DEFAULT_DB = 1

FIRST_POLL_SECONDS = 0.01
LONGEST_POLL_SECONDS = 0.1  # a look costs Redis one short script

# Drops the tickets Redis has expired from a queue (KEYS[1]); ARGV[1] prefixes a ticket's key.
# Returns the live ticket numbers in order. A queue holds the tickets of the messages one
# conversation has in flight at once, so a full scan is short.
_PRUNE = """
local function prune(queue, ticket_prefix)
  local live = {}
  for _, number in ipairs(redis.call('ZRANGE', queue, 0, -1)) do
    if redis.call('EXISTS', ticket_prefix .. number) == 1 then
      live[#live + 1] = number
    else
      redis.call('ZREM', queue, number)
    end
  end
  return live
end
"""

# KEYS: counter, queue; ARGV: ticket key prefix, lifetime in ms. Returns the new ticket's
# number. The queue lives as long as its longest-lived ticket, so it never outlives them all.
_ISSUE = """
local number = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[1] .. number, '1', 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], number, number)
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return number
"""

# KEYS: queue; ARGV: ticket key prefix, ticket number. Returns {how many live tickets are
# ahead of this one (0: it is served now), its ms left}, or {-1, 0} once it has expired.
_AHEAD = (
    _PRUNE
    + """
local live = prune(KEYS[1], ARGV[1])
for position, number in ipairs(live) do
  if number == ARGV[2] then
    return {position - 1, redis.call('PTTL', ARGV[1] .. number)}
  end
end
return {-1, 0}
"""
)

# KEYS: queue; ARGV: ticket key prefix, ticket number. Gives the ticket back, deletes the
# queue when nobody else holds a live ticket; returns how many still do.
_RELEASE = (
    _PRUNE
    + """
redis.call('DEL', ARGV[1] .. ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
local live = prune(KEYS[1], ARGV[1])
if #live == 0 then
  redis.call('DEL', KEYS[1])
end
return #live
"""
)

# KEYS: queue; ARGV: ticket key prefix. The live tickets as [[number, ms left], ...].
_LIVE = (
    _PRUNE
    + """
local tickets = {}
for _, number in ipairs(prune(KEYS[1], ARGV[1])) do
  tickets[#tickets + 1] = {number, redis.call('PTTL', ARGV[1] .. number)}
end
return tickets
"""
)

# KEYS: queue; ARGV: ticket key prefix. Deletes the queue and its tickets.
_DELETE = """
for _, number in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', ARGV[1] .. number)
end
return redis.call('DEL', KEYS[1])
"""


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock on Redis, each step one atomic operation (see the module docstring)."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        db: int = DEFAULT_DB,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool = False,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_ca_certs: str | None = None,
        key_prefix: str | None = None,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
        endpoint_config: EndpointConfig | None = None,
    ) -> None:
        """The arguments of Rasa's RedisLockStore; Rasa passes a store it loads by module
        path only `endpoint_config` (its `url` is the host, the rest are keyword arguments)."""
        settings: dict[str, Any] = {
            "host": host,
            "port": port,
            "db": db,
            "username": username,
            "password": password,
            "use_ssl": use_ssl,
            "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile,
            "ssl_ca_certs": ssl_ca_certs,
            "key_prefix": key_prefix,
            "socket_timeout": socket_timeout,
        }
        if endpoint_config is not None:
            settings.update(_settings_from(endpoint_config, accepted=set(settings)))
        self.red = redis_client(settings)
        self.key_prefix = _key_prefix(settings["key_prefix"])
        self._counter = self.key_prefix + "tickets"
        self._issue = self.red.register_script(_ISSUE)
        self._ahead = self.red.register_script(_AHEAD)
        self._release = self.red.register_script(_RELEASE)
        self._live = self.red.register_script(_LIVE)
        self._delete = self.red.register_script(_DELETE)
        try:
            self.red.ping()
        except redis.RedisError as error:
            # Checked at startup: a server that cannot lock would fail every message.
            where = f"{settings['host']}:{settings['port']}"
            raise ConnectionException(f"Cannot reach the lock store's Redis at {where}: {error}") from None
        super().__init__()

    def _queue(self, conversation_id: str) -> str:
        return f"{self.key_prefix}{{{conversation_id}}}:queue"

    def _ticket_prefix(self, conversation_id: str) -> str:
        return f"{self.key_prefix}{{{conversation_id}}}:t:"

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Takes the conversation's next ticket, living `lock_lifetime` seconds."""
        lifetime_ms = max(1, round(lock_lifetime * 1000))
        try:
            return int(
                self._issue(
                    keys=[self._counter, self._queue(conversation_id)],
                    args=[self._ticket_prefix(conversation_id), lifetime_ms],
                )
            )
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def tickets_ahead(self, conversation_id: str, ticket: int) -> tuple[int, float]:
        """How many live tickets are ahead of `ticket` (0: it is served now; -1: it expired),
        and the seconds it has left."""
        try:
            ahead, left_ms = self._ahead(
                keys=[self._queue(conversation_id)], args=[self._ticket_prefix(conversation_id), ticket]
            )
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ahead), int(left_ms) / 1000

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Waits until `ticket` is first among the live ones (as Rasa's, looking more often)."""
        pause = FIRST_POLL_SECONDS
        while True:
            ahead, left = self.tickets_ahead(conversation_id, ticket)
            if ahead < 0:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if ahead == 0:
                logger.debug("Acquired lock for conversation '%s'.", conversation_id)
                return TicketLock(conversation_id, deque([Ticket(ticket, time.time() + left)]))
            logger.debug("Conversation '%s': %d ticket(s) ahead; waiting.", conversation_id, ahead)
            await asyncio.sleep(min(pause, wait_time_in_seconds))
            pause = min(pause * 2, LONGEST_POLL_SECONDS)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Gives the ticket back; the queue goes with the last live ticket, in the same step."""
        try:
            self._release(
                keys=[self._queue(conversation_id)], args=[self._ticket_prefix(conversation_id), ticket_number]
            )
        except redis.RedisError:
            # Redis expires the ticket anyway; the conversation waits at most its lifetime.
            logger.exception("Could not give back a ticket of conversation %s", conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The conversation's live tickets, in order (None when there are none)."""
        live = self._live(keys=[self._queue(conversation_id)], args=[self._ticket_prefix(conversation_id)])
        if not live:
            return None
        now = time.time()
        return TicketLock(conversation_id, deque(Ticket(int(number), now + int(left) / 1000) for number, left in live))

    def update_lock(self, conversation_id: str) -> None:
        """Expired tickets are dropped by every step already; kept for Rasa's interface."""
        self.get_lock(conversation_id)

    def is_someone_waiting(self, conversation_id: str) -> bool:
        return self.get_lock(conversation_id) is not None

    def delete_lock(self, conversation_id: str) -> None:
        deleted = self._delete(keys=[self._queue(conversation_id)], args=[self._ticket_prefix(conversation_id)])
        self._log_deletion(conversation_id, bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        """Writing a whole lock back is the race this store exists to avoid."""
        raise NotImplementedError("AtomicRedisLockStore changes tickets only through its atomic steps")


def redis_client(settings: Mapping[str, Any]) -> redis.StrictRedis:
    """The client for the constructor's settings (endpoints.yml's strings made numbers). It
    connects at its first command, so what it was given can be read without a Redis."""
    return redis.StrictRedis(
        host=settings["host"],
        port=int(settings["port"]),
        db=int(settings["db"]),
        username=settings["username"],
        password=settings["password"],
        ssl=settings["use_ssl"],
        ssl_certfile=settings["ssl_certfile"],
        ssl_keyfile=settings["ssl_keyfile"],
        ssl_ca_certs=settings["ssl_ca_certs"],
        socket_timeout=float(settings["socket_timeout"]),
    )


def _key_prefix(key_prefix: str | None) -> str:
    """As Rasa's: `<prefix>:lock:` for an alphanumeric prefix, else `lock:` (with a warning)."""
    if key_prefix is None or key_prefix == "":
        return DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
    if isinstance(key_prefix, str) and key_prefix.isalnum():
        return f"{key_prefix}:{DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX}"
    logger.warning(
        "Omitting the non-alphanumeric lock store key prefix; using '%s'", DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
    )
    return DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX


def _settings_from(endpoint_config: EndpointConfig, accepted: set[str]) -> dict[str, Any]:
    """The constructor's keyword arguments from endpoints.yml; an unknown key is refused by name."""
    settings: dict[str, Any] = dict(endpoint_config.kwargs)
    if endpoint_config.url:
        settings["host"] = endpoint_config.url
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise ValueError(f"lock_store in endpoints.yml: unknown setting(s) {unknown}; accepted: {sorted(accepted)}")
    return settings
