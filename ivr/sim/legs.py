"""One call leg: its identity, its clock, its interruptions, and its HTTP to the app.

Time: what the person hears and does (Say/Play/Pause, ringing, talking,
`hangup_after`) is in *simulated* seconds and takes `seconds * time_scale`
real seconds. What Twilio reports about elapsed time (QueueTime,
CallDuration, DialCallDuration) is wall-clock seconds, the clock the server
itself sees, so the app's own timers (max wait, wrap-up) agree with them.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

import requests
from twilio.request_validator import RequestValidator

from ivr.sim.people import Caller, Hangup, Input, InputSource, Phone, Script
from ivr.sim.records import CallRecord, HttpExchange, new_sid

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

log = logging.getLogger(__name__)

MAX_TWIML_BYTES = 64 * 1024  # Twilio refuses larger documents (error 12300-ish)


class Interrupt(Exception):
    """Something outside the current verb stopped it."""


class HungUp(Interrupt):
    """This leg is over: the person hung up, the app said <Hangup/>, or the REST API ended it."""

    def __init__(self, by: str, status: str = "completed") -> None:
        super().__init__(by)
        self.by = by
        self.status = status


class Redirected(Interrupt):
    """A REST update gave the live call new TwiML (Url/Method or Twiml)."""

    def __init__(self, source: Source) -> None:
        super().__init__(source.url or "twiml")
        self.source = source


class Dequeued(Interrupt):
    """A <Dial><Queue> picked this caller from the front of its queue."""

    def __init__(self, handoff: Any) -> None:
        super().__init__("dequeued")
        self.handoff = handoff


@dataclass
class Source:
    """Where the next TwiML document comes from: a URL to fetch, or inline TwiML."""

    url: str | None = None
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    twiml: str | None = None


def rfc2822_now() -> str:
    return email.utils.format_datetime(datetime.now(UTC))


class Leg:
    """A call leg and everything a TwiML verb needs to act on it."""

    def __init__(
        self,
        sim: TwilioSim,
        *,
        from_: str,
        to: str,
        direction: str,
        caller: Caller | None = None,
        phone: Phone | None = None,
        parent: Leg | None = None,
        status_callback: str | None = None,
        status_events: frozenset[str] = frozenset({"completed"}),
        status_method: str = "POST",
        fallback: Source | None = None,
    ) -> None:
        self.sim = sim
        self.sid = new_sid("CA")
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.caller = caller
        self.phone = phone
        self.parent = parent
        self.status_callback = status_callback
        self.status_events = status_events
        self.status_method = status_method
        self.fallback = fallback
        self.status = "queued"
        self.transcript: list[tuple[Any, ...]] = []
        self.requests: list[HttpExchange] = []
        self.done = threading.Event()
        self.documents = 0
        self.current_url = ""  # the last document fetched: relative URLs resolve against it
        self.started = time.monotonic()
        self.answered_at: float | None = None
        self.hangup_at: float | None = None  # monotonic; the person hangs up then
        self.gone: HungUp | None = None
        self.in_queue: str | None = None
        self.pending_source: Source | None = None  # a REST redirect that came while ringing
        # A call placed by Participants create: the ConferenceSid it is a participant of
        # (ivr/sim/rest_conference.py); it joins that conference only, never a later one
        # of the same name.
        self.participant_of: str | None = None
        self.declining = False  # the person decided to refuse this call at the whisper
        self.ring_timeout: float | None = None  # seconds it may ring (Timeout), once ringing
        self.threads: list[threading.Thread] = []  # callbacks still being posted
        self._cond = threading.Condition()
        self._pending: list[Interrupt] = []
        self._seq = 0
        self._session = requests.Session()
        self.script: Script = (
            caller.script() if caller else phone.script() if phone else Script()
        )
        self.live: InputSource | None = (
            caller.live if caller else phone.live if phone else None
        )
        self.record = CallRecord(
            sid=self.sid, from_=from_, to=to, direction=direction,
            parent_sid=parent.sid if parent else None,
        )
        sim.record.add_call(self.record)
        sim.record.set_status(self.sid, "queued")

    # --- what the person does ----------------------------------------------------------

    def note(self, *event: Any) -> None:
        """Add to the transcript (and show it live in `ivr simulate`)."""
        self.transcript.append(event)
        listener = self.sim.listener
        if listener is not None:
            try:
                listener(self, event)
            except Exception as exc:  # a display bug must not end the call
                self.sim.error(f"{self.sid}: listener failed on {event[:1]}: {exc!r}")

    def ask(self, kind: str, info: dict[str, str]) -> Input:
        """The next input of the person on this leg: a live console or the script."""
        if self.declining:
            return Hangup()
        if self.live is not None:
            return self.live(kind, {**info, "call_sid": self.sid, "to": self.to})
        return self.script.next()

    @property
    def talk_limit(self) -> float | None:
        """Simulated seconds this leg's person stays once connected to someone."""
        if self.phone is not None:
            return self.phone.hangup_after
        if self.caller is not None:
            return self.caller.talk_for
        return None

    def hang_up_in(self, sim_seconds: float | None) -> None:
        """Schedule the person's hangup (keeps an earlier one)."""
        if sim_seconds is None:
            return
        at = time.monotonic() + sim_seconds * self.sim.time_scale
        with self._cond:
            if self.hangup_at is None or at < self.hangup_at:
                self.hangup_at = at
            self._cond.notify_all()

    # --- interruptions and time --------------------------------------------------------

    def interrupt(self, exc: Interrupt) -> None:
        with self._cond:
            self._pending.append(exc)
            self._cond.notify_all()

    def poke(self) -> None:
        """Wake a wait so it rechecks its condition (another leg changed something)."""
        with self._cond:
            self._cond.notify_all()

    def _take_pending(self) -> Interrupt | None:
        if self.gone is not None:
            return self.gone
        for kind in (HungUp, Redirected, Dequeued):
            for exc in self._pending:
                if isinstance(exc, kind):
                    self._pending.remove(exc)
                    if isinstance(exc, HungUp):
                        self.gone = exc
                    return exc
        if self.hangup_at is not None and time.monotonic() >= self.hangup_at:
            self.gone = HungUp("person")
            return self.gone
        return None

    def hangup_pending(self) -> bool:
        """True once this leg is over or about to be (hung up, canceled): a ring stops."""
        with self._cond:
            return self.gone is not None or any(isinstance(p, HungUp) for p in self._pending)

    def set_gone(self, exc: HungUp) -> None:
        with self._cond:
            if self.gone is None:
                self.gone = exc
            self._cond.notify_all()

    def discard_pending(self, kind: type[Interrupt]) -> None:
        """Forget interruptions of one kind (a dequeue that came as the caller left the queue)."""
        with self._cond:
            self._pending = [p for p in self._pending if not isinstance(p, kind)]

    def check(self) -> None:
        """Raise a pending interruption, if any (called between verbs)."""
        with self._cond:
            exc = self._take_pending()
        if exc is not None:
            raise exc

    def wait_until(self, pred: Callable[[], bool], sim_seconds: float | None) -> bool:
        """Wait until `pred()` holds (True) or the time passes (False); interruptions raise."""
        scale = self.sim.time_scale
        limit = self.sim.max_call_seconds * scale
        budget = limit if sim_seconds is None else min(sim_seconds * scale, limit)
        deadline = time.monotonic() + max(budget, 0.0)
        with self._cond:
            while True:
                exc = self._take_pending()
                if exc is not None:
                    raise exc
                if pred():
                    return True
                now = time.monotonic()
                if now >= deadline:
                    return False
                wake = deadline
                if self.hangup_at is not None:
                    wake = min(wake, self.hangup_at)
                self._cond.wait(timeout=max(min(wake - now, 0.5), 0.0005))

    def sleep(self, sim_seconds: float) -> None:
        """Let simulated time pass (a prompt playing, a phone ringing), interruptibly."""
        self.wait_until(lambda: False, sim_seconds)

    # --- status ------------------------------------------------------------------------

    def set_status(self, status: str, event: str | None = None) -> None:
        """Record a status change and send the status callback if that event was asked for."""
        self.status = status
        self.sim.record.set_status(self.sid, status)
        if status == "in-progress" and self.answered_at is None:
            self.answered_at = time.time()
        if event and self.status_callback and event in self.status_events:
            extra = {
                "CallbackSource": "call-progress-events",
                "Timestamp": rfc2822_now(),
                "SequenceNumber": str(self._seq),
            }
            self._seq += 1
            if event == "completed":
                extra["CallDuration"] = str(self.duration())
            jitter = self.sim.status_jitter
            if jitter > 0:
                # Twilio posts status callbacks asynchronously: they may arrive out of order.
                url, method = self.status_callback, self.status_method
                params = {**self.base_params(), **extra}
                delay = random.uniform(0, jitter)

                def late() -> None:
                    time.sleep(delay)
                    self.sim.http(None, url, method, params, call_sid=self.sid,
                                  into=self.requests)

                self.sim.background(self, late)
            else:
                self.post(self.status_callback, extra, method=self.status_method)
        self.sim.notify_status(self)

    def duration(self) -> int:
        if self.answered_at is None:
            return 0
        return int(math.ceil(time.time() - self.answered_at))

    def finish(self, status: str = "completed") -> None:
        """End the leg once: final status, status callback, free the phone."""
        if self.done.is_set():
            return
        with self._cond:
            if self.gone is None:
                self.gone = HungUp("end", status)
        self.set_status(status, "completed")
        if self.phone is not None:
            self.phone.release(self.sid)
        self.done.set()
        self._session.close()
        self.sim.leg_finished(self)

    # --- HTTP --------------------------------------------------------------------------

    def base_params(self) -> dict[str, str]:
        """Twilio's standard voice request parameters."""
        status = self.status
        if self.gone is not None and status == "in-progress":
            status = "completed"  # requests made after the hangup (actions) say so
        p = {
            "AccountSid": self.sim.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": status,
            "Called": self.to,
            "Caller": self.from_,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
        }
        if self.parent is not None:
            p["ParentCallSid"] = self.parent.sid
        c = self.caller
        if c is not None:
            for key, value in (
                ("FromCity", c.from_city), ("FromState", c.from_state),
                ("FromCountry", c.from_country), ("CallerName", c.caller_name),
            ):
                if value:
                    p[key] = value
        return p

    def post(
        self, url: str, extra: dict[str, str], *, method: str = "POST"
    ) -> HttpExchange:
        """Send one signed request with the standard params plus `extra`."""
        params = {**self.base_params(), **extra}
        return self.sim.http(self._session, url, method, params, call_sid=self.sid,
                             into=self.requests)

    def fetch_document(self, source: Source) -> ET.Element | None:
        """The TwiML for `source`, trying the fallback URL as Twilio does; None = give up."""
        if source.twiml is not None:
            root = self.parse(source.twiml, "inline Twiml")
            if root is None:
                self.application_error()
            return root
        assert source.url is not None
        ex = self.post(source.url, source.params, method=source.method)
        root = self.parse_answer(ex, source.url)
        if root is not None:
            self.current_url = source.url
            return root
        error_code = "11200" if not 200 <= ex.status < 300 else "12100"
        if self.fallback is not None and self.fallback.url:
            fb = self.post(
                self.fallback.url,
                {**source.params, "ErrorCode": error_code, "ErrorUrl": source.url},
                method=self.fallback.method,
            )
            root = self.parse_answer(fb, self.fallback.url)
            if root is not None:
                self.current_url = self.fallback.url
                return root
        self.application_error()
        return None

    def parse_answer(self, ex: HttpExchange, where: str) -> ET.Element | None:
        """The TwiML of a 2xx answer, checking what Twilio checks (type, size)."""
        if not 200 <= ex.status < 300:
            return None
        if "xml" not in ex.content_type:
            self.sim.error(f"{self.sid}: {where} answered Content-Type {ex.content_type!r}, "
                           "not text/xml")
        if len(ex.body.encode()) > MAX_TWIML_BYTES:
            self.sim.error(f"{self.sid}: {where} answered more than 64 KB of TwiML")
            return None
        return self.parse(ex.body, where)

    def parse(self, body: str, where: str) -> ET.Element | None:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            self.sim.error(f"{self.sid}: {where} answered malformed TwiML: {exc}")
            return None
        if root.tag != "Response":
            self.sim.error(f"{self.sid}: {where} answered <{root.tag}>, not <Response>")
            return None
        return root

    def application_error(self) -> None:
        """What a caller hears when Twilio cannot get usable TwiML."""
        self.note("say", "We are sorry, an application error has occurred. Goodbye.", None, None)


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, params))


def build_get_url(url: str, params: dict[str, str]) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)
