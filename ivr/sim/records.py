"""What the simulator saw, kept apart from the server's own state.

Tests check routing invariants (one offer per agent at a time, every caller
ends one way) against this record, never against the Redis the server writes:
an independent witness, as a Twilio call log would be.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def new_sid(prefix: str) -> str:
    """Twilio SIDs: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass
class HttpExchange:
    """One request the simulator made (to the app) and what came back."""

    url: str
    method: str
    params: dict[str, str]
    status: int
    body: str
    call_sid: str | None = None
    started: float = 0.0
    elapsed: float = 0.0
    error: str | None = None
    content_type: str = ""


@dataclass
class RestRequest:
    """One request the app made to the simulated REST API."""

    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    at: float


@dataclass
class SimMessage:
    """A text the simulator carried: a REST-sent message or a `<Message>` reply (both reach
    a phone), or one a person sent to the app ("inbound": its webhook's answer in `status`
    and the texts of its `<Message>` replies in `replies`). `seq` is its place in the record,
    the order Twilio took the messages in."""

    sid: str
    from_: str
    to: str
    body: str
    media: list[str] = field(default_factory=list)
    via: str = "rest"  # "rest" | "twiml" | "inbound"
    status_callback: str | None = None
    at: float = 0.0
    seq: int = 0
    status: int | None = None  # inbound: the webhook's HTTP status (0: no answer)
    replies: list[str] = field(default_factory=list)  # inbound: its <Message> replies
    done_at: float | None = None  # inbound: when its webhook's answer came back


@dataclass
class Bridge:
    """Two (or more, in a conference) legs talking; ends when one hangs up."""

    kind: str  # "dial" | "queue" | "conference"
    legs: list[str]
    started: float
    ended: float | None = None
    ended_by: str | None = None
    room: str | None = None


@dataclass
class Presence:
    """One leg's stay in one conference: from its join until it left or the conference
    ended (what Twilio's participant log shows), so tests can tell who was in a room with
    whom at any moment, which a conference's Bridge (legs only ever added) cannot."""

    room: str  # the conference's FriendlyName
    conference: str  # its ConferenceSid: a room of the same name later is another one
    call: str
    joined: float
    left: float | None = None


@dataclass
class CallRecord:
    """The life of one call leg: who, which way, every status with its time."""

    sid: str
    from_: str
    to: str
    direction: str  # inbound | outbound-api | outbound-dial
    parent_sid: str | None = None
    statuses: list[tuple[str, float]] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    queue_entries: list[tuple[str, float, float | None, str | None]] = field(
        default_factory=list
    )  # (queue, entered, left, result)
    answered_at: float | None = None
    ended_at: float | None = None

    @property
    def status(self) -> str:
        return self.statuses[-1][0] if self.statuses else "queued"

    @property
    def bridged_to(self) -> list[str]:
        return [sid for b in self.bridges for sid in b.legs if sid != self.sid]


class SimRecord:
    """Thread-safe log of calls, bridges, REST requests, messages and errors."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: dict[str, CallRecord] = {}
        self.bridges: list[Bridge] = []
        self.rest_requests: list[RestRequest] = []
        self.messages: list[SimMessage] = []
        self.exchanges: list[HttpExchange] = []
        self.errors: list[str] = []
        self.presences: list[Presence] = []

    def add_call(self, rec: CallRecord) -> None:
        with self.lock:
            self.calls[rec.sid] = rec

    def set_status(self, sid: str, status: str) -> None:
        now = time.time()
        with self.lock:
            rec = self.calls[sid]
            rec.statuses.append((status, now))
            if status == "in-progress" and rec.answered_at is None:
                rec.answered_at = now
            if status in TERMINAL_STATUSES:
                rec.ended_at = now

    def add_bridge(self, bridge: Bridge) -> None:
        with self.lock:
            self.bridges.append(bridge)
            for sid in bridge.legs:
                if sid in self.calls:
                    self.calls[sid].bridges.append(bridge)

    def end_bridge(self, bridge: Bridge, ended_by: str | None) -> None:
        with self.lock:
            if bridge.ended is None:
                bridge.ended = time.time()
                bridge.ended_by = ended_by

    def add_presence(self, presence: Presence) -> None:
        with self.lock:
            self.presences.append(presence)

    def end_presence(self, presence: Presence, at: float) -> None:
        with self.lock:
            if presence.left is None:
                presence.left = at

    def add_error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def add_exchange(self, exchange: HttpExchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)

    def add_rest(self, req: RestRequest) -> None:
        with self.lock:
            self.rest_requests.append(req)

    def add_message(self, msg: SimMessage) -> None:
        with self.lock:
            msg.seq = len(self.messages) + 1
            self.messages.append(msg)

    def snapshot(self) -> dict[str, Any]:
        """A plain copy for assertions made while calls are still running."""
        with self.lock:
            return {
                "calls": dict(self.calls),
                "bridges": list(self.bridges),
                "rest_requests": list(self.rest_requests),
                "messages": list(self.messages),
                "errors": list(self.errors),
                "presences": list(self.presences),
            }

    def calls_to(self, number: str) -> list[CallRecord]:
        with self.lock:
            return [c for c in self.calls.values() if c.to == number]

    def overlapping_offers(self, number: str) -> list[tuple[str, str]]:
        """Pairs of calls to `number` whose lives (creation to end) overlap.

        The routing invariant "an agent is offered at most one call at a time"
        holds when this is empty for every agent's phone.
        """
        with self.lock:
            spans = []
            for c in self.calls.values():
                if c.to != number or not c.statuses:
                    continue
                start = c.statuses[0][1]
                end = c.ended_at if c.ended_at is not None else float("inf")
                spans.append((start, end, c.sid))
        spans.sort()
        pairs = []
        for i, (_s1, e1, sid1) in enumerate(spans):
            for s2, _e2, sid2 in spans[i + 1:]:
                if s2 < e1:
                    pairs.append((sid1, sid2))
        return pairs
