"""What the routing load tests share: the call-flow folder, gunicorn workers with the
simulator playing Twilio, the crowd of agents and callers, and the checks that read the
simulator's own record (what Twilio would have seen), never the server's word.

`test_load.py` runs the crowd alone; `test_load_conference.py` adds call controls
through the JSON API while it runs.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from ivr import keys
from ivr.routing.records import CallerRecord
from ivr.sim.harness import run_gunicorn
from ivr.sim.people import Caller, Hangup, Input, Phone
from ivr.sim.twilio import SimCall, TwilioSim
from ivr.store import connect
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

SERVICE = "+15005550006"
AGENT_PHONE = "+150055502{:02d}"
CALLER_PHONE = "+1555300{:04d}"
OVERFLOW_TEXT = "Sorry, nobody can take your call right now."

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: sales
steps:
  sales:
    queue: sales
    overflow: sorry
  sorry:
    hangup: "{OVERFLOW_TEXT}"
"""
QUEUES = """
sales:
  skills: [sales]
  strategy: longest-idle
  ring_timeout: 8
  max_wait: {max_wait}
  wrap_up: 0
  max_missed: 3
  callback: true
  announce: {{position: true, wait_time: true, every: 10}}
"""


def write_folder(path: Path, agents: int, max_wait: int, more_queues: str = "") -> Path:
    """The sales flow, its queue (plus `more_queues`, YAML) and `agents` agents who all
    have the sales skill."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "main.yaml").write_text(MAIN)
    (path / "queues.yaml").write_text(QUEUES.format(max_wait=max_wait) + more_queues)
    (path / "agents.yaml").write_text("".join(
        f'agent{i:02d}:\n  name: Agent {i}\n  phone: "{AGENT_PHONE.format(i)}"\n'
        f"  skills: {{sales: {1 + i % 5}}}\n" for i in range(agents)))
    return path


class Cluster:
    """gunicorn workers on the callflows folder, and the simulator playing Twilio."""

    def __init__(self, redis_url: str, callflows: Path, workers: int, log: Path,
                 env: dict[str, str] | None = None) -> None:
        self.sim = TwilioSim(account_sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN,
                             time_scale=0.01)
        self.sim.start()
        self.server = run_gunicorn("wsgi:app", workers=workers, threads=8, env={
            "REDIS_URL": redis_url, "TWILIO_API_URL": self.sim.api_url,
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "IVR_CALLFLOWS": str(callflows), "IVR_RECORDINGS": str(callflows.parent),
            **(env or {}),
        }, cwd=str(Path(__file__).resolve().parents[2]), log_path=log, timeout=60,
            # The simulator keeps connections alive; gunicorn's 2 s default closes idle ones
            # just as a request may be sent on them (a client-side race, not an app error).
            extra_args=["--keep-alive", "60"])
        self.sim.app_url = self.server.url

    def stop(self) -> None:
        self.sim.stop()
        self.server.stop()


def caller_of_offer(url: str) -> str:
    """The caller an offer was for: its token (in the whisper URL) starts with the CallSid."""
    return parse_qs(urlparse(url).query)["token"][0].split(".")[0]


def agents_on(sim: TwilioSim, rng: random.Random, lock: threading.Lock, n: int = 20) -> None:
    """`n` agents log in by text; their phones answer, ring out or are busy, and at the
    whisper they accept, decline or hang up, at random (`rng`, shared under `lock` by the
    simulator's threads)."""
    def ring(_sid: str, _from: str, _to: str) -> Any:
        with lock:
            return rng.choices(["answer", "no-answer", "busy"], [80, 12, 8])[0]

    def agent_keys(_kind: str, _info: dict[str, str]) -> Input:
        with lock:
            return rng.choices(["1", "9", Hangup()], [85, 10, 5])[0]  # type: ignore[return-value]

    for i in range(n):
        phone = AGENT_PHONE.format(i)
        sim.phones[phone] = Phone(on_ring=ring, live=agent_keys, ring_delay=rng.uniform(1, 6),
                                  hangup_after=rng.uniform(100, 700))
        assert "available" in sim.send_sms(phone, SERVICE, "ON")[0]


def place_callers(sim: TwilioSim, rng: random.Random, run: int, n: int = 200,
                  first: int = 0) -> tuple[list[SimCall], dict[str, str]]:
    """`n` callers, a few hundredths of a second apart: patient, impatient, or asking to
    be called back. Returns the calls and what each number's script does. `first`: the
    index of the first caller's number within the run (numbers never repeat in a run)."""
    calls = []
    callers: dict[str, str] = {}  # number -> what the script does
    for i in range(first, first + n):
        number = CALLER_PHONE.format(run * 1000 + i)
        kind = rng.choices(["patient", "impatient", "callback"], [75, 18, 7])[0]
        callers[number] = kind
        # (times are simulated seconds: 100 of them are one real second)
        if kind == "callback":
            sim.phones[number] = Phone(hangup_after=rng.uniform(50, 200))
            person = Caller(inputs=["1"], talk_for=rng.uniform(100, 700))
        elif kind == "impatient":
            person = Caller(hangup_after=rng.uniform(100, 1500), talk_for=rng.uniform(100, 700))
        else:
            person = Caller(talk_for=rng.uniform(100, 700))
        calls.append(sim.place_call(number, SERVICE, person))
        time.sleep(rng.uniform(0.0, 0.06))
    return calls, callers


def told_leave(sim: TwilioSim) -> set[str]:
    """The callers for whom Twilio posted the <Enqueue> action with QueueResult=leave."""
    return {e.params.get("CallSid", "") for e in sim.record.exchanges
            if e.params.get("QueueResult") == "leave"}


def outcome(sim: TwilioSim, snap: dict[str, Any], call: SimCall, kind: str,
            left: set[str]) -> str:
    """How a caller who entered the line once ended, from the simulator's record, with the
    checks that this way fits: connected (one conference), overflowed, called back or
    abandoned. `left`: told_leave(sim)."""
    rec = snap["calls"][call.sid]
    entries = rec.queue_entries
    assert len(entries) == 1, (call.sid, entries)
    result = entries[0][3]
    # connected: moved out of the queue (QueueResult redirected) into the agent's
    # conference, where they talked (docs/routing.md, "Conferences")
    talks = [b for b in rec.bridges if b.kind == "conference"]
    said = " ".join(call.said())
    if talks:
        assert result == "redirected", (call.sid, result)
        assert len(talks) == 1
        return "connected"
    if result == "leave" and kind != "callback" and call.sid not in left:
        # taken out of line for the overflow, they hung up before Twilio posted the
        # <Enqueue> action: the server never heard they left, only that they hung up: an
        # abandon (docs/routing.md, "Max wait")
        assert kind == "impatient", call.sid
        return "abandoned"
    if result == "leave" and kind != "callback":
        # (an impatient one may hang up before the goodbye)
        assert OVERFLOW_TEXT in said or kind == "impatient"
        return "overflowed"
    if result == "leave":
        # called back: an agent's call dialled them from the service number
        back = sim.record.calls_to(call.leg.from_)
        assert back and back[0].from_ == SERVICE, call.leg.from_
        return "callback"
    # hung up while waiting, or on the way to the agent who had just accepted
    assert result in ("hangup", "redirected"), (call.sid, result)
    return "abandoned"


def assert_first_offers_in_arrival_order(redis_url: str, snap: dict[str, Any]) -> None:
    """Same priority: first offers follow arrival order (0.5 s apart or more). Both
    orders are the routing's own, read from its event log: when a caller entered the
    line (the decision's clock), and the order of its offer decisions. The simulator's
    view of either lags the decision by however long the webhook's answer or the
    offer's REST call took to arrive, half a second at times on a loaded machine."""
    entered: dict[str, float] = {}
    first_offer: dict[str, int] = {}
    with connect(redis_url) as check:
        for n, (_id, event) in enumerate(check.xrange(keys.acd("events"))):
            if event.get("type") == "enter":
                entered.setdefault(event["call"], int(event["at"]) / 1000.0)
            elif event.get("type") == "offer":
                first_offer.setdefault(event["call"], n)
    whispered = {caller_of_offer(req.params.get("Url", [""])[0])
                 for req in snap["rest_requests"]
                 if req.method == "POST" and req.path.endswith("/Calls.json")
                 and "/twilio/agent/whisper" in req.params.get("Url", [""])[0]}
    assert whispered <= set(first_offer), whispered - set(first_offer)
    offered = sorted((entered[s], first_offer[s], s) for s in first_offer if s in entered)
    assert len(offered) > 50, len(offered)
    for i, (arrived, offered_at, sid) in enumerate(offered):
        for later_arrival, later_offer, later in offered[i + 1:]:
            if later_arrival - arrived > 0.5:
                assert later_offer >= offered_at, (sid, later)


def assert_outcomes_agree(redis_url: str, lived: dict[str, str]) -> None:
    """Each caller's outcome on the server is the one the simulator saw them live (named,
    with the routing's events for them, when they disagree)."""
    with connect(redis_url) as check:
        said_by_server = {sid: CallerRecord.from_json(raw).outcome
                          for sid, raw in check.hgetall(keys.acd("callers")).items()}
        log = [event for _id, event in check.xrange(keys.acd("events"))]
    disagree = {sid: (way, said_by_server.get(sid), [e for e in log if e.get("call") == sid])
                for sid, way in lived.items() if said_by_server.get(sid, way) != way}
    assert disagree == {}, disagree


def stats_totals(redis_url: str) -> dict[str, int]:
    """The routing's own counters of the day, summed over every queue."""
    with connect(redis_url) as check:
        fields = check.hgetall("ivr:{acd}:stats")
    totals: dict[str, int] = {}
    for name, value in fields.items():
        counter = name.rsplit("|", 1)[1]
        totals[counter] = totals.get(counter, 0) + int(value)
    return totals
