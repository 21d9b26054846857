"""The switchboard: Twilio's named queues, conference rooms, and bridges between legs.

All of it is guarded by one lock, so dequeuing the front caller and that
caller hanging up can never both win.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivr.sim.records import Bridge, Presence, new_sid

#: What Twilio plays to a conference participant on hold or waiting, when no URL is given.
DEFAULT_CONFERENCE_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/index.xml"

if TYPE_CHECKING:
    from ivr.sim.legs import Leg
    from ivr.sim.records import SimRecord


@dataclass
class Member:
    """A caller waiting in a queue."""

    leg: Leg
    entered: float  # wall clock
    handoff: Handoff | None = None
    dequeued_at: float | None = None


@dataclass
class Queue:
    name: str
    sid: str
    members: list[Member] = field(default_factory=list)
    dequeuers: set[Leg] = field(default_factory=set)  # legs waiting in <Dial><Queue>


@dataclass
class Handoff:
    """A dequeue in progress: the queued caller hears the Queue url, then is bridged."""

    dequeuer: Leg
    member: Member
    queue: Queue
    url: str | None
    method: str
    state: str = "pending"  # pending | ready | failed
    bridge: Bridge | None = None


@dataclass
class Participant:
    """One call in a conference room, with what the Participants REST resource can change.
    https://www.twilio.com/docs/voice/api/conference-participant-resource"""

    leg: Leg
    start: bool  # startConferenceOnEnter
    end: bool  # endConferenceOnExit
    muted: bool = False
    hold: bool = False
    hold_url: str | None = None
    coaching: bool = False
    coach_of: str | None = None  # callSidToCoach: the only one who hears this participant
    joined: float = 0.0
    kicked: bool = False  # removed by REST (DELETE): their <Dial> ends, the call goes on
    heard_once: bool = False  # has heard someone else (the person's talk time runs)
    presence: Presence | None = None  # its entry in the record's participant log


@dataclass
class Room:
    """A conference: participants, whether it has started, its status callback.
    https://www.twilio.com/docs/voice/api/conference-resource"""

    name: str
    sid: str
    participants: dict[str, Participant] = field(default_factory=dict)
    bridge: Bridge | None = None
    started: bool = False
    ended: bool = False
    created: float = 0.0
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset()
    status_method: str = "POST"
    wait_url: str | None = None
    seq: int = 0
    ended_reason: str = ""
    ended_by: str | None = None
    recording: Any = None  # ivr/sim/conference_recording.py: RoomRecording, once asked for

    @property
    def moderators(self) -> set[str]:
        return {s for s, p in self.participants.items() if p.start}

    @property
    def enders(self) -> set[str]:
        return {s for s, p in self.participants.items() if p.end}


