"""The small company of the desk's text-conversation tests: a voice flow that only says
goodbye, a text flow that asks for an order number and then puts the texter in `support`
(`chat: true`, a script with the order number, dispositions), a second chat queue
`billing` to transfer to, a `sales` queue without chat, and agents alice (support), bob
(billing) and sam (a supervisor)."""

from __future__ import annotations

from pathlib import Path

SERVICE = "+15005550006"
ALICE, BOB, SAM = "+15005550101", "+15005550102", "+15005550103"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: hello
steps:
  hello:
    hangup: "Thanks for calling."
"""

TEXTS = f"""
numbers: ["{SERVICE}", "*"]
channels: [sms]
start: order
steps:
  order:
    gather: "Hi! What is your order number?"
    into: order
    next: support
  support:
    queue: support
    overflow: bye
  bye:
    hangup: "Nobody can answer right now, sorry."
"""

QUEUES = """
support:
  skills: [support]
  chat: true
  ring_timeout: 60
  max_wait: 600
  wrap_up: 300
  dispositions: [solved, follow-up]
  script: |
    Order **{{ vars.order or "unknown" }}**: look it up first.
billing:
  skills: [billing]
  chat: true
  ring_timeout: 60
  wrap_up: 300
sales:
  skills: [sales]
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{support: 5}}
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{billing: 4}}
sam:
  name: Sam Lee
  phone: "{SAM}"
  role: supervisor
"""


def write_company(folder: Path) -> Path:
    """The company's call-flow folder, written into `folder`."""
    for name, text in (("main.yaml", MAIN), ("texts.yaml", TEXTS), ("queues.yaml", QUEUES),
                       ("agents.yaml", AGENTS)):
        (folder / name).write_text(text)
    return folder
