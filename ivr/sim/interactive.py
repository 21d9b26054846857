"""`ivr simulate`: a phone in the terminal, with the agents' phones ringing in it too.

The app runs in this process (served on loopback), TwilioSim plays Twilio
against it, and every sound and keypress goes through a `Console`, so tests
can script the whole conversation.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from ivr.sim.harness import serve_wsgi
from ivr.sim.legs import Leg
from ivr.sim.people import Behaviour, Caller, Hangup, Input, Phone, Record, Silence, Speech
from ivr.sim.records import SimMessage
from ivr.sim.twilio import TwilioSim

SIM_ACCOUNT_SID = "AC" + "5" * 32
SIM_AUTH_TOKEN = "simulate-" + "token"
DIGITS = re.compile(r"^[0-9*#w]+$")
PRESS = re.compile(r"press (\d)", re.IGNORECASE)
HANGUP_WORDS = {"/hangup", "/h", "/quit", "/q"}


class Console:
    """Where the simulation speaks and listens. One question at a time, whoever asks."""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def show(self, line: str) -> None:
        raise NotImplementedError

    def read(self, prompt: str) -> str:
        """One line from the user; EOFError when there is no more input."""
        raise NotImplementedError

    def ask(self, prompt: str) -> str:
        with self.lock:
            return self.read(prompt).strip()


class TerminalConsole(Console):
    def show(self, line: str) -> None:
        with self.lock:
            click.echo(line)

    def read(self, prompt: str) -> str:
        try:
            return str(click.prompt(prompt, default="", show_default=False,
                                    prompt_suffix=" "))
        except click.Abort as exc:
            raise EOFError from exc


class ScriptedConsole(Console):
    """A console fed from a list: what tests (and demos) use."""

    def __init__(self, lines: Iterable[str]) -> None:
        super().__init__()
        self.lines = list(lines)
        self.output: list[str] = []
        self.prompts: list[str] = []

    def show(self, line: str) -> None:
        with self.lock:
            self.output.append(line)

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        self.output.append(f"{prompt} {line}")
        return line


class Simulation:
    """One person at the terminal: a caller (or texter), and every agent's phone."""

    def __init__(
        self,
        sim: TwilioSim,
        console: Console,
        agents: Mapping[str, str] | None = None,
        *,
        agent_talk_seconds: float = 30.0,
    ) -> None:
        self.sim = sim
        self.console = console
        self.agents = dict(agents or {})  # phone number -> name
        self.caller_sid: str | None = None
        self.texter: str | None = None
        sim.listener = self.on_event
        sim.on_error = lambda message: console.show(f"⚠️  Twilio error: {message}")
        for number, name in self.agents.items():
            sim.phones[number] = Phone(
                name=name, on_ring=self.on_ring, live=self.agent_input,
                hangup_after=agent_talk_seconds, ring_delay=1.0,
            )

    # --- what the user hears ------------------------------------------------------

    def who(self, leg: Leg) -> str:
        name = self.agents.get(leg.to)
        return f"{leg.to} ({name})" if name else leg.to

    def on_event(self, leg: Leg | None, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "message":
            self.show_message(event[1])
            return
        if leg is None:
            return
        mine = leg.sid == self.caller_sid
        prefix = "" if mine else f"📞 {self.who(leg)} hears: "
        line: str | None = None
        if kind == "say":
            line = f"🔊 {prefix}{event[1]}"
        elif kind == "play":
            line = f"🎵 {prefix}{event[1]}"
        elif kind == "play_digits":
            line = f"🎵 {prefix}tones {event[1]}"
        elif kind == "pause" and mine:
            line = f"   … ({event[1]:g} s)"
        elif kind == "beep":
            line = f"🔔 {prefix}beep"
        elif kind == "enqueue" and mine:
            line = f"⏳ waiting in queue {event[1]}"
        elif kind == "dial" and mine:
            line = f"☎️  transferring: {event[1]}"
        elif kind == "connected":
            line = f"🔗 {'' if mine else self.who(leg) + ' '}connected to {', '.join(event[1])}"
        elif kind == "disconnected" and event[1] != "redirected":
            line = f"🔚 {'' if mine else self.who(leg) + ': '}conversation over"
        elif kind == "hangup":
            line = f"📴 {'the service hung up' if mine else self.who(leg) + ' call ended'}"
        elif kind == "reject" and mine:
            line = f"🚫 call rejected ({event[1]})"
        if line is not None:
            self.console.show(line)

    def show_message(self, msg: SimMessage) -> None:
        if msg.to == self.texter:
            self.console.show(f"💬 {msg.body}" + "".join(f" 📎 {m}" for m in msg.media))
        else:
            name = self.agents.get(msg.to)
            to = f"{msg.to} ({name})" if name else msg.to
            self.console.show(f"💬 text to {to}: {msg.body}")

    # --- what the user does -------------------------------------------------------------

    def caller_input(self, kind: str, info: dict[str, str]) -> Input:
        """At a Gather: digits, words (speech), Enter (silence), /hangup."""
        try:
            if kind == "record":
                text = self.console.ask("🎙  speak your message (Enter: say nothing, /hangup):")
            else:
                text = self.console.ask("⌨️  keys or words (Enter: silence, /hangup):")
        except EOFError:
            return Hangup()
        if text.lower() in HANGUP_WORDS:
            return Hangup()
        if not text:
            return Silence()
        if kind == "record":
            return Record(duration=max(2.0, len(text.split()) * 0.5), transcription=text)
        if DIGITS.match(text):
            return text.replace("w", "")
        return Speech(text)

    def on_ring(self, call_sid: str, from_: str, to: str) -> Behaviour | None:
        label = f"{to} ({self.agents[to]})" if to in self.agents else to
        try:
            answer = self.console.ask(f"📞 {label} rings, call from {from_}. "
                                      "[a]ccept/[d]ecline/[i]gnore:")
        except EOFError:
            return "no-answer"
        choice = answer[:1].lower()
        if choice == "a":
            return "answer"
        if choice == "d":
            return "decline"
        return "no-answer"

    def agent_input(self, kind: str, info: dict[str, str]) -> Input:
        """The agent accepted: keys at the whisper, defaulting to the one it asks for."""
        found = PRESS.search(info.get("prompt", ""))
        default = found.group(1) if found else "1"
        label = self.who_number(info.get("to", ""))
        try:
            keys = self.console.ask(f"📞 {label} keys [{default}]:")
        except EOFError:
            return default
        if keys.lower() in HANGUP_WORDS:
            return Hangup()
        return keys or default

    def who_number(self, number: str) -> str:
        name = self.agents.get(number)
        return f"{number} ({name})" if name else number

    # --- sessions ----------------------------------------------------------------------------

    def call(self, from_: str, to: str, *, timeout: float = 3600.0) -> str:
        self.console.show(f"📱 calling {to} from {from_} …")
        caller = Caller(live=self.caller_input)
        call = self.sim.place_call(from_, to, caller)
        self.caller_sid = call.sid
        call.wait(timeout)
        self.console.show(f"📴 call ended ({call.status})")
        return call.status

    def text(self, from_: str, to: str) -> None:
        self.texter = from_
        self.console.show(f"💬 texting {to} from {from_} (empty line or /quit to stop)")
        while True:
            try:
                body = self.console.ask("✏️ ")
            except EOFError:
                break
            if not body or body.lower() in HANGUP_WORDS:
                break
            self.sim.send_sms(from_, to, body)


def agents_of(app: Any) -> dict[str, str]:
    """Agents' phones from the app's call-flow folder (number -> name)."""
    flows = app.extensions.get("ivr.flows")
    current = getattr(flows, "current", None)
    agents = getattr(current, "agents", {}) or {}
    return {a.phone: a.name for a in agents.values() if getattr(a, "phone", None)}


def make_available(app: Any, console: Console) -> None:
    router = app.extensions.get("ivr.router")
    flows = app.extensions.get("ivr.flows")
    current = getattr(flows, "current", None)
    if router is None or current is None:
        return
    for agent_id in getattr(current, "agents", {}):
        try:
            router.set_agent_status(agent_id, "available", source="simulate")
        except Exception as exc:  # a simulation still works with agents offline
            console.show(f"⚠️  could not make {agent_id} available: {exc}")


@contextlib.contextmanager
def running_app(
    time_scale: float, config: Mapping[str, Any] | None = None
) -> Iterator[tuple[TwilioSim, Any]]:
    """The app in-process on loopback, with the simulator as its Twilio."""
    from ivr.app import create_app
    from ivr.config import Config
    from ivr.store import EmbeddedRedis

    env = Config.from_env()
    sim = TwilioSim(account_sid=SIM_ACCOUNT_SID, auth_token=SIM_AUTH_TOKEN,
                    time_scale=time_scale)
    sim.start()
    embedded: EmbeddedRedis | None = None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    settings: dict[str, Any] = {
        "twilio_api_url": sim.api_url,
        "twilio_account_sid": SIM_ACCOUNT_SID,
        "twilio_auth_token": SIM_AUTH_TOKEN,
        "public_url": None,
    }
    settings.update(config or {})
    if not settings.get("redis_url") and not env.redis_url:
        # A private embedded Redis: a simulation must not touch a real server's live state.
        tmp = tempfile.TemporaryDirectory(prefix="ivr-simulate-")
        embedded = EmbeddedRedis(Path(tmp.name))
        settings["redis_url"] = embedded.start()
    app = create_app(settings)
    server = serve_wsgi(app)
    sim.app_url = server.url
    try:
        yield sim, app
    finally:
        sim.stop()
        for name in ("ivr.router", "ivr.flows"):
            ext = app.extensions.get(name)
            if ext is not None and hasattr(ext, "stop"):
                with contextlib.suppress(Exception):
                    ext.stop()
        server.stop()
        if embedded is not None:
            embedded.stop()
        if tmp is not None:
            tmp.cleanup()


def default_number(app: Any) -> str:
    """The first number a flow answers, so `ivr simulate` works with no options."""
    flows = app.extensions.get("ivr.flows")
    current = getattr(flows, "current", None)
    for flow in getattr(current, "flows", {}).values():
        for number in getattr(flow, "numbers", []):
            if number != "*" and not number.startswith("whatsapp:"):
                return str(number)
    return "+15005550006"


@click.command("simulate")
@click.option("--to", "to", default=None, help="The number dialed (default: the first flow's).")
@click.option("--from", "from_", default="+15551230000", show_default=True,
              help="The caller's number.")
@click.option("--sms", is_flag=True, help="Text the number instead of calling it.")
@click.option("--time-scale", default=0.25, show_default=True, type=float,
              help="Real seconds per simulated second (prompts, hold music, ringing).")
@click.option("--agents-available/--agents-as-they-are", default=True, show_default=True,
              help="Set every agent available before the call.")
def simulate_command(to: str | None, from_: str, sms: bool, time_scale: float,
                     agents_available: bool) -> None:
    """A phone in the terminal: call (or text) the flows, and answer the agents' phones."""
    console = TerminalConsole()
    run_simulation(console, to=to, from_=from_, sms=sms, time_scale=time_scale,
                   agents_available=agents_available)


def run_simulation(
    console: Console,
    *,
    to: str | None,
    from_: str,
    sms: bool,
    time_scale: float,
    agents_available: bool = True,
    config: Mapping[str, Any] | None = None,
) -> None:
    with running_app(time_scale, config) as (sim, app):
        agents = agents_of(app)
        if agents_available:
            make_available(app, console)
        session = Simulation(sim, console, agents)
        number = to or default_number(app)
        if sms:
            session.text(from_, number)
        else:
            session.call(from_, number)
