"""The routing records and the scripts' replies, typed: the one place Python reads them.

The Lua scripts keep agents and callers as JSON in two Redis hashes, with short
field names (`q`, `p`, `t0`, `st`, ...) to keep each waiting caller small
(ivr/routing/lua/lib.lua describes them). Python reads those records only
through `AgentRecord` and `CallerRecord`, and each script's reply (a Lua
table, so a positional list) only through its reply class here, so a field
renamed or a reply reshaped is changed in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("offline", "available", "break")
STATES = ("idle", "offered", "on-call", "wrap-up")
FINAL_CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
FINISHED = ("abandoned", "overflowed", "done", "failed")  # "overflowing" is not yet


def _list(value: Any) -> list[Any]:
    """cjson encodes an empty Lua table as {}; lists may come back so."""
    return list(value) if isinstance(value, list) else []


# --- records -----------------------------------------------------------------


@dataclass(slots=True)
class AgentOffer:
    """The call an agent is offered or connected with (the agent record's `offer`)."""

    call: str
    token: str
    queue: str
    withdrawn: bool  # `gone`: the caller hung up or another agent took them


@dataclass(slots=True)
class AgentRecord:
    """One agent as the `agents` hash keeps it (status is theirs, state the system's)."""

    id: str
    name: str
    phone: str
    skills: dict[str, int]
    pin: str
    source: str
    status: str
    state: str
    status_since_ms: int
    state_since_ms: int
    calls: int
    talk: int
    missed: int
    day: str
    offer: AgentOffer | None
    leg: str
    gone: bool  # removed from the roster while busy: leaves when that work ends
    break_reason: str = ""  # why on break (agents.yaml `breaks:`), "" for none

    @classmethod
    def from_json(cls, raw: str | bytes) -> AgentRecord:
        # Lean on purpose: every status change and offer reads one (the scripts wrote it).
        d = json.loads(raw)
        offer = d.get("offer")
        skills = d.get("skills")
        return cls(
            id=d["id"], name=d.get("name") or d["id"], phone=d.get("phone") or "",
            skills=skills if isinstance(skills, dict) else {}, pin=d.get("pin") or "",
            source=d.get("source") or "", status=d.get("status") or "",
            state=d.get("state") or "", status_since_ms=int(d.get("since") or 0),
            state_since_ms=int(d.get("state_since") or 0), calls=int(d.get("calls") or 0),
            talk=int(d.get("talk") or 0), missed=int(d.get("missed") or 0),
            day=d.get("day") or "",
            offer=AgentOffer(offer["call"], offer["token"], offer.get("queue") or "",
                             bool(offer.get("gone")))
            if isinstance(offer, dict) and offer.get("token") else None,
            leg=d.get("leg") or "", gone=bool(d.get("gone")),
            break_reason=d.get("reason") or "",
        )

    def holds(self, token: str) -> bool:
        """Is this offer (by its token) the agent's current one?"""
        return self.offer is not None and self.offer.token == token


@dataclass(slots=True)
class CallerRecord:
    """One caller (or texted callback) in a queue, as the `callers` hash keeps it."""

    id: str  # the CallSid, or cb-... for a callback asked for by text
    queue: str  # q
    priority: int  # p
    entered_ms: int  # t0: their place in line, kept through misses and callbacks
    state: str  # st: new, waiting, offered, connected, done, retry, overflowing, ...
    kind: str  # "call" or "callback"
    skills: list[str]  # current requirements (escalation changes them)
    level: int  # lvl
    number: str  # from: the caller's number
    service_number: str  # to: the number they dialled or texted
    flow: str
    step: str
    action_url: str  # the <Enqueue> action: back into the flow
    deadline_ms: int | None  # dl: when max wait passes (calls only)
    outcome: str | None  # out: connected, abandoned, overflowed, callback (set once)
    agent: str | None  # who accepted them
    connected_ms: int | None  # conn
    joined: bool = False  # j: in the agent's conference (fetched it after acceptance)
    conference: str = ""  # cf: the ConferenceSid (from its participant-join callback)
    held: bool = False  # hd: on hold (the control's decision)
    control: dict[str, Any] = field(default_factory=dict)  # x: a transfer or consult going on
    generation: int = 0  # g: which connection (join.lua counts them)
    # The running figures of the contact record (lib.lua, "The caller's running figures"):
    hold_ms: int = 0  # hms: ms of the holds that have ended
    hold_since_ms: int | None = None  # hs: when the current hold began
    part_hold_ms: int = 0  # h0: held ms when the current agent's part began
    agents: list[str] = field(default_factory=list)  # ags: who served them, in order
    first_connected_ms: int | None = None  # c1: the first agent's acceptance
    transfers: int = 0  # tr: transfers out of an agent's hands
    talk: int = 0  # tk: seconds of talk of the agents' parts that have ended

    def held_ms(self, now_ms: int) -> int:
        """Milliseconds on hold so far, the hold going on included."""
        open_ms = max(0, now_ms - self.hold_since_ms) if self.hold_since_ms is not None else 0
        return self.hold_ms + open_ms

    def talk_so_far(self, now_ms: int) -> int:
        """Seconds of talk: the parts that have ended, and the one going on (its hold
        excluded), as agent_done.lua will count it."""
        if self.state != "connected" or self.connected_ms is None:
            return self.talk
        part = now_ms - self.connected_ms - (self.held_ms(now_ms) - self.part_hold_ms)
        return self.talk + max(0, part) // 1000

    @classmethod
    def from_json(cls, raw: str | bytes) -> CallerRecord:
        d = json.loads(raw)
        skills = d.get("skills")
        dl, conn = d.get("dl"), d.get("conn")
        return cls(
            id=d["id"], queue=d["q"], priority=int(d.get("p") or 0),
            entered_ms=int(d.get("t0") or 0), state=d.get("st") or "",
            kind=d.get("kind") or "call",
            skills=skills if isinstance(skills, list) else [],  # cjson: an empty list is {}
            level=int(d.get("lvl") or 1), number=d.get("from") or "",
            service_number=d.get("to") or "", flow=d.get("flow") or "",
            step=d.get("step") or "", action_url=d.get("action") or "",
            deadline_ms=int(dl) if dl is not None else None, outcome=d.get("out") or None,
            agent=d.get("agent") or None, connected_ms=int(conn) if conn is not None else None,
            joined=bool(d.get("j")), conference=d.get("cf") or "", held=bool(d.get("hd")),
            control=d["x"] if isinstance(d.get("x"), dict) else {},
            generation=int(d.get("g") or 0),
            hold_ms=int(d.get("hms") or 0),
            hold_since_ms=int(d["hs"]) if d.get("hs") is not None else None,
            part_hold_ms=int(d.get("h0") or 0),
            agents=[str(a) for a in _list(d.get("ags"))],
            first_connected_ms=int(d["c1"]) if d.get("c1") is not None else None,
            transfers=int(d.get("tr") or 0), talk=int(d.get("tk") or 0),
        )

    @property
    def finished(self) -> str | None:
        """How their time in the queue ended ("abandoned", "overflowed", ...), or None while
        it has not (a connected caller's outcome is "connected": not finished here)."""
        value = self.outcome or self.state
        return value if value in FINISHED else None


@dataclass(slots=True)
class NewCaller:
    """A caller entering a queue: the record enter.lua stores (wire names in `to_json`)."""

    id: str
    queue: str
    priority: int
    entered_ms: int
    skills: list[str]
    level: int
    strategy: str
    ring_timeout: int
    service_level: int
    kind: str
    number: str
    service_number: str
    flow: str
    step: str
    action_url: str
    escalation: list[dict[str, Any]] = field(default_factory=list)  # [{skills, lvl}, ...]
    deadline_ms: int | None = None
    outcome: str | None = None
    via: str | None = None  # how a callback was asked for: "sms", "voice", "wallboard"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "q": self.queue, "p": self.priority, "t0": self.entered_ms,
            "skills": self.skills, "lvl": self.level, "strat": self.strategy,
            "ring": self.ring_timeout, "sl": self.service_level, "kind": self.kind,
            "from": self.number, "to": self.service_number, "flow": self.flow,
            "step": self.step, "action": self.action_url, "esc": self.escalation, "st": "new",
        }
        if self.deadline_ms is not None:
            out["dl"] = self.deadline_ms
        if self.outcome:
            out["out"] = self.outcome
        if self.via:
            out["via"] = self.via
        return out