class Switchboard:
    def __init__(self, record: SimRecord) -> None:
        self.lock = threading.RLock()
        self.record = record
        self.queues: dict[str, Queue] = {}
        self.rooms: dict[str, Room] = {}
        self.done_rooms: dict[str, Room] = {}  # ended rooms, by name and by sid

    # --- queues ------------------------------------------------------------------------

    def queue(self, name: str) -> Queue:
        with self.lock:
            q = self.queues.get(name)
            if q is None:
                q = self.queues[name] = Queue(name=name, sid=new_sid("QU"))
            return q

    def join(self, name: str, leg: Leg) -> Member:
        with self.lock:
            q = self.queue(name)
            member = Member(leg=leg, entered=time.time())
            q.members.append(member)
            waiting = list(q.dequeuers)
        for d in waiting:
            d.poke()
        return member

    def leave(self, name: str, member: Member) -> bool:
        """Take `member` out of the queue; False if a dequeuer already took it."""
        with self.lock:
            q = self.queue(name)
            if member in q.members:
                q.members.remove(member)
                return True
            return False

    def position(self, name: str, member: Member) -> tuple[int, int, float]:
        """(1-based position, queue size, average wait in seconds) right now."""
        with self.lock:
            q = self.queue(name)
            size = len(q.members)
            pos = q.members.index(member) + 1 if member in q.members else 0
            now = time.time()
            avg = sum(now - m.entered for m in q.members) / size if size else 0.0
            return pos, size, avg

    def size(self, name: str) -> int:
        with self.lock:
            return len(self.queue(name).members)

    def pop(self, name: str, dequeuer: Leg, url: str | None, method: str) -> Handoff | None:
        """Take the front caller for `dequeuer`, or None when the queue is empty."""
        with self.lock:
            q = self.queue(name)
            if not q.members:
                return None
            member = q.members.pop(0)
            member.dequeued_at = time.time()
            handoff = Handoff(dequeuer=dequeuer, member=member, queue=q, url=url, method=method)
            member.handoff = handoff
            return handoff

    def watch(self, name: str, leg: Leg, on: bool) -> None:
        with self.lock:
            q = self.queue(name)
            if on:
                q.dequeuers.add(leg)
            else:
                q.dequeuers.discard(leg)

    # --- bridges -----------------------------------------------------------------------

    def bridge(self, kind: str, legs: list[Leg], room: str | None = None) -> Bridge:
        b = Bridge(kind=kind, legs=[leg.sid for leg in legs], started=time.time(), room=room)
        self.record.add_bridge(b)
        return b

    def end_bridge(self, bridge: Bridge, by: str | None, legs: list[Leg]) -> None:
        self.record.end_bridge(bridge, by)
        for leg in legs:
            leg.poke()

    # --- conferences -------------------------------------------------------------------
    # https://www.twilio.com/docs/voice/twiml/conference : a conference starts when a
    # participant with startConferenceOnEnter joins (until then everyone hears the
    # waitUrl); it ends when a participant with endConferenceOnExit leaves, when the last
    # one leaves, or by REST (Status=completed).

    def room_named(self, name_or_sid: str) -> Room | None:
        """The live room with this FriendlyName or ConferenceSid (the newest one)."""
        with self.lock:
            room = self.rooms.get(name_or_sid)
            if room is not None:
                return room
            for r in self.rooms.values():
                if r.sid == name_or_sid:
                    return r
            return self.done_rooms.get(name_or_sid)

    def enter_room(self, name: str, leg: Leg, *, start: bool, end: bool,
                   muted: bool = False, coach_of: str | None = None,
                   status_callback: str | None = None,
                   status_events: frozenset[str] = frozenset(),
                   status_method: str = "POST", wait_url: str | None = None,
                   ) -> tuple[Room, list[tuple[str, Participant | None]]]:
        """Join `leg` to the room (created if needed); the status events this caused."""
        events: list[tuple[str, Participant | None]] = []
        with self.lock:
            room = self.rooms.get(name)
            if room is None or room.ended:
                room = self.rooms[name] = Room(name=name, sid=new_sid("CF"),
                                               created=time.time(), wait_url=wait_url)
            if room.status_callback is None and status_callback:
                # the first participant that names one sets the conference's callback
                room.status_callback = status_callback
                room.status_events = status_events
                room.status_method = status_method
            p = Participant(leg=leg, start=start, end=end, muted=muted,
                            coaching=coach_of is not None, coach_of=coach_of,
                            joined=time.time())
            p.presence = Presence(room=room.name, conference=room.sid, call=leg.sid,
                                  joined=p.joined)
            self.record.add_presence(p.presence)
            room.participants[leg.sid] = p
            events.append(("participant-join", p))
            if start and not room.started:
                room.started = True
                events.insert(0, ("conference-start", None))
            self._rebridge(room)
            others = [q.leg for s, q in room.participants.items() if s != leg.sid]
        for o in others:
            o.poke()
        return room, events

    def _rebridge(self, room: Room) -> None:
        """Keep the room's Bridge record: one while it has started and two or more are in."""
        if room.started and len(room.participants) >= 2 and not room.ended:
            if room.bridge is None:
                room.bridge = self.bridge("conference",
                                          [p.leg for p in room.participants.values()],
                                          room=room.name)
            else:
                for sid in room.participants:
                    if sid not in room.bridge.legs:
                        room.bridge.legs.append(sid)
                        with self.record.lock:
                            self.record.calls[sid].bridges.append(room.bridge)

    def talking(self, room: Room) -> bool:
        """The conference has started and someone else is in it."""
        with self.lock:
            return room.started and len(room.participants) >= 2

    def leave_room(self, room: Room, leg: Leg) -> list[tuple[str, Participant | None]]:
        """`leg` is out of the room; the status events this caused."""
        events: list[tuple[str, Participant | None]] = []
        with self.lock:
            p = room.participants.pop(leg.sid, None)
            if p is None:
                return events
            if p.presence is not None:
                self.record.end_presence(p.presence, time.time())
            events.append(("participant-leave", p))
            if not room.ended and (p.end or not room.participants):
                self._end(room, "participant-with-end-conference-on-exit-left" if p.end
                          else "last-participant-left", leg.sid)
                events.append(("conference-end", None))
            elif len(room.participants) < 2 and room.bridge is not None:
                # Alone again: the talk is over (the lone participant hears hold music).
                self.record.end_bridge(room.bridge, leg.sid)
                room.bridge = None
            rest = [q.leg for q in room.participants.values()]
        for o in rest:
            o.poke()
        return events

    def end_room(self, room: Room, reason: str) -> bool:
        """REST Status=completed: everyone's <Dial> ends. False if it had ended."""
        with self.lock:
            if room.ended:
                return False
            self._end(room, reason, None)
            rest = [q.leg for q in room.participants.values()]
        for o in rest:
            o.poke()
        return True

    def _end(self, room: Room, reason: str, by: str | None) -> None:
        room.ended = True
        now = time.time()
        for p in room.participants.values():  # nobody talks in it from now on
            if p.presence is not None:
                self.record.end_presence(p.presence, now)
        room.ended_reason = reason
        room.ended_by = by
        if room.bridge is not None:
            self.record.end_bridge(room.bridge, by)
        if self.rooms.get(room.name) is room:
            del self.rooms[room.name]
        self.done_rooms[room.name] = room
        self.done_rooms[room.sid] = room

    def hears(self, sid: str) -> set[str]:
        """Who (call sids) or what ("hold-music:URL", "wait-music:URL") `sid` hears now."""
        with self.lock:
            for room in self.rooms.values():
                p = room.participants.get(sid)
                if p is None:
                    continue
                if p.hold:
                    return {f"hold-music:{p.hold_url or DEFAULT_CONFERENCE_MUSIC}"}
                if not room.started:
                    return {f"wait-music:{room.wait_url or DEFAULT_CONFERENCE_MUSIC}"}
                heard = set()
                for other, q in room.participants.items():
                    if other == sid or q.hold or q.muted:
                        continue
                    if q.coaching and q.coach_of != sid:
                        continue
                    heard.add(other)
                return heard
            for b in reversed(self.record.bridges):
                if b.ended is None and b.kind != "conference" and sid in b.legs:
                    return set(b.legs) - {sid}
            for line in self.queues.values():
                if any(m.leg.sid == sid for m in line.members):
                    return {"queue-wait"}
        return set()
