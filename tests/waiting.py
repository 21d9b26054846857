"""Waiting in end-to-end tests for what happens on other threads (the live server, the
simulator's people): one polling loop for every test package."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(pred: Callable[[], Any], timeout: float = 15.0, *,
               what: str = "condition") -> Any:
    """Poll `pred` until it gives a true value, and return that value; fail the test
    after `timeout` seconds, naming `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        time.sleep(0.02)
