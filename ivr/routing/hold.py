"""What a waiting caller hears, as plain data: the web layer renders it as the hold loop.

Each fetch of the <Enqueue> waitUrl asks `Hold.plan` what comes next: leave
the queue (max wait passed, or no longer waiting), or the announcements that
are due (position, expected wait, the callback offer), then music or a
pause, then the next fetch. Music is the queue's `hold_music`, else
DEFAULT_HOLD_MUSIC; what is said is in the voice and language of the flow the
caller came from. The hold loop never runs past the max wait: in
the last MUSIC_GUARD seconds before it, music gives way to pauses no longer
than the time left, so the fetch that answers <Leave/> comes on time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

from ivr import keys, paths
from ivr.routing.core import Acd
from ivr.routing.env import Env

#: What a queue without `hold_music` plays: one of Twilio's own hold-music files, which
#: Twilio can always fetch (docs/routing.md, "Waiting").
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
MUSIC_GUARD = 120.0  # seconds before max wait when hold music gives way to short pauses
DEFAULT_HANDLE = 120.0  # seconds assumed per call before any call was handled
MAX_PAUSE = 20  # seconds: the longest pause of one hold-loop turn
INQ_TTL = 86400  # seconds the hold-loop marker of a call is kept at most


@dataclass(frozen=True)
class HoldPlan:
    """One turn of the hold loop. `leave`: answer <Leave/> and nothing else."""

    leave: bool
    position: int | None = None  # say "you are number N in line" (None: not now)
    expected_wait: float | None = None  # seconds; say it (None: not now)
    callback_key: bool = False  # gather one key (1: call me back) during this turn
    offer_callback: bool = False  # say how to ask for a callback
    music: str | None = None  # absolute URL to play, or None for a pause
    pause: int = 0  # seconds of silence when there is no music
    voice: str | None = None  # the caller's flow's voice and language for what is said
    language: str | None = None


class Hold:
    """Answers the hold loop's questions about one caller."""

    def __init__(self, env: Env, acd: Acd, *, default_music: str | None = DEFAULT_HOLD_MUSIC
                 ) -> None:
        self.env = env
        self.acd = acd
        self.default_music = default_music  # None: pauses (a router without audio)

    def plan(self, call_sid: str) -> HoldPlan:
        """The next turn of a caller's hold loop. Marks that the loop has started (so an
        caller's place is told on time) and when they were last told
        their place."""
        acd = self.acd
        caller = acd.caller(call_sid)
        if caller is not None and caller.state == "waiting" and caller.deadline_ms and \
                self.env.now_ms() >= caller.deadline_ms and caller.kind == "call":
            acd.max_wait(call_sid)  # the timer may not have fired yet
            caller = acd.caller(call_sid)
        if caller is None or caller.state in ("overflowing", "overflowed", "abandoned") \
                or caller.kind == "callback":
            return HoldPlan(leave=True)
        config = self.env.queue_config(caller.queue)
        flow = self.env.config().flows.get(caller.flow)
        marker = keys.acd("inq", call_sid)
        now = self.env.clock()
        remaining = (caller.deadline_ms / 1000.0 - now) if caller.deadline_ms else math.inf
        last = self.env.db.get(marker)
        due = last is None or now - float(last) >= config.announce.every
        if due:
            self.env.db.set(marker, str(now), ex=INQ_TTL)
        position: int | None = None
        expected: float | None = None
        if due and caller.state == "waiting":
            place = acd.position(caller)
            if config.announce.position:
                position = place
            if config.announce.wait_time:
                expected = self.expected_wait(caller.queue, place)
        music: str | None = None
        pause = 0
        chosen = config.hold_music or self.default_music
        if chosen and remaining > MUSIC_GUARD:
            music = chosen
            if "://" not in music:
                music = self.env.url(paths.RECORDINGS + "/" + quote(music.lstrip("/")))
        else:
            # Short pauses, never past the max wait: the next fetch is when they leave.
            chunk = min(config.announce.every, MAX_PAUSE)
            if remaining != math.inf:
                chunk = min(chunk, math.ceil(remaining))
            pause = max(1, int(chunk))
        return HoldPlan(
            leave=False, position=position, expected_wait=expected,
            callback_key=config.callback, offer_callback=config.callback and due,
            music=music, pause=pause,
            voice=flow.voice if flow is not None else None,
            language=flow.language if flow is not None else None,
        )

    def music_of(self, queue: str) -> str | None:
        """The queue's hold music as an absolute URL (None: a router without audio)."""
        chosen = self.env.queue_config(queue).hold_music or self.default_music
        if chosen and "://" not in chosen:
            return self.env.url(paths.RECORDINGS + "/" + quote(chosen.lstrip("/")))
        return chosen

    def expected_wait(self, queue: str, position: int) -> float:
        """Seconds: position over agents logged in for the queue, times recent handle time."""
        db = self.env.db
        handle = db.hget(keys.acd("aht"), queue)
        handle_s = float(handle) if handle else DEFAULT_HANDLE
        config = self.env.queue_config(queue)
        on_key = keys.acd("on", config.skills[0]) if config.skills else keys.acd("on", "*")
        agents = max(1, int(db.scard(on_key)))
        return math.ceil(position / agents) * handle_s

    def in_twilio_queue(self, call_sid: str) -> bool:
        """Has Twilio started the caller's hold loop (fetched the waitUrl lately)?"""
        return bool(self.env.db.exists(keys.acd("inq", call_sid)))

    def voice_of(self, call_sid: str) -> tuple[str | None, str | None]:
        """The (voice, language) of the flow a waiting caller came from."""
        caller = self.acd.caller(call_sid)
        flow = self.env.config().flows.get(caller.flow) if caller is not None else None
        return (flow.voice, flow.language) if flow is not None else (None, None)
