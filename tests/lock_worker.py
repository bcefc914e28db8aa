"""A stand-in for one Rasa server in the lock store tests: `python -m tests.lock_worker ...`.

It takes one conversation's lock again and again, from several coroutines at once as a Rasa
server does for simultaneous messages, and inside the lock does what a turn does with the
tracker: reads a value, pauses, writes it back plus one. Redis keeps the evidence:
`<key>:count` (updates lost when two held the lock at once) and `<key>:overlaps` (how many
times a holder found another inside). `--hold` takes the lock once, prints "holding" and
sleeps, for a test to kill it with -9. `--store rasa` uses Rasa's RedisLockStore instead.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import redis
from rasa.core.lock_store import LockStore, RedisLockStore

from channels.lock_store import AtomicRedisLockStore

HOST = "127.0.0.1"
HOLDING = "holding"


def make_store(kind: str, port: int, key_prefix: str) -> LockStore:
    if kind == "rasa":
        return RedisLockStore(host=HOST, port=port, db=0, key_prefix=key_prefix)
    return AtomicRedisLockStore(host=HOST, port=port, db=0, key_prefix=key_prefix)


async def turn(red: redis.Redis, key: str) -> None:
    """A read-modify-write, as a turn reads a tracker and saves it; counts overlaps."""
    if red.incr(f"{key}:inside") != 1:
        red.incr(f"{key}:overlaps")
    value = int(red.get(f"{key}:count") or 0)
    await asyncio.sleep(0.002)  # the other holder, if any, reads the same value meanwhile
    red.set(f"{key}:count", value + 1)
    red.decr(f"{key}:inside")


async def take_turns(store: LockStore, red: redis.Redis, conversation: str, rounds: int, concurrent: int) -> None:
    async def one_client() -> None:
        for _ in range(rounds):
            async with store.lock(conversation, wait_time_in_seconds=0.01):
                await turn(red, conversation)

    await asyncio.gather(*(one_client() for _ in range(concurrent)))


async def hold(store: LockStore, conversation: str, lifetime: float) -> None:
    async with store.lock(conversation, lock_lifetime=lifetime):
        print(HOLDING, flush=True)
        time.sleep(3600)  # blocks, as a stuck or dying server would; the test kills it


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-prefix", required=True)
    parser.add_argument("--conversation", required=True)
    parser.add_argument("--store", choices=["atomic", "rasa"], default="atomic")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=3)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args(argv)
    store = make_store(args.store, args.port, args.key_prefix)
    if args.hold:
        asyncio.run(hold(store, args.conversation, args.lifetime))
        return
    red = redis.Redis(host=HOST, port=args.port, db=0)
    asyncio.run(take_turns(store, red, args.conversation, args.rounds, args.concurrent))


if __name__ == "__main__":
    main()
