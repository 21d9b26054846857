"""Scripted people on the line: the caller who phones in, and the phones Twilio rings.

A script is a list of inputs consumed one per question: each `<Gather>` (and
each `<Record>`) takes the next one. When the script runs out the person
stays silent, which is what a real caller who has nothing more to say does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Speech:
    """Words the person says at a Gather that listens for speech."""

    text: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Silence:
    """No answer: the Gather times out."""


@dataclass(frozen=True)
class Hangup:
    """The person hangs up at this point."""


@dataclass(frozen=True)
class Record:
    """A spoken message at a `<Record>`: its length (seconds), what a transcriber would hear,
    and how it ends: a key ("#"), "hangup", or None (silence timeout / maxLength)."""

    duration: float = 5.0
    transcription: str | None = None
    finish: str | None = "#"


Input = str | Speech | Silence | Hangup | Record


class Script:
    """A thread-safe cursor over a person's inputs."""

    def __init__(self, inputs: Iterable[Input] = ()) -> None:
        self._inputs: list[Input] = list(inputs)
        self._pos = 0
        self._lock = threading.Lock()

    def next(self) -> Input:
        with self._lock:
            if self._pos >= len(self._inputs):
                return Silence()
            item = self._inputs[self._pos]
            self._pos += 1
            return item

    def remaining(self) -> list[Input]:
        with self._lock:
            return list(self._inputs[self._pos:])


# An input source is either a script or a live function (the interactive console):
# it is called with a description of what is asked ("gather" or "record") and the prompts heard.
InputSource = Callable[[str, dict[str, str]], Input]


@dataclass
class Caller:
    """The customer placing a call: their answers, and when they give up.

    hangup_after: seconds (simulated) after the call is answered when the caller
    hangs up, wherever they are (in a menu, in the queue, talking to an agent).
    talk_for: seconds the caller stays once bridged to someone, then hangs up.
    """

    inputs: list[Input] = field(default_factory=list)
    hangup_after: float | None = None
    talk_for: float | None = None
    from_city: str | None = None
    from_state: str | None = None
    from_country: str | None = None
    caller_name: str | None = None
    live: InputSource | None = None  # the interactive console; overrides `inputs`

    def script(self) -> Script:
        return Script(self.inputs)


Behaviour = Literal["answer", "decline", "no-answer", "busy", "failed"]


@dataclass
class Phone:
    """A phone at a number Twilio calls (an agent's mobile, a customer called back).

    behaviour: answer | decline (answers, then hangs up at the whisper unless
    `inputs` say otherwise) | no-answer (rings until the caller's timeout) |
    busy | failed.
    plan: behaviours for successive calls (the last one repeats), e.g.
    ["no-answer", "answer"] misses the first offer and takes the next.
    per_call: every call starts the `inputs` afresh (press 1 on each offer);
    False shares one script across calls (decline the first, accept the second).
    ring_delay: seconds of ringing before it answers.
    hangup_after: seconds it stays once connected to the other party.
    inputs: the keys pressed on this phone (e.g. "1" to accept a whisper).
    busy_when_in_call: a phone already on a call answers a second one with busy.
    on_ring: called with (call_sid, from_, to) when it starts ringing; may return
    a behaviour to decide live (the interactive console asks the user).
    """

    behaviour: Behaviour = "answer"
    inputs: list[Input] = field(default_factory=list)
    ring_delay: float = 1.0
    hangup_after: float | None = 30.0
    name: str | None = None
    busy_when_in_call: bool = True
    on_ring: Callable[[str, str, str], Behaviour | None] | None = None
    live: InputSource | None = None
    plan: list[Behaviour] | None = None
    per_call: bool = True
    active_calls: set[str] = field(default_factory=set, repr=False)
    calls_rung: int = field(default=0, repr=False)
    _script: Script | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_behaviour(self) -> Behaviour:
        """What this phone does with the call now ringing (follows `plan` when given)."""
        with self._lock:
            n = self.calls_rung
            self.calls_rung += 1
            if self.plan:
                return self.plan[min(n, len(self.plan) - 1)]
            return self.behaviour

    def script(self, behaviour: Behaviour | None = None) -> Script:
        """The keys for one call: fresh per call, or one script shared by all calls."""
        declining = (behaviour or self.behaviour) == "decline"
        with self._lock:
            if self.per_call:
                return Script(self.inputs or ([Hangup()] if declining else []))
            if self._script is None:
                self._script = Script(self.inputs or ([Hangup()] if declining else []))
            return self._script

    def claim(self, call_sid: str) -> bool:
        """Mark the phone in use by `call_sid`; False if it is busy on another call."""
        with self._lock:
            if self.busy_when_in_call and self.active_calls:
                return False
            self.active_calls.add(call_sid)
            return True

    def release(self, call_sid: str) -> None:
        with self._lock:
            self.active_calls.discard(call_sid)
