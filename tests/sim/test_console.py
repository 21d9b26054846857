"""The console with a person at the keyboard: commands at any time, nothing typed is lost,
hold keys go to the hold menu, and a ring waits for an answer typed after it rang."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ivr.sim.console import Console
from ivr.sim.interactive import HOLD_PROMPT, HOLD_TAG, Simulation
from ivr.sim.people import Hangup, Silence
from ivr.sim.twilio import TwilioSim


class Screen(Console):
    def __init__(self) -> None:
        super().__init__(interactive=True)
        self.lines: list[str] = []

    def show(self, line: str) -> None:
        self.lines.append(line)


def asking(console: Console, *args: object, **kwargs: object) -> tuple[threading.Thread,
                                                                        list[str | None]]:
    answer: list[str | None] = []

    def run() -> None:
        answer.append(console.ask(*args, **kwargs))  # type: ignore[arg-type]

    t = threading.Thread(target=run)
    t.start()
    return t, answer


def until(pred: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_ring_takes_only_what_is_typed_after_it_rang() -> None:
    console = Screen()
    console.feed("1")  # typed while nothing asked: kept, and the person is told so
    assert console.lines == ["⌨️  1: kept for the next question"]
    t, answer = asking(console, "phone rings", 2.0, urgency=2, fresh=True)
    until(lambda: bool(console._open))
    console.feed("a")
    t.join(2)
    assert answer == ["a"]
    assert console.ask("menu", 0.1) == "1"  # the early line went to the next question


def test_a_ring_stops_when_the_call_stops_ringing() -> None:
    console = Screen()
    stopped = threading.Event()
    t, answer = asking(console, "phone rings", 10.0, urgency=2, cancelled=stopped.is_set)
    until(lambda: bool(console._open))
    started = time.monotonic()
    stopped.set()
    t.join(2)
    assert answer == [None] and time.monotonic() - started < 1.0
    assert console._open == []


def test_keys_typed_on_hold_go_to_the_next_hold_prompt() -> None:
    console = Screen()
    console.default_to = HOLD_TAG  # what the simulation sets while the caller is on hold
    console.feed("1")
    assert console.lines == ["⌨️  1: kept for the next hold prompt"]
    assert console.ask(HOLD_PROMPT, 0.1, urgency=0, quiet=True) == "1"


def test_commands_run_at_once_whatever_is_open() -> None:
    console = Screen()
    ran: list[str] = []
    console.on_command = ran.append
    t, answer = asking(console, "menu", 0.5)
    until(lambda: bool(console._open))
    console.feed("/status")
    console.feed("@alice #2 hello")  # a text from an agent's phone: a command too
    assert ran == ["/status", "@alice #2 hello"]
    t.join(2)
    assert answer == [None]  # the menu was not answered by the command


def test_simulation_commands_on_hold_hang_up_and_explain(canned: object, sim: TwilioSim) -> None:
    console = Screen()
    session = Simulation(sim, console)
    # Commands typed while no question is open are answered, never dropped.
    console.feed("/agent bob on")
    assert console.lines[-1].startswith("⚠️  /agent needs the server's admin API")
    console.feed("/nonsense")
    assert console.lines[-1].startswith("❓ unknown command /nonsense; commands: /status")
    console.feed("/hangup")
    assert console.lines[-1] == "ℹ️  no call to hang up"
    # At a Gather, /hangup answers the caller's open question.
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(session.caller_input("gather", {})))
    t.start()
    until(lambda: bool(console._open))
    console.feed("/hangup")
    t.join(2)
    assert got == [Hangup()]
    # On hold the question is silent (no prompt) and times out into silence.
    shown = len(console.lines)
    assert session.caller_input("gather", {"mode": "wait", "timeout": "0.05"}) == Silence()
    assert console.lines[shown:] == []
