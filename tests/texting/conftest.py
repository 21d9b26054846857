"""Fixtures for texting: a callflows folder written by the test, the whole app over real
HTTP with the Twilio simulator (the lead's `live_factory`), and small helpers."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SERVICE = "+15005550006"
TEXTER = "+14155550100"
ALICE = "+15005550101"
OTHER = "+15005550199"  # where the flow's `message` step texts the team

QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 5
  max_wait: 60
  wrap_up: 0
support:
  skills: [support]
  ring_timeout: 5
  max_wait: 60
  wrap_up: 0
  callback: true
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5, support: 5}}
"""

HOURS = """
office:
  timezone: America/New_York
  open: {mon-fri: "09:00-17:30"}
"""

TEXT_FLOW = rf"""
numbers: ["{SERVICE}"]
channels: [sms]
help: "Acme by text: reply MENU to start over, STOP to opt out."
on_error:
  say: "Sorry, we're having trouble."
start: first
steps:
  first:
    branch:
      - if: "input.media"
        goto: photo
    else: welcome
  photo:
    say: >-
      Thanks for the {{{{ input.media | length }}}} picture(s): {{{{ input.media[0].url }}}}
      ({{{{ input.media[0].content_type }}}})
    next: bye
  welcome:
    say: "Hi {{{{ caller.number }}}}, this is Acme."
    next: main_menu
  main_menu:
    menu: "Reply 1 or ORDER for orders, 2 or SUPPORT for a call back, 3 to tell the team."
    options: {{1: order, 2: support, 3: tell_team}}
    words:
      order: [order, orders, where is my order]
      support: [support, help me, agent]
    attempts: 3
    invalid: "Sorry, reply 1, 2 or 3."
    fallback: bye
  order:
    gather: "What is your 6-digit order number?"
    into: order_no
    digits: 6
    pattern: '\d{{6}}'
    attempts: 3
    invalid: "That is not an order number."
    next: order_found
    fallback: bye
  order_found:
    message: "Order {{{{ vars.order_no }}}} ships tomorrow."
    next: bye
  support:
    queue: support
    next: bye
  tell_team:
    message: "Texter {{{{ caller.number }}}} wants a word."
    to: "{OTHER}"
    next: told
  told:
    say: "We told the team."
    next: bye
  bye:
    hangup: "Bye from Acme!"
"""

VOICE_FLOW = f"""
numbers: ["{SERVICE}", "*"]
channels: [voice]
missed_call:
  text: "Sorry we missed you at {{{{ vars.company }}}}. Reply CALL and we'll ring you back."
  queue: sales
vars: {{company: Acme}}
start: office
steps:
  office:
    hours: office
    open: wait_line
    closed: closed
  wait_line:
    queue: sales
    overflow: sorry
  sorry:
    hangup: "Sorry, nobody is free."
  closed:
    hangup: "We are closed."
"""

FILES = {"queues.yaml": QUEUES, "agents.yaml": AGENTS, "hours.yaml": HOURS,
         "text.yaml": TEXT_FLOW, "main.yaml": VOICE_FLOW}

Live = Any


def write_flows(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


@pytest.fixture()
def live(live_factory: Callable[..., Live], callflows_dir: Path) -> Callable[..., Live]:
    """`live(files=FILES, **config)`: the app on a folder written here, plus the simulator."""

    def start(files: dict[str, str] | None = None, **config: Any) -> Live:
        write_flows(callflows_dir, FILES if files is None else files)
        lv = live_factory(callflows_dir, **config)
        flows = lv.app.extensions["ivr.flows"]
        assert flows.current.flows, f"flows refused: {flows.problems}"
        return lv

    return start


def rest_to(lv: Live, number: str) -> list[Any]:
    """Texts the app sent to `number` through the REST API (the simulator's record)."""
    return [m for m in lv.sim.messages if m.to == number]
