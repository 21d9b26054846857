"""The automatic call distributor's single entry point.

`Router` is what the rest of the server holds (one per worker process): the
flow engines put callers in queues and ask how their wait ended, the web
layer answers the Twilio webhooks of queues and agents' phones with it, and
the API, the wallboard and `ivr agents` read and change the roster. It
composes the parts of `ivr/routing/`, each owning one concern:

| module | owns |
| --- | --- |
| `env.py` | Redis, the call-flow folder, the injectable clock, our URLs |
| `layout.py` | which keys each script is given; the scripts' context |
| `scripts.py` | the Lua decisions: registration, running, typed replies |
| `records.py` | agents' and callers' records and the scripts' replies, typed |
| `roster.py` | agents, their statuses, the phone book |
| `core.py` | callers entering, offers, acceptance, misses, outcomes |
| `phones.py` | the Twilio REST requests routing makes |
| `hold.py` | what a waiting caller hears, as plain data |
| `timers.py` | timers and the timer thread |
| `statistics.py` | queue figures and today's counters |
| `events.py` | the event log |
| `control.py` | call controls: hold, hang up, transfers |

Routing knows no HTTP: it takes and returns plain values and records. The
TwiML of the queue and agents' phone calls is the web layer's
(`ivr/webhooks/queue.py`, `ivr/webhooks/agent_line.py`); `enqueue` alone
still answers the `<Enqueue>` verb, because that is the flow engine's contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import redis
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ivr import paths
from ivr.flows.model import AgentConfig, Callflows, QueueConfig
from ivr.routing.chats import Chats
from ivr.routing.control import (
    BadTarget,
    ControlError,
    ControlRefused,
    Controls,
    UnknownCall,
)
from ivr.routing.core import (
    CALLBACK_SPACING,
    MISS_REST,
    Acd,
    LiveOffer,
    QueueOutcome,
)
from ivr.routing.env import Env
from ivr.routing.events import EventLog
from ivr.routing.hold import DEFAULT_HOLD_MUSIC, Hold, HoldPlan
from ivr.routing.layout import KeyLayout
from ivr.routing.monitor import Monitor, NotSupervisor
from ivr.routing.phones import Phones
from ivr.routing.recording import NotRecording, Recording
from ivr.routing.records import FINAL_CALL_STATUSES, CallerRecord
from ivr.routing.roster import Roster, UnknownAgent
from ivr.routing.scripts import Scripts
from ivr.routing.statistics import Statistics
from ivr.routing.timers import Timers
from ivr.urls import PublicUrl


class Router:
    """Skills-based routing over Redis; one per worker process (see module docstring)."""

    def __init__(
        self,
        store: redis.Redis,
        callflows: Callable[[], Callflows],
        twilio: Client,
        *,
        public_url: str | PublicUrl | None,
        clock: Callable[[], float] = time.time,
        miss_rest: float = MISS_REST,
        callback_spacing: float = CALLBACK_SPACING,
        hold_music: str | None = DEFAULT_HOLD_MUSIC,
    ) -> None:
        """`hold_music`: what queues without their own `hold_music` play (None: pauses)."""
        self.store = store
        self.callflows = callflows
        self.twilio = twilio
        self.clock = clock
        self.urls = (public_url if isinstance(public_url, PublicUrl)
                     else PublicUrl(store, public_url))
        self.env = Env(store, callflows, clock, self.urls)
        self.layout = KeyLayout(self.env)
        self.scripts = Scripts(self.env, self.layout)
        self.phones = Phones(self.env, twilio)
        self.roster = Roster(self.env, self.layout, self.scripts,
                             place_offers=lambda offers: self.acd.place_offers(offers))
        self.acd = Acd(self.env, self.layout, self.scripts, self.roster, self.phones,
                       miss_rest=miss_rest, callback_spacing=callback_spacing)
        self.holding = Hold(self.env, self.acd, default_music=hold_music)
        self.controls = Controls(self.env, self.scripts, self.acd, self.phones, self.holding)
        # supervision and recording (ivr/routing/monitor.py, recording.py)
        self.monitor = Monitor(self.env, self.scripts, self.acd, self.phones)
        self.recording = Recording(self.env, self.acd, self.phones)
        self.controls.recording = self.recording
        # text conversations with agents (ivr/routing/chats.py)
        self.chats = Chats(self.env, self.scripts, miss_rest=miss_rest)
        self.roster.on_removed.append(self.chats.hand_back)
        self.timers = Timers(self.env, self.scripts, self.acd, self.roster, self.phones,
                             self.chats)
        self.log = EventLog(self.env)
        self.statistics = Statistics(self.env, self.layout, self.roster, self.log)

    # --- plumbing -------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.env.now_ms()

    def base_url(self) -> str:
        """Our public base URL (configured, or learnt from Twilio's webhooks: ivr/urls.py)."""
        return self.urls.base()

    def url(self, path: str, **query: Any) -> str:
        return self.urls.url(path, **query)

    def queue_config(self, name: str) -> QueueConfig:
        return self.env.queue_config(name)

    def today(self, queue: str) -> str:
        return self.env.today(queue)

    def buckets_of(self, queue: str) -> list[str]:
        return self.layout.buckets_of(queue)

    # --- the roster -------------------------------------------------------------------

    def sync_roster(self) -> None:
        self.roster.sync()

    def agents(self) -> list[dict[str, Any]]:
        return self.roster.agents()

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        return self.roster.agent(agent_id)

    def agent_config(self, agent_id: str) -> AgentConfig | None:
        return self.roster.agent_config(agent_id)

    def upsert_agent(self, agent: AgentConfig) -> dict[str, Any]:
        return self.roster.upsert_agent(agent)

    def remove_agent(self, agent_id: str) -> str:
        return self.roster.remove_agent(agent_id)

    def agent_by_phone(self, phone: str) -> str | None:
        return self.roster.agent_by_phone(phone)

    def set_agent_status(self, agent_id: str, status: str, *, source: str,
                         reason: str | None = None) -> dict[str, Any]:
        agent = self.roster.set_status(agent_id, status, source=source, reason=reason)
        if status == "available":
            self.chats.dispatch()  # waiting text conversations may go to them now
        return agent

    def check_pin(self, agent_id: str, pin: str) -> str:
        return self.roster.check_pin(agent_id, pin)

    def pin_locked(self, agent_id: str) -> bool:
        return self.roster.pin_locked(agent_id)

    # --- callers ----------------------------------------------------------------------

    def enqueue(
        self, call_sid: str, *, queue: str, priority: int, skills: list[str],
        max_wait: int | None, caller: str, called: str, flow: str, step: str, action_url: str,
    ) -> VoiceResponse | None:
        """The flow engine's queue step: put the caller in line (`enter_call`) and answer
        the `<Enqueue>` that holds them, or None for "overflow right now"."""
        if not self.enter_call(call_sid, queue=queue, priority=priority, skills=skills,
                               max_wait=max_wait, caller=caller, called=called, flow=flow,
                               step=step, action_url=action_url):
            return None
        return self.enqueue_twiml(call_sid, action_url)

    def enqueue_twiml(self, call_sid: str, action_url: str) -> VoiceResponse:
        """`<Enqueue>` of a caller in their own Twilio queue (named by their CallSid)."""
        response = VoiceResponse()
        response.enqueue(
            call_sid, action=self.result_url(call_sid, "queue", action_url), method="POST",
            wait_url=self.url(paths.QUEUE_WAIT, call=call_sid, n=0), wait_url_method="POST",
        )
        return response

    def back_in_line(self, call_sid: str) -> VoiceResponse | None:
        """The TwiML of a caller transferred back into a line (None: not waiting now)."""
        record = self.acd.caller(call_sid)
        if record is None or record.state not in ("waiting", "offered"):
            return None
        return self.enqueue_twiml(call_sid, record.action_url)

    def result_url(self, call_sid: str, via: str, action_url: str, generation: int = 0) -> str:
        """Our /twilio/queue/result with the flow's own continuation (the engine's action
        URL's query) carried along: the Enqueue action ("queue") and the caller's conference
        <Dial> action ("conf") pass through it (ivr/webhooks/queue.py), so that the move
        into the conference does not continue the flow twice."""
        query = dict(parse_qsl(urlsplit(action_url).query))
        if via == "conf":
            query["g"] = str(generation)
        return self.url(paths.QUEUE_RESULT, call=call_sid, via=via, **query)

    def continuation(self, call_sid: str, via: str, queue_result: str,
                     generation: str = "") -> str:
        return self.acd.continuation(call_sid, via, queue_result, generation)

    def join(self, call_sid: str) -> tuple[str, str, int]:
        return self.acd.join(call_sid)

    def conference_event(self, call_sid: str, event: str, participant: str, conference: str,
                         seq: int) -> None:
        self.acd.conference_event(call_sid, event, participant, conference, seq)
        if event == "participant-join" and participant == call_sid:
            self.recording.joined(call_sid, conference)  # a recorded queue: its CF

    def enter_call(
        self, call_sid: str, *, queue: str, priority: int, skills: list[str],
        max_wait: int | None, caller: str, called: str, flow: str, step: str, action_url: str,
    ) -> bool:
        return self.acd.enter_call(call_sid, queue=queue, priority=priority, skills=skills,
                                   max_wait=max_wait, caller=caller, called=called, flow=flow,
                                   step=step, action_url=action_url)

    def caller(self, call_sid: str) -> CallerRecord | None:
        return self.acd.caller(call_sid)

    def caller_outcome(self, call_sid: str) -> str | None:
        return self.acd.caller_outcome(call_sid)

    def queue_result(self, call_sid: str, queue_result: str) -> QueueOutcome:
        return self.acd.queue_result(call_sid, queue_result)

    def call_ended(self, call_sid: str, call_status: str) -> None:
        self.acd.call_ended(call_sid, call_status)
        if call_status in FINAL_CALL_STATUSES:
            self.monitor.call_ended(call_sid)  # the supervisor's leg ends with the call

    def request_callback(
        self, number: str, *, queue: str, service_number: str, channel: str = "sms",
        entered_ms: int | None = None,
    ) -> int:
        return self.acd.request_callback(number, queue=queue, service_number=service_number,
                                         channel=channel, entered_ms=entered_ms)

    def press_callback(self, call_sid: str) -> str:
        return self.acd.press_callback(call_sid)

    def waiting(self) -> list[dict[str, Any]]:
        return self.statistics.waiting()

    # --- waiting callers: the hold loop -----------------------------------------------

    def hold(self, call_sid: str) -> HoldPlan:
        return self.holding.plan(call_sid)

    def position(self, caller: CallerRecord) -> int:
        return self.acd.position(caller)

    def expected_wait(self, queue: str, position: int) -> float:
        return self.holding.expected_wait(queue, position)

    def in_twilio_queue(self, call_sid: str) -> bool:
        return self.holding.in_twilio_queue(call_sid)

    def voice_of(self, call_sid: str) -> tuple[str | None, str | None]:
        return self.holding.voice_of(call_sid)

    # --- offers and agents' calls -------------------------------------------------------

    def offer(self, agent_id: str, token: str) -> LiveOffer | None:
        return self.acd.offer(agent_id, token)

    def set_leg(self, agent_id: str, token: str, leg: str) -> bool:
        return self.acd.set_leg(agent_id, token, leg)

    def offer_failed(self, agent_id: str, token: str, reason: str) -> None:
        self.acd.offer_failed(agent_id, token, reason)

    def accept(self, agent_id: str, token: str) -> tuple[str, CallerRecord | None]:
        return self.acd.accept(agent_id, token)

    def agent_leg_status(self, agent_id: str, token: str, call_status: str,
                         call_sid: str = "") -> None:
        self.acd.agent_leg_status(agent_id, token, call_status, call_sid)

    def callback_dialed(self, agent_id: str, token: str, dial_status: str) -> str:
        return self.acd.callback_dialed(agent_id, token, dial_status)

    # --- call controls (ivr/routing/control.py) --------------------------------------------

    def set_hold(self, call_sid: str, on: bool) -> None:
        self.controls.hold(call_sid, on)

    def hang_up(self, call_sid: str) -> None:
        self.controls.hang_up(call_sid)

    def transfer(self, call_sid: str, to: str, *, warm: bool = False) -> None:
        self.controls.transfer(call_sid, to, warm=warm)

    def complete_transfer(self, call_sid: str, *, three_way: bool = False) -> None:
        self.controls.complete(call_sid, three_way=three_way)

    def cancel_transfer(self, call_sid: str) -> None:
        self.controls.cancel(call_sid)

    # --- supervision and recording (ivr/routing/monitor.py, recording.py) ------------------

    def start_monitor(self, call_sid: str, supervisor: str, mode: str) -> str:
        return self.monitor.start(call_sid, supervisor, mode)

    def stop_monitor(self, call_sid: str) -> bool:
        return self.monitor.stop(call_sid)

    def monitor_leg_status(self, call_sid: str, leg: str, call_status: str) -> None:
        self.monitor.leg_status(call_sid, leg, call_status)

    def pause_recording(self, call_sid: str, paused: bool) -> None:
        self.recording.pause(call_sid, paused)

    def wrapup(self, agent_id: str, call_sid: str, disposition: str | None) -> str:
        """The agent's wrap-up of a call given: "ended" (their wrap-up time is over, and
        they may be offered the next caller at once), "connected" (still on the call:
        nothing ends), "removed", or "conflict" (not on nor wrapping up this call)."""
        return self.roster.wrapup(agent_id, call_sid, disposition)

    # --- timers ---------------------------------------------------------------------------

    def start(self) -> None:
        self.timers.start()

    def stop(self) -> None:
        self.timers.stop()

    def run_timers(self, limit: int = 50) -> int:
        return self.timers.run(limit)

    # --- statistics and the event log -------------------------------------------------------

    def queue_stats(self, name: str) -> dict[str, Any]:
        return self.statistics.queue_stats(name)

    def all_queue_stats(self) -> list[dict[str, Any]]:
        return self.statistics.all_queue_stats()

    def live_view(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(queue figures, agents, callers waiting) for the wallboard, each read once."""
        self.roster.sync()
        stats, waiting, records, calls = self.statistics.live()
        agents = self.roster.listed(records)
        for agent in agents:
            agent["call"] = calls.get(agent["id"])
        return stats, agents, waiting

    def events(
        self, queue: str | None = None, since_ms: int | None = None, count: int = 100
    ) -> list[dict[str, Any]]:
        return self.log.events(queue, since_ms, count)

    def rebuild_stats(self) -> dict[str, dict[str, int]]:
        return self.statistics.rebuild_stats()

    def stored_stats(self) -> dict[str, dict[str, int]]:
        return self.statistics.stored_stats()


__all__ = ["Router", "UnknownAgent", "LiveOffer", "HoldPlan", "CallerRecord", "ControlError",
           "ControlRefused", "UnknownCall", "BadTarget", "NotSupervisor", "NotRecording"]
