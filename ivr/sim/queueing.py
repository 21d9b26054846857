"""Twilio's queues on the caller's side: Enqueue (the waitUrl loop, Leave, being
dequeued) and the bridge a dequeued caller talks in."""

from __future__ import annotations

import time
from xml.etree import ElementTree as ET

from ivr.sim.documents import absolute, run_nested, text_of
from ivr.sim.legs import Dequeued, HungUp, Interrupt, Leg, Redirected, Source
from ivr.sim.records import Bridge
from ivr.sim.switch import Handoff, Member

DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/index.xml"


class LeaveQueue(Exception):
    """<Leave> ran inside a waitUrl document."""


def leave(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/leave — out of the queue, after the <Enqueue>."""
    leg.note("leave")
    if mode == "wait":
        raise LeaveQueue()
    return None  # outside a queue there is nothing to leave


# --- bridges --------------------------------------------------------------------------


def stay_in_bridge(
    leg: Leg, bridge: Bridge, peers: list[Leg], time_limit: float | None = None
) -> None:
    """Talk until someone hangs up: our own hangup (or redirect) ends it for the peers too.

    `time_limit` (Dial's timeLimit, simulated seconds) ends the talk from this side.
    """
    leg.note("connected", [p.to if p.direction != "inbound" else p.from_ for p in peers])
    saved = leg.hangup_at
    leg.hang_up_in(leg.talk_limit)
    try:
        ok = leg.wait_until(lambda: bridge.ended is not None, time_limit)
        if not ok and time_limit is not None and bridge.ended is None:
            leg.sim.switch.end_bridge(bridge, leg.sid, peers)  # timeLimit reached
            leg.note("disconnected", "time-limit")
            return
        if not ok:
            leg.sim.error(f"{leg.sid}: bridge lasted past max_call_seconds; hanging up")
            raise HungUp("sim-cap")
    except Interrupt as exc:
        leg.sim.switch.end_bridge(bridge, leg.sid, peers)
        leg.note("disconnected", "self" if isinstance(exc, HungUp) else "redirected")
        raise
    finally:
        if leg.gone is None:
            leg.hangup_at = saved
    leg.note("disconnected", "peer")


# --- Enqueue --------------------------------------------------------------------------


def enqueue(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/enqueue

    The caller hears the waitUrl document in a loop (params QueuePosition,
    QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize, MaxQueueSize) until
    <Leave>, a <Dial><Queue> dequeues them, a REST update moves them, or they
    hang up. The action then gets QueueResult (bridged | leave | hangup |
    redirected | error), QueueSid, QueueTime: right away, or for a bridged
    call once the bridge ends. Without action: the next verb.
    """
    sim = leg.sim
    sw = sim.switch
    name = text_of(el)
    action = el.get("action")
    method = el.get("method", "POST").upper()
    wait_url = el.get("waitUrl")
    wait_method = el.get("waitUrlMethod", "POST").upper()
    queue = sw.queue(name)
    member = sw.join(name, leg)
    leg.in_queue = name
    leg.note("enqueue", name)
    with sim.record.lock:
        leg.record.queue_entries.append((name, member.entered, None, None))
    result = "error"
    queue_time = 0
    picked: Handoff | None = None

    def close(res: str, *, taken: bool = False) -> None:
        nonlocal queue_time
        if not sw.leave(name, member) and member.handoff is not None and not taken:
            fail_handoff(member.handoff)  # a dequeuer took us as we left: let it try the next
            leg.discard_pending(Dequeued)  # and its message must not reach a later queue
        queue_time = int((member.dequeued_at or time.time()) - member.entered)
        leg.in_queue = None
        with sim.record.lock:
            idx = len(leg.record.queue_entries) - 1
            leg.record.queue_entries[idx] = (name, member.entered, time.time(), res)

    def action_params(res: str) -> dict[str, str]:
        return {"QueueResult": res, "QueueSid": queue.sid, "QueueTime": str(queue_time)}

    try:
        try:
            wait_in_queue(leg, name, member, absolute(doc_url, wait_url) if wait_url else None,
                          wait_method)
        except LeaveQueue:
            result = "leave"
            close(result)
        except Dequeued as d:
            handoff = d.handoff
            close("bridged", taken=True)
            picked = handoff
            dequeued(leg, handoff, queue_time)
            result = "bridged"
    except (HungUp, Redirected) as exc:
        if picked is None:
            result = "hangup" if isinstance(exc, HungUp) else "redirected"
            close(result)
        else:
            result = "bridged" if picked.state == "ready" else "hangup"
        if action and (isinstance(exc, HungUp) or sim.enqueue_action_on_redirect):
            leg.post(absolute(doc_url, action), action_params(result), method=method)
        raise
    leg.note("queue-result", result)
    if action:
        return Source(url=absolute(doc_url, action), method=method, params=action_params(result))
    return None


def fail_handoff(handoff: Handoff) -> None:
    with handoff.dequeuer.sim.switch.lock:
        if handoff.state == "pending":
            handoff.state = "failed"
    handoff.dequeuer.poke()


def wait_in_queue(
    leg: Leg, name: str, member: Member, wait_url: str | None, wait_method: str
) -> None:
    """Loop the waitUrl document (or Twilio's default hold music) until something moves us."""
    sw = leg.sim.switch
    queue = sw.queue(name)
    while True:
        started = time.monotonic()
        pos, size, avg = sw.position(name, member)
        params = {
            "QueuePosition": str(pos),
            "QueueSid": queue.sid,
            "QueueTime": str(int(time.time() - member.entered)),
            "AvgQueueTime": str(int(avg)),
            "CurrentQueueSize": str(size),
            "MaxQueueSize": "1000",
        }
        if wait_url:
            run_nested(leg, Source(url=wait_url, method=wait_method, params=params), "wait")
        else:
            leg.note("play", DEFAULT_HOLD_MUSIC)
            leg.sleep(leg.sim.play_seconds)
        if time.monotonic() - started < 0.5 * leg.sim.time_scale:
            leg.sleep(1.0)  # an instant wait document must not hammer the app


def dequeued(leg: Leg, handoff: Handoff, queue_time: int) -> None:
    """Picked from the queue: hear the <Queue url> announcement, then talk to the dequeuer."""
    sw = leg.sim.switch
    leg.note("dequeued", handoff.dequeuer.sid)
    if handoff.url:
        try:
            run_nested(leg, Source(url=handoff.url, method=handoff.method, params={
                "QueueSid": handoff.queue.sid, "QueueTime": str(queue_time),
                "DequeingCallSid": handoff.dequeuer.sid,
            }), "queue-whisper")
        except Interrupt:
            fail_handoff(handoff)
            raise
    with sw.lock:
        abandoned = handoff.state == "abandoned"
        bridge = sw.bridge("queue", [handoff.dequeuer, leg])
        handoff.bridge = bridge
        if not abandoned:
            handoff.state = "ready"
    handoff.dequeuer.poke()
    if abandoned:
        sw.end_bridge(bridge, handoff.dequeuer.sid, [leg])
        return
    stay_in_bridge(leg, bridge, [handoff.dequeuer])


