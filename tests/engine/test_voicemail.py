"""Voicemail boxes in Redis: idempotent saving, transcription in any order, owners."""

from __future__ import annotations

from pathlib import Path

import redis

from ivr.flows import voicemail

from .conftest import load_flows


def test_save_is_idempotent_and_transcription_may_come_first(r: redis.Redis) -> None:
    voicemail.set_transcription(r, "vm1", "Hello there", "completed")
    assert voicemail.get(r, "vm1") is None  # a transcription alone is not a message yet
    args = dict(box="sales", caller="+14155550100", called="+15005550006", call_sid="CA1",
                flow="main", recording_url="https://x/RE1", duration=9)
    assert voicemail.save(r, "vm1", at=100.0, **args)  # type: ignore[arg-type]
    assert not voicemail.save(r, "vm1", at=200.0, **args)  # type: ignore[arg-type]
    (item,) = voicemail.messages(r, "sales")
    assert item["time"] == 100.0 and item["duration"] == 9
    assert item["transcription"] == "Hello there"
    assert voicemail.boxes(r) == ["sales"]
    assert voicemail.mark_heard(r, "vm1", at=300.0)
    assert voicemail.mark_heard(r, "vm1", at=400.0)
    assert voicemail.get(r, "vm1")["heard"] == "300.0"  # type: ignore[index]
    assert not voicemail.mark_heard(r, "nope")


def test_box_owner(callflows_dir: Path) -> None:
    callflows = load_flows(callflows_dir, {
        "main.yaml": 'numbers: ["*"]\nstart: a\nsteps:\n  a:\n    hangup: true\n',
        "agents.yaml": 'alice: {phone: "+15005550101"}\nbob: {phone: "sip:bob@example.com"}\n',
    })
    assert voicemail.box_owner(callflows, "alice") == "+15005550101"
    assert voicemail.box_owner(callflows, "bob") is None  # a SIP phone cannot get a text
    assert voicemail.box_owner(callflows, "main") is None
    assert voicemail.box_owner(callflows, "+15005550123") == "+15005550123"
