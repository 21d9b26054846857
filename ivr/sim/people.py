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
    active_calls: set[str] = field(default_factory=set, repr=False)
    _script: Script | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def script(self) -> Script:
        """One script shared by every call to this phone (press 1 on the first offer, ...)."""
        with self._lock:
            if self._script is None:
                inputs = self.inputs
                if self.behaviour == "decline" and not inputs:
                    inputs = [Hangup()]
                self._script = Script(inputs)
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
