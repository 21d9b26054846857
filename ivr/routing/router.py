"""The automatic call distributor: queues, agents, offers, timers (product.md §5).

Every decision that matches callers and agents, or changes the state of an
offer, is one Lua script (`ivr/routing/lua/`), so the invariants of §5 hold
across any number of workers and hosts sharing one Redis. This module does
what Lua cannot: reading the YAML, placing REST calls to agents' phones,
building TwiML, and firing timers.

Bridging: each caller waits alone in a Twilio queue named by their CallSid
(`<Enqueue>`); the agent who presses 1 in the whisper answers
`<Dial><Queue>CallSid</Queue></Dial>`, which connects exactly that caller.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import redis
from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import keys
from ivr.flows.model import AgentConfig, Callflows, QueueConfig
from ivr.flows.optout import send_text
from ivr.routing.scripts import Scripts
from ivr.urls import PublicUrl

log = logging.getLogger("ivr.routing")

STATUSES = ("offline", "available", "break")
FINAL_CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
FINISHED = ("abandoned", "overflowed", "done", "failed")  # "overflowing" is not yet
Scope = Literal["all", "queue", "agent", "none"]
QueueOutcome = Literal["connected", "overflow", "callback", "abandoned", "error"]

RING_GRACE = 15  # seconds past ring_timeout before the safety-net timer ends an offer
MISS_REST = 10.0  # seconds a caller is not offered again to the agent who just missed them
CALLBACK_TRIES = 3
CALLBACK_SPACING = 120.0  # seconds between callback tries
SCAN = 32  # strategies other than longest-idle rank the first SCAN eligible free agents
SCAN_MAX = 2000  # a single decision never examines more entries than this
RING_ALL_MAX = 25  # ring-all rings at most this many agents at once
PHONE_BOOK_SECONDS = 2.0  # how stale a worker's copy of the agents' phone book may be
EVENTS_MAXLEN = 100_000
TIMER_LEASE = 30.0  # seconds a claimed timer is ours before another worker may fire it
TIMER_POLL = 0.1  # seconds between timer sweeps (timers only; free agents match at once)
MUSIC_GUARD = 120.0  # seconds before max wait when hold music gives way to short pauses
DEFAULT_HANDLE = 120.0  # seconds assumed per call before any call was handled
ON_CALL_CHECK = 300  # seconds between checks that an on-call agent's call still exists
KEEP_FINISHED = 3600  # seconds a finished caller's record stays (late webhooks, the API)


class UnknownAgent(KeyError):
    """No agent with that id on the roster."""


def spoken_wait(seconds: float) -> str:
    """A wait as a person would say it: "less than a minute", "about 3 minutes"."""
    if seconds < 45:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes <= 1:
        return "about 1 minute"
    if minutes < 60:
        return f"about {minutes} minutes"
    hours = round(minutes / 60)
    return "about 1 hour" if hours <= 1 else f"more than {hours} hours"


def bucket_name(queue: str, skills: Iterable[str], level: int) -> str:
    """A waiting-line bucket: the queue and the requirements (as lib.lua's bucket())."""
    return f"{queue}#{','.join(sorted(skills))}/{level}"


def can_serve(skills: dict[str, int], bucket: str) -> bool:
    """Does an agent with these skills meet a bucket's requirements (as lib.lua's eligible)?"""
    needs, level = bucket.split("#", 1)[1].rsplit("/", 1)
    return all(skills.get(n, 0) >= int(level) for n in needs.split(",") if n)


def spoken_number(number: str) -> str:
    """Digits spaced so that <Say> reads a phone number digit by digit."""
    return " ".join(ch for ch in number if ch.isdigit() or ch == "+").replace("+", "plus")


def _list(value: Any) -> list[Any]:
    """cjson encodes an empty Lua table as {}; callers' skill lists may come back so."""
    return list(value) if isinstance(value, list) else []


class Router:
    """Skills-based routing over Redis; one per worker process (see module docstring)."""

    def __init__(
        self,
        store: redis.Redis,
        callflows: Callable[[], Callflows],
        twilio: Client,
        *,
        public_url: str | PublicUrl | None,
        clock: Callable[[], float] = time.time,
        miss_rest: float = MISS_REST,
        callback_spacing: float = CALLBACK_SPACING,
    ) -> None:
        self.store = store
        # redis-py types replies as bytes | str unions; with decode_responses=True they are
        # str, so reads go through this Any-typed alias rather than a cast at every call.
        self.db: Any = store
        self.callflows = callflows
        self.twilio = twilio
        self.urls = (public_url if isinstance(public_url, PublicUrl)
                     else PublicUrl(store, public_url))
        self.clock = clock
        self.miss_rest = miss_rest
        self.callback_spacing = callback_spacing
        self.scripts = Scripts(store)
        self._roster_version: str | None = None
        self._universe: tuple[float, list[str], list[str], list[str]] = (0.0, [], [], [])
        self._layouts: dict[Any, tuple[list[str], list[str], str]] = {}
        self._ctx_cache: tuple[float, str] = (0.0, "")
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._roster_lock = threading.Lock()
        self._phones: tuple[float, dict[str, str]] = (0.0, {})

    # --- plumbing ---------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def base_url(self) -> str:
        """Our public base URL (configured, or learnt from Twilio's webhooks: ivr/urls.py)."""
        return self.urls.base()

    def url(self, path: str, **query: Any) -> str:
        return self.urls.url(path, **query)

    def _config(self) -> Callflows:
        return self.callflows()

    def queue_config(self, name: str) -> QueueConfig:
        queue = self._config().queues.get(name)
        return queue if queue is not None else QueueConfig(name=name)

    def _skills_and_queues(self) -> tuple[list[str], list[str]]:
        """Every skill any agent has and every queue (cached for a second per worker)."""
        skills, queues, _ = self._universe_now()
        return skills, queues

    def _universe_now(self) -> tuple[list[str], list[str], list[str]]:
        stamp, skills, queues, buckets = self._universe
        if time.monotonic() - stamp < 1.0:
            return skills, queues, buckets
        pipe = self.db.pipeline(transaction=False)
        pipe.smembers(keys.acd("skills"))
        pipe.hkeys(keys.acd("buckets"))
        got_skills, got_buckets = pipe.execute()
        skills = sorted(set(got_skills))
        buckets = sorted(got_buckets)
        queues = sorted({b.split("#", 1)[0] for b in buckets} | set(self._config().queues))
        if (skills, buckets) != (self._universe[1], self._universe[3]):
            self._layouts.clear()
        self._universe = (time.monotonic(), skills, queues, buckets)
        return skills, queues, buckets

    def _forget_universe(self) -> None:
        self._universe = (0.0, [], [], [])
        self._ctx_cache = (0.0, "")

    def buckets_of(self, queue: str) -> list[str]:
        """Wait-line keys of one queue (one per set of requirements its callers have)."""
        return [keys.acd("wait", b) for b in self._universe_now()[2]
                if b.split("#", 1)[0] == queue]

    def _layout(
        self, scope: Scope = "all", queue: str | None = None, skills: Iterable[str] = (),
        agent_skills: dict[str, int] | None = None,
    ) -> tuple[list[str], list[str], str]:
        """KEYS for a script (plain, and with the phones hash) and the layout JSON (ARGV[4])
        telling lib.lua which KEYS index is which free set, logged-in set and bucket.

        scope "all": every skill and bucket (any script that may match an agent against
        every queue); "queue": one queue's buckets and the given skills (a caller entering);
        "none": the fixed keys only (scripts that touch no set or line); "agent": the lines
        one agent can serve and the agent's skills (an agent-side match for
        that agent only; every bucket still counts for the STALE check)."""
        all_skills, _, buckets = self._universe_now()
        mine = agent_skills or {}
        cache_key = (scope, queue, tuple(sorted(skills)), tuple(sorted(mine.items())))
        cached = self._layouts.get(cache_key)
        if cached is not None:
            return cached
        out = [
            keys.acd("agents"), keys.acd("callers"), keys.acd("timers"), keys.acd("events"),
            keys.acd("stats"), keys.acd("aht"), keys.acd("buckets"), keys.acd("skills"),
        ]
        names: list[str] = []
        lines: list[str] = []
        if scope == "all":
            names, lines = ["*", *all_skills], buckets
        elif scope == "queue":
            names = ["*", *sorted(set(skills))]
            lines = [b for b in buckets if b.split("#", 1)[0] == queue]
        elif scope == "agent":
            names = ["*", *sorted(mine)]
            lines = [b for b in buckets if can_serve(mine, b)]
        layout: dict[str, Any] = {"free": {}, "on": {}, "wait": {},
                                  "nwait": len(buckets) if scope in ("all", "agent") else -1,
                                  "nskills": len(all_skills) if scope == "all" else -1}
        for kind in ("free", "on"):
            for name in names:
                out.append(keys.acd(kind, name))
                layout[kind][name] = len(out)  # Lua's KEYS are 1-based
        for name in lines:
            out.append(keys.acd("wait", name))
            needs, level = name.split("#", 1)[1].rsplit("/", 1)
            layout["wait"][name] = [len(out), [n for n in needs.split(",") if n], int(level)]
        built = (out, [*out, keys.acd("phones", "all")], json.dumps(layout))
        self._layouts[cache_key] = built
        return built

    def today(self, queue: str) -> str:
        """Today's date in the queue's time zone: the day its statistics count into."""
        tz = ZoneInfo(self.queue_config(queue).timezone or "UTC")
        return datetime.fromtimestamp(self.clock(), tz).date().isoformat()

    def _ctx(self) -> str:
        """The context JSON (ARGV[2]); rebuilt at most once a second (dates change daily)."""
        now = self.clock()
        stamp, cached = self._ctx_cache
        if cached and 0 <= now - stamp < 1.0:
            return cached
        _, queues = self._skills_and_queues()
        built = json.dumps({
            "dates": {q: self.today(q) for q in queues},
            "day": datetime.fromtimestamp(now, UTC).date().isoformat(),
            "maxlen": EVENTS_MAXLEN,
            "scan": SCAN,
            "scanmax": SCAN_MAX,
            "ringall": RING_ALL_MAX,
            "grace": RING_GRACE,
            "keep": KEEP_FINISHED,
            "check": ON_CALL_CHECK,
        })
        self._ctx_cache = (now, built)
        return built

    def run(
        self, name: str, args: dict[str, Any], *, phones: bool = False, scope: Scope = "all",
        queue: str | None = None, skills: Iterable[str] = (),
        agent_skills: dict[str, int] | None = None,
    ) -> Any:
        """Run one routing script with the common key layout (see lib.lua)."""
        payload = json.dumps(args)
        for attempt in (1, 2):
            plain, with_phones, layout = self._layout(scope, queue, skills, agent_skills)
            try:
                return self.scripts[name](
                    keys=with_phones if phones else plain,
                    args=[self.now_ms(), self._ctx(), payload, layout, random.random()],
                )
            except redis.ResponseError as exc:
                if "STALE routing buckets" not in str(exc) or attempt == 2:
                    raise
                self._forget_universe()  # another worker registered a bucket: reload, retry
        raise AssertionError("unreachable")

    def _caller(self, caller_id: str) -> dict[str, Any] | None:
        raw = self.db.hget(keys.acd("callers"), caller_id)
        return json.loads(raw) if raw else None

    def agent_config(self, agent_id: str) -> AgentConfig | None:
        """An agent's settings as the roster holds them (PIN included), for editing."""
        record = self._agent(agent_id)
        if record is None:
            return None
        return AgentConfig(id=record["id"], name=record.get("name") or record["id"],
                           phone=record.get("phone", ""), skills=dict(record.get("skills") or {}),
                           pin=record.get("pin") or None)

    def caller_outcome(self, call_sid: str) -> str | None:
        """How a caller's time in a queue ended ("abandoned", "overflowed", ...), or None
        while they still wait, or when they never queued (or were forgotten after an hour)."""
        record = self._caller(call_sid)
        if record is None:
            return None
        outcome = record.get("out") or record.get("st")
        return str(outcome) if outcome in FINISHED else None

    def _agent(self, agent_id: str) -> dict[str, Any] | None:
        raw = self.db.hget(keys.acd("agents"), agent_id)
        return json.loads(raw) if raw else None

    # --- the roster -----------------------------------------------------------

    def sync_roster(self) -> None:
        """Seed agents from agents.yaml when its version changed (API-made agents are kept)."""
        config = self._config()
        if self._roster_version == config.version and config.version:
            return
        with self._roster_lock:
            if self._roster_version == config.version and config.version:
                return
            if config.version and self.db.get(keys.acd("roster_version")) == config.version:
                self._roster_version = config.version  # another worker applied this version
                return
            for agent in config.agents.values():
                self._upsert(agent, source="yaml", keep_api=True)
            listed = set(config.agents)
            for row in self._all_agents():
                if row.get("source") == "yaml" and row["id"] not in listed:
                    self.run("remove", {"agent": row["id"]}, phones=True)
                    self._phones = (0.0, {})
            self._roster_version = config.version
            if config.version:
                self.db.set(keys.acd("roster_version"), config.version)

    def _upsert(self, agent: AgentConfig, *, source: str, keep_api: bool) -> str:
        self._phones = (0.0, {})
        if agent.skills:
            self.db.sadd(keys.acd("skills"), *agent.skills)
            if not set(agent.skills) <= set(self._skills_and_queues()[0]):
                self._forget_universe()
        record = {
            "id": agent.id, "name": agent.name, "phone": agent.phone,
            "skills": dict(agent.skills), "pin": agent.pin or "", "source": source,
        }
        verdict, offers = self.run(
            "upsert", {"agent": record, "keep_api": keep_api}, phones=True
        )
        self._place_offers(offers)
        return str(verdict)

    def upsert_agent(self, agent: AgentConfig) -> dict[str, Any]:
        """Add or change an agent through the API; it persists in Redis, marked source=api."""
        self.sync_roster()
        self._upsert(agent, source="api", keep_api=False)
        return self._public_agent(self._agent(agent.id) or {})

    def remove_agent(self, agent_id: str) -> str:
        """Take an agent off the roster ("removed"), or log them out first when busy ("busy")."""
        self.sync_roster()
        verdict = str(self.run("remove", {"agent": agent_id}, phones=True))
        self._phones = (0.0, {})
        if verdict == "unknown":
            raise UnknownAgent(agent_id)
        return verdict

    def agent_by_phone(self, phone: str) -> str | None:
        """Which agent owns this phone. Every incoming call and text asks, so the
        phone book is read from Redis at most every PHONE_BOOK_SECONDS per worker
        (at once after this worker changed the roster): a customer's call costs
        no round trip, and an agent added through another worker is known
        within that time."""
        if not phone:
            return None
        self.sync_roster()
        read_at, book = self._phones
        if time.monotonic() - read_at > PHONE_BOOK_SECONDS:
            book = self.db.hgetall(keys.acd("phones", "all"))
            self._phones = (time.monotonic(), book)
        found = book.get(phone.removeprefix("whatsapp:"))
        return str(found) if found else None

    def set_agent_status(self, agent_id: str, status: str, *, source: str) -> dict[str, Any]:
        """Set an agent's own status (offline / available / break); available matches at once."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        self.sync_roster()
        result = self.run("set_status", {"agent": agent_id, "status": status, "source": source})
        if result[0] == "unknown":
            raise UnknownAgent(agent_id)
        self._place_offers(result[2])
        return self._public_agent(json.loads(result[1]))

    def _all_agents(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.db.hgetall(keys.acd("agents")).values()]

    def _public_agent(self, row: dict[str, Any]) -> dict[str, Any]:
        today = datetime.fromtimestamp(self.clock(), UTC).date().isoformat()
        fresh = row.get("day") == today
        since = max(row.get("since", 0), row.get("state_since", 0))
        return {
            "id": row.get("id"),
            "name": row.get("name"),
            "phone": row.get("phone"),
            "skills": row.get("skills") or {},
            "status": row.get("status"),
            "state": row.get("state"),
            "since": since / 1000.0,
            "status_since": row.get("since", 0) / 1000.0,
            "state_since": row.get("state_since", 0) / 1000.0,
            "calls_today": row.get("calls", 0) if fresh else 0,
            "talk_today": row.get("talk", 0) if fresh else 0,
            "missed_in_a_row": row.get("missed", 0),
            "source": row.get("source"),
            "offer": (row.get("offer") or {}).get("call"),
        }

    def agents(self) -> list[dict[str, Any]]:
        """Every agent with status, state and time in state, by id."""
        self.sync_roster()
        return sorted((self._public_agent(r) for r in self._all_agents()), key=lambda a: a["id"])

    # --- callers: the queue step ------------------------------------------------

    def enqueue(
        self,
        call_sid: str,
        *,
        queue: str,
        priority: int,
        skills: list[str],
        max_wait: int | None,
        caller: str,
        called: str,
        flow: str,
        step: str,
        action_url: str,
    ) -> VoiceResponse | None:
        """Put a caller in a queue (idempotent per CallSid); the TwiML that holds them, or None
        for "overflow right now" (nobody logged in who could take them)."""
        self.sync_roster()
        status = self._enter(
            call_sid, queue=queue, priority=priority, skills=skills, max_wait=max_wait,
            caller=caller, called=called, flow=flow, step=step, action_url=action_url,
            kind="call",
        )
        if status == "overflow":
            return None
        if status == "dup":
            record = self._caller(call_sid)
            if record and record.get("st") == "overflowed":
                return None
        response = VoiceResponse()
        response.enqueue(
            call_sid,
            action=action_url,
            method="POST",
            wait_url=self.url("/twilio/queue/wait", call=call_sid, n=0),
            wait_url_method="POST",
        )
        return response

    def _enter(
        self, caller_id: str, *, queue: str, priority: int, skills: list[str],
        max_wait: int | None, caller: str, called: str, flow: str, step: str,
        action_url: str, kind: str, out: str | None = None,
    ) -> str:
        config = self.queue_config(queue)
        now = self.now_ms()
        required = list(dict.fromkeys([*config.skills, *skills]))
        level = 1
        steps: list[dict[str, Any]] = []
        timers: list[list[Any]] = []
        current = required
        for esc in sorted(config.escalate, key=lambda e: e.after):
            current = list(esc.skills) if esc.skills is not None else current
            if esc.after <= 0:
                required, level = current, esc.min_level
                continue
            steps.append({"skills": current, "lvl": esc.min_level})
            timers.append([now + esc.after * 1000, f"esc|{caller_id}|{len(steps)}"])
        needed = {bucket_name(queue, required, level)}
        needed |= {bucket_name(queue, st["skills"], st["lvl"]) for st in steps}
        if not needed <= set(self._universe_now()[2]):
            self.db.hset(keys.acd("buckets"), mapping=dict.fromkeys(needed, 1))
            self._forget_universe()
        wait_limit = max_wait if max_wait is not None else config.max_wait
        if kind == "call" and wait_limit:
            timers.append([now + wait_limit * 1000, f"maxwait|{caller_id}"])
        record: dict[str, Any] = {
            "id": caller_id, "q": queue, "p": max(0, min(99, int(priority))), "t0": now,
            "skills": required, "lvl": level, "strat": config.strategy,
            "ring": config.ring_timeout, "sl": config.service_level, "kind": kind,
            "from": caller, "to": called, "flow": flow, "step": step, "action": action_url,
            "esc": steps, "st": "new",
        }
        if kind == "call" and wait_limit:
            record["dl"] = now + wait_limit * 1000
        if out:
            record["out"] = out
        touched = {*required, *(s for st in steps for s in st["skills"])}
        result = self.run("enter", {
            "caller": record, "timers": timers, "overflow_if_nobody": kind == "call",
            "reach": steps[-1] if steps else {"skills": required, "lvl": level},
        }, scope="queue", queue=queue, skills=touched)
        status = str(result[0])
        if status == "queued":
            self._place_offers(result[1])
        return status

    def queue_result(self, call_sid: str, queue_result: str) -> QueueOutcome:
        """What became of a caller when Twilio's <Enqueue> action arrives (QueueResult)."""
        record = self._caller(call_sid)
        if record is None:
            return "error"
        state, kind = record.get("st"), record.get("kind")
        if state == "overflowed":
            return "overflow"
        if state == "overflowing" and queue_result != "hangup":
            self.run("overflow", {"call": call_sid, "final": True})
            return "overflow"
        if kind == "callback":
            return "callback"
        if state in ("connected", "done"):
            # QueueResult hangup: they hung up just as the agent accepted, never bridged.
            if queue_result == "hangup" and \
                    self.run("unconnect", {"call": call_sid}, scope="none") == "abandoned":
                return "abandoned"
            return "connected"
        if state == "abandoned" or queue_result == "hangup":
            self._caller_gone(call_sid)
            return "abandoned"
        # Twilio could not keep them in the queue: take them out as an overflow.
        if queue_result in ("queue-full", "error", "system-error", "leave", "redirected") \
                and self.run("overflow", {"call": call_sid, "final": True})[0] == "overflow":
            return "overflow"
        return "error"

    def call_ended(self, params: MultiDict[str, str]) -> None:
        """A caller's call ended: waiting or ringing an agent means abandoned, offer cancelled."""
        if params.get("CallStatus") not in FINAL_CALL_STATUSES:
            return
        sid = params.get("CallSid", "")
        if sid and self.db.hexists(keys.acd("callers"), sid):
            self._caller_gone(sid)

    def _caller_gone(self, sid: str) -> None:
        result = self.run("caller_gone", {"call": sid})
        if result[0] != "abandoned":
            return
        freed = result[1]
        for i in range(0, len(freed), 2):
            self._end_leg(freed[i + 1])

    def request_callback(
        self, number: str, *, queue: str, service_number: str, channel: str = "sms"
    ) -> int:
        """A texter asks to be called back: they join the queue as a callback; their position."""
        self.sync_roster()
        caller_id = f"cb-{uuid.uuid4().hex[:16]}"
        self._enter(
            caller_id, queue=queue, priority=0, skills=[], max_wait=None, caller=number,
            called=service_number, flow="", step="", action_url="", kind="callback",
            out="callback",
        )
        record = self._caller(caller_id)
        return self.position(record) if record else 1

    def waiting(self) -> list[dict[str, Any]]:
        """Callers waiting now (callbacks included), best first within each queue."""
        out: list[dict[str, Any]] = []
        now = self.clock()
        for queue in self._skills_and_queues()[1]:
            pairs: list[tuple[float, str]] = []
            for key in self.buckets_of(queue):
                pairs += [(sc, m) for m, sc in self.db.zrange(key, 0, 999, withscores=True)]
            ids = [m for _, m in sorted(pairs)[:1000]]
            if not ids:
                continue
            raws = self.db.hmget(keys.acd("callers"), ids)
            for position, raw in enumerate(raws, start=1):
                if not raw:
                    continue
                c = json.loads(raw)
                out.append({
                    "id": c["id"], "queue": queue, "position": position, "priority": c["p"],
                    "kind": c["kind"], "from": c.get("from"), "state": c["st"],
                    "waited": max(0.0, now - c["t0"] / 1000.0),
                    "skills": _list(c.get("skills")), "min_level": c.get("lvl", 1),
                })
        return out

    # --- offers ---------------------------------------------------------------

    def _place_offers(self, offers: Iterable[list[Any]]) -> None:
        """Ring each chosen agent's phone (REST); a failed call is a miss at once."""
        for caller_id, agent_id, token, phone, kind, service_number, queue in offers:
            config = self.queue_config(queue)
            try:
                call = self.twilio.calls.create(
                    to=phone,
                    from_=service_number or phone,
                    url=self.url("/twilio/agent/whisper", agent=agent_id, token=token),
                    method="POST",
                    timeout=config.ring_timeout,
                    status_callback=self.url("/twilio/agent/status", agent=agent_id, token=token),
                    status_callback_event=["initiated", "ringing", "answered", "completed"],
                    status_callback_method="POST",
                )
            except (TwilioException, OSError) as exc:
                log.warning("offer of %s to %s: REST call failed: %s", caller_id, agent_id, exc)
                self.offer_failed(agent_id, token, "failed")
                continue
            log.info("offered %s call %s to %s (%s)", kind, caller_id, agent_id, call.sid)
            self.run("set_leg", {"agent": agent_id, "token": token, "leg": call.sid}, scope="none")

    def _end_leg(self, leg: str) -> None:
        """Stop ringing (or hang up) an agent's call whose offer is over.

        Twilio's Call update: `canceled` only hangs up a queued or ringing call
        and leaves an answered one (an agent in the whisper) untouched, while
        `completed` "will attempt to hang up a call even if it's already in
        progress". We can't know which it is at this instant, so: `completed`.
        """
        if not leg:
            return
        try:
            self.twilio.calls(leg).update(status="completed")
        except (TwilioException, OSError) as exc:
            log.info("ending agent leg %s: %s", leg, exc)

    def offer(self, agent_id: str, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The (agent, caller) of a live offer, or None when that offer is over."""
        agent = self._agent(agent_id)
        if not agent or (agent.get("offer") or {}).get("token") != token:
            return None
        caller = self._caller(agent["offer"]["call"])
        if caller is None:
            return None
        return agent, caller

    def offer_failed(self, agent_id: str, token: str, reason: str) -> None:
        """Decline, no answer, busy, failed or expired: a miss; the caller keeps their place."""
        max_missed = 2
        pending = self.offer(agent_id, token)
        if pending is not None:
            max_missed = self.queue_config(pending[1]["q"]).max_missed
        result = self.run("miss", {
            "agent": agent_id, "token": token, "reason": reason,
            "max_missed": max(1, max_missed), "rest_ms": int(self.miss_rest * 1000),
        })
        if result[0] not in ("missed", "released"):
            return
        _, on_break, caller_id, leg, offers = result
        if reason in ("expired",):
            self._end_leg(leg)
        if on_break:
            self._tell_agent_on_break(agent_id, caller_id, max_missed)
        self._place_offers(offers)

    def _tell_agent_on_break(self, agent_id: str, caller_id: str, misses: int) -> None:
        agent = self._agent(agent_id)
        caller = self._caller(caller_id)
        if not agent:
            return
        service = (caller or {}).get("to") or self._any_service_number()
        body = (f"You missed {misses} calls in a row, so we put you on break. "
                "Text ON when you are ready for calls again.")
        # Through the opt-out guard (issue 5), which logs a failure.
        if not send_text(self.store, self.twilio, to=agent["phone"], from_=service, body=body):
            log.warning("could not text %s about their break", agent_id)

    def _any_service_number(self) -> str:
        for flow in self._config().flows.values():
            for number in flow.numbers:
                if number != "*":
                    return number
        return ""

    def accept(self, agent_id: str, token: str) -> tuple[str, dict[str, Any] | None]:
        """The agent pressed 1: ("ok", caller) if they won the caller, else ("gone", None)."""
        result = self.run("accept", {"agent": agent_id, "token": token}, scope="none")
        if result[0] != "ok":
            return str(result[0]), None
        withdrawn = result[3]
        for i in range(0, len(withdrawn), 2):
            self._end_leg(withdrawn[i + 1])
        return "ok", self._caller(result[1])

    def agent_leg_status(self, agent_id: str, token: str, params: MultiDict[str, str]) -> None:
        """Status callback of a call placed to an agent: remember its sid, end the offer or call."""
        status = params.get("CallStatus", "")
        if status not in FINAL_CALL_STATUSES:
            if params.get("CallSid"):
                self.run("set_leg", {"agent": agent_id, "token": token,
                                     "leg": params["CallSid"]}, scope="none")
            return
        agent = self._agent(agent_id)
        if not agent or (agent.get("offer") or {}).get("token") != token:
            return
        if agent["state"] == "offered":
            reason = "declined" if status == "completed" else status
            self.offer_failed(agent_id, token, reason)
        elif agent["state"] == "on-call":
            caller = self._caller(agent["offer"]["call"])
            wrap = self.queue_config(caller["q"]).wrap_up if caller else 0
            result = self.run("agent_done", {
                "agent": agent_id, "token": token, "wrap_ms": int(wrap * 1000),
            }, scope="agent", agent_skills=agent.get("skills") or {})
            if result[0] == "free":
                self._place_offers(result[1])

    def callback_dialed(self, agent_id: str, token: str, dial_status: str) -> str:
        """The agent's dial to a callback customer ended; "reached", "retry" or "failed"."""
        return str(self.run("callback_result", {
            "agent": agent_id, "token": token, "status": dial_status,
            "max_tries": CALLBACK_TRIES, "spacing_ms": int(self.callback_spacing * 1000),
        }, scope="none"))

    def press_callback(self, call_sid: str) -> str:
        """A waiting caller pressed 1 for a call back ("ok", "busy" or "none")."""
        return str(self.run("callback", {"call": call_sid}, scope="none"))

    # --- timers ---------------------------------------------------------------

    def start(self) -> None:
        """Start this worker's timer thread (every worker runs one; leases make each fire once)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._timer_loop, name="ivr-acd-timers",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _timer_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_timers() == 0:
                    self._stopping.wait(TIMER_POLL)
            except Exception:  # keep the thread alive through Redis restarts and bugs
                log.exception("routing timers")
                self._stopping.wait(1.0)

    def run_timers(self, limit: int = 50) -> int:
        """Claim and fire due timers once; the number fired (tests call this directly)."""
        claimed = self.run("claim_timers", {"limit": limit,
                                            "lease_ms": int(TIMER_LEASE * 1000)}, scope="none")
        for i in range(0, len(claimed), 2):
            member, lease = claimed[i], claimed[i + 1]
            try:
                self._fire(member)
            except Exception:
                log.exception("timer %s failed; retried after its lease", member)
                continue
            self.run("timer_done", {"member": member, "lease": str(lease)}, scope="none")
        return len(claimed) // 2

    def _fire(self, member: str) -> None:
        kind, *args = member.split("|")
        if kind == "ring":
            self.offer_failed(args[0], args[1], "expired")
        elif kind == "wrap":
            self._place_offers(self.run("wrap_end", {"agent": args[0], "token": args[1]}))
        elif kind == "maxwait":
            self._max_wait(args[0])
        elif kind == "esc":
            self._place_offers(
                self.run("match_caller", {"call": args[0], "escalate": int(args[1])})
            )
        elif kind == "check":
            self._check_on_call(args[0], args[1])
        elif kind == "forget":
            raw = self.db.hget(keys.acd("callers"), args[0])
            if raw and json.loads(raw).get("st") in FINISHED:
                self.db.hdel(keys.acd("callers"), args[0])
                self.db.delete(keys.acd("inq", args[0]))
        elif kind in ("rematch", "cbretry"):
            self._place_offers(self.run("match_caller", {"call": args[0]}))
        else:
            log.warning("unknown timer %s", member)

    def _check_on_call(self, agent_id: str, token: str) -> None:
        """An agent on a call for a while: does Twilio still have that call? (A status
        callback lost while Redis was away would otherwise leave them on-call for good.)"""
        agent = self._agent(agent_id)
        if not agent or agent.get("state") != "on-call" or \
                (agent.get("offer") or {}).get("token") != token:
            return
        status = ""
        if agent.get("leg"):
            try:
                status = str(self.twilio.calls(agent["leg"]).fetch().status)
            except (TwilioException, OSError) as exc:
                log.info("checking %s's call %s: %s", agent_id, agent["leg"], exc)
        if status in FINAL_CALL_STATUSES:
            log.warning("%s's call %s ended without a status callback", agent_id, agent["leg"])
            self.agent_leg_status(agent_id, token, MultiDict({"CallStatus": status}))
        else:
            member = f"check|{agent_id}|{token}"
            self.db.zadd(keys.acd("timers"), {member: self.now_ms() + ON_CALL_CHECK * 1000})

    def _max_wait(self, call_sid: str) -> None:
        """Max wait passed: out of line now; the caller's next waitUrl fetch (due by then,
        see wait_twiml) answers <Leave/>, and the <Enqueue> action takes them on to the
        step's overflow (and counts it: queue_result). Why not a REST redirect: Twilio
        also posts the Enqueue action (QueueResult=redirected) for a redirected call, so
        the engine would see two continuations of one turn."""
        result = self.run("overflow", {"call": call_sid})
        if result[0] == "busy":  # an agent's phone rings for them: look again shortly
            self.db.zadd(keys.acd("timers"), {f"maxwait|{call_sid}": self.now_ms() + 5000})

    # --- waiting callers: what they hear ---------------------------------------------

    def position(self, caller: dict[str, Any]) -> int:
        """1 + callers of the same queue ahead (higher priority, or same and earlier)."""
        score = (100 - caller["p"]) * 10**13 + caller["t0"]
        pipe = self.db.pipeline(transaction=False)
        for key in self.buckets_of(caller["q"]):
            pipe.zcount(key, "-inf", score)  # ties (same millisecond) count as ahead
        ahead = sum(int(n) for n in pipe.execute())
        return ahead if caller.get("st") == "waiting" else ahead + 1

    def expected_wait(self, queue: str, position: int) -> float:
        """Seconds: position over agents logged in for the queue, times recent handle time."""
        handle = self.db.hget(keys.acd("aht"), queue)
        handle_s = float(handle) if handle else DEFAULT_HANDLE
        config = self.queue_config(queue)
        on_key = keys.acd("on", config.skills[0]) if config.skills else keys.acd("on", "*")
        agents = max(1, int(self.db.scard(on_key)))
        return math.ceil(position / agents) * handle_s

    def wait_twiml(self, call_sid: str, n: int) -> VoiceResponse:
        """The hold loop (Enqueue waitUrl): music, position and wait, the callback offer."""
        response = VoiceResponse()
        caller = self._caller(call_sid)
        if caller is not None and caller.get("st") == "waiting" and caller.get("dl") and \
                self.now_ms() >= caller["dl"] and caller.get("kind") == "call":
            self._max_wait(call_sid)  # the timer may not have fired yet
            caller = self._caller(call_sid)
        if caller is None or caller.get("st") in ("overflowing", "overflowed", "abandoned") \
                or caller.get("kind") == "callback":
            response.leave()
            return response
        config = self.queue_config(caller["q"])
        marker = keys.acd("inq", call_sid)
        now = self.clock()
        remaining = (caller["dl"] / 1000.0 - now) if caller.get("dl") else float("inf")
        last = self.db.get(marker)
        due = last is None or now - float(last) >= config.announce.every
        if due:
            self.db.set(marker, str(now), ex=86400)
        gather = response.gather(
            num_digits=1, action=self.url("/twilio/queue/key", call=call_sid, n=n),
            method="POST", timeout=1,
        ) if config.callback else None
        target: Any = gather if gather is not None else response
        if due and caller.get("st") == "waiting":
            parts = []
            position = self.position(caller)
            if config.announce.position:
                parts.append(f"You are number {position} in line.")
            if config.announce.wait_time:
                expected = spoken_wait(self.expected_wait(caller["q"], position))
                parts.append(f"Your expected wait is {expected}.")
            if parts:
                target.say(" ".join(parts))
        if config.callback and due:
            target.say("To hang up and be called back, keeping your place in line, press 1.")
        if config.hold_music and remaining > MUSIC_GUARD:
            music = config.hold_music
            if "://" not in music:
                music = self.url("/recordings/" + music.lstrip("/"))
            target.play(music)
        else:
            # Short pauses, never past the max wait: the next fetch is when they leave.
            chunk = min(config.announce.every, 20)
            if remaining != float("inf"):
                chunk = min(chunk, math.ceil(remaining))
            target.pause(length=max(1, int(chunk)))
        response.redirect(self.url("/twilio/queue/wait", call=call_sid, n=n + 1), method="POST")
        return response

    def in_twilio_queue(self, call_sid: str) -> bool:
        """Has Twilio started the caller's hold loop (so <Dial><Queue> will find them)?"""
        return bool(self.db.exists(keys.acd("inq", call_sid)))

    # --- statistics and the event log -------------------------------------------------

    def queue_stats(self, name: str) -> dict[str, Any]:
        """Live figures and today's (queue time zone) counters for one queue."""
        config = self.queue_config(name)
        now = self.clock()
        buckets = self.buckets_of(name)
        head = [m for key in buckets for m in self.db.zrange(key, 0, 49)]
        longest = 0.0
        if head:
            for raw in self.db.hmget(keys.acd("callers"), head):
                if raw:
                    longest = max(longest, now - json.loads(raw)["t0"] / 1000.0)
        by_status = dict.fromkeys(STATUSES, 0)
        by_state = dict.fromkeys(("idle", "offered", "on-call", "wrap-up"), 0)
        for agent in self._all_agents():
            if all(agent.get("skills", {}).get(s, 0) >= 1 for s in config.skills):
                by_status[agent["status"]] = by_status.get(agent["status"], 0) + 1
                if agent["status"] != "offline" or agent["state"] != "idle":
                    by_state[agent["state"]] = by_state.get(agent["state"], 0) + 1
        date = self.today(name)
        fields = ("offered", "answered", "abandoned", "overflowed", "callback",
                  "answered_in_sl", "wait_total", "talk_total", "completed", "missed",
                  "callback_reached", "callback_failed")
        values = self.db.hmget(keys.acd("stats"), [f"{name}|{date}|{f}" for f in fields])
        day = {f: int(v or 0) for f, v in zip(fields, values, strict=True)}
        return {
            "queue": name,
            "waiting": sum(int(self.db.zcard(key)) for key in buckets),
            "longest_wait": round(longest, 1),
            "agents_by_status": by_status,
            "agents_by_state": by_state,
            "date": date,
            "timezone": config.timezone,
            "offered": day["offered"],
            "answered": day["answered"],
            "abandoned": day["abandoned"],
            "overflowed": day["overflowed"],
            "called_back": day["callback"],
            "callbacks_reached": day["callback_reached"],
            "callbacks_failed": day["callback_failed"],
            "missed_offers": day["missed"],
            "service_level": (day["answered_in_sl"] / day["offered"]) if day["offered"] else None,
            "average_wait": (day["wait_total"] / day["answered"]) if day["answered"] else None,
            "average_talk": (day["talk_total"] / day["completed"]) if day["completed"] else None,
        }

    def all_queue_stats(self) -> list[dict[str, Any]]:
        return [self.queue_stats(q) for q in self._skills_and_queues()[1]]

    def events(
        self, queue: str | None = None, since_ms: int | None = None, count: int = 100
    ) -> list[dict[str, Any]]:
        """Queue events oldest first (after since_ms when given), optionally of one queue."""
        out: list[dict[str, Any]] = []
        start = f"({since_ms}-18446744073709551615" if since_ms is not None else "-"
        while len(out) < count:
            batch = self.db.xrange(keys.acd("events"), min=start, max="+", count=500)
            if not batch:
                break
            for event_id, fields in batch:
                if queue is None or fields.get("queue") == queue:
                    at = int(fields.get("at") or event_id.split("-")[0])
                    out.append({"id": event_id, "ts": at / 1000.0, **fields})
                    if len(out) >= count:
                        break
            start = f"({batch[-1][0]}"
        return out

    def rebuild_stats(self) -> dict[str, dict[str, int]]:
        """Daily counters recomputed from the event log: {"queue|date": {counter: n}}."""
        totals: dict[str, dict[str, int]] = {}
        seen_outcome: set[str] = set()
        start = "-"
        while True:
            batch = self.db.xrange(keys.acd("events"), min=start, max="+", count=1000)
            if not batch:
                break
            for event_id, f in batch:
                queue = f.get("queue")
                if not queue:
                    continue
                tz = ZoneInfo(self.queue_config(queue).timezone or "UTC")
                ts = int(f.get("at") or event_id.split("-")[0]) / 1000.0
                day = datetime.fromtimestamp(ts, tz).date().isoformat()
                bucket = totals.setdefault(f"{queue}|{day}", {})

                def bump(name: str, by: int = 1, bucket: dict[str, int] = bucket) -> None:
                    bucket[name] = bucket.get(name, 0) + by

                kind, call = f["type"], f.get("call", "")
                if kind == "abandon" and f.get("was") == "connected":
                    wait = int(f.get("wait", 0))
                    bump("answered", -1)
                    bump("wait_total", -wait)
                    if wait <= self.queue_config(queue).service_level:
                        bump("answered_in_sl", -1)
                    bump("abandoned")
                elif kind == "enter":
                    bump("offered")
                elif kind == "connect" and f.get("kind") != "callback":
                    if call not in seen_outcome:
                        seen_outcome.add(call)
                        bump("answered")
                        bump("wait_total", int(f.get("wait", 0)))
                        if int(f.get("wait", 0)) <= self.queue_config(queue).service_level:
                            bump("answered_in_sl")
                elif kind in ("abandon", "overflow", "callback") and call not in seen_outcome:
                    seen_outcome.add(call)
                    bump({"abandon": "abandoned", "overflow": "overflowed",
                          "callback": "callback"}[kind])
                elif kind == "complete":
                    bump("completed")
                    bump("talk_total", int(f.get("talk", 0)))
                elif kind == "miss":
                    bump("missed")
            start = f"({batch[-1][0]}"
        return totals

    def stored_stats(self) -> dict[str, dict[str, int]]:
        """The live daily counters in the same shape as rebuild_stats (for comparing)."""
        out: dict[str, dict[str, int]] = {}
        for field, value in self.db.hgetall(keys.acd("stats")).items():
            queue, day, name = field.rsplit("|", 2)
            out.setdefault(f"{queue}|{day}", {})[name] = int(value)
        return out

    # --- agents' self-service: texts and the phone line ------------------------------

    def handle_agent_sms(self, params: MultiDict[str, str]) -> str | None:
        """ON / OFF / BREAK / STATUS from an agent's registered phone; None for anyone else."""
        agent_id = self.agent_by_phone(params.get("From", ""))
        if agent_id is None:
            return None
        word = params.get("Body", "").strip().upper()
        wanted = {"ON": "available", "AVAILABLE": "available", "OFF": "offline",
                  "BREAK": "break"}.get(word)
        if wanted is not None:
            agent = self.set_agent_status(agent_id, wanted, source="sms")
        else:
            agent = next(a for a in self.agents() if a["id"] == agent_id)
            if word != "STATUS":
                return "Text ON to take calls, BREAK for a break, OFF to log out, STATUS to check."
        return self.describe(agent)

    def describe(self, agent: dict[str, Any]) -> str:
        status = {"available": "available for calls", "break": "on break",
                  "offline": "logged out"}[agent["status"]]
        text = f"{agent['name']}, you are {status}."
        if agent["state"] != "idle":
            text += {"offered": " A call is ringing for you.", "on-call": " You are on a call.",
                     "wrap-up": " You are wrapping up a call."}.get(agent["state"], "")
        return text

    def agent_line(self, params: MultiDict[str, str]) -> VoiceResponse | None:
        """An agent calling the service number from their own phone: PIN, then the menu."""
        agent_id = self.agent_by_phone(params.get("From", ""))
        if agent_id is None:
            return None
        agent = self._agent(agent_id) or {}
        if agent.get("pin"):
            return self._pin_prompt(agent_id, tries=0, greeting=f"Hello {agent.get('name')}.")
        return self._agent_menu(agent_id, n=0)

    def _pin_prompt(self, agent_id: str, *, tries: int, greeting: str) -> VoiceResponse:
        response = VoiceResponse()
        gather = response.gather(
            action=self.url("/twilio/agent/line", agent=agent_id, stage="pin", n=tries),
            method="POST", finish_on_key="#", timeout=8,
        )
        gather.say(f"{greeting} Please enter your PIN, then press pound.")
        response.say("Goodbye.")
        response.hangup()
        return response

    def _agent_menu(self, agent_id: str, *, n: int) -> VoiceResponse:
        agent = self._public_agent(self._agent(agent_id) or {})
        response = VoiceResponse()
        gather = response.gather(
            num_digits=1, method="POST", timeout=8,
            action=self.url("/twilio/agent/line", agent=agent_id, stage="menu", n=n),
        )
        gather.say(self.describe(agent) + " Press 1 to be available, 2 for a break, "
                   "3 to log out.")
        response.say("Goodbye.")
        response.hangup()
        return response

    def agent_line_step(self, params: MultiDict[str, str]) -> VoiceResponse:
        """The agent line's Gather actions (PIN, then menu choice)."""
        agent_id = params.get("agent", "")
        agent = self._agent(agent_id)
        # The PIN gates the menu: only the phone registered for this agent may use it.
        if agent is None or params.get("From", "").removeprefix("whatsapp:") != agent["phone"]:
            response = VoiceResponse()
            response.say("Sorry, this line is for agents only. Goodbye.")
            response.hangup()
            return response
        stage, n = params.get("stage"), int(params.get("n", "0") or 0)
        digits = params.get("Digits", "")
        if stage == "pin":
            if hmac.compare_digest(digits.encode(), str(agent.get("pin", "")).encode()):
                return self._agent_menu(agent_id, n=0)
            if n + 1 >= 3:
                response = VoiceResponse()
                response.say("Sorry, that PIN is not right. Goodbye.")
                response.hangup()
                return response
            return self._pin_prompt(agent_id, tries=n + 1, greeting="That PIN is not right.")
        choice = {"1": "available", "2": "break", "3": "offline"}.get(digits)
        if choice is None:
            if n + 1 >= 3:
                response = VoiceResponse()
                response.hangup()
                return response
            return self._agent_menu(agent_id, n=n + 1)
        updated = self.set_agent_status(agent_id, choice, source="phone")
        response = VoiceResponse()
        response.say(self.describe(updated) + " Goodbye.")
        response.hangup()
        return response


__all__ = ["Router", "UnknownAgent", "spoken_wait"]