# --- script replies ----------------------------------------------------------


@dataclass(slots=True)
class Offer:
    """An agent chosen for a caller: the worker rings the agent's phone (lib.lua offer())."""

    caller_id: str
    agent_id: str
    token: str
    phone: str
    kind: str
    service_number: str
    queue: str

    @classmethod
    def many(cls, raw: Any) -> list[Offer]:
        return [cls(*map(str, item)) for item in _list(raw)]


@dataclass(slots=True)
class EndedLeg:
    """An agent's call to end now (an offer withdrawn): the agent and the call's sid."""

    agent_id: str
    leg: str

    @classmethod
    def pairs(cls, raw: Any) -> list[EndedLeg]:
        flat = [str(v) for v in _list(raw)]
        return [cls(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


@dataclass(slots=True)
class EnterReply:
    """enter.lua: "queued" (with offers), "dup" (entered before; `state` is theirs now),
    or "overflow" (nobody logged in who could ever take them)."""

    status: str
    offers: list[Offer]
    state: str = ""

    @classmethod
    def parse(cls, raw: Any) -> EnterReply:
        status = str(raw[0])
        if status == "queued":
            return cls(status, Offer.many(raw[1]))
        return cls(status, [], str(raw[1]) if status == "dup" and len(raw) > 1 else "")


@dataclass(slots=True)
class AcceptReply:
    """accept.lua: "ok" (the caller is theirs; ring-all rivals' calls to end), "gone"
    (the caller hung up or was taken), or "stale" (not their current offer)."""

    verdict: str
    caller_id: str = ""
    kind: str = ""
    withdrawn: list[EndedLeg] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> AcceptReply:
        if str(raw[0]) != "ok":
            return cls(str(raw[0]))
        return cls("ok", str(raw[1]), str(raw[2]), EndedLeg.pairs(raw[3]))


@dataclass(slots=True)
class MissReply:
    """miss.lua: "missed" (counted against the agent), "released" (an offer withdrawn
    earlier has ended: no miss) or "stale"; the agent's call and the new offers."""

    verdict: str
    on_break: bool = False
    caller_id: str = ""
    leg: str = ""
    offers: list[Offer] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> MissReply:
        if str(raw[0]) not in ("missed", "released"):
            return cls(str(raw[0]))
        return cls(str(raw[0]), bool(raw[1]), str(raw[2]), str(raw[3]), Offer.many(raw[4]))


@dataclass(slots=True)
class CallerGoneReply:
    """caller_gone.lua: "abandoned" with the agents' calls to end, "consult" (a connected
    call ended during a consult) with the target's call to end, or "none"."""

    verdict: str
    withdrawn: list[EndedLeg] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> CallerGoneReply:
        if str(raw[0]) not in ("abandoned", "consult"):
            return cls(str(raw[0]))
        return cls(str(raw[0]), EndedLeg.pairs(raw[1]))


@dataclass(slots=True)
class AgentDoneReply:
    """agent_done.lua: "free" (with the agent's next offer), "wrap-up", "removed" (the agent
    had been taken off the roster during the call) or "stale"."""

    verdict: str
    offers: list[Offer] = field(default_factory=list)
    ended: list[EndedLeg] = field(default_factory=list)  # a consult's target call to end

    @classmethod
    def parse(cls, raw: Any) -> AgentDoneReply:
        ended = EndedLeg.pairs(raw[2]) if len(raw) > 2 else []
        return cls(str(raw[0]), Offer.many(raw[1]) if str(raw[0]) == "free" else [], ended)


@dataclass(slots=True)
class StatusReply:
    """set_status.lua: "ok" with the agent as stored and offers, or "unknown"."""

    verdict: str
    agent: AgentRecord | None = None
    offers: list[Offer] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> StatusReply:
        if str(raw[0]) != "ok":
            return cls(str(raw[0]))
        return cls("ok", AgentRecord.from_json(raw[1]), Offer.many(raw[2]))


@dataclass(slots=True)
class UpsertReply:
    """upsert.lua: "added", "updated" or "kept" (an API-made agent the YAML leaves alone)."""

    verdict: str
    offers: list[Offer]

    @classmethod
    def parse(cls, raw: Any) -> UpsertReply:
        return cls(str(raw[0]), Offer.many(raw[1]))


@dataclass(slots=True)
class OverflowReply:
    """overflow.lua: "overflow" (with the Enqueue action URL), "busy" (an agent's phone rings
    for them: try later) or "none"."""

    verdict: str
    action_url: str = ""

    @classmethod
    def parse(cls, raw: Any) -> OverflowReply:
        return cls(str(raw[0]), str(raw[1]) if len(raw) > 1 else "")


@dataclass(slots=True)
class ClaimedTimer:
    """claim_timers.lua: a due timer ("kind|arg|arg") leased to this worker until `lease`."""

    member: str
    lease: str

    @classmethod
    def many(cls, raw: Any) -> list[ClaimedTimer]:
        flat = [str(v) for v in _list(raw)]
        return [cls(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


@dataclass(slots=True)
class PinReply:
    """pin.lua: "ok", "wrong" (a failure counted) or "locked" (too many in the window)."""

    verdict: str

    @classmethod
    def parse(cls, raw: Any) -> PinReply:
        return cls(str(raw))
