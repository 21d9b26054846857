"""`ivr simulate --sms` with a chat queue: the agents' phones print what they get, and the
person at the keyboard answers as an agent with `@NAME TEXT`."""

from __future__ import annotations

from pathlib import Path

import redis

from ivr.sim.interactive import ScriptedConsole, run_simulation

SERVICE, ALICE, TEXTER = "+15005550006", "+15005550101", "+14155550123"

QUEUES = """
support:
  skills: [support]
  ring_timeout: 30
  max_wait: 600
  wrap_up: 0
  chat: true
  chat_capacity: 3
"""
AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{support: 5}}
"""
FLOW = f"""
numbers: ["{SERVICE}", "*"]
channels: [sms]
start: menu
steps:
  menu:
    menu: "Reply 1 for support."
    options: {{1: support}}
    fallback: bye
  support:
    queue: support
    overflow: bye
  bye:
    hangup: "Bye."
"""


def folder(tmp_path: Path) -> Path:
    flows = tmp_path / "callflows"
    flows.mkdir()
    (flows / "queues.yaml").write_text(QUEUES)
    (flows / "agents.yaml").write_text(AGENTS)
    (flows / "text.yaml").write_text(FLOW)
    return flows


def test_the_keyboard_answers_a_texter_as_the_agent(redis_url: str, r: redis.Redis,
                                                     tmp_path: Path) -> None:
    console = ScriptedConsole([
        ("✏️", "hi"), ("✏️", "1"),
        ("✏️", "@alice A"),  # waits for the offer to reach alice's phone, accepts it
        ("✏️", "@Alice Hello, Alice here."),  # by first name too
        ("✏️", "my bike is broken"),
        ("✏️", "@nobody hi"),
        ("✏️", "@alice #1 Sorry to hear it!"),
        ("✏️", "thanks"),
        ("✏️", "@alice DONE"),
        ("✏️", ""),
    ])
    run_simulation(console, to=SERVICE, from_=TEXTER, sms=True, time_scale=0.01,
                   config={"redis_url": redis_url, "callflows": folder(tmp_path),
                           "recordings": tmp_path / "recordings"})
    out = console.output
    text = "\n".join(out)
    # a menu choice ("1") is not shown as what the texter wrote
    offer = f"📱 alice ({ALICE}) gets: New text from +1 415… (support). Reply A"
    assert offer in text, text
    order = [
        offer,
        f"📱 alice ({ALICE}) texts: A",
        "💬 Alice has joined the conversation.",
        f"📱 alice ({ALICE}) texts: Hello, Alice here.",
        "💬 Hello, Alice here.",
        f"📱 alice ({ALICE}) gets: my bike is broken",
        "❓ no agent 'nobody' (agents: alice); @NAME TEXT",
        "💬 Sorry to hear it!",
        "💬 This conversation has ended.",
        f"📱 alice ({ALICE}) gets: Conversation with +1 415… ended.",
    ]
    at = [text.index(line) for line in order]
    assert at == sorted(at), [line for line, _ in sorted(zip(order, at, strict=True),
                                                         key=lambda p: p[1])]
    # the texter's number never reaches the agent, nor the agent's the texter
    assert not [line for line in out if line.startswith("📱") and TEXTER in line
                and "texts:" not in line]
    assert not [line for line in out if line.startswith("💬") and ALICE in line]


def test_ivr_simulate_sms_command_with_agent_lines_piped_in(redis_url: str, r: redis.Redis,
                                                          tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ivr.cli import main

    result = CliRunner().invoke(
        main, ["simulate", "--sms", "--from", TEXTER, "--to", SERVICE, "--private"],
        input="hi\n1\n@alice A\n@alice Hi, Alice here.\nthanks\n@alice DONE\n\n",
        env={"REDIS_URL": redis_url, "IVR_CALLFLOWS": str(folder(tmp_path)),
             "IVR_DATA_DIR": str(tmp_path / "data"),
             "IVR_RECORDINGS": str(tmp_path / "recordings")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    order = [f"📱 alice ({ALICE}) gets: New text from +1 415… (support)",
             "💬 Alice has joined the conversation.", "💬 Hi, Alice here.",
             f"📱 alice ({ALICE}) gets: thanks", "💬 This conversation has ended."]
    at = [out.index(line) for line in order]
    assert at == sorted(at), out
