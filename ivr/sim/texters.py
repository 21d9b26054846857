"""Scripted people who text: a customer (`Texter`) and an agent's phone (`AgentTextPhone`).

Both are driven by their inbox (`sim.on_text`): every text reaching their
address is handed to them in order, on their own thread, after the REST call
that sent it returned. They send one text at a time (a person types one
message, then the next), as signed inbound webhooks, so "the order they sent"
is well defined for the checks. Pauses are simulated seconds
(`sim.time_scale`), run off the inbox thread (`sim.after`), so a handler never
waits: waiting for a text inside a handler would wait for itself.

The words agents' phones read are those of docs/texting.md's conversations
with agents: an offer ends "Reply A to accept, D to decline.", texts about a
conversation start "#N " when the agent holds more than one (none: #1), and
the phone answers `A`, `D`, `#N words`, `#N DONE`.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ivr.sim.records import SimMessage

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

TAGGED = re.compile(r"^\s*#(\d+)\s*(.*)$", re.DOTALL)
OFFER = re.compile(r"Reply A to accept", re.IGNORECASE)
JOINED = re.compile(r"^You're texting with ", re.IGNORECASE)
ENDED = re.compile(r"(opted out; the conversation has ended|^Conversation with .* ended)",
                   re.IGNORECASE)
MISSED = re.compile(r"(You missed the text|is no longer waiting for you)", re.IGNORECASE)


class TextPerson:
    """Someone with a phone that texts: what they got and sent, in order."""

    def __init__(self, sim: TwilioSim, address: str, service: str) -> None:
        self.sim = sim
        self.address = address  # as Twilio writes it: "+1...", "whatsapp:+1..."
        self.service = service
        self.got: list[SimMessage] = []
        self.sent: list[SimMessage] = []
        self._cond = threading.Condition()
        self._sending = threading.Lock()
        sim.on_text(address, self._receive)

    def _receive(self, msg: SimMessage) -> None:
        with self._cond:
            self.got.append(msg)
            self._cond.notify_all()
        self.react(msg)

    def react(self, msg: SimMessage) -> None:
        """A text arrived (on the inbox thread: never wait here)."""

    def send(self, body: str, media: Iterable[tuple[str, str]] = ()) -> SimMessage:
        """Text the service number now (one at a time); the inbound message as recorded."""
        with self._sending:
            msg = self.sim.text_app(self.address, self.service, body, list(media))
            with self._cond:
                self.sent.append(msg)
        return msg

    def send_later(self, seconds: float, body: str,
                   media: Iterable[tuple[str, str]] = ()) -> None:
        """Text after `seconds` simulated seconds."""
        media = list(media)

        def later() -> None:
            self.send(body, media)

        self.sim.after(seconds, later)

    def wait_for(self, text: str, timeout: float = 10.0, *, start: int = 0) -> SimMessage | None:
        """The first text got (from the `start`-th on) containing `text` (any case), waiting
        up to `timeout` real seconds; None if none came."""
        wanted = text.lower()
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for msg in self.got[start:]:
                    if wanted in msg.body.lower():
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def bodies(self) -> list[str]:
        with self._cond:
            return [m.body for m in self.got]


@dataclass(frozen=True)
class Text:
    """One text of a texter's schedule: sent `after` simulated seconds after the previous
    one (or after `when` arrived: the texter first waits up to `within` simulated seconds
    for a text containing it; when none comes, the rest of the schedule is dropped)."""

    body: str
    media: tuple[tuple[str, str], ...] = ()
    after: float = 0.0
    when: str | None = None
    within: float = 600.0


class Texter(TextPerson):
    """A customer texting the service number: a schedule of texts (`start()` runs it on a
    thread), and `react(texter, msg)` for answers to what they get."""

    def __init__(self, sim: TwilioSim, address: str, service: str,
                 schedule: Iterable[Text | str] = (), *,
                 on_text: Callable[[Texter, SimMessage], None] | None = None) -> None:
        super().__init__(sim, address, service)
        self.schedule = [Text(s) if isinstance(s, str) else s for s in schedule]
        self.on_text = on_text
        self.done = threading.Event()
        self.stopped_at: int | None = None  # the step the schedule stopped at (a `when` unmet)

    def react(self, msg: SimMessage) -> None:
        if self.on_text is not None:
            self.on_text(self, msg)

    def start(self) -> Texter:
        threading.Thread(target=self._run, name=f"texter-{self.address[-6:]}",
                         daemon=True).start()
        return self

    def _run(self) -> None:
        scale = self.sim.time_scale
        seen = 0
        try:
            for i, step in enumerate(self.schedule):
                if step.when is not None:
                    found = self.wait_for(step.when, step.within * scale, start=seen)
                    if found is None:
                        self.stopped_at = i
                        return
                    with self._cond:
                        seen = self.got.index(found) + 1
                if step.after > 0:
                    time.sleep(step.after * scale)
                self.send(step.body, step.media)
        finally:
            self.done.set()

    def wait(self, timeout: float = 30.0) -> Texter:
        if not self.done.wait(timeout):
            raise TimeoutError(f"texter {self.address} still texting after {timeout}s")
        return self


OfferChoice = Literal["accept", "decline", "ignore"]
CHOICES: list[OfferChoice] = ["accept", "decline", "ignore"]


@dataclass
class Conversation:
    """One conversation as the agent's phone sees it: its #N and what went either way."""

    n: int
    offer: SimMessage | None  # the offer it was accepted from
    got: list[SimMessage] = field(default_factory=list)  # the texter's words relayed
    sent: list[SimMessage] = field(default_factory=list)  # the agent's replies (and DONE)
    ended: str | None = None  # "done" (confirmed) | "stopped" (the texter opted out)
    replies_wanted: int = 2


