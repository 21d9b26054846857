"""`ivr simulate --sms` plays the texter's phone too: a call back asked for by text rings it."""

from __future__ import annotations

from pathlib import Path

import redis

from ivr.sim.interactive import ScriptedConsole, run_simulation

ROOT = Path(__file__).resolve().parents[2]


def test_a_call_back_asked_for_by_text_rings_the_texter_in_the_terminal(
    redis_url: str, r: redis.Redis
) -> None:
    console = ScriptedConsole([
        ("✏️", "hello"), ("✏️", "1"), ("✏️", "yes"), ("✏️", ""),  # texts, then stop texting
        ("Alice Jones) rings", "a"), ("Alice Jones) keys", "1"),  # alice calls back...
        ("your phone rings", "a"),  # ...and the texter's own phone rings here
    ])
    run_simulation(console, to=None, from_="whatsapp:+15551230000", sms=True, time_scale=0.01,
                   all_open=True, config={"redis_url": redis_url,
                                          "callflows": ROOT / "callflows",
                                          "recordings": ROOT / "recordings"})
    out = "\n".join(console.output)
    assert "You are number 1 in line for a call back" in out
    assert "⏳ waiting for the call back" in out
    assert "📞 your phone rings, call from +15005550006." in out
    assert "🔗 connected to +15005550101" in out
    assert out.rstrip().endswith("📴 call back ended")
