"""The core of the ACD: callers entering queues, offers to agents, acceptance, misses,
and how each caller's time in a queue ends.

Every decision is one Lua script (ivr/routing/scripts.py); this module feeds
them plain values, rings the phones of the agents they chose (phones.py), ends
the agents' calls of offers they withdrew, and turns their replies into what
the flow engine and the web layer need. It knows no HTTP: the webhooks
(ivr/webhooks/queue.py) hand it CallSids, tokens and Twilio's status words.

Bridging: each caller waits alone in a Twilio queue named by their CallSid
(`<Enqueue>`); the agent who presses 1 in the whisper answers
`<Dial><Conference>CallSid</Conference></Dial>`, and the same request moves the
caller out of their queue into that conference (REST Calls update to
/twilio/queue/join, as Twilio Flex does). docs/routing.md, "Conferences".
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal, NamedTuple

from ivr import keys, paths
from ivr.routing.env import Env
from ivr.routing.layout import KeyLayout, bucket_name
from ivr.routing.phones import CallGone, Phones, RingFailed
from ivr.routing.records import (
    FINAL_CALL_STATUSES,
    AgentRecord,
    CallerRecord,
    EndedLeg,
    EnterReply,
    NewCaller,
    Offer,
)
from ivr.routing.roster import Roster
from ivr.routing.scripts import Scripts

log = logging.getLogger("ivr.routing")

QueueOutcome = Literal["connected", "overflow", "callback", "abandoned", "error"]

MISS_REST = 10.0  # seconds a caller is not offered again to the agent who just missed them
CALLBACK_TRIES = 3
CALLBACK_SPACING = 120.0  # seconds between callback tries
MAX_WAIT_RETRY = 5.0  # seconds before max wait is tried again for a caller whose agent rings
JOIN_GRACE = 2.0  # seconds a conference's participant-join callback may lag a hang-up


class LiveOffer(NamedTuple):
    """An offer that is not over: the agent whose phone it rang, and the caller."""

    agent: AgentRecord
    caller: CallerRecord


class Acd:
    """Callers, offers and their outcomes (see module docstring)."""

    def __init__(self, env: Env, layout: KeyLayout, scripts: Scripts, roster: Roster,
                 phones: Phones, *, miss_rest: float = MISS_REST,
                 callback_spacing: float = CALLBACK_SPACING) -> None:
        self.env = env
        self.layout = layout
        self.scripts = scripts
        self.roster = roster
        self.phones = phones
        self.miss_rest = miss_rest
        self.callback_spacing = callback_spacing

    # --- callers --------------------------------------------------------------------

    def caller(self, caller_id: str) -> CallerRecord | None:
        raw = self.env.db.hget(keys.acd("callers"), caller_id)
        return CallerRecord.from_json(raw) if raw else None

    def caller_outcome(self, call_sid: str) -> str | None:
        """How a caller's time in a queue ended ("abandoned", "overflowed", ...), or None
        while they still wait, or when they never queued (or were forgotten after an hour)."""
        record = self.caller(call_sid)
        return record.finished if record is not None else None

    def enter_call(
        self, call_sid: str, *, queue: str, priority: int, skills: list[str],
        max_wait: int | None, caller: str, called: str, flow: str, step: str, action_url: str,
    ) -> bool:
        """Put a caller in a queue (idempotent per CallSid): True when they now hold, False
        for "overflow right now" (nobody logged in who could take them)."""
        self.roster.sync()
        reply = self._enter(
            call_sid, queue=queue, priority=priority, skills=skills, max_wait=max_wait,
            caller=caller, called=called, flow=flow, step=step, action_url=action_url,
            kind="call",
        )
        return not (reply.status == "overflow"
                    or (reply.status == "dup" and reply.state == "overflowed"))

    def _enter(
        self, caller_id: str, *, queue: str, priority: int, skills: list[str],
        max_wait: int | None, caller: str, called: str, flow: str, step: str,
        action_url: str, kind: str, out: str | None = None, entered_ms: int | None = None,
        via: str | None = None,
    ) -> EnterReply:
        config = self.env.queue_config(queue)
        now = self.env.now_ms()
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
        self.layout.register_buckets(needed)
        wait_limit = max_wait if max_wait is not None else config.max_wait
        if kind == "call" and wait_limit:
            timers.append([now + wait_limit * 1000, f"maxwait|{caller_id}"])
        record = NewCaller(
            id=caller_id, queue=queue, priority=max(0, min(99, int(priority))),
            entered_ms=min(now, entered_ms) if entered_ms is not None else now,
            skills=required, level=level, strategy=config.strategy,
            ring_timeout=config.ring_timeout, service_level=config.service_level, kind=kind,
            number=caller, service_number=called, flow=flow, step=step, action_url=action_url,
            escalation=steps, outcome=out, via=via,
            deadline_ms=now + wait_limit * 1000 if kind == "call" and wait_limit else None,
        )
        touched = {*required, *(s for st in steps for s in st["skills"])}
        reply = self.scripts.enter(
            record, timers=timers, overflow_if_nobody=kind == "call",
            reach=steps[-1] if steps else {"skills": required, "lvl": level}, touched=touched,
        )
        if reply.status == "queued":
            self.place_offers(reply.offers)
        return reply

    def request_callback(
        self, number: str, *, queue: str, service_number: str, channel: str = "sms",
        entered_ms: int | None = None,
    ) -> int:
        """A texter asks to be called back (or a supervisor calls back an abandoned caller):
        they join the queue as a callback; their position. `entered_ms`: the place in line
        they keep (an abandoned caller's original arrival), else now."""
        self.roster.sync()
        caller_id = f"cb-{uuid.uuid4().hex[:16]}"
        self._enter(
            caller_id, queue=queue, priority=0, skills=[], max_wait=None, caller=number,
            called=service_number, flow="", step="", action_url="", kind="callback",
            out="callback", entered_ms=entered_ms, via=channel,
        )
        record = self.caller(caller_id)
        return self.position(record) if record else 1

    def position(self, caller: CallerRecord) -> int:
        """1 + callers of the same queue ahead (higher priority, or same and earlier)."""
        score = (100 - caller.priority) * 10**13 + caller.entered_ms
        pipe = self.env.db.pipeline(transaction=False)
        for key in self.layout.buckets_of(caller.queue):
            pipe.zcount(key, "-inf", score)  # ties (same millisecond) count as ahead
        ahead = sum(int(n) for n in pipe.execute())
        return ahead if caller.state == "waiting" else ahead + 1

    def queue_result(self, call_sid: str, queue_result: str) -> QueueOutcome:
        """What became of a caller when Twilio's <Enqueue> action arrives (QueueResult)."""
        record = self.caller(call_sid)
        if record is None:
            return "error"
        state = record.state
        if state == "overflowed":
            return "overflow"
        if state == "overflowing" and queue_result != "hangup":
            self.scripts.overflow(call_sid, final=True)
            return "overflow"
        if record.kind == "callback":
            return "callback"
        if state in ("connected", "done"):
            # QueueResult hangup: they hung up just as the agent accepted, never bridged.
            if queue_result == "hangup" and self.caller_missed(call_sid):
                return "abandoned"
            return "connected"
        if state == "abandoned" or queue_result == "hangup":
            self._caller_gone(call_sid)
            return "abandoned"
        # Twilio could not keep them in the queue: take them out as an overflow.
        if queue_result in ("queue-full", "error", "system-error", "leave", "redirected") \
                and self.scripts.overflow(call_sid, final=True).verdict == "overflow":
            return "overflow"
        return "error"

    def call_ended(self, call_sid: str, call_status: str) -> None:
        """A caller's call ended: waiting or ringing an agent means abandoned, offer cancelled;
        connected during a consult: the consult's target call is ended."""
        if call_status not in FINAL_CALL_STATUSES or not call_sid:
            return
        record = self.caller(call_sid)
        if record is None or record.kind == "callback":
            return
        if record.state == "overflowing":
            # Told to <Leave/> (max wait): Twilio posts the <Enqueue> action, QueueResult
            # leave (they left: overflowed) or hangup (abandoned), and it may reach us
            # after this callback (another worker). Let it decide; if it never comes, an
            # abandon (Timers: leavecheck).
            self._look_again("leavecheck", call_sid)
        elif record.state in ("waiting", "offered"):
            self._caller_gone(call_sid)
        elif record.state in ("connected", "done") and record.conference:
            # in the conference: a consult going on ends with the call, and its target's
            # call with it (still ringing: cancelled, never joining an empty conference)
            self._caller_gone(call_sid)
        elif record.state == "connected" and not record.conference:
            if not record.joined:
                self.caller_missed(call_sid)  # moved out of the queue, never reached the agent
            else:
                # They fetched the conference; did they enter it? Its participant-join
                # callback may still be on its way (Twilio posts it asynchronously): look
                # again shortly (Timers: joincheck).
                self._look_again("joincheck", call_sid)

    def _look_again(self, check: str, call_sid: str) -> None:
        """A timer (Timers: joincheck, leavecheck) that looks at a caller again once the
        callback that may lag a hang-up (JOIN_GRACE) has had time to arrive."""
        due = self.env.now_ms() + int(JOIN_GRACE * 1000)
        self.env.db.zadd(keys.acd("timers"), {f"{check}|{call_sid}": due})

    def leave_check(self, call_sid: str) -> None:
        """A caller told to leave the line has hung up, and no <Enqueue> action said how
        they left: abandoned (caller_gone.lua)."""
        record = self.caller(call_sid)
        if record is not None and record.state == "overflowing":
            self._caller_gone(call_sid)

    def join_check(self, call_sid: str) -> None:
        """A caller who fetched the conference has hung up: no participant-join reported
        by now means they never entered it (an abandon, and the agent is told)."""
        record = self.caller(call_sid)
        if record is not None and record.state == "connected" and not record.conference:
            self.caller_missed(call_sid)

    def caller_missed(self, call_sid: str, *, tell_agent: bool = True) -> bool:
        """The caller hung up as the agent accepted, before joining the agent's conference:
        an abandon (was=connected, once: unconnect.lua), or, for a caller answered before
        a transfer, the end of a call that stays connected; either way the agent, alone in
        the conference, is told so and their call ended. True if an abandon was counted
        now."""
        verdict = self.scripts.unconnect(call_sid)
        if verdict not in ("abandoned", "ended"):
            return False
        if tell_agent:
            record = self.caller(call_sid)
            agent = self.roster.record(record.agent) if record and record.agent else None
            if agent is not None and agent.offer is not None and agent.offer.call == call_sid:
                self.phones.say_and_end(agent.leg, "Sorry, the caller has hung up.")
        return verdict == "abandoned"

    # --- the conference ----------------------------------------------------------

    def continuation(self, call_sid: str, via: str, queue_result: str,
                     generation: str = "") -> str:
        """An <Enqueue> action (via "queue") or the caller's conference <Dial> action (via
        "conf"): "resume" the flow, or "ignore" it. Ignored: QueueResult=redirected of a
        caller we moved into their agent's conference ourselves (Twilio posts the Enqueue
        action for a call moved by REST too; the flow goes on once, after the conference)."""
        if via == "queue" and queue_result == "redirected":
            record = self.caller(call_sid)
            if record is not None and record.agent is not None:
                return "ignore"
        elif via == "conf":
            # the Dial action of a conference the caller was moved out of (a transfer back
            # into a line, or a later connection): not the end of their call
            record = self.caller(call_sid)
            if record is not None and (record.state not in ("connected", "done")
                                       or str(record.generation) != generation):
                return "ignore"
        return "resume"

    def join(self, call_sid: str) -> tuple[str, str, int]:
        """The caller fetched the conference (join.lua): ("ok" | "done" | "gone", their
        Enqueue action url, the connection's generation)."""
        return self.scripts.join(call_sid)

    def conference_event(self, call_sid: str, event: str, participant: str, conference: str,
                         seq: int) -> None:
        """A status callback of the caller's conference (conf_event.lua)."""
        reply = self.scripts.conf_event(call_sid, event, participant, conference, seq)
        if reply[0] == "end" and len(reply) > 1:
            # the agent hung up before the caller got in: end it, the caller's Dial ends
            self.phones.end_conference(reply[1])

    def _caller_gone(self, call_sid: str) -> None:
        self.end_legs(self.scripts.caller_gone(call_sid).withdrawn)

    def max_wait(self, call_sid: str) -> None:
        """Max wait passed: out of line now; the caller's next waitUrl fetch (due by then,
        see hold.py) answers <Leave/>, and the <Enqueue> action takes them on to the
        step's overflow (and counts it: queue_result). Why not a REST redirect: Twilio
        also posts the Enqueue action (QueueResult=redirected) for a redirected call, so
        the engine would see two continuations of one turn."""
        if self.scripts.overflow(call_sid).verdict == "busy":
            # an agent's phone rings for them: look again shortly
            due = self.env.now_ms() + int(MAX_WAIT_RETRY * 1000)
            self.env.db.zadd(keys.acd("timers"), {f"maxwait|{call_sid}": due})

    def press_callback(self, call_sid: str) -> str:
        """A waiting caller pressed 1 for a call back: "ok", "busy" (an agent's phone rings
        for them) or "none" (not waiting, or their queue offers no callbacks)."""
        record = self.caller(call_sid)
        if record is None or not self.env.queue_config(record.queue).callback:
            return "none"
        return self.scripts.callback(call_sid)

    def callback_dialed(self, agent_id: str, token: str, dial_status: str) -> str:
        """The agent's dial to a callback customer ended; "reached", "retry" or "failed"."""
        return self.scripts.callback_result(
            agent_id, token, dial_status, max_tries=CALLBACK_TRIES,
            spacing_ms=int(self.callback_spacing * 1000),
        )

    # --- offers ----------------------------------------------------------------------

    def place_offers(self, offers: list[Offer]) -> None:
        """Ring each chosen agent's phone (REST); a failed call is a miss at once."""
        for offer in offers:
            config = self.env.queue_config(offer.queue)
            try:
                leg = self.phones.ring(offer, ring_timeout=config.ring_timeout)
            except RingFailed as exc:
                log.warning("offer of %s to %s: REST call failed: %s",
                            offer.caller_id, offer.agent_id, exc)
                self.offer_failed(offer.agent_id, offer.token, "failed")
                continue
            log.info("offered %s call %s to %s (%s)", offer.kind, offer.caller_id,
                     offer.agent_id, leg)
            self.scripts.set_leg(offer.agent_id, offer.token, leg)

    def end_legs(self, withdrawn: list[EndedLeg]) -> None:
        for ended in withdrawn:
            self.phones.end(ended.leg)

    def offer(self, agent_id: str, token: str) -> LiveOffer | None:
        """The agent and caller of a live offer, or None when that offer is over."""
        agent = self.roster.record(agent_id)
        if agent is None or agent.offer is None or agent.offer.token != token:
            return None
        caller = self.caller(agent.offer.call)
        return LiveOffer(agent, caller) if caller is not None else None

    def set_leg(self, agent_id: str, token: str, leg: str) -> bool:
        """Remember the CallSid of the agent's call of this offer (False: the offer is over)."""
        return self.scripts.set_leg(agent_id, token, leg)

    def offer_failed(self, agent_id: str, token: str, reason: str) -> None:
        """Decline, no answer, busy, failed or expired: a miss; the caller keeps their place."""
        max_missed = 2
        pending = self.offer(agent_id, token)
        if pending is not None:
            max_missed = self.env.queue_config(pending.caller.queue).max_missed
        reply = self.scripts.miss(agent_id, token, reason, max_missed=max(1, max_missed),
                                  rest_ms=int(self.miss_rest * 1000))
        if reply.verdict not in ("missed", "released"):
            return
        if reason == "expired":
            self.phones.end(reply.leg)
        if reply.on_break:
            self._tell_agent_on_break(agent_id, reply.caller_id, max_missed)
        self.place_offers(reply.offers)

    def _tell_agent_on_break(self, agent_id: str, caller_id: str, misses: int) -> None:
        agent = self.roster.record(agent_id)
        if agent is None:
            return
        caller = self.caller(caller_id)
        service = (caller.service_number if caller else "") or self._any_service_number()
        body = (f"You missed {misses} calls in a row, so we put you on break. "
                "Text ON when you are ready for calls again.")
        if not self.phones.text(to=agent.phone, from_=service, body=body):
            log.warning("could not text %s about their break", agent_id)

    def _any_service_number(self) -> str:
        for flow in self.env.config().flows.values():
            for number in flow.numbers:
                if number != "*":
                    return number
        return ""

    def accept(self, agent_id: str, token: str) -> tuple[str, CallerRecord | None]:
        """The agent pressed 1: ("ok", caller) if they won the caller, ("hungup", caller) if
        the caller's call had ended as they did (Twilio refused to move it), else ("gone" or
        "stale", None)."""
        reply = self.scripts.accept(agent_id, token)
        if reply.verdict != "ok":
            return reply.verdict, None
        self.end_legs(reply.withdrawn)
        caller = self.caller(reply.caller_id)
        if caller is not None and caller.kind == "call":
            # Out of their <Enqueue> hold loop into the agent's conference.
            try:
                self.phones.move(caller.id, self.env.url(paths.QUEUE_JOIN, call=caller.id))
            except CallGone:
                self.caller_missed(caller.id, tell_agent=False)  # the webhook tells the agent
                return "hungup", caller
        return "ok", caller

    def agent_leg_status(self, agent_id: str, token: str, call_status: str,
                         call_sid: str = "") -> None:
        """Status callback of a call placed to an agent: remember its sid, end the offer or
        the call (wrap-up, or free and matched at once)."""
        if call_status not in FINAL_CALL_STATUSES:
            if call_sid:
                self.scripts.set_leg(agent_id, token, call_sid)
            return
        agent = self.roster.record(agent_id)
        if agent is None or not agent.holds(token):
            return
        if agent.state == "offered":
            self.offer_failed(agent_id, token,
                              "declined" if call_status == "completed" else call_status)
        elif agent.state == "on-call" and agent.offer is not None:
            caller = self.caller(agent.offer.call)
            answered = agent.offer.queue or (caller.queue if caller else "")
            wrap = self.env.queue_config(answered).wrap_up if answered else 0
            reply = self.scripts.agent_done(agent_id, token, wrap_ms=int(wrap * 1000),
                                            skills=agent.skills)
            self.end_legs(reply.ended)  # a consult's target: the call is over
            self.place_offers(reply.offers)
