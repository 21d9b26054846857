"""The switchboard: Twilio's named queues, conference rooms, and bridges between legs.

All of it is guarded by one lock, so dequeuing the front caller and that
caller hanging up can never both win.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ivr.sim.records import Bridge, new_sid

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
class Room:
    """A conference room: participants, and whether the conference has started."""

    name: str
    sid: str
    participants: dict[str, Leg] = field(default_factory=dict)
    moderators: set[str] = field(default_factory=set)  # startConferenceOnEnter
    enders: set[str] = field(default_factory=set)  # endConferenceOnExit
    bridge: Bridge | None = None
    ended: bool = False


class Switchboard:
    def __init__(self, record: SimRecord) -> None:
        self.lock = threading.RLock()
        self.record = record
        self.queues: dict[str, Queue] = {}
        self.rooms: dict[str, Room] = {}

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

    def enter_room(self, name: str, leg: Leg, *, start: bool, end: bool) -> Room:
        with self.lock:
            room = self.rooms.get(name)
            if room is None or room.ended:
                room = self.rooms[name] = Room(name=name, sid=new_sid("CF"))
            room.participants[leg.sid] = leg
            if start:
                room.moderators.add(leg.sid)
            if end:
                room.enders.add(leg.sid)
            others = [p for s, p in room.participants.items() if s != leg.sid]
            if room.moderators and len(room.participants) >= 2:
                if room.bridge is None:
                    room.bridge = self.bridge("conference", list(room.participants.values()),
                                              room=name)
                elif leg.sid not in room.bridge.legs:
                    room.bridge.legs.append(leg.sid)
                    with self.record.lock:
                        self.record.calls[leg.sid].bridges.append(room.bridge)
        for p in others:
            p.poke()
        return room

    def talking(self, room: Room) -> bool:
        """The conference has started and someone else is in it."""
        with self.lock:
            return bool(room.moderators) and len(room.participants) >= 2

    def leave_room(self, room: Room, leg: Leg) -> None:
        with self.lock:
            room.participants.pop(leg.sid, None)
            room.moderators.discard(leg.sid)
            if leg.sid in room.enders or not room.participants:
                room.ended = True
                if room.bridge is not None:
                    self.record.end_bridge(room.bridge, leg.sid)
            elif len(room.participants) < 2 and room.bridge is not None:
                # Alone again: the talk is over (the lone participant hears hold music).
                self.record.end_bridge(room.bridge, leg.sid)
                room.bridge = None
            rest = list(room.participants.values())
        for p in rest:
            p.poke()
