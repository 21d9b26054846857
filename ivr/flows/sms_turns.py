"""One texter's messages take their turns one at a time, in the order they arrived.

Twilio may deliver two texts of one person at once (to two workers, even two
hosts). Each is one turn of the same conversation, so they must not run side
by side (a lost or doubled step) and should run in arrival order. Two parts:

- a ticket per message (HINCRBY on the conversation's `turns` hash), waited on
  until every earlier ticket is done: arrival order, not lock-race order;
- redis-py's `Lock` (a maintained Lua-based lock with an expiry) around the
  turn itself: mutual exclusion even when a ticket holder died and a waiter
  gave up waiting for it.

A message that waits longer than `wait` seconds for earlier tickets (their
worker died) goes ahead; the lock still keeps turns apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from ivr import keys

TURNS_TTL = 120  # seconds the ticket counter outlives the last message

# Marks a ticket done without ever moving `done` backwards (turns may finish out of order
# when a waiter gave up on a dead one).
_DONE = """
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if tonumber(ARGV[1]) > done then redis.call('HSET', KEYS[1], 'done', ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class TurnTaking:
    def __init__(self, store: redis.Redis, *, wait: float, hold: float,
                 poll: float = 0.01) -> None:
        self.store = store
        self.wait = wait
        self.hold = hold
        self.poll = poll
        self._done = store.register_script(_DONE)

    @contextmanager
    def turn(self, from_: str, to: str) -> Iterator[int]:
        """Wait for this message's turn in the (from_, to) conversation; yields its ticket."""
        tkey = keys.conversation_turns(from_, to)
        pipe = self.store.pipeline(transaction=True)
        pipe.hincrby(tkey, "next", 1)
        pipe.expire(tkey, TURNS_TTL)
        ticket = int(pipe.execute()[0])
        try:
            deadline = time.monotonic() + self.wait
            while int(self.store.hget(tkey, "done") or 0) < ticket - 1:
                if time.monotonic() > deadline:
                    break
                time.sleep(self.poll)
            lock = self.store.lock(keys.conversation_lock(from_, to), timeout=self.hold,
                                   sleep=self.poll,
                                   blocking_timeout=max(self.wait, deadline - time.monotonic()))
            if not lock.acquire():
                raise TimeoutError(f"conversation {from_} -> {to} stayed busy")
            try:
                yield ticket
            finally:
                lock.release()
        finally:
            # Even a failed turn lets the next one go at once.
            self._done(keys=[tkey], args=[ticket, TURNS_TTL])
