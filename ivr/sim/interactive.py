"""`ivr simulate`: a phone in the terminal, with the agents' phones ringing in it too.

TwilioSim plays Twilio against a server (a running `ivr serve --simulated`,
or the app run in this process: `ivr.sim.server`), and every sound, keypress
and command goes through a `Console` (`ivr.sim.console`), so tests can script
the whole conversation.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import click

from ivr.flows.model import Callflows
from ivr.sim.clock import Pretend, parse_at
from ivr.sim.console import Console, ScriptedConsole, TerminalConsole
from ivr.sim.legs import Leg
from ivr.sim.people import Behaviour, Caller, Hangup, Input, Phone, Record, Silence, Speech
from ivr.sim.records import SimMessage
from ivr.sim.server import (
    SIM_ACCOUNT_SID,
    SIM_AUTH_TOKEN,
    AdminClient,
    AdminError,
    AttachError,
    attached,
    private,
)
from ivr.sim.twilio import TwilioSim

__all__ = [
    "SIM_ACCOUNT_SID", "SIM_AUTH_TOKEN", "Console", "ScriptedConsole", "Simulation",
    "TerminalConsole", "run_simulation", "simulate_command",
]

DIGITS = re.compile(r"^[0-9*#w]+$")
PRESS = re.compile(r"press (\d)", re.IGNORECASE)
HANGUP_WORDS = {"/hangup", "/h", "/quit", "/q"}
PROMPT = "⌨️  keys or words (Enter: silence, /hangup):"
HOLD_TAG = "on hold"
HOLD_PROMPT = f"⌨️  keys or words {HOLD_TAG}:"  # never shown: hold keys are typed any time
HELP = ("commands: /status (queues and agents), /agent NAME on|break|off, /hangup, /help; "
        "@NAME TEXT texts the service number from that agent's phone (@alice A, "
        "@alice #2 hello, @alice DONE)")
AGENT_HINT = ("ℹ️  answer as the agent with @NAME TEXT, e.g. @{who} A to accept, "
              "@{who} #1 hello, @{who} DONE")
AGENT_TEXT_WAIT = 5.0  # real seconds a scripted @NAME line waits for a text to that phone
STATUS_WORDS = {"on": "available", "off": "offline", "available": "available",
                "break": "break", "offline": "offline"}


def bare(number: str) -> str:
    """A texter's number as the server calls it back (no whatsapp: prefix)."""
    return number.removeprefix("whatsapp:")


