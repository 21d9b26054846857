"""TwilioSim: plays Twilio against the app over real HTTP on loopback.

It places inbound calls and texts the way Twilio delivers them (signed,
form-encoded webhooks to the URLs of the console), runs the TwiML the app
answers, rings the phones the app calls through the REST API, and keeps an
independent record of everything for tests to check.

    sim = TwilioSim(app_url="", account_sid=SID, auth_token=TOKEN)
    sim.start()                                   # REST API up: sim.api_url
    server = serve_wsgi(create_app({... "twilio_api_url": sim.api_url}))
    sim.app_url = server.url
    sim.phones["+15005550101"] = Phone(inputs=["1"])
    call = sim.place_call("+15551230000", "+15005550006", Caller(["1"])).wait(10)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import requests

from ivr.sim.harness import RunningServer, serve_wsgi
from ivr.sim.inboxes import Inboxes, Later, TextHandler
from ivr.sim.legs import Leg, Source, build_get_url, sign
from ivr.sim.people import Caller, Phone
from ivr.sim.records import CallRecord, HttpExchange, SimMessage, SimRecord, new_sid
from ivr.sim.rest import make_rest_app
from ivr.sim.switch import Switchboard
from ivr.sim.twiml import run_call

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 15.0  # Twilio gives a webhook 15 s


class SimCall:
    """A handle on one call leg for tests: wait for it, read what happened."""

    def __init__(self, leg: Leg) -> None:
        self.leg = leg

    @property
    def sid(self) -> str:
        return self.leg.sid

    @property
    def status(self) -> str:
        return self.leg.status

    @property
    def transcript(self) -> list[tuple[Any, ...]]:
        return list(self.leg.transcript)

    @property
    def requests(self) -> list[HttpExchange]:
        return list(self.leg.requests)

    @property
    def record(self) -> CallRecord:
        return self.leg.record

    def said(self) -> list[str]:
        """Every text spoken to this leg, in order."""
        return [e[1] for e in self.leg.transcript if e[0] == "say"]

    def events(self, kind: str) -> list[tuple[Any, ...]]:
        return [e for e in self.leg.transcript if e[0] == kind]

    def requests_to(self, path_part: str) -> list[HttpExchange]:
        return [r for r in self.leg.requests if path_part in r.url]

    def hang_up(self) -> None:
        """The person on this leg hangs up now (wherever they are: menu, hold, talking)."""
        self.leg.hang_up_in(0)

    def wait(self, timeout: float = 30.0) -> SimCall:
        """Block until the call has ended and its late callbacks were posted."""
        if not self.leg.done.wait(timeout):
            raise TimeoutError(
                f"call {self.sid} still {self.status} after {timeout}s; "
                f"last events: {self.leg.transcript[-5:]}"
            )
        for t in list(self.leg.threads):
            t.join(timeout)
        return self

    def __repr__(self) -> str:
        return f"<SimCall {self.sid} {self.leg.from_}->{self.leg.to} {self.status}>"


class TwilioSim:
    def __init__(
        self,
        app_url: str = "",
        *,
        account_sid: str,
        auth_token: str,
        time_scale: float = 0.01,
        play_seconds: float = 10.0,
        max_documents: int = 500,
        max_call_seconds: float = 3600.0,
        enqueue_action_on_redirect: bool = True,
        check_media: bool = True,
        status_jitter: float = 0.0,
    ) -> None:
        self._app_url = app_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.time_scale = time_scale
        self.play_seconds = play_seconds
        self.max_documents = max_documents
        self.max_call_seconds = max_call_seconds
        self.enqueue_action_on_redirect = enqueue_action_on_redirect
        self.check_media = check_media
        self.status_jitter = status_jitter  # real seconds; > 0: callbacks may arrive out of order
        self._media: dict[str, bool] = {}
        self.record = SimRecord()
        self.switch = Switchboard(self.record)
        self.phones: dict[str, Phone] = {}
        self.legs: dict[str, Leg] = {}
        self.recordings: dict[str, float] = {}
        self.listener: Callable[[Leg | None, tuple[Any, ...]], None] | None = None
        # Extra headers for every webhook (`ivr simulate --at/--open`: ivr/sim/clock.py).
        self.extra_headers: Callable[[], dict[str, str]] | None = None
        # The phone at a number nobody put in `phones` (None: it rings out unanswered).
        self.default_phone: Callable[[str], Phone | None] | None = None
        self.on_error: Callable[[str], None] | None = None
        self._urls: dict[str, str | None] = {
            "voice_url": None, "voice_fallback_url": None,
            "status_callback_url": None, "sms_url": None,
        }
        self._server: RunningServer | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._status_waiters = threading.Condition()
        self.conference_callbacks = 0  # conference status callbacks sent
        # Texts to a number with a handler (a scripted texter, an agent's phone) reach it
        # on its own thread, in order (ivr/sim/inboxes.py); `later` runs people's delays.
        self.inboxes = Inboxes(self.error)
        self.later = Later(self.error)

    # --- console configuration ---------------------------------------------------------

    @property
    def app_url(self) -> str:
        return self._app_url

    @app_url.setter
    def app_url(self, value: str) -> None:
        self._app_url = value.rstrip("/")

    def _url(self, key: str, default_path: str) -> str:
        return self._urls[key] or self._app_url + default_path

    @property
    def voice_url(self) -> str:
        return self._url("voice_url", "/twilio/voice")

    @voice_url.setter
    def voice_url(self, value: str) -> None:
        self._urls["voice_url"] = value

    @property
    def voice_fallback_url(self) -> str:
        return self._url("voice_fallback_url", "/twilio/voice/fallback")

    @voice_fallback_url.setter
    def voice_fallback_url(self, value: str) -> None:
        self._urls["voice_fallback_url"] = value

    @property
    def status_callback_url(self) -> str:
        return self._url("status_callback_url", "/twilio/voice/status")

    @status_callback_url.setter
    def status_callback_url(self, value: str) -> None:
        self._urls["status_callback_url"] = value

    @property
    def sms_url(self) -> str:
        return self._url("sms_url", "/twilio/sms")

    @sms_url.setter
    def sms_url(self, value: str) -> None:
        self._urls["sms_url"] = value

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, port: int = 0) -> TwilioSim:
        """Serve the REST API on loopback (`api_url`): a free port, or `port` (the one an
        `ivr serve --simulated` server was told to call). OSError when it is taken."""
        if self._server is None:
            self._server = serve_wsgi(make_rest_app(self), port=port, quiet=True)
        return self

    @property
    def api_url(self) -> str:
        if self._server is None:
            raise RuntimeError("TwilioSim.start() first")
        return self._server.url

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up every live call, then close the REST API."""
        from ivr.sim.legs import HungUp

        self.later.stop()
        self.inboxes.stop()
        for leg in list(self.legs.values()):
            if not leg.done.is_set():
                leg.interrupt(HungUp("sim-stop"))
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(deadline - time.monotonic(), 0.01))
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> TwilioSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the record --------------------------------------------------------------------

    @property
    def errors(self) -> list[str]:
        with self.record.lock:
            return list(self.record.errors)

    def error(self, message: str) -> None:
        """Something Twilio would log as an error (or a script/simulator fault): loud."""
        log.error("twilio-sim: %s", message)
        self.record.add_error(message)
        if self.on_error is not None:
            self.on_error(message)

    def dump(self) -> str:
        """Every leg (statuses, bridges, transcript) and every error, for a failing test's log."""
        lines: list[str] = []
        for leg in list(self.legs.values()):
            statuses = " > ".join(s for s, _ in leg.record.statuses)
            lines.append(f"{leg.sid} {leg.direction} {leg.from_} -> {leg.to}: {statuses}"
                         + (f" (bridged to {', '.join(leg.record.bridged_to)})"
                            if leg.record.bridged_to else ""))
            lines.extend(f"    {event}" for event in leg.transcript)
        lines.extend(f"ERROR {e}" for e in self.errors)
        return "\n".join(lines)

    def assert_no_errors(self) -> None:
        errors = self.errors
        assert not errors, "Twilio simulator saw errors:\n" + "\n".join(errors)

    @property
    def messages(self) -> list[SimMessage]:
        """Messages the app sent through the REST API."""
        with self.record.lock:
            return [m for m in self.record.messages if m.via == "rest"]

    def inbox(self, number: str) -> list[SimMessage]:
        """Every text that reached `number` (REST-sent and <Message> replies)."""
        with self.record.lock:
            return [m for m in self.record.messages if m.to == number and m.via != "inbound"]

    @property
    def texts(self) -> list[SimMessage]:
        """Every text the simulator carried, either way, in the order Twilio took them."""
        with self.record.lock:
            return list(self.record.messages)

    def on_text(self, number: str, handler: TextHandler) -> None:
        """Hand every text reaching `number` to `handler`, on that number's own thread, in
        order, after the REST call that sent it returned (ivr/sim/inboxes.py)."""
        self.inboxes.register(number, handler)

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run `fn` after `seconds` *simulated* seconds (a person's pause), off this thread."""
        self.later.after(seconds * self.time_scale, fn)

    def texts_settled(self, timeout: float = 10.0) -> bool:
        """Wait until every text was handed over and nobody scripted has anything pending."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.later.pending() == 0 and self.inboxes.wait_idle(
                    max(deadline - time.monotonic(), 0.0)) and self.later.pending() == 0:
                return True
            time.sleep(0.02)
        return False

    def call(self, sid: str) -> SimCall:
        return SimCall(self.legs[sid])

    def calls_to(self, number: str) -> list[SimCall]:
        return [SimCall(leg) for leg in list(self.legs.values()) if leg.to == number]

    def live_calls(self) -> list[SimCall]:
        return [SimCall(leg) for leg in list(self.legs.values()) if not leg.done.is_set()]

    def hears(self, call_sid: str) -> set[str]:
        """Who `call_sid` hears now: the sids of calls, or "hold-music:URL" (held in a
        conference), "wait-music:URL" (the conference has not started), "queue-wait"."""
        return self.switch.hears(call_sid)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every call has ended."""
        deadline = time.monotonic() + timeout
        for leg in list(self.legs.values()):
            SimCall(leg).wait(max(deadline - time.monotonic(), 0.01))

    def wait_for(self, pred: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `pred()` holds; re-checked on every call status change (and 20 times a s)."""
        deadline = time.monotonic() + timeout
        with self._status_waiters:
            while not pred():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._status_waiters.wait(min(remaining, 0.05))
        return True

    def notify_status(self, leg: Leg) -> None:
        with self._status_waiters:
            self._status_waiters.notify_all()

    def leg_finished(self, leg: Leg) -> None:
        self.notify_status(leg)

    # --- HTTP to the app ---------------------------------------------------------------

    def http(
        self,
        session: requests.Session | None,
        url: str,
        method: str,
        params: dict[str, str],
        *,
        call_sid: str | None = None,
        into: list[HttpExchange] | None = None,
    ) -> HttpExchange:
        """One signed webhook, as Twilio sends it; every one is recorded."""
        method = method.upper()
        if method == "GET":
            target = build_get_url(url, params)
            signature = sign(self.auth_token, target, {})
        else:
            target = url
            signature = sign(self.auth_token, url, params)
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "Accept": "*/*",
        }
        if self.extra_headers is not None:
            headers.update(self.extra_headers())
        started = time.time()
        status, body, err, content_type = 0, "", None, ""
        http = session or requests
        try:
            if method == "GET":
                resp = http.get(target, headers=headers, timeout=HTTP_TIMEOUT,
                                allow_redirects=False)
            else:
                resp = http.post(target, data=params, headers=headers, timeout=HTTP_TIMEOUT,
                                 allow_redirects=False)
            status, body = resp.status_code, resp.text
            content_type = resp.headers.get("Content-Type", "")
        except requests.RequestException as exc:
            err = repr(exc)
        ex = HttpExchange(url=url, method=method, params=dict(params), status=status, body=body,
                          call_sid=call_sid, started=started, elapsed=time.time() - started,
                          error=err, content_type=content_type)
        self.record.add_exchange(ex)
        if into is not None:
            into.append(ex)
        if not 200 <= status < 300:
            self.error(f"{method} {url} answered {status or err} (call {call_sid})")
        return ex

    def redeliver(self, exchange: HttpExchange) -> HttpExchange:
        """Send a recorded webhook again, byte for byte (a Twilio retry), for idempotency tests."""
        return self.http(None, exchange.url, exchange.method, dict(exchange.params),
                         call_sid=exchange.call_sid)

    # --- calls -------------------------------------------------------------------------

    def new_leg(self, **kwargs: Any) -> Leg:
        to = kwargs["to"]
        phone = self.phones.get(to)
        if phone is None and self.default_phone is not None and kwargs.get("caller") is None:
            phone = self.default_phone(to)
        kwargs.setdefault("phone", phone)
        leg = Leg(self, **kwargs)
        with self._lock:
            self.legs[leg.sid] = leg
        return leg

    def start_thread(self, leg: Leg, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=f"leg-{leg.sid[:10]}", daemon=True)
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def background(self, leg: Leg, target: Callable[[], None]) -> None:
        """Post late callbacks (recording, transcription) without holding the call up."""
        t = threading.Thread(target=target, name=f"cb-{leg.sid[:10]}", daemon=True)
        leg.threads.append(t)
        t.start()

    def place_call(self, from_: str, to: str, caller: Caller | None = None) -> SimCall:
        """An inbound call from `from_` to the app's number `to`, run in its own thread."""
        caller = caller or Caller()
        leg = self.new_leg(
            from_=from_, to=to, direction="inbound", caller=caller, phone=None,
            status_callback=self.status_callback_url, status_events=frozenset({"completed"}),
            fallback=Source(url=self.voice_fallback_url, method="POST"),
        )

        def main() -> None:
            leg.set_status("ringing")
            run_call(leg, Source(url=self.voice_url, method="POST"))

        self.start_thread(leg, main)
        return SimCall(leg)

    def create_outbound(
        self,
        *,
        to: str,
        from_: str,
        source: Source,
        status_callback: str | None,
        status_events: frozenset[str],
        status_method: str,
        timeout: float,
        fallback: Source | None,
    ) -> Leg:
        """A call the app placed through the REST API: ring the phone, run the TwiML on answer."""
        from ivr.sim.twiml import ring

        leg = self.new_leg(
            from_=from_, to=to, direction="outbound-api",
            status_callback=status_callback, status_events=status_events,
            status_method=status_method, fallback=fallback,
        )

        def main() -> None:
            try:
                time.sleep(0.01)  # the 201 goes out before the first callback, as at Twilio
                leg.set_status("initiated", "initiated")
                outcome = ring(leg, timeout)
                if outcome != "answered":
                    leg.finish(outcome)
                    return
                leg.set_status("in-progress", "answered")
                run_call(leg, leg.pending_source or source)
            except Exception as exc:  # never leave a test waiting on a crashed leg
                self.error(f"{leg.sid}: simulator fault: {exc!r}")
                leg.finish("failed")

        self.start_thread(leg, main)
        return leg

    # --- messages ----------------------------------------------------------------------

    def carry(self, msg: SimMessage, released: threading.Event | None = None) -> None:
        """Record a text and hand it to its number's handler, in one step, so handlers see
        texts in the record's order."""
        with self.record.lock:
            self.record.add_message(msg)
            if msg.via != "inbound":
                self.inboxes.post(msg, released)

    def deliver_rest_message(
        self, from_: str, to: str, body: str, media: list[str], status_callback: str | None,
        released: threading.Event | None = None,
    ) -> SimMessage:
        """A message created through the REST API; `released` is set once its 201 went out
        (the phone gets it only then)."""
        msg = SimMessage(sid=new_sid("SM"), from_=from_, to=to, body=body, media=list(media),
                         via="rest", status_callback=status_callback, at=time.time())
        self.carry(msg, released)
        if self.listener is not None:
            self.listener_message(msg)
        if status_callback:
            def report() -> None:
                for status in ("sent", "delivered"):
                    time.sleep(0.02)
                    self.http(None, status_callback, "POST", {
                        "AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
                        "MessageSid": msg.sid, "SmsSid": msg.sid, "MessageStatus": status,
                        "SmsStatus": status, "From": from_, "To": to,
                    })
            t = threading.Thread(target=report, daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()
        return msg

    def listener_message(self, msg: SimMessage) -> None:
        """Tell the interactive console (if any) that a text arrived."""
        if self.listener is not None:
            self.listener(None, ("message", msg))

    def send_sms(
        self,
        from_: str,
        to: str,
        body: str,
        media: list[tuple[str, str]] | None = None,
        *,
        from_city: str | None = None,
        from_state: str | None = None,
        from_country: str | None = None,
    ) -> list[str]:
        """An inbound text to the app's number; returns the texts of its <Message> replies."""
        return self.text_app(from_, to, body, media, from_city=from_city,
                             from_state=from_state, from_country=from_country).replies

    def text_app(
        self,
        from_: str,
        to: str,
        body: str,
        media: list[tuple[str, str]] | None = None,
        *,
        from_city: str | None = None,
        from_state: str | None = None,
        from_country: str | None = None,
    ) -> SimMessage:
        """An inbound text to the app's number, recorded (via "inbound") before its webhook
        goes out; the answer's status and `<Message>` replies are filled in on return.

        https://www.twilio.com/docs/messaging/guides/webhook-request
        https://www.twilio.com/docs/messaging/twiml/message
        """
        media = media or []
        sid = new_sid("SM")
        msg = SimMessage(sid=sid, from_=from_, to=to, body=body,
                         media=[url for url, _ in media], via="inbound", at=time.time())
        self.carry(msg)
        msg.replies = self._post_text(sid, from_, to, body, media, msg, from_city=from_city,
                                      from_state=from_state, from_country=from_country)
        msg.done_at = time.time()
        return msg

    def _post_text(
        self, sid: str, from_: str, to: str, body: str, media: list[tuple[str, str]],
        msg: SimMessage, *, from_city: str | None, from_state: str | None,
        from_country: str | None,
    ) -> list[str]:
        """The webhook of one inbound text and its `<Redirect>` hops; the replies' texts."""
        params = {
            "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
            "AccountSid": self.account_sid, "MessagingServiceSid": "",
            "From": from_, "To": to, "Body": body, "NumMedia": str(len(media)),
            "NumSegments": str(max(1, -(-len(body) // 160))), "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        if not params["MessagingServiceSid"]:
            del params["MessagingServiceSid"]
        for i, (url, content_type) in enumerate(media):
            params[f"MediaUrl{i}"] = url
            params[f"MediaContentType{i}"] = content_type
        for key, value in (("FromCity", from_city), ("FromState", from_state),
                           ("FromCountry", from_country)):
            if value:
                params[key] = value
        replies: list[str] = []
        url, method = self.sms_url, "POST"
        for _ in range(10):  # <Redirect> hops
            ex = self.http(None, url, method, params)
            msg.status = ex.status
            if not 200 <= ex.status < 300 or not ex.body.strip():
                return replies
            if "xml" not in ex.content_type:
                self.error(f"{url} answered an SMS with Content-Type {ex.content_type!r}")
            try:
                root = ET.fromstring(ex.body)
            except ET.ParseError as exc:
                self.error(f"{url} answered malformed TwiML to an SMS: {exc}")
                return replies
            if root.tag != "Response":
                self.error(f"{url} answered <{root.tag}> to an SMS, not <Response>")
                return replies
            nxt: str | None = None
            for el in root:
                if el.tag == "Message":
                    replies.append(self._reply(el, from_, to))
                elif el.tag == "Redirect":
                    nxt = "".join(el.itertext()).strip()
                    method = el.get("method", "POST").upper()
                    break
                else:
                    self.error(f"unknown messaging TwiML verb <{el.tag}> from {url}")
            if nxt is None:
                return replies
            from urllib.parse import urljoin
            url = urljoin(url, nxt)
        self.error("too many <Redirect> hops answering an SMS")
        return replies

    def _reply(self, el: ET.Element, texter: str, number: str) -> str:
        """https://www.twilio.com/docs/messaging/twiml/message — to/from default to the texter
        and our number; the text is the <Body> (or plain text), <Media> adds attachments."""
        body_el = el.find("Body")
        if body_el is not None:
            body = "".join(body_el.itertext())
        else:
            body = (el.text or "").strip() if not list(el) else ""
        media = ["".join(m.itertext()).strip() for m in el.findall("Media")]
        msg = SimMessage(sid=new_sid("SM"), from_=el.get("from") or number,
                         to=el.get("to") or texter, body=body, media=media, via="twiml",
                         at=time.time())
        self.carry(msg)
        self.listener_message(msg)
        return body

    def media_ok(self, url: str) -> bool:
        """Fetch a <Play> URL served by the app (once), as Twilio does before playing it.

        Only the app's own URLs: the simulator sends traffic to loopback only.
        """
        if not self.check_media or not self._app_url or not url.startswith(self._app_url + "/"):
            return True
        with self._lock:
            known = self._media.get(url)
        if known is not None:
            return known
        try:
            resp = requests.get(url, timeout=HTTP_TIMEOUT, headers={
                "User-Agent": "TwilioProxy/1.1",
                "X-Twilio-Signature": sign(self.auth_token, url, {}),  # Twilio signs it all
            })
            ok = 200 <= resp.status_code < 300
            detail = str(resp.status_code)
        except requests.RequestException as exc:
            ok, detail = False, repr(exc)
        if not ok:
            self.error(f"<Play> media {url} answered {detail}")
        with self._lock:
            self._media[url] = ok
        return ok

    def recording_url(self, rec_sid: str) -> str:
        base = self.api_url if self._server is not None else "http://127.0.0.1"
        return f"{base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{rec_sid}"