class AgentTextPhone(TextPerson):
    """An agent's phone answering the service number's texts about conversations.

    On an offer it answers `A`, `D` or nothing (`choose`, or the seeded `rng` with
    `weights` for accept/decline/ignore), after `think` simulated seconds. Each relayed
    message of conversation N (and its joining: a greeting) is answered
    `#N <reply_text(conv)>` until the phone has
    replied `replies` (a range) times; the next one is answered `#N DONE`, and so is a
    texter who says nothing for `idle_done` simulated seconds after a reply. An offer
    that is gone ("You missed", "no longer waiting") or replaced by a newer one before
    its answer went out gets none (an `A` then would take whatever rings, if anything).
    """

    def __init__(self, sim: TwilioSim, number: str, service: str, *,
                 rng: random.Random | None = None, lock: threading.Lock | None = None,
                 weights: tuple[int, int, int] = (100, 0, 0),
                 choose: Callable[[SimMessage], OfferChoice] | None = None,
                 replies: tuple[int, int] = (1, 3), think: tuple[float, float] = (2.0, 10.0),
                 idle_done: float | None = None,
                 reply_text: Callable[[Conversation], str] | None = None,
                 reply_media: Callable[[Conversation], list[tuple[str, str]]] | None = None,
                 ) -> None:
        super().__init__(sim, number, service)
        self.rng = rng or random.Random(0)
        self.rng_lock = lock or threading.Lock()
        self.weights = weights
        self.choose = choose
        self.replies = replies
        self.think = think
        self.idle_done = idle_done
        self.reply_text = reply_text or (lambda conv: f"reply {len(conv.sent) + 1}")
        self.reply_media = reply_media  # pictures sent with a reply (MMS)
        self.conversations: dict[int, Conversation] = {}  # open now, by #N
        self.history: list[Conversation] = []  # every one, in the order they were joined
        self.offers: list[tuple[SimMessage, OfferChoice]] = []
        self.accepted: list[SimMessage] = []  # offers answered A, not yet joined
        self.notes: list[SimMessage] = []  # everything else (status replies, refusals)
        self._ringing: SimMessage | None = None  # the offer an answer may still be sent to
        self._state = threading.Lock()

    def _pause(self) -> float:
        with self.rng_lock:
            return self.rng.uniform(*self.think)

    def react(self, msg: SimMessage) -> None:
        tagged = TAGGED.match(msg.body)
        n, text = (int(tagged.group(1)), tagged.group(2)) if tagged else (1, msg.body)
        if OFFER.search(msg.body):
            self._offered(msg)
        elif JOINED.search(text):
            with self._state:
                offer = self.accepted.pop(0) if self.accepted else None
                conv = Conversation(n, offer)
                with self.rng_lock:
                    conv.replies_wanted = self.rng.randint(*self.replies)
                self.conversations[n] = conv
                self.history.append(conv)
            self._answer(conv)  # a greeting: an agent speaks first
        elif ENDED.search(text):
            with self._state:
                conv_or_none = self.conversations.pop(n, None)
            if conv_or_none is not None:
                conv_or_none.ended = "stopped" if "opted out" in text else "done"
        elif MISSED.search(msg.body):
            with self._state:
                self.notes.append(msg)
                self._ringing = None  # gone: an answer still to send is not sent
        else:
            with self._state:
                conv_or_none = self.conversations.get(n)
                if conv_or_none is None or msg.via != "rest":
                    self.notes.append(msg)
                    return
                conv_or_none.got.append(msg)
            self._answer(conv_or_none)

    def _offered(self, msg: SimMessage) -> None:
        if self.choose is not None:
            choice = self.choose(msg)
        else:
            with self.rng_lock:
                choice = self.rng.choices(CHOICES, self.weights)[0]
        with self._state:
            self.offers.append((msg, choice))
            self._ringing = msg  # a newer offer replaces an older one's pending answer
        if choice == "ignore":
            return

        def answer() -> None:
            with self._sending:
                with self._state:
                    if self._ringing is not msg:
                        return  # withdrawn, missed or replaced meanwhile
                    self._ringing = None
                    if choice == "accept":
                        self.accepted.append(msg)
                reply = self.sim.text_app(self.address, self.service,
                                          "A" if choice == "accept" else "D")
                with self._cond:
                    self.sent.append(reply)
            if choice == "accept" and reply.replies:
                with self._state:  # refused (it expired meanwhile): nothing will join
                    if msg in self.accepted:
                        self.accepted.remove(msg)

        self.sim.after(self._pause(), answer)

    def _answer(self, conv: Conversation, *, idle_for: int | None = None) -> None:
        """Reply to conversation `conv` after a pause (`idle_for`: only if it got no more
        than that many messages meanwhile, and then with DONE)."""
        def reply() -> None:
            with self._sending:  # decided and sent as one step: replies never cross
                with self._state:
                    if self.conversations.get(conv.n) is not conv:
                        return  # it ended meanwhile
                    if any(m.body.endswith(" DONE") for m in conv.sent):
                        return  # DONE already said
                    if idle_for is not None and len(conv.got) > idle_for:
                        return  # they spoke meanwhile: that message is answered
                    last = idle_for is not None or len(conv.sent) >= conv.replies_wanted
                    body = f"#{conv.n} " + ("DONE" if last else self.reply_text(conv))
                    media = self.reply_media(conv) if self.reply_media and not last else []
                    seen = len(conv.got)
                msg = self.sim.text_app(self.address, self.service, body, media)
                with self._cond:
                    self.sent.append(msg)
                with self._state:
                    conv.sent.append(msg)
            if not last and self.idle_done is not None:
                self.sim.after(self.idle_done, lambda: self._answer_now(conv, seen))

        self.sim.after(0.0 if idle_for is not None else self._pause(), reply)

    def _answer_now(self, conv: Conversation, seen: int) -> None:
        self._answer(conv, idle_for=seen)
