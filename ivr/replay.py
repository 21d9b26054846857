"""Replay protection of one webhook delivery, claimed as late as the handler allows.

Twilio retries a webhook it got no answer to, so every delivery has a key
(`keys.replay`) that holds first a pending marker and then the answer: a
duplicate gets the first answer back and changes nothing.

Why late: claiming the key before the handler runs costs a round trip of its
own. A handler whose work is all in its final writes (a voice turn: compute
the TwiML, then save the call's state) can instead hand those writes to the
delivery (`defer`) and the web layer sends them with the answer in ONE script
call that commits only if the delivery is new (`ivr/flows/lua/commit_if_new.lua`).
A continuation claims and reads its state in one call (`claim_with`, e.g.
`claim_and_read.lua`). Anything with an effect outside those writes (placing
a caller in a queue, sending a text, an HTTP action) calls
`before_side_effect()` first, which claims the delivery the classic way.

Nothing here knows HTTP: the web layer binds the delivery of the request being
answered (`bind`), and the engines find it with `current()`.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script

from ivr.store import execute_pipeline, queue_script, run_script

REPLAY_TTL = 600  # seconds a delivery's answer is remembered (Twilio retries within minutes)
REPLAY_WAIT = 5.0  # how long a concurrent duplicate waits for the first delivery's answer
#: The start of every pending marker. Each delivery's marker ends with an id of its own, so
#: that a claim the client sends again (after a failover lost its reply: ivr/sentinel.py)
#: recognises itself instead of waiting for itself as for a duplicate.
PENDING = "\x00pending:"

_current: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "ivr_delivery", default=None)


class Replayed(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """This delivery is a duplicate: `answer` is what the first one answered."""

    def __init__(self, answer: str) -> None:
        super().__init__("duplicate delivery")
        self.answer = answer


@dataclass
class DeferredCommit:
    """A handler's final writes, committed with the answer if the delivery is new.

    The script's contract: KEYS[1] the replay key, ARGV[1] its TTL, ARGV[2]
    the answer, ARGV[3] "1" when this delivery already holds the claim, ARGV[4]
    the pending marker; then the script's own `keys` and `args`. It returns 1
    when it committed, 0 when another delivery holds the claim, and the first
    answer for a duplicate.
    """

    script: Script
    keys: list[str]
    args: list[Any]


class Delivery:
    """One webhook delivery's claim on its replay key."""

    def __init__(self, store: redis.Redis, key: str) -> None:
        self.store = store
        self.key = key
        self.claimed = False
        self.deferred: DeferredCommit | None = None
        self.marker = PENDING + uuid.uuid4().hex  # this delivery's pending marker

    # --- claiming ----------------------------------------------------------------------

    def claim(self) -> None:
        """Claim the delivery now (one round trip); raises Replayed for a duplicate."""
        if self.claimed:
            return
        if not self.store.set(self.key, self.marker, nx=True, ex=REPLAY_TTL):
            self._after_refusal()
        self.claimed = True

    def claim_with(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Claim the delivery and do a read in one script call; returns what the read gave.

        The script's contract: KEYS[1] the replay key, ARGV[1] its TTL, ARGV[2]
        this delivery's pending marker, ARGV[3] "1" when this delivery already
        holds the claim; it returns {1, result} when the claim is ours (the key
        holds our marker), {0, value of the key} when not. When another delivery
        holds the claim and then lets go, we take over and run the script again.
        """
        while True:
            won, value = run_script(script, [self.key, *keys],
                                    [REPLAY_TTL, self.marker, "1" if self.claimed else "0",
                                     *args])
            if won:
                self.claimed = True
                return value
            if not str(value).startswith(PENDING):
                raise Replayed(str(value))
            self._after_refusal()  # raises Replayed, or returns with the claim ours
            self.claimed = True

    def _after_refusal(self) -> None:
        """Someone holds the key: wait for their answer (Replayed), or take over if they let
        go (return: this delivery then holds the claim)."""
        deadline = time.monotonic() + REPLAY_WAIT
        while True:
            cached = self.store.get(self.key)
            if cached is None:  # the first delivery failed and let go: we take over
                if self.store.set(self.key, self.marker, nx=True, ex=REPLAY_TTL):
                    return
            elif cached == self.marker:  # our own claim, sent again after a failover
                return
            elif not str(cached).startswith(PENDING):
                raise Replayed(str(cached))
            if time.monotonic() > deadline:
                raise TimeoutError("the first delivery of this webhook is still running")
            time.sleep(0.05)

    # --- committing --------------------------------------------------------------------

    def defer(self, commit: DeferredCommit) -> None:
        """The handler's final writes, for `commit` to send with the answer."""
        self.deferred = commit

    def commit(self, answer: str, pipe: redis.client.Pipeline) -> str:
        """Store the answer with the deferred writes and whatever `pipe` holds; return the
        answer to send (the first delivery's, for a duplicate found only now)."""
        commit = self.deferred
        if commit is not None and not len(pipe):
            # The common case: the whole webhook's writes in one script call.
            while True:
                result = run_script(
                    commit.script, [self.key, *commit.keys],
                    [REPLAY_TTL, answer, "1" if self.claimed else "0", PENDING, *commit.args])
                if result == 1:
                    self.claimed = True
                    return answer
                if isinstance(result, str):
                    raise Replayed(result)
                self._after_refusal()  # another delivery is at work: its answer, or ours
                self.claimed = True
        # Other writes too: they may only run for a new delivery, so claim first.
        self.claim()
        if commit is not None:
            queue_script(pipe, commit.script, [self.key, *commit.keys],
                         [REPLAY_TTL, answer, "1", PENDING, *commit.args])
        else:
            pipe.set(self.key, answer, ex=REPLAY_TTL)
        execute_pipeline(self.store, pipe)
        return answer

    def release(self) -> None:
        """The handler failed: let a retry of this delivery run it again."""
        if self.claimed:
            self.store.delete(self.key)
            self.claimed = False


def bind(delivery: Delivery | None) -> contextvars.Token[Delivery | None]:
    return _current.set(delivery)


def unbind(token: contextvars.Token[Delivery | None]) -> None:
    _current.reset(token)


def current() -> Delivery | None:
    """The delivery of the webhook being answered (None outside one, or without replay)."""
    return _current.get()


def before_side_effect() -> None:
    """Claim the current delivery before an effect its replay must not repeat
    (raises Replayed for a duplicate). A no-op outside a webhook."""
    delivery = _current.get()
    if delivery is not None and not delivery.claimed:
        delivery.claim()
