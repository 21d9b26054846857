"""Fixtures for the flow engine's tests.

- `load_flows(folder, files)`: write YAML files and load them through the real
  checker (a fixture that does not pass the checker fails the test).
- `rest`: a tiny stand-in for Twilio's REST API on loopback (Messages only),
  so the engine's real twilio-python `Client` sends its texts somewhere we can
  read them back.
- `voice_app`: the lead's voice blueprint with a real FlowRegistry, real Redis
  and the real VoiceEngine; the router is a desk double that implements the
  engine<->router queue contract (the routing engineer tests the real one).
- `Phone`: drives one call through the webhooks the way Twilio would (follows
  Gather actions and Redirects), parsing the TwiML answers.
"""

from __future__ import annotations

import textwrap
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from twilio.twiml.voice_response import VoiceResponse

from ivr.config import Config
from ivr.flows.checker import check_folder
from ivr.flows.engine import VoiceEngine
from ivr.flows.model import Callflows
from ivr.flows.registry import FlowRegistry
from ivr.sim.harness import RunningServer, serve_wsgi
from ivr.store import connect
from ivr.twilio_client import make_twilio_client

MAIN_NUMBER = "+15005550006"
CALLER = "+14155550100"


def write_flows(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))


def load_flows(folder: Path, files: dict[str, str]) -> Callflows:
    write_flows(folder, files)
    callflows, problems = check_folder(folder)
    errors = [str(p) for p in problems if p.is_error]
    assert callflows is not None and not errors, errors
    return callflows


# --- a stand-in for Twilio's Messages REST resource ----------------------------


@dataclass
class RestCapture:
    server: RunningServer
    messages: list[dict[str, str]] = field(default_factory=list)
    fail: bool = False

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture()
def rest() -> Iterator[RestCapture]:
    app = Flask("rest-capture")
    capture: RestCapture

    @app.post("/2010-04-01/Accounts/<account>/Messages.json")
    def create_message(account: str) -> Any:
        if capture.fail:
            return jsonify({"code": 20500, "message": "down", "status": 500}), 500
        form = request.form.to_dict()
        capture.messages.append(form)
        sid = f"SM{len(capture.messages):032d}"
        return jsonify({"sid": sid, "account_sid": account, "to": form.get("To"),
                        "from": form.get("From"), "body": form.get("Body"),
                        "status": "queued"}), 201

    server = serve_wsgi(app)
    capture = RestCapture(server)
    yield capture
    server.stop()


# --- the other side of the queue contract -------------------------------------


class DeskRouter:
    """Implements router.enqueue/queue_result as the interface describes, nothing more.

    `staffed=False` means nobody is logged in: enqueue answers None (overflow now).
    """

    RESULTS = {"bridged": "connected", "hangup": "abandoned", "leave": "overflow",
               "redirected": "callback", "queue-full": "overflow", "error": "error",
               "system-error": "error"}

    def __init__(self) -> None:
        self.staffed = True
        self.enqueued: list[dict[str, Any]] = []
        self.ended: list[str] = []
        self.lock = threading.Lock()

    def agent_by_phone(self, phone: str) -> None:
        return None  # no agents: every call is a customer's

    @property
    def chats(self) -> DeskRouter:
        """Text conversations with agents: none here (no queue has `chat: true`)."""
        return self

    def open_of(self, texter: str, service: str) -> None:
        return None

    def stop(self, texter: str) -> list[Any]:
        return []

    def call_ended(self, call_sid: str, call_status: str) -> None:
        self.ended.append(call_sid)

    def enqueue(self, call_sid: str, *, queue: str, priority: int, skills: list[str],
                max_wait: int | None, caller: str, called: str, flow: str, step: str,
                action_url: str) -> VoiceResponse | None:
        with self.lock:
            self.enqueued.append(dict(call_sid=call_sid, queue=queue, priority=priority,
                                      skills=skills, max_wait=max_wait, caller=caller,
                                      called=called, flow=flow, step=step,
                                      action_url=action_url))
        if not self.staffed:
            return None
        response = VoiceResponse()
        response.enqueue(queue, action=action_url, method="POST", wait_url="/hold")
        return response

    def queue_result(self, call_sid: str, queue_result: str) -> str:
        return self.RESULTS.get(queue_result, "error")

    def request_callback(self, number: str, *, queue: str, service_number: str,
                         channel: str = "sms") -> int:
        raise AssertionError("voice engine tests never ask for a call back by text")


# --- the app --------------------------------------------------------------------


