"""Texts reaching the people who react to them, and the things people do later.

`Inboxes`: every text the simulator carries to a number with a handler (a
scripted texter, an agent's phone: ivr/sim/texters.py) is handed to it on that
number's own thread, one at a time and in the order Twilio took them (the
record's), and only once the REST call that sent it has returned, as at Twilio
(a phone never answers before the sender heard "queued"). A handler that texts
back posts a webhook from that thread; what arrives meanwhile waits its turn.

`Later`: what a person does after a while (reply in two minutes, go quiet),
run on a small pool so one slow webhook never holds everyone else up.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ivr.sim.records import SimMessage

TextHandler = Callable[[SimMessage], None]
RELEASE_WAIT = 15.0  # real seconds a delivery waits for the REST answer that sent it


class Inboxes:
    """Per-number delivery queues, each drained by its own daemon thread."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self.on_error = on_error
        self.handlers: dict[str, TextHandler] = {}
        self._cond = threading.Condition()
        self._queues: dict[str, deque[tuple[SimMessage, threading.Event | None]]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._busy: set[str] = set()
        self._stopped = False

    def register(self, number: str, handler: TextHandler) -> None:
        """Texts reaching `number` (exactly as addressed: "whatsapp:+1..." is another one)
        go to `handler` from now on."""
        with self._cond:
            self.handlers[number] = handler

    def post(self, msg: SimMessage, released: threading.Event | None = None) -> None:
        """Queue `msg` for its number's handler (if any); `released`: set once the REST
        answer that sent it went out (None: deliverable now)."""
        with self._cond:
            if self._stopped or msg.to not in self.handlers:
                return
            self._queues.setdefault(msg.to, deque()).append((msg, released))
            if msg.to not in self._threads:
                t = threading.Thread(target=self._drain, args=(msg.to,), daemon=True,
                                     name=f"inbox-{msg.to[-6:]}")
                self._threads[msg.to] = t
                t.start()
            self._cond.notify_all()

    def _drain(self, number: str) -> None:
        while True:
            with self._cond:
                while not self._stopped and not self._queues.get(number):
                    self._cond.wait()
                if self._stopped:
                    return
                msg, released = self._queues[number].popleft()
                self._busy.add(number)
            try:
                if released is not None and not released.wait(RELEASE_WAIT):
                    self.on_error(f"text {msg.sid} to {number}: its REST answer never went out")
                handler = self.handlers.get(number)
                if handler is not None:
                    handler(msg)
            except Exception as exc:  # a script's fault fails the test, loudly
                self.on_error(f"text to {number} ({msg.body[:40]!r}): handler failed: {exc!r}")
            finally:
                with self._cond:
                    self._busy.discard(number)
                    self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing waits to be handed over and no handler is running."""
        with self._cond:
            return not self._busy and not any(self._queues.values())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or any(self._queues.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class Later:
    """Run functions after a delay (real seconds) on a small pool of threads."""

    def __init__(self, on_error: Callable[[str], None], workers: int = 32) -> None:
        self.on_error = on_error
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._thread: threading.Thread | None = None
        self._running = 0
        self._stopped = False

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            if self._thread is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="later")
                self._thread = threading.Thread(target=self._loop, name="later", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (time.monotonic() + max(seconds, 0.0),
                                        next(self._seq), fn))
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                        not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
                self._running += 1
                assert self._pool is not None
                pool = self._pool
            try:
                pool.submit(self._run, fn)
            except RuntimeError:  # stopped meanwhile: the pool takes nothing more
                return

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:
            self.on_error(f"a scripted person failed: {exc!r}")
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def pending(self) -> int:
        """Things still to do, or being done."""
        with self._cond:
            return len(self._heap) + self._running

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