class Simulation:
    """One person at the terminal: a caller (or texter), and every phone the server rings."""

    def __init__(
        self,
        sim: TwilioSim,
        console: Console,
        agents: Mapping[str, str] | None = None,
        *,
        agent_talk_seconds: float = 30.0,
        ring_seconds: float = 20.0,
        admin: AdminClient | None = None,
        agent_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.sim = sim
        self.console = console
        self.admin = admin
        self.agents = dict(agents or {})  # phone number -> name
        self.agent_ids = dict(agent_ids or {})  # phone number -> agent id (for @NAME)
        self.service: str | None = None  # the number called or texted
        self._texts_seen: dict[str, int] = {}  # agent phone -> texts it had at its last @
        self._hinted = False
        self.caller_sid: str | None = None
        self.me: str | None = None  # the terminal user's own number (rings for call backs)
        self.texter: str | None = None
        self.ring_seconds = ring_seconds  # real seconds to pick up when Twilio gives no Timeout
        self.agent_talk_seconds = agent_talk_seconds
        self._last_play: dict[str, str] = {}
        self._stop = threading.Event()  # the person gave up waiting (/quit, Ctrl-D)
        sim.listener = self.on_event
        sim.on_error = lambda message: console.show(f"⚠️  Twilio error: {message}")
        sim.default_phone = self.phone_for
        console.on_command = self.command
        for number, name in self.agents.items():
            sim.phones[number] = self.agent_phone(name)

    def agent_phone(self, name: str | None) -> Phone:
        return Phone(name=name, on_ring=self.on_ring, live=self.agent_input,
                     hangup_after=self.agent_talk_seconds, ring_delay=1.0)

    def phone_for(self, number: str) -> Phone:
        """A number the server calls that has no phone yet (an agent added through the API,
        a transfer): it rings in the terminal too."""
        if number not in self.agents and self.admin is not None:
            with contextlib.suppress(AdminError):
                self.agents.update(agents_of(self.admin))
                self.agent_ids.update(agent_ids_of(self.admin))
        phone = self.agent_phone(self.agents.get(number))
        self.sim.phones.setdefault(number, phone)
        return self.sim.phones[number]

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
        # (the caller's own leg may speak before place_call has returned its sid)
        mine = leg.sid == self.caller_sid or (self.me is not None and (
            leg.to == self.me or (leg.direction == "inbound" and leg.from_ == self.me)))
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
            if self.console.interactive:
                line += " (type keys when offered; /status, /agent NAME on, /hangup, /help)"
                self.console.default_to = HOLD_TAG
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
        if mine and kind in ("dequeued", "queue-result", "leave", "redirected", "hangup"):
            self.console.default_to = None  # off hold: typed keys go to the next question
        if line is not None:
            self.console.show(line)

    def show_message(self, msg: SimMessage) -> None:
        attached = "".join(f" 📎 {m}" for m in msg.media)
        if self.texter is not None and msg.to in (self.texter, bare(self.texter)):
            self.console.show(f"💬 {msg.body}{attached}")
        elif msg.to in self.agents or msg.to in self.agent_ids:
            who = self.agent_handle(msg.to)
            self.console.show(f"📱 {who} ({msg.to}) gets: {msg.body}{attached}")
            if self.console.interactive and not self._hinted:
                self._hinted = True
                self.console.show(AGENT_HINT.format(who=who))
        else:
            self.console.show(f"💬 text to {msg.to}: {msg.body}{attached}")

    def agent_handle(self, phone: str) -> str:
        """How the terminal names an agent's phone: their id (alice), else their name."""
        return self.agent_ids.get(phone) or self.agents.get(phone) or phone

    def agent_phone_of(self, handle: str) -> str | None:
        """The phone of the agent called `handle` (id, name or first name, any case)."""
        wanted = handle.lower()
        for phone, agent_id in self.agent_ids.items():
            if agent_id.lower() == wanted:
                return phone
        for phone, name in self.agents.items():
            if name.lower() == wanted or name.split()[0].lower() == wanted:
                return phone
        return None

    # --- what the user does -------------------------------------------------------------

    def caller_input(self, kind: str, info: dict[str, str]) -> Input:
        """At a Gather: digits, words (speech), Enter (silence), /hangup, or a command.

        On hold (a waitUrl Gather) nothing is printed: keys typed any time while
        on hold are pressed at the hold menu; the question closes after the
        Gather's own timeout, so hold music goes on and the agents' phones can ring.
        """
        on_hold = info.get("mode") == "wait"
        timeout = float(info.get("timeout") or 5) if on_hold else None
        while True:
            try:
                if kind == "record":
                    text = self.console.ask("🎙  speak your message (Enter: say nothing, "
                                            "/hangup):", owner="caller")
                elif on_hold:
                    text = self.console.ask(HOLD_PROMPT, timeout, urgency=0, owner="caller",
                                            quiet=True)
                else:
                    text = self.console.ask(PROMPT, owner="caller")
            except EOFError:
                return Hangup()
            if text is None:
                return Silence()
            if text.lower() in HANGUP_WORDS:
                return Hangup()
            if text.startswith(("/", "@")):
                self.command(text)  # typed ahead in a script: run it, then ask again
                continue
            break
        if not text:
            return Silence()
        if kind == "record":
            return Record(duration=max(2.0, len(text.split()) * 0.5), transcription=text)
        if DIGITS.match(text):
            return text.replace("w", "")
        return Speech(text)

    def on_ring(self, call_sid: str, from_: str, to: str) -> Behaviour | None:
        """A phone rings: it waits for the person at the keyboard (a line typed after it
        rang, when interactive) until it is answered or stops ringing."""
        label = "your phone" if to == self.me else self.who_number(to)
        leg = self.sim.legs.get(call_sid)
        limit = (leg.ring_timeout if leg is not None and leg.ring_timeout else
                 self.ring_seconds)
        deadline = time.monotonic() + limit
        prompt = f"📞 {label} rings, call from {from_}. [a]ccept/[d]ecline/[i]gnore:"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "no-answer"
            try:
                answer = self.console.ask(prompt, remaining, urgency=2, owner="ring", fresh=True,
                                          cancelled=leg.hangup_pending if leg else None)
            except EOFError:
                return "no-answer"
            if answer is not None and answer.startswith(("/", "@")):
                self.command(answer)
                continue
            choice = (answer or "")[:1].lower()
            if choice == "a":
                return "answer"
            if choice == "d":
                return "decline"
            if answer is None or choice == "i" or not self.console.interactive:
                return "no-answer"
            self.console.show("📞 a: accept, d: decline, i: let it ring")

    def agent_input(self, kind: str, info: dict[str, str]) -> Input:
        """The agent accepted: keys at the whisper, defaulting to the one it asks for."""
        found = PRESS.search(info.get("prompt", ""))
        default = found.group(1) if found else "1"
        label = self.who_number(info.get("to", ""))
        while True:
            try:
                keys = self.console.ask(f"📞 {label} keys [{default}]:", self.ring_seconds,
                                        urgency=2, owner="agent")
            except EOFError:
                return default
            if keys is not None and keys.lower() in HANGUP_WORDS:
                return Hangup()
            if keys is not None and keys.startswith(("/", "@")):
                self.command(keys)
                continue
            return keys or default

    def who_number(self, number: str) -> str:
        name = self.agents.get(number)
        return f"{number} ({name})" if name else number

    # --- commands --------------------------------------------------------------------

    def command(self, line: str) -> None:
        """A "/command" (or "@NAME text") typed at any moment: never dropped, always
        answered."""
        if line.startswith("@"):
            self.agent_text(line)
            return
        word, *args = line.split()
        word = word.lower()
        if word in HANGUP_WORDS:
            self.hang_up()
        elif word in ("/help", "/?"):
            self.console.show(f"ℹ️  {HELP}")
        elif word == "/status":
            self.show_status()
        elif word in ("/agent", "/agents"):
            self.agent_command(args)
        else:
            self.console.show(f"❓ unknown command {word}; {HELP}")

    def hang_up(self) -> None:
        if self.console.answer_open("caller", "/hangup"):
            return  # the open question (a menu, a message, the next text) takes it
        leg = self.sim.legs.get(self.caller_sid) if self.caller_sid else None
        if leg is not None and not leg.done.is_set():
            leg.hang_up_in(0)
        elif self.me is not None:
            self._stop.set()  # stop waiting for the call back
        else:
            self.console.show("ℹ️  no call to hang up")

    def agent_command(self, args: list[str]) -> None:
        if self.admin is None:
            self.console.show("⚠️  /agent needs the server's admin API (none here)")
            return
        if len(args) != 2 or args[1].lower() not in STATUS_WORDS:
            self.console.show("ℹ️  /agent NAME on|break|off, e.g. /agent bob on")
            return
        try:
            row = self.admin.set_status(args[0], STATUS_WORDS[args[1].lower()])
        except AdminError as exc:
            self.console.show(f"⚠️  /agent {args[0]}: {exc}")
            return
        self.console.show(f"👤 {row['id']}: {row['status']} ({row['state']})")

    def agent_text(self, line: str) -> None:
        """"@alice #2 hello": alice's phone texts the service number (what an agent answers
        an offer or a texter with). Scripted, it first waits (a few seconds at most) for a
        text to reach that phone since its previous one, so a script reads in order."""
        handle, _, body = line[1:].partition(" ")
        phone = self.agent_phone_of(handle)
        if phone is None:
            known = ", ".join(sorted(self.agent_handle(p) for p in
                                     set(self.agents) | set(self.agent_ids))) or "none"
            self.console.show(f"❓ no agent {handle!r} (agents: {known}); @NAME TEXT")
            return
        if not body.strip():
            self.console.show(f"ℹ️  @{handle} TEXT, e.g. @{handle} A")
            return
        if not self.console.interactive:
            seen = self._texts_seen.get(phone, 0)
            self.sim.wait_for(lambda: len(self.sim.inbox(phone)) > seen, AGENT_TEXT_WAIT)
        got = self.sim.inbox(phone)
        service = got[-1].from_ if got else self.service
        if service is None:
            self.console.show("⚠️  no service number to text yet")
            return
        self._texts_seen[phone] = len(got)
        self.console.show(f"📱 {self.agent_handle(phone)} ({phone}) texts: {body.strip()}")
        self.sim.send_sms(phone, service, body.strip())

    def show_status(self) -> None:
        if self.admin is None:
            self.console.show("⚠️  /status needs the server's admin API (none here)")
            return
        try:
            board = self.admin.wallboard()
        except AdminError as exc:
            self.console.show(f"⚠️  /status: {exc}")
            return
        queues = " · ".join(f"{q['queue']}: {q['waiting']} waiting"
                            + (f", longest {q['longest_wait']:.0f}s" if q["waiting"] else "")
                            for q in board.get("queues", []))
        self.console.show(f"📊 {queues or 'no queues'}")
        self.console.show(f"👥 {agents_line(board.get('agents', []))}")

    # --- sessions ----------------------------------------------------------------------------

    def call(self, from_: str, to: str, *, timeout: float = 3600.0,
             callback_wait: float = 300.0) -> str:
        """Place the call; if the caller asked to be called back, stay for that call too."""
        self.me = from_
        self.service = to
        self.sim.phones[from_] = Phone(name="you", on_ring=self.on_ring, live=self.caller_input,
                                       hangup_after=None, ring_delay=1.0)
        self.console.show(f"📱 calling {to} from {from_} …")
        call = self.sim.place_call(from_, to, Caller(live=self.caller_input))
        self.caller_sid = call.sid
        call.wait(timeout)
        self.console.default_to = None
        self.console.show(f"📴 call ended ({call.status})")
        if any(e[0] == "leave" for e in call.transcript):
            self.wait_for_callback(from_, callback_wait)
        return call.status

    def wait_for_callback(self, number: str, limit: float) -> None:
        """Until a call to `number` was answered and has ended, `limit` real seconds, or the
        person stops waiting (/quit; Ctrl-D at a terminal)."""
        self.console.show("⏳ waiting for the call back (/quit or Ctrl-D to stop) …")
        deadline = time.monotonic() + limit

        def answered_and_over() -> bool:
            calls = [c for c in self.sim.calls_to(number) if c.leg.answered_at is not None]
            return bool(calls) and all(c.leg.done.is_set() for c in calls)

        def stopped() -> bool:
            return self._stop.is_set() or (self.console.interactive and self.console.at_eof)

        self.sim.wait_for(lambda: answered_and_over() or stopped(),
                          max(deadline - time.monotonic(), 0.0))
        if answered_and_over():
            self.console.show("📴 call back ended")
        else:
            self.console.show("⌛ no call back yet; stopping")

    def text(self, from_: str, to: str, *, callback_wait: float = 300.0) -> None:
        """Text back and forth; the texter's phone rings here too (a call back by text)."""
        self.texter = from_
        self.service = to
        self.me = bare(from_)
        self.sim.phones[self.me] = Phone(name="you", on_ring=self.on_ring,
                                         live=self.caller_input, hangup_after=None,
                                         ring_delay=1.0)
        self.console.show(f"💬 texting {to} from {from_} (empty line or /quit to stop)")
        while True:
            try:
                body = self.console.ask("✏️ ", owner="caller")
            except EOFError:
                break
            body = body or ""
            if body.startswith(("/", "@")) and body.lower() not in HANGUP_WORDS:
                self.command(body)
                continue
            if not body or body.lower() in HANGUP_WORDS:
                break
            self.sim.send_sms(from_, to, body)
        if self.callback_pending():
            self.wait_for_callback(self.me, callback_wait)

    def callback_pending(self) -> bool:
        """A call back may be coming: a phone rings or talks here now (an agent being
        offered the texter's call back), or the texter waits in a queue for one."""
        if self.sim.live_calls():
            return True
        if self.admin is None:
            return False
        try:
            waiting = self.admin.waiting()
        except AdminError:
            return False
        return any(w.get("kind") == "callback" and bare(str(w.get("from"))) == self.me
                   for w in waiting)


def agents_of(admin: AdminClient) -> dict[str, str]:
    """Agents' phones as the server knows them (agents.yaml and the API): number -> name."""
    return {a["phone"]: a.get("name") or a["id"] for a in admin.agents() if a.get("phone")}


def agent_ids_of(admin: AdminClient) -> dict[str, str]:
    """Agents' phones as the server knows them: number -> agent id (what @NAME names)."""
    return {a["phone"]: a["id"] for a in admin.agents() if a.get("phone")}


def log_in_on_break(admin: AdminClient, console: Console, *, agents_as_they_are: bool) -> None:
    """Beside a server where nobody is logged in, every caller would overflow at once: log
    the agents in, on break, so callers wait for one to be made available (unless the
    person asked for the agents as they are)."""
    if agents_as_they_are:
        return
    try:
        agents = admin.agents()
        if not agents or any(a["status"] != "offline" for a in agents):
            return
        for agent in agents:
            admin.set_status(agent["id"], "break")
    except AdminError as exc:
        console.show(f"⚠️  could not log the agents in: {exc}")
        return
    console.show("👥 nobody was logged in, so callers would go straight to the overflow: "
                 "every agent is now on break (logged in, not taking calls)")


def agents_line(agents: list[dict[str, Any]]) -> str:
    parts = []
    for a in agents:
        state = f"/{a['state']}" if a.get("state") not in (None, "idle") else ""
        parts.append(f"{a['id']} {a['status']}{state}")
    return " · ".join(parts) or "no agents"


def default_number(callflows: Callflows, channel: str = "voice") -> str:
    """The first number a flow of `channel` answers, so `ivr simulate` works with no options."""
    for flow in callflows.flows.values():
        if channel not in flow.channels:
            continue
        for number in flow.numbers:
            if number != "*" and not number.startswith("whatsapp:"):
                return str(number)
    return "+15005550006"


@click.command("simulate")
@click.option("--to", "to", default=None, metavar="NUMBER",
              help="The number dialed (default: the first flow's).")
@click.option("--from", "from_", default="+15551230000", show_default=True, metavar="NUMBER",
              help="The caller's number (whatsapp:+1... with --sms for WhatsApp).")
@click.option("--sms", is_flag=True, help="Text the number instead of calling it.")
@click.option("--at", "at", default=None, metavar='"YYYY-MM-DD HH:MM"',
              help="Pretend this time, in the flow's time zone (hours steps, `now`).")
@click.option("--open", "all_open", is_flag=True, help="Every schedule of hours.yaml is open.")
@click.option("--time-scale", default=0.25, show_default=True, type=float,
              help="Real seconds per simulated second (prompts, hold music, ringing).")
@click.option("--agents-available/--agents-as-they-are", default=None,
              help="Set every agent available before the call (default: yes on a private "
                   "simulation, no beside a running server).")
@click.option("--private", is_flag=True,
              help="Never attach to a running `ivr serve --simulated`; run the app here.")
@click.option("--verbose", is_flag=True, help="Show the server's log lines too.")
def simulate_command(to: str | None, from_: str, sms: bool, at: str | None, all_open: bool,
                     time_scale: float, agents_available: bool | None, private: bool,
                     verbose: bool) -> None:
    """A phone in the terminal: call (or text) the flows, and answer the agents' phones.

    Beside a running `ivr serve --simulated` (same IVR_DATA_DIR) it plays that
    server's Twilio: callers show on its wallboard, agents made available there
    ring here. Otherwise it runs the app itself, on a private Redis.
    """
    if verbose:
        logging.getLogger().setLevel(logging.INFO)
    console = TerminalConsole()
    try:
        run_simulation(console, to=to, from_=from_, sms=sms, time_scale=time_scale,
                       agents_available=agents_available, at=at, all_open=all_open,
                       attach=not private)
    except AttachError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        console.close()


def run_simulation(
    console: Console,
    *,
    to: str | None,
    from_: str,
    sms: bool,
    time_scale: float,
    agents_available: bool | None = None,
    config: Mapping[str, Any] | None = None,
    at: str | None = None,
    all_open: bool = False,
    attach: bool = True,
) -> None:
    from ivr.cli import folder_note
    from ivr.config import Config
    from ivr.store import ServerRecord

    env = Config.from_env()
    record = ServerRecord.read(env.data_dir) if attach and config is None else None
    if record is not None and not record.simulated:
        console.show(f"ℹ️  the server at {record.url} was started without --simulated (its "
                     "agents' phones ring through Twilio), so this simulation runs on its own "
                     "and its callers are not on that server's wallboard. Start the server "
                     "with `ivr serve --simulated` to simulate beside it.")
        record = None
    context = (attached(record, time_scale, env.admin_token) if record is not None
               else private(time_scale, config))
    with context as server:
        if server.attached:
            console.show(f"🔌 beside the server at {server.url}: its data, call flows and "
                         f"wallboard ({server.url}/wallboard)")
            note = folder_note(env.callflows, record)
            if note:
                console.show(f"ℹ️  {note}; using the server's")
        channel = "sms" if sms else "voice"
        number = to or default_number(server.callflows, channel)
        flow = server.callflows.flow_for(number.removeprefix("whatsapp:"), channel)
        try:
            pretend = Pretend(at=parse_at(at, flow.timezone if flow else "UTC") if at else None,
                              all_open=all_open)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
        server.sim.extra_headers = pretend.headers
        if pretend.describe():
            console.show(f"🕰  {pretend.describe()}")
        try:
            agents = agents_of(server.admin)
            ids = agent_ids_of(server.admin)
        except AdminError:
            agents = {a.phone: a.name for a in server.callflows.agents.values() if a.phone}
            ids = {a.phone: agent_id for agent_id, a in server.callflows.agents.items()
                   if a.phone}
        explicit = agents_available is not None
        if agents_available is None:
            agents_available = not server.attached
        session = Simulation(server.sim, console, agents, admin=server.admin, agent_ids=ids)
        if agents_available:
            for agent_id in server.callflows.agents:
                try:
                    server.admin.set_status(agent_id, "available")
                except AdminError as exc:  # a simulation still works with agents offline
                    console.show(f"⚠️  could not make {agent_id} available: {exc}")
        elif server.attached:
            log_in_on_break(server.admin, console, agents_as_they_are=explicit)
            session.show_status()
            console.show("ℹ️  make an agent available on the wallboard, with "
                         "`ivr agents set NAME on`, or here with /agent NAME on")
        if sms:
            session.text(from_, number)
        else:
            session.call(from_, number)
