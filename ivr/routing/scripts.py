"""The routing decisions as Lua scripts: registered once per Redis client, run, replies typed.

Each `.lua` file in `lua/` is one decision; `lib.lua` holds the helpers they
share and is prepended to every decision before `register_script`, so that a
decision is still ONE atomic script (Redis runs a script without interleaving
any other command: that is what makes double offers impossible). `pin.lua`
stands alone (one key of its own, no routing layout).

`Scripts` runs a decision with the common key layout (ivr/routing/layout.py)
and the common ARGV: the router's clock (ARGV[1], ms), the context, the
script's own arguments, the layout, a random number; and, appended last, the
key and lifetime of the decision's kept reply (`once.lua`: a decision re-sent
after a failover is applied once). Each decision has a typed
method here that builds its arguments and parses its reply
(ivr/routing/records.py), so callers never index a Lua reply by position.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable
from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script

from ivr import keys
from ivr.routing.env import Env
from ivr.routing.layout import KeyLayout, Scope
from ivr.routing.records import (
    AcceptReply,
    AgentDoneReply,
    CallerGoneReply,
    ClaimedTimer,
    EnterReply,
    MissReply,
    NewCaller,
    Offer,
    OverflowReply,
    PinReply,
    StatusReply,
    UpsertReply,
)
from ivr.store import run_script

NAMES = (
    "enter", "match_caller", "accept", "miss", "caller_gone", "agent_done",
    "wrap_end", "set_status", "set_leg", "upsert", "remove", "overflow", "callback",
    "callback_result", "claim_timers", "timer_done", "unconnect", "wrapup",
    "join", "conf_event", "control", "monitor", "chat",
)
STANDALONE = ("pin",)
#: How long a decision's reply is kept for a retry of it (once.lua): longer than any
#: failover a worker waits through (ivr/sentinel.py's FAILOVER_BUDGET).
REPLY_KEEP_MS = 30_000


def _source(name: str) -> str:
    return resources.files("ivr.routing").joinpath("lua", f"{name}.lua").read_text("utf-8")


class Scripts:
    """Every routing script, registered on one client (EVALSHA, falling back to EVAL once)."""

    def __init__(self, env: Env, layout: KeyLayout) -> None:
        self.env = env
        self.layout = layout
        lib, once = _source("lib"), _source("once")
        self.by_name: dict[str, Script] = {
            name: env.store.register_script(
                lib + "\nlocal function decide()\n" + _source(name) + "\nend\n" + once)
            for name in NAMES
        }
        self.by_name.update({name: env.store.register_script(_source(name))
                             for name in STANDALONE})

    def __getitem__(self, name: str) -> Script:
        return self.by_name[name]

    def run(
        self, name: str, args: dict[str, Any], *, scope: Scope = "all",
        queue: str | None = None, skills: Iterable[str] = (),
        agent_skills: dict[str, int] | None = None, phones: bool = False,
        extra_keys: Iterable[str] = (),
    ) -> Any:
        """Run one routing decision with the common key layout (see lib.lua); its raw reply.
        `extra_keys` (all with the {acd} tag) go after the layout, before the reply key."""
        payload = json.dumps(args)
        # One id per decision, the same on every retry of it (once.lua): a decision
        # re-sent after a failover is applied once and answers as the first time.
        reply_key = keys.acd("reply", uuid.uuid4().hex)
        for attempt in (1, 2):
            script_keys, layout = self.layout.keys(scope, queue, skills, agent_skills,
                                                   phones=phones)
            try:
                return run_script(
                    self.by_name[name], [*script_keys, *extra_keys, reply_key],
                    [self.env.now_ms(), self.layout.context(), payload, layout,
                     random.random(), REPLY_KEEP_MS],
                )
            except redis.ResponseError as exc:
                if "STALE routing buckets" not in str(exc) or attempt == 2:
                    raise
                self.layout.forget()  # another worker registered a bucket: reload, retry
        raise AssertionError("unreachable")

    # --- callers --------------------------------------------------------------

    def enter(self, caller: NewCaller, *, timers: list[list[Any]], overflow_if_nobody: bool,
              reach: dict[str, Any], touched: Iterable[str]) -> EnterReply:
        return EnterReply.parse(self.run("enter", {
            "caller": caller.to_json(), "timers": timers,
            "overflow_if_nobody": overflow_if_nobody, "reach": reach,
        }, scope="queue", queue=caller.queue, skills=touched))

    def match_caller(self, call: str, escalate: int | None = None) -> list[Offer]:
        args: dict[str, Any] = {"call": call}
        if escalate is not None:
            args["escalate"] = escalate
        return Offer.many(self.run("match_caller", args))

    def caller_gone(self, call: str) -> CallerGoneReply:
        return CallerGoneReply.parse(self.run("caller_gone", {"call": call}))

    def overflow(self, call: str, *, final: bool = False) -> OverflowReply:
        return OverflowReply.parse(self.run("overflow", {"call": call, "final": final}))

    def unconnect(self, call: str) -> str:
        return str(self.run("unconnect", {"call": call}, scope="none"))

    def join(self, call: str) -> tuple[str, str, int]:
        """join.lua: (verdict, the caller's Enqueue action url, connection generation)."""
        raw = self.run("join", {"call": call}, scope="none")
        return (str(raw[0]), str(raw[1]) if len(raw) > 1 else "",
                int(raw[3]) if len(raw) > 3 else 0)

    def control(self, args: dict[str, Any], *, queue: str | None = None,
                skills: Iterable[str] = (),
                agent_skills: dict[str, int] | None = None) -> list[Any]:
        """control.lua: one call control (hold, resume, hangup, queue, number, agent)."""
        if agent_skills is not None:  # an offer to that agent: its free sets
            return list(self.run("control", args, scope="agent", agent_skills=agent_skills))
        if queue is not None:
            return list(self.run("control", args, scope="queue", queue=queue, skills=skills))
        return list(self.run("control", args, scope="none"))

    def monitor(self, args: dict[str, Any]) -> list[Any]:
        """monitor.lua: a supervisor's monitor leg (start, leg, stop, gone)."""
        return list(self.run("monitor", args, scope="none",
                             extra_keys=[keys.monitor_leg(str(args["call"]))]))

    def conf_event(self, call: str, event: str, sid: str, conf: str, seq: int) -> list[str]:
        raw = self.run("conf_event", {"call": call, "event": event, "sid": sid, "conf": conf,
                                      "seq": seq}, scope="none")
        return [str(x) for x in raw]

    def callback(self, call: str) -> str:
        return str(self.run("callback", {"call": call}, scope="none"))

    def callback_result(self, agent: str, token: str, status: str, *, max_tries: int,
                        spacing_ms: int) -> str:
        return str(self.run("callback_result", {
            "agent": agent, "token": token, "status": status, "max_tries": max_tries,
            "spacing_ms": spacing_ms,
        }, scope="none"))

    # --- offers and agents' calls -------------------------------------------------

    def set_leg(self, agent: str, token: str, leg: str) -> bool:
        return bool(self.run("set_leg", {"agent": agent, "token": token, "leg": leg},
                             scope="none"))

    def accept(self, agent: str, token: str) -> AcceptReply:
        return AcceptReply.parse(self.run("accept", {"agent": agent, "token": token},
                                          scope="none"))

    def miss(self, agent: str, token: str, reason: str, *, max_missed: int,
             rest_ms: int) -> MissReply:
        return MissReply.parse(self.run("miss", {
            "agent": agent, "token": token, "reason": reason, "max_missed": max_missed,
            "rest_ms": rest_ms,
        }, phones=True))

    def agent_done(self, agent: str, token: str, *, wrap_ms: int,
                   skills: dict[str, int]) -> AgentDoneReply:
        return AgentDoneReply.parse(self.run(
            "agent_done", {"agent": agent, "token": token, "wrap_ms": wrap_ms},
            scope="agent", agent_skills=skills, phones=True,
        ))

    def wrap_end(self, agent: str, token: str) -> list[Offer]:
        return Offer.many(self.run("wrap_end", {"agent": agent, "token": token}, phones=True))

    def wrapup(self, agent: str, call: str, disposition: str) -> tuple[str, list[Offer]]:
        """The agent's wrap-up of `call` given: ("conflict" | "connected" | "ended" |
        "removed", the agent's next offers when "ended")."""
        reply = self.run("wrapup", {"agent": agent, "call": call, "disposition": disposition},
                         phones=True)
        verdict = str(reply[0])
        return verdict, Offer.many(reply[1]) if verdict == "ended" and len(reply) > 1 else []

    # --- the roster ---------------------------------------------------------------

    def upsert(self, record: dict[str, Any], *, keep_api: bool) -> UpsertReply:
        return UpsertReply.parse(self.run("upsert", {"agent": record, "keep_api": keep_api},
                                          phones=True))

    def remove(self, agent: str) -> str:
        return str(self.run("remove", {"agent": agent}, phones=True))

    def set_status(self, agent: str, status: str, source: str,
                   reason: str = "") -> StatusReply:
        return StatusReply.parse(self.run("set_status", {
            "agent": agent, "status": status, "source": source, "reason": reason,
        }))

    def pin(self, agent: str, attempt: str, *, window_ms: int, max_wrong: int) -> PinReply:
        """Count one PIN try ("right", "wrong"), or "peek" whether PIN entry is locked."""
        return PinReply.parse(self.by_name["pin"](
            keys=[keys.pin_failures(agent)],
            args=[self.env.now_ms(), window_ms, max_wrong, attempt, random.random()],
        ))

    # --- timers -------------------------------------------------------------------

    def claim_timers(self, *, limit: int, lease_ms: int) -> list[ClaimedTimer]:
        return ClaimedTimer.many(self.run("claim_timers", {"limit": limit,
                                                           "lease_ms": lease_ms}, scope="none"))

    def timer_done(self, timer: ClaimedTimer) -> bool:
        return bool(self.run("timer_done", {"member": timer.member, "lease": timer.lease},
                             scope="none"))
