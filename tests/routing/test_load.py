"""Load: 200 callers, 20 agents answering, declining, ringing out and hanging up at random,
against 4 gunicorn workers sharing one Redis. Every check reads the simulator's own record
(what Twilio would have seen), never the server's word.

And: Redis restarted (persisted) while callers wait loses none of them.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import redis

from ivr import keys
from ivr.routing.records import CallerRecord
from ivr.sim.harness import run_gunicorn
from ivr.sim.people import Caller, Hangup, Input, Phone
from ivr.sim.twilio import TwilioSim
from ivr.store import EmbeddedRedis, connect
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


def write_folder(path: Path, agents: int, max_wait: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "main.yaml").write_text(MAIN)
    (path / "queues.yaml").write_text(QUEUES.format(max_wait=max_wait))
    (path / "agents.yaml").write_text("".join(
        f'agent{i:02d}:\n  name: Agent {i}\n  phone: "{AGENT_PHONE.format(i)}"\n'
        f"  skills: {{sales: {1 + i % 5}}}\n" for i in range(agents)))
    return path


class Cluster:
    """gunicorn workers on the callflows folder, and the simulator playing Twilio."""

    def __init__(self, redis_url: str, callflows: Path, workers: int, log: Path) -> None:
        self.sim = TwilioSim(account_sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN,
                             time_scale=0.01)
        self.sim.start()
        self.server = run_gunicorn("wsgi:app", workers=workers, threads=8, env={
            "REDIS_URL": redis_url, "TWILIO_API_URL": self.sim.api_url,
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "IVR_CALLFLOWS": str(callflows), "IVR_RECORDINGS": str(callflows.parent),
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


@pytest.mark.load
@pytest.mark.parametrize("run", [1, 2, 3])
def test_200_callers_20_agents_4_workers(run: int, redis_url: str, r: redis.Redis,
                                        tmp_path: Path) -> None:
    rng = random.Random(run)
    callflows = write_folder(tmp_path / "callflows", agents=20, max_wait=12)
    cluster = Cluster(redis_url, callflows, workers=4, log=tmp_path / "gunicorn.log")
    sim = cluster.sim
    lock = threading.Lock()
    try:
        def ring(_sid: str, _from: str, _to: str) -> Any:
            with lock:
                return rng.choices(["answer", "no-answer", "busy"], [80, 12, 8])[0]

        def agent_keys(_kind: str, _info: dict[str, str]) -> Input:
            with lock:
                return rng.choices(["1", "9", Hangup()], [85, 10, 5])[0]  # type: ignore[return-value]

        for i in range(20):
            phone = AGENT_PHONE.format(i)
            sim.phones[phone] = Phone(on_ring=ring, live=agent_keys, ring_delay=rng.uniform(1, 6),
                                      hangup_after=rng.uniform(100, 700))
            assert "available" in sim.send_sms(phone, SERVICE, "ON")[0]
        calls = []
        callers: dict[str, str] = {}  # number -> what the script does
        for i in range(200):
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
        for call in calls:
            call.wait(180)
        sim.wait_idle(180)

        snap = sim.record.snapshot()
        # no 5xx, and TwiML the simulator accepted
        assert [e for e in sim.record.exchanges if e.status >= 500] == []
        assert sim.errors == []
        # 1. no agent ever had two offers at once; and every agent was offered calls
        for i in range(20):
            assert sim.record.overlapping_offers(AGENT_PHONE.format(i)) == []
            assert sim.record.calls_to(AGENT_PHONE.format(i)), f"agent{i:02d} never offered"
        # 2 and 4. every caller entered once and ended one way; connected at most once
        outcomes: dict[str, int] = {}
        lived: dict[str, str] = {}
        told_leave = {e.params.get("CallSid") for e in sim.record.exchanges
                      if e.params.get("QueueResult") == "leave"}
        for call in calls:
            rec = snap["calls"][call.sid]
            entries = rec.queue_entries
            assert len(entries) == 1, (call.sid, entries)
            result = entries[0][3]
            # connected: moved out of the queue (QueueResult redirected) into the agent's
            # conference, where they talked (docs/routing.md, "Conferences")
            talks = [b for b in rec.bridges if b.kind == "conference"]
            said = " ".join(call.said())
            if talks:
                outcome = "connected"
                assert result == "redirected", (call.sid, result)
                assert len(talks) == 1
            elif result == "leave" and callers[call.leg.from_] != "callback" \
                    and call.sid not in told_leave:
                # taken out of line for the overflow, they hung up before Twilio posted the
                # <Enqueue> action: the server never heard they left, only that they hung
                # up: an abandon (docs/routing.md, "Max wait")
                assert callers[call.leg.from_] == "impatient", call.sid
                outcome = "abandoned"
            elif result == "leave" and callers[call.leg.from_] != "callback":
                outcome = "overflowed"  # (an impatient one may hang up before the goodbye)
                assert OVERFLOW_TEXT in said or callers[call.leg.from_] == "impatient"
            elif result == "leave":
                outcome = "callback"
                # called back: an agent's call dialled them from the service number
                back = sim.record.calls_to(call.leg.from_)
                assert back and back[0].from_ == SERVICE, call.leg.from_
            else:
                # hung up while waiting, or on the way to the agent who had just accepted
                assert result in ("hangup", "redirected"), (call.sid, result)
                outcome = "abandoned"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            lived[call.sid] = outcome
        print("outcomes", run, outcomes)
        # each caller's outcome on the server is the one the simulator saw them live
        # (named, with the routing's events for them, when they disagree)
        with connect(redis_url) as check:
            said_by_server = {sid: CallerRecord.from_json(raw).outcome
                              for sid, raw in check.hgetall(keys.acd("callers")).items()}
            log = [event for _id, event in check.xrange(keys.acd("events"))]
        disagree = {sid: (outcome, said_by_server.get(sid),
                          [e for e in log if e.get("call") == sid])
                    for sid, outcome in lived.items()
                    if said_by_server.get(sid, outcome) != outcome}
        assert disagree == {}, disagree
        assert outcomes.get("connected", 0) > 50, outcomes
        assert outcomes.get("abandoned", 0) + outcomes.get("overflowed", 0) > 0, outcomes
        # 3. same priority: first offers follow arrival order (0.5 s apart or more). Both
        # orders are the routing's own, read from its event log: when a caller entered the
        # line (the decision's clock), and the order of its offer decisions. The simulator's
        # view of either lags the decision by however long the webhook's answer or the
        # offer's REST call took to arrive, half a second at times on a loaded machine.
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
        # the server's statistics agree with the simulator's record
        with connect(redis_url) as check:
            fields = check.hgetall("ivr:{acd}:stats")
        totals: dict[str, int] = {}
        for name, value in fields.items():
            counter = name.rsplit("|", 1)[1]
            totals[counter] = totals.get(counter, 0) + int(value)
        assert totals.get("offered") == 200
        assert totals.get("answered", 0) == outcomes.get("connected", 0)
        assert totals.get("abandoned", 0) == outcomes.get("abandoned", 0)
        assert totals.get("overflowed", 0) == outcomes.get("overflowed", 0)
        assert totals.get("callback", 0) == outcomes.get("callback", 0)
    finally:
        cluster.stop()


@pytest.mark.load
def test_redis_restart_while_callers_wait_loses_none(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    callflows = write_folder(tmp_path / "callflows", agents=2, max_wait=0)
    cluster = Cluster(url, callflows, workers=2, log=tmp_path / "gunicorn.log")
    sim = cluster.sim
    try:
        for i in range(2):
            sim.phones[AGENT_PHONE.format(i)] = Phone(inputs=["1"] * 20, hangup_after=5)
            sim.send_sms(AGENT_PHONE.format(i), SERVICE, "BREAK")
        calls = [sim.place_call(CALLER_PHONE.format(i), SERVICE, Caller(talk_for=5))
                 for i in range(10)]
        store = connect(url)
        deadline = time.monotonic() + 30
        # in line in Redis, and holding as the simulator sees it: the server decides
        # before its answer (the <Enqueue>) reaches the caller, and a restart in between
        # would cut that answer off rather than test a caller waiting through it
        while sum(int(store.zcard(k)) for k in store.keys("ivr:{acd}:wait:*")) < 10 \
                or not all(c.record.queue_entries for c in calls):
            assert time.monotonic() < deadline, "callers did not all reach the queue"
            time.sleep(0.05)
        server.stop()  # SHUTDOWN SAVE: the append-only file has everything
        time.sleep(1.0)  # callers keep holding meanwhile
        server.start()
        for i in range(2):
            assert "available" in sim.send_sms(AGENT_PHONE.format(i), SERVICE, "ON")[0]
        for call in calls:
            call.wait(120)
        connected = [c for c in calls if any(b.kind == "conference" for b in c.record.bridges)]
        log = (tmp_path / "gunicorn.log").read_text()
        assert len(connected) == 10, "\n".join(
            [str(e) for e in calls[0].transcript]
            + [line for line in log.splitlines() if "fault" in line or "Error" in line][:20])
        assert [e for e in sim.record.exchanges if e.status >= 500] == []
    finally:
        cluster.stop()
        server.stop()
