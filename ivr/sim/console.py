"""Where `ivr simulate` speaks and listens: the terminal, or a script in tests.

Several people may wait for an answer at once (the caller at a Gather on
hold, an agent's phone ringing): each line typed goes to the most urgent
question still open, or waits in a buffer for the next one. A buffered line
may be addressed as (text in the prompt, answer), which scripts use to answer
one phone and not another.

Two ways of reading input:
- scripted (`interactive=False`: tests, input piped in): lines are answers in
  order, whoever asks next takes the next line;
- interactive (a person at a terminal): a ring only takes what is typed after
  it rang, keys typed on hold go to the hold menu, and a line that nobody is
  asking for is kept with a visible note, never dropped silently.
Lines starting with "/" (commands) or "@" (a text from an agent's phone) are run
at once by the command handler, when one is set, whatever else is waiting for an
answer.
"""

from __future__ import annotations

import io
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click

#: Lines run as commands at once: "/status", and "@alice A" (text as an agent's phone).
COMMAND_STARTS = ("/", "@")


@dataclass
class _Question:
    prompt: str
    urgency: int = 1
    owner: str = ""
    answer: str | None = None
    quiet: bool = False


class Console:
    """The questions open now, the lines typed ahead, and the command handler."""

    def __init__(self, *, interactive: bool = False) -> None:
        self.interactive = interactive
        self._cond = threading.Condition()
        self._open: list[_Question] = []
        self._buffer: list[tuple[str | None, str]] = []
        self._eof = False
        #: Runs a "/command" line typed by the person (set by the simulation).
        self.on_command: Callable[[str], None] | None = None
        #: Interactive only: where an unasked-for line goes (e.g. the hold menu's prompt text).
        self.default_to: str | None = None

    def show(self, line: str) -> None:
        raise NotImplementedError

    @property
    def at_eof(self) -> bool:
        """No more input will come (Ctrl-D, the end of a script)."""
        with self._cond:
            return self._eof

    def show_prompt(self, prompt: str) -> None:
        self.show(prompt)

    def feed(self, line: str | None, *, to: str | None = None) -> None:
        """A line from the user (None: no more input)."""
        if line is not None and to is None and line.startswith(COMMAND_STARTS) \
                and self.on_command:
            self.on_command(line.strip())
            return
        note: str | None = None
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
                    if self.interactive and to is None and self.default_to:
                        to = self.default_to
                        note = f"⌨️  {line or '(Enter)'}: kept for the next hold prompt"
                    elif self.interactive:
                        note = f"⌨️  {line or '(Enter)'}: kept for the next question"
                    self._buffer.append((to, line))
            self._cond.notify_all()
        if note:
            self.show(note)

    def _take_buffered(self, prompt: str, urgency: int) -> str | None:
        for i, (to, line) in enumerate(self._buffer):
            if urgency == 0 and to is None:
                continue  # typed-ahead lines are for the next real question, not hold music
            if to is None or to in prompt:
                del self._buffer[i]
                return line
        return None

    def ask(
        self,
        prompt: str,
        timeout: float | None = None,
        urgency: int = 1,
        *,
        owner: str = "",
        quiet: bool = False,
        fresh: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> str | None:
        """The answer to `prompt`; None when `timeout` seconds pass (or `cancelled()` turns
        true); EOFError at end of input.

        A question of lower urgency than one already open is not asked at all
        (None at once): the caller on hold stays silent while a phone rings.
        `quiet`: the prompt is not shown. `fresh`: only a line typed from now on
        answers (interactive consoles: a ring must not take keys typed for hold).
        """
        with self._cond:
            if any(q.urgency > urgency for q in self._open):
                return None
            line = None if fresh and self.interactive else self._take_buffered(prompt, urgency)
            if line is None:
                if self._eof:
                    raise EOFError
                q = _Question(prompt, urgency, owner, quiet=quiet)
                self._open.append(q)
        if line is not None:
            self.answered(prompt, line)
            return line.strip()
        if not quiet:
            self.show_prompt(prompt)
        self.wake_reader()
        deadline = None if timeout is None else time.monotonic() + timeout
        how = "answered"
        with self._cond:
            while q.answer is None and not self._eof:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    how = "timeout"
                    break
                if cancelled is not None:
                    if cancelled():
                        how = "cancelled"
                        break
                    remaining = 0.1 if remaining is None else min(remaining, 0.1)
                self._cond.wait(remaining)
            answer = q.answer
            if answer is None:
                if q in self._open:
                    self._open.remove(q)
                if self._eof:
                    how = "eof"
        self.closed(q, how)
        if answer is None:
            if how == "eof":
                raise EOFError
            return None
        return answer.strip()

    def answer_open(self, owner: str, line: str) -> bool:
        """Answer the open questions of `owner` with `line` (a command acting for them)."""
        with self._cond:
            mine = [q for q in self._open if q.owner == owner]
            for q in mine:
                q.answer = line
                self._open.remove(q)
            self._cond.notify_all()
        return bool(mine)

    def answered(self, prompt: str, line: str) -> None:
        """A buffered line answered `prompt` (shown so the transcript reads naturally)."""
        self.show(f"{prompt} {line}")

    def closed(self, question: _Question, how: str) -> None:
        """A question closed: "answered", "timeout", "cancelled" or "eof"."""

    def wake_reader(self) -> None:
        """Start reading input if this console reads it itself."""


class TerminalConsole(Console):
    """The real terminal: a reader thread feeds stdin lines to the open questions.

    A prompt waits on its own line; anything shown meanwhile (a prompt being
    spoken, the hold music) goes on the next line and the prompt is shown
    again below it, so output and prompts never run into each other.
    """

    def __init__(self, *, interactive: bool | None = None) -> None:
        if interactive is None:
            try:
                interactive = sys.stdin.isatty()
            except (AttributeError, ValueError):
                interactive = False
        super().__init__(interactive=interactive)
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._out = threading.Lock()
        self._prompts: list[_Question] = []  # shown and still open, oldest first
        self._mid_line = False  # the cursor sits after a prompt

    def show(self, line: str) -> None:
        with self._out:
            if self._mid_line:
                click.echo("")
            click.echo(line)
            self._mid_line = False
            if self._prompts:
                click.echo(self._prompts[-1].prompt + " ", nl=False)
                self._mid_line = True

    def show_prompt(self, prompt: str) -> None:
        with self._out:
            if self._mid_line:
                click.echo("")
            with self._cond:
                q = next((q for q in self._open if q.prompt == prompt and not q.quiet), None)
            if q is not None:
                self._prompts.append(q)
            click.echo(prompt + " ", nl=False)
            self._mid_line = True

    def closed(self, question: _Question, how: str) -> None:
        with self._out:
            if question not in self._prompts:
                return
            last = self._prompts[-1] is question
            self._prompts.remove(question)
            if last and self._mid_line:
                if how != "answered" or not self.interactive:
                    click.echo("")  # a person's Enter ended the line already
                self._mid_line = False
            if last and self._prompts:
                click.echo(self._prompts[-1].prompt + " ", nl=False)
                self._mid_line = True

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
            if self.interactive:
                with self._out:
                    self._mid_line = False  # the person's Enter moved the cursor
            self.feed(line.rstrip("\r\n"))

    def close(self) -> None:
        self._closing.set()
        if self._reader is not None:
            self._reader.join(timeout=1.0)


class ScriptedConsole(Console):
    """A console fed from a list (str, or (text in the prompt, answer)): tests and demos."""

    def __init__(self, lines: Iterable[str | tuple[str, str]], *,
                 interactive: bool = False) -> None:
        super().__init__(interactive=interactive)
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
