"""Where a caller (or a texter) is in a flow, kept in one Redis hash.

Why one hash read with HGETALL and one pipelined write per webhook: every
webhook of a call is answered by whichever worker Twilio reaches, so all
state must live in Redis, and round trips are the cost that matters. The
hash is small (flow, version, step, JSON-encoded vars, attempts, language,
turn counter) and gets a TTL, so an abandoned call leaves nothing behind.

The same `FlowState` serves the SMS channel: only the key and the TTL differ
(`keys.call(sid)` for a call, `keys.conversation(from, to)` for texts).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import redis

from ivr import keys
from ivr.store import queue_script

CALL_TTL = 4 * 3600  # seconds: the longest call Twilio allows; no call of ours lives longer
ENDED_TTL = 600  # seconds a finished call's state stays, for late callbacks (transcriptions)

_JSON_FIELDS = ("vars", "caller", "call", "seen", "trail")
MAX_TRAIL = 50  # steps kept in a call's trail (the agent desk shows the last ones)
_INT_FIELDS = ("attempts", "seq")
# One encoder for every save: `json.dumps` with options builds a new one per call, and a
# turn writes five JSON fields (a third of `to_fields`' time).
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


@dataclass
class FlowState:
    """One conversation's position in the flows. Mutated by the runner, saved by the engine."""

    flow: str
    version: str
    step: str
    language: str
    voice: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0  # failed tries at the current menu/gather (invalid or silent)
    seq: int = 0  # turn counter: every continuation URL carries it
    input: str = ""  # the last digits or speech
    caller: dict[str, str] = field(default_factory=dict)  # number, country, city, state, name
    call: dict[str, str] = field(default_factory=dict)  # sid, from, to, channel
    seen: list[str] = field(default_factory=list)  # "flow.step" reached (counted once per call)
    # [flow, step, input] for each step run, with what the caller pressed or said at the
    # steps that ask (the last MAX_TRAIL): the agent desk's "steps they took". It rides in
    # the state's one write per turn, so it costs no round trip.
    trail: list[list[str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    ended: str = ""  # why the flow itself finished the call ("" while it runs)

    def walked(self, flow: str, step: str) -> None:
        """A step was run: add it to the trail (bounded)."""
        self.trail.append([flow, step, ""])
        if len(self.trail) > MAX_TRAIL:
            del self.trail[: len(self.trail) - MAX_TRAIL]

    def answered(self, flow: str, step: str, value: str) -> None:
        """What the caller pressed or said at the step that asked (its trail entry)."""
        last = self.trail[-1] if self.trail else None
        if last is not None and last[0] == flow and last[1] == step and not last[2]:
            last[2] = value
        else:
            self.walked(flow, step)
            self.trail[-1][2] = value

    def to_fields(self) -> dict[str, str]:
        out: dict[str, str] = {
            "flow": self.flow,
            "version": self.version,
            "step": self.step,
            "language": self.language,
            "voice": self.voice or "",
            "input": self.input,
            "started": repr(self.started),
            "ended": self.ended,
        }
        for name in _INT_FIELDS:
            out[name] = str(getattr(self, name))
        for name in _JSON_FIELDS:
            out[name] = _ENCODE(getattr(self, name))
        return out

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> FlowState | None:
        """None for an empty or damaged hash (treated as "no state")."""
        if not raw or "flow" not in raw or "step" not in raw:
            return None
        try:
            state = cls(
                flow=raw["flow"],
                version=raw.get("version", ""),
                step=raw["step"],
                language=raw.get("language", "en-US"),
                voice=raw.get("voice") or None,
                input=raw.get("input", ""),
                started=float(raw.get("started") or time.time()),
                ended=raw.get("ended", ""),
            )
            for name in _INT_FIELDS:
                setattr(state, name, int(raw.get(name) or 0))
            for name in _JSON_FIELDS:
                if raw.get(name):
                    setattr(state, name, json.loads(raw[name]))
        except (ValueError, TypeError):
            return None
        return state


def call_ttl(state: FlowState, now: float | None = None) -> int:
    """Seconds a call's state is kept: until the call is over, or `CALL_TTL` after it
    started (whichever is first), plus `ENDED_TTL` at the least for late callbacks.

    A call whose status callback never comes (a lost callback, a curl test)
    leaves nothing behind past that bound.
    """
    if state.ended:
        return ENDED_TTL
    left = state.started + CALL_TTL - (time.time() if now is None else now)
    return max(ENDED_TTL, int(left))


# --- calls in the flows (ivr:calls:active: CallSid -> start time) ---------------------------


def trim_active(pipe: redis.client.Pipeline, now: float | None = None) -> None:
    """Queue the reaping of calls that started more than `CALL_TTL` ago: their status
    callback never came, and no call lasts that long."""
    cutoff = (time.time() if now is None else now) - CALL_TTL
    pipe.zremrangebyscore(keys.calls_active(), "-inf", f"({cutoff}")


def active_calls(store: redis.Redis, *, limit: int = -1,
                 now: float | None = None) -> list[tuple[str, float]]:
    """(CallSid, start time) of the calls in the flows, oldest first, stale ones reaped
    (one round trip). `limit`: at most that many (-1: all)."""
    pipe = store.pipeline(transaction=False)
    trim_active(pipe, now)
    pipe.zrange(keys.calls_active(), 0, limit - 1 if limit > 0 else -1, withscores=True)
    calls: list[tuple[str, float]] = pipe.execute()[1]
    return calls


def count_active_calls(store: redis.Redis, *, now: float | None = None) -> int:
    """How many calls are in the flows, stale ones reaped (one round trip)."""
    pipe = store.pipeline(transaction=False)
    trim_active(pipe, now)
    pipe.zcard(keys.calls_active())
    return int(pipe.execute()[1])


def load(store: redis.Redis, key: str) -> FlowState | None:
    """One round trip."""
    raw: dict[str, str] = store.hgetall(key)  # type: ignore[assignment]
    return FlowState.from_fields(raw)


HUNG_UP = "caller-hangup"  # `ended` as the status callback writes it

# The script is a package resource with its KEYS/ARGV header: lua/save_unless_hung_up.lua.
SAVE_UNLESS_HUNG_UP = (resources.files("ivr.flows") / "lua" / "save_unless_hung_up.lua").read_text()
# A continuation's state read and its delivery's claim in one call (ivr.replay).
CLAIM_AND_READ = (resources.files("ivr.flows") / "lua" / "claim_and_read.lua").read_text()
# A voice turn's writes and its answer, committed only for a new delivery (ivr.replay).
COMMIT_IF_NEW = (resources.files("ivr.flows") / "lua" / "commit_if_new.lua").read_text()



def save_unless_hung_up(script: redis.commands.core.Script, pipe: redis.client.Pipeline,
                        key: str, state: FlowState, ttl: int = CALL_TTL) -> None:
    """Like `save`, through the registered SAVE_UNLESS_HUNG_UP script (on the pipeline)."""
    args: list[str | int] = [ttl, HUNG_UP]
    for name, value in state.to_fields().items():
        args += [name, value]
    queue_script(pipe, script, [key], args)


def save(pipe: redis.client.Pipeline, key: str, state: FlowState, ttl: int = CALL_TTL) -> None:
    """Queue the write on a pipeline (the caller executes it with its other writes)."""
    pipe.hset(key, mapping=state.to_fields())  # type: ignore[arg-type]
    pipe.expire(key, ttl)
