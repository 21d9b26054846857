"""`ivr simulate`: a phone in the terminal, with the agents' phones ringing in it too.

The app runs in this process (served on loopback), TwilioSim plays Twilio
against it, and every sound and keypress goes through a `Console`, so tests
can script the whole conversation.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import select
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
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
    """Where the simulation speaks and listens.

    Several people may wait for an answer at once (the caller at a Gather on
    hold, an agent's phone ringing): each line typed goes to the newest
    question still open, or waits in a buffer for the next one. A buffered
    line may be addressed as (text in the prompt, answer), which scripts use
    to answer one phone and not another.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open: list[_Question] = []
        self._buffer: list[tuple[str | None, str]] = []
        self._eof = False

    def show(self, line: str) -> None:
        raise NotImplementedError

    def show_prompt(self, prompt: str) -> None:
        self.show(prompt)

    def feed(self, line: str | None, *, to: str | None = None) -> None:
        """A line from the user (None: no more input)."""
        with self._cond:
            if line is None:
                self._eof = True
            else:
                # The most urgent open question (a ringing phone before hold music), newest first.
                for q in sorted(reversed(self._open), key=lambda q: -q.urgency):
                    if to is None or to in q.prompt:
                        q.answer = line
                        self._open.remove(q)
                        break
                else:
                    self._buffer.append((to, line))
            self._cond.notify_all()

    def _take_buffered(self, prompt: str, urgency: int) -> str | None:
        for i, (to, line) in enumerate(self._buffer):
            if urgency == 0 and to is None:
                continue  # typed-ahead lines are for the next real question, not hold music
            if to is None or to in prompt:
                del self._buffer[i]
                return line
        return None

    def ask(self, prompt: str, timeout: float | None = None, urgency: int = 1) -> str | None:
        """The answer to `prompt`; None when `timeout` seconds pass; EOFError at end of input.

        A question of lower urgency than one already open is not asked at all
        (None at once): the caller on hold stays silent while a phone rings.
        """
        with self._cond:
            if any(q.urgency > urgency for q in self._open):
                return None
            line = self._take_buffered(prompt, urgency)
            if line is not None:
                self.answered(prompt, line)
                return line.strip()
            if self._eof:
                raise EOFError
            q = _Question(prompt, urgency)
            self._open.append(q)
        self.show_prompt(prompt)
        self.wake_reader()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while q.answer is None and not self._eof:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            if q.answer is None:
                if q in self._open:
                    self._open.remove(q)
                if self._eof:
                    raise EOFError
                return None
            return q.answer.strip()

    def answered(self, prompt: str, line: str) -> None:
        """A buffered line answered `prompt` (shown so the transcript reads naturally)."""
        self.show(f"{prompt} {line}")

    def wake_reader(self) -> None:
        """Start reading input if this console reads it itself."""


@dataclass
class _Question:
    prompt: str
    urgency: int = 1
    answer: str | None = None


class TerminalConsole(Console):
    """The real terminal: a reader thread feeds stdin lines to the open questions."""

    def __init__(self) -> None:
        super().__init__()
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._out = threading.Lock()

    def show(self, line: str) -> None:
        with self._out:
            click.echo(line)

    def show_prompt(self, prompt: str) -> None:
        with self._out:
            click.echo(prompt + " ", nl=False)

    def answered(self, prompt: str, line: str) -> None:
        self.show(f"{prompt} {line}")  # typed ahead: show which question it answered

    def wake_reader(self) -> None:
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, name="console", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        # sys.stdin: CliRunner swaps it for its input (click 8.5 deprecates get_text_stream).
        stream = sys.stdin
        try:
            fd: int | None = stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            fd = None  # click's CliRunner: an in-memory stream, always ready
        while not self._closing.is_set():
            if fd is not None:
                # Poll, so close() can stop us: a thread blocked in readline at interpreter
                # exit holds stdin's lock and aborts the process.
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
            line = stream.readline()
            if not line:
                self.feed(None)
                return
            self.feed(line.rstrip("\r\n"))

    def close(self) -> None:
        self._closing.set()
        if self._reader is not None:
            self._reader.join(timeout=1.0)


class ScriptedConsole(Console):
    """A console fed from a list (str, or (text in the prompt, answer)): tests and demos."""

    def __init__(self, lines: Iterable[str | tuple[str, str]]) -> None:
        super().__init__()
        self.output: list[str] = []
        self.prompts: list[str] = []
        self._lock = threading.Lock()
        for item in lines:
            if isinstance(item, tuple):
                self.feed(item[1], to=item[0])
            else:
                self.feed(item)
        self.feed(None)

    def show(self, line: str) -> None:
        with self._lock:
            self.output.append(line)

    def show_prompt(self, prompt: str) -> None:
        with self._lock:
            self.prompts.append(prompt)
            self.output.append(prompt)

    def answered(self, prompt: str, line: str) -> None:
        with self._lock:
            self.prompts.append(prompt)
            self.output.append(f"{prompt} {line}")


class Simulation:
    """One person at the terminal: a caller (or texter), and every agent's phone."""

    def __init__(
        self,
        sim: TwilioSim,
        console: Console,
        agents: Mapping[str, str] | None = None,
        *,
        agent_talk_seconds: float = 30.0,
        ring_seconds: float = 20.0,
    ) -> None:
        self.sim = sim
        self.console = console
        self.agents = dict(agents or {})  # phone number -> name
        self.caller_sid: str | None = None
        self.me: str | None = None  # the terminal user's own number (rings for call backs)
        self.texter: str | None = None
        self.ring_seconds = ring_seconds  # real seconds the user has to pick up
        self._last_play: dict[str, str] = {}
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
        mine = leg.sid == self.caller_sid or (self.me is not None and leg.to == self.me)
        line: str | None = None
        if kind in ("say", "play", "play_digits", "beep"):
            text = "beep" if kind == "beep" else str(event[1])
            if kind == "play_digits":
                text = f"tones {text}"
            icon = {"say": "🔊", "play": "🎵", "play_digits": "🎵", "beep": "🔔"}[kind]
            line = f"{icon} {text}" if mine else f"📞 {self.who(leg)} hears: {text}"
            if kind == "play" and self._last_play.get(leg.sid) == line:
                return  # hold music on a loop: say it once
            self._last_play[leg.sid] = line if kind == "play" else ""
        elif kind == "pause" and mine:
            line = f"   … ({event[1]:g} s)"
        elif kind == "enqueue" and mine:
            line = "⏳ on hold"
        elif kind == "dial" and mine:
            line = f"☎️  transferring: {event[1]}"
        elif kind == "connected":
            line = f"🔗 {'' if mine else self.who(leg) + ' '}connected to {', '.join(event[1])}"
        elif kind == "disconnected" and event[1] != "redirected":
            line = f"🔚 {'' if mine else self.who(leg) + ': '}conversation over"
        elif kind == "hangup":
            line = f"📴 {'the service hung up' if mine else self.who(leg) + ' call ended'}"
        elif kind == "not-answered" and not mine:
            line = f"📞 {self.who(leg)}: {event[1]}"
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
        """At a Gather: digits, words (speech), Enter (silence), /hangup.

        On hold (a waitUrl Gather) the question closes after the Gather's own
        timeout, so hold music goes on and the agents' phones can ring.
        """
        on_hold = info.get("mode") == "wait"
        timeout = float(info.get("timeout") or 5) if on_hold else None
        try:
            if kind == "record":
                text = self.console.ask("🎙  speak your message (Enter: say nothing, /hangup):")
            else:
                text = self.console.ask("⌨️  keys or words (Enter: silence, /hangup):", timeout,
                                        urgency=0 if on_hold else 1)
        except EOFError:
            return Hangup()
        if text is None:
            return Silence()
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
        label = "your phone" if to == self.me else self.who_number(to)
        try:
            answer = self.console.ask(f"📞 {label} rings, call from {from_}. "
                                      "[a]ccept/[d]ecline/[i]gnore:", self.ring_seconds,
                                      urgency=2)
        except EOFError:
            return "no-answer"
        choice = (answer or "")[:1].lower()
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
            keys = self.console.ask(f"📞 {label} keys [{default}]:", self.ring_seconds,
                                    urgency=2)
        except EOFError:
            return default
        if keys is not None and keys.lower() in HANGUP_WORDS:
            return Hangup()
        return keys or default

    def who_number(self, number: str) -> str:
        name = self.agents.get(number)
        return f"{number} ({name})" if name else number

    # --- sessions ----------------------------------------------------------------------------

    def call(self, from_: str, to: str, *, timeout: float = 3600.0,
             callback_wait: float = 300.0) -> str:
        """Place the call; if the caller asked to be called back, stay for that call too."""
        self.me = from_
        self.sim.phones[from_] = Phone(name="you", on_ring=self.on_ring, live=self.caller_input,
                                       hangup_after=None, ring_delay=1.0)
        self.console.show(f"📱 calling {to} from {from_} …")
        call = self.sim.place_call(from_, to, Caller(live=self.caller_input))
        self.caller_sid = call.sid
        call.wait(timeout)
        self.console.show(f"📴 call ended ({call.status})")
        if any(e[0] == "leave" for e in call.transcript):
            self.console.show("⏳ waiting for the call back (Ctrl-D to stop) …")
            self.wait_for_callback(from_, callback_wait)
        return call.status

    def wait_for_callback(self, number: str, limit: float) -> None:
        """Until a call to `number` was answered and has ended, or `limit` real seconds."""
        deadline = time.monotonic() + limit

        def answered_and_over() -> bool:
            calls = [c for c in self.sim.calls_to(number) if c.leg.answered_at is not None]
            return bool(calls) and all(c.leg.done.is_set() for c in calls)

        if self.sim.wait_for(answered_and_over, max(deadline - time.monotonic(), 0.0)):
            self.console.show("📴 call back ended")
        else:
            self.console.show("⌛ no call back yet; stopping")

    def text(self, from_: str, to: str) -> None:
        self.texter = from_
        self.console.show(f"💬 texting {to} from {from_} (empty line or /quit to stop)")
        while True:
            try:
                body = self.console.ask("✏️ ")
            except EOFError:
                break
            body = body or ""
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
    server = serve_wsgi(app, quiet=True)
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


def default_number(app: Any, channel: str = "voice") -> str:
    """The first number a flow of `channel` answers, so `ivr simulate` works with no options."""
    flows = app.extensions.get("ivr.flows")
    current = getattr(flows, "current", None)
    for flow in getattr(current, "flows", {}).values():
        if channel not in getattr(flow, "channels", [channel]):
            continue
        for number in getattr(flow, "numbers", []):
            if number != "*" and not number.startswith("whatsapp:"):
                return str(number)
    return "+15005550006"


@click.command("simulate")
@click.option("--to", "to", default=None, metavar="NUMBER",
              help="The number dialed (default: the first flow's).")
@click.option("--from", "from_", default="+15551230000", show_default=True, metavar="NUMBER",
              help="The caller's number (whatsapp:+1... with --sms for WhatsApp).")
@click.option("--sms", is_flag=True, help="Text the number instead of calling it.")
@click.option("--time-scale", default=0.25, show_default=True, type=float,
              help="Real seconds per simulated second (prompts, hold music, ringing).")
@click.option("--agents-available/--agents-as-they-are", default=True, show_default=True,
              help="Set every agent available before the call.")
@click.option("--verbose", is_flag=True, help="Show the server's log lines too.")
def simulate_command(to: str | None, from_: str, sms: bool, time_scale: float,
                     agents_available: bool, verbose: bool) -> None:
    """A phone in the terminal: call (or text) the flows, and answer the agents' phones."""
    # Before create_app configures logging: the terminal is for the conversation.
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    console = TerminalConsole()
    try:
        run_simulation(console, to=to, from_=from_, sms=sms, time_scale=time_scale,
                       agents_available=agents_available)
    finally:
        console.close()


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
        number = to or default_number(app, "sms" if sms else "voice")
        if sms:
            session.text(from_, number)
        else:
            session.call(from_, number)