@dataclass
class VoiceApp:
    app: Flask
    client: FlaskClient
    engine: VoiceEngine
    flows: FlowRegistry
    router: DeskRouter
    folder: Path
    clock: list[datetime]

    def phone(self, sid: str = "CA" + "1" * 32, *, to: str = MAIN_NUMBER,
              from_: str = CALLER, **extra: str) -> Phone:
        return Phone(self, sid=sid, to=to, from_=from_, extra=extra)


@pytest.fixture()
def voice_app(redis_url: str, r: Any, callflows_dir: Path,
              rest: RestCapture) -> Callable[..., VoiceApp]:
    """Build the app once the test has written its flows: `voice_app(files, now=..., http=...)`."""

    def build(files: dict[str, str], *, now: datetime | None = None, check: bool = True,
              **engine_kwargs: Any) -> VoiceApp:
        if check:
            load_flows(callflows_dir, files)
        else:
            write_flows(callflows_dir, files)
        from ivr.webhooks import voice

        cfg = Config(redis_url=redis_url, callflows=callflows_dir, background=False,
                     twilio_api_url=rest.url)
        app = Flask("engine-test")
        app.extensions["ivr.config"] = cfg
        store = connect(redis_url)
        app.extensions["ivr.redis"] = store
        twilio = make_twilio_client(cfg)
        app.extensions["ivr.twilio"] = twilio
        flows = FlowRegistry(callflows_dir, interval=0.05)
        app.extensions["ivr.flows"] = flows
        router = DeskRouter()
        app.extensions["ivr.router"] = router
        clock = [now or datetime.fromisoformat("2026-11-24T15:00:00+00:00")]
        engine = VoiceEngine(store, flows, twilio, router, cfg, clock=lambda: clock[0],
                             **engine_kwargs)
        app.extensions["ivr.engine"] = engine
        from ivr.flows.texting import TextEngine  # the status webhook's missed-call hook

        app.extensions["ivr.texting"] = TextEngine(store, flows, twilio, router, cfg)
        app.register_blueprint(voice.bp)
        return VoiceApp(app, app.test_client(), engine, flows, router, callflows_dir, clock)

    return build


# --- a caller's phone -----------------------------------------------------------


@dataclass
class Phone:
    """Follows TwiML like Twilio does, one webhook at a time, and remembers what was heard."""

    va: VoiceApp
    sid: str
    to: str
    from_: str
    extra: dict[str, str]
    heard: list[str] = field(default_factory=list)
    twiml: ET.Element | None = None
    history: list[str] = field(default_factory=list)

    def _base(self) -> dict[str, str]:
        return {"CallSid": self.sid, "From": self.from_, "To": self.to,
                "AccountSid": "AC" + "0" * 32, "Direction": "inbound",
                "CallStatus": "in-progress", **self.extra}

    def post(self, url: str, form: dict[str, str]) -> ET.Element:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.va.client.post(path, data={**self._base(), **form})
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        body = response.get_data(as_text=True)
        self.history.append(body)
        root = ET.fromstring(body)
        assert root.tag == "Response"
        self.twiml = root
        for say in root.iter("Say"):
            self.heard.append(say.text or "")
        return root

    def call(self) -> ET.Element:
        return self.post("/twilio/voice", {"CallStatus": "ringing"})

    def said(self) -> str:
        """Everything spoken in the last answer, joined."""
        assert self.twiml is not None
        return " | ".join(s.text or "" for s in self.twiml.iter("Say"))

    def verbs(self) -> list[str]:
        assert self.twiml is not None
        return [child.tag for child in self.twiml]

    def gather(self) -> ET.Element:
        assert self.twiml is not None
        found = self.twiml.find("Gather")
        assert found is not None, f"no Gather in {self.history[-1]}"
        return found

    def press(self, digits: str) -> ET.Element:
        return self.post(self.gather().attrib["action"], {"Digits": digits})

    def speak(self, text: str, confidence: str = "0.9") -> ET.Element:
        return self.post(self.gather().attrib["action"],
                         {"SpeechResult": text, "Confidence": confidence})

    def silence(self) -> ET.Element:
        """No input: Twilio falls through the Gather to the Redirect after it."""
        return self.follow_redirect()

    def follow_redirect(self) -> ET.Element:
        assert self.twiml is not None
        redirect = self.twiml.find("Redirect")
        assert redirect is not None, f"no Redirect in {self.history[-1]}"
        return self.post(redirect.text or "", {})

    def action_of(self, verb: str) -> str:
        assert self.twiml is not None
        element = self.twiml.find(verb)
        assert element is not None, f"no {verb} in {self.history[-1]}"
        return element.attrib["action"]

    def hang_up(self, status: str = "completed") -> None:
        response = self.va.client.post("/twilio/voice/status",
                                       data={**self._base(), "CallStatus": status,
                                             "CallDuration": "30"})
        assert response.status_code == 200
