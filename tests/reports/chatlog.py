"""Helpers for the text-conversation report tests: `chat_*` events appended to the routing
event stream exactly as the routing scripts append them (lib.lua event(): an id from the
router's clock in ms, `type` and `at` first, every value a string), and the day the
tests play."""

from __future__ import annotations

import json
from typing import Any

import redis

from ivr import keys
from tests.routing.conftest import Clock

SERVICE = "+15005550006"


def log(r: redis.Redis, clock: Clock, kind: str, **fields: object) -> None:
    """One event at the clock's time, as the routing scripts log it."""
    now = int(clock() * 1000)
    r.xadd(keys.acd("events"), {"type": kind, "at": str(now),
                                **{k: str(v) for k, v in fields.items()}}, id=f"{now}-*")


def chat_record(r: redis.Redis, chat: str, *, texter: str, queue: str, t0: float,
                flow: str = "text", steps: tuple[str, ...] = ()) -> None:
    """The conversation's routing record (`keys.acd("chats")`), as chat.lua keeps it (the
    context's steps: the flow's trail)."""
    channel = "whatsapp" if texter.startswith("whatsapp:") else "sms"
    record: dict[str, Any] = {
        "id": chat, "q": queue, "from": texter, "to": SERVICE, "channel": channel, "p": 0,
        "t0": int(t0 * 1000), "tq": int(t0 * 1000),
        "skills": [], "lvl": 1, "state": "waiting", "agent": None, "n": None,
        "offer": None, "outcome": None, "connected": None, "first_reply": None,
        "ended": None, "agents": [], "transfers": 0, "first": "hi",
        "context": {"flow": flow, "step": steps[-1].split(".")[1] if steps else "",
                    "vars": {}, "caller": {},
                    "steps": [{"flow": s.split(".")[0], "step": s.split(".")[1], "input": ""}
                              for s in steps]}}
    r.hset(keys.acd("chats"), chat, json.dumps(record))


def update_record(r: redis.Redis, chat: str, **changes: object) -> None:
    """A change chat.lua makes to the record: `stopped` when the texter opts out (its
    `chat_end` says abandoned, or answered when an agent had it), `q` at a transfer."""
    record = json.loads(r.hget(keys.acd("chats"), chat) or "{}")
    record.update(changes)
    r.hset(keys.acd("chats"), chat, json.dumps(record))


def message(r: redis.Redis, clock: Clock, chat: str, by: str, body: str,
            agent: str | None = None, media: list[dict[str, str]] | None = None) -> None:
    """One transcript entry, as the core appends it."""
    r.rpush(keys.chat_messages(chat), json.dumps({
        "at": int(clock() * 1000), "by": by, "agent": agent, "body": body,
        "media": media or []}))


def play_chats(r: redis.Redis, clock: Clock, *, transfer_handle: bool = True) -> float:
    """Seven conversations from the clock's time (T); returns T.

    sales: ch-1 missed by a00 (expired), answered by a01 after 30 s, first reply 12 s,
    DONE after 200 s, wrap 15 ("sale"). ch-2 (WhatsApp) answered by a00 after 10 s, first
    reply 20 s, transferred to support after 100 s; there a01 answers after 30 s, first
    reply 6 s, DONE after 60 s, wrap 5. ch-3 abandoned after 300 s; ch-4 overflowed;
    ch-5 asks for a callback; ch-6 opts out while waiting (an abandon); ch-7 answered by
    a00 after 10 s, the texter opts out 50 s later (served, not abandoned).

    The events' fields are chat.lua's (`chat_end` has `part`: how it ended in the queue it
    was last in; a transfer enters the next queue again). With `transfer_handle`,
    `chat_transfer` also carries the transferring agent's `handle`, as `chat_end` does;
    without, the reports count it from the agent's `chat_connect` (the same 100 s).
    """
    t = clock()

    def at(offset: float) -> None:
        clock.now = t + offset

    def enter(chat: str, texter: str, channel: str = "sms") -> None:
        address = f"whatsapp:{texter}" if channel == "whatsapp" else texter
        chat_record(r, chat, texter=address, queue="sales", t0=clock(),
                    steps=("text.hello", "text.menu", "text.menu", "text.agent"))
        log(r, clock, "chat_enter", chat=chat, queue="sales", number=address, channel=channel)

    at(0)
    enter("ch-1", "+14155550101")
    message(r, clock, "ch-1", "texter", "Where is my order?")
    log(r, clock, "chat_offer", chat="ch-1", queue="sales", agent="a00")
    at(20)
    log(r, clock, "chat_miss", chat="ch-1", queue="sales", agent="a00", reason="expired")
    log(r, clock, "chat_offer", chat="ch-1", queue="sales", agent="a01")
    at(30)
    log(r, clock, "chat_connect", chat="ch-1", queue="sales", agent="a01", wait=30)
    message(r, clock, "ch-1", "system", "Bob has joined the conversation.")
    at(42)
    message(r, clock, "ch-1", "agent", "It ships today.", agent="a01")
    log(r, clock, "chat_reply", chat="ch-1", queue="sales", agent="a01", frt=12)
    at(60)
    enter("ch-2", "+14155550102", "whatsapp")
    message(r, clock, "ch-2", "texter", "A photo of the damage",
            media=[{"url": "https://media.example/1.jpg", "type": "image/jpeg"}])
    at(70)
    log(r, clock, "chat_connect", chat="ch-2", queue="sales", agent="a00", wait=10)
    at(90)
    log(r, clock, "chat_reply", chat="ch-2", queue="sales", agent="a00", frt=20)
    at(100)
    enter("ch-3", "+14155550103")
    at(120)
    enter("ch-4", "+14155550104")
    log(r, clock, "chat_end", chat="ch-4", queue="sales", agent="", outcome="overflowed",
        part="overflowed", handle=0)
    at(130)
    enter("ch-5", "+14155550105")
    at(140)
    enter("ch-6", "+14155550106")
    at(150)
    log(r, clock, "chat_end", chat="ch-5", queue="sales", agent="", outcome="callback",
        part="callback", handle=0)
    enter("ch-7", "+14155550107")
    at(160)
    update_record(r, "ch-6", stopped=True)
    log(r, clock, "chat_end", chat="ch-6", queue="sales", agent="", outcome="abandoned",
        part="abandoned", handle=0)
    log(r, clock, "chat_connect", chat="ch-7", queue="sales", agent="a00", wait=10)
    at(170)
    log(r, clock, "chat_transfer", chat="ch-2", queue="sales", agent="a00", to="support",
        **({"handle": 100} if transfer_handle else {}))
    update_record(r, "ch-2", q="support", transfers=1)
    log(r, clock, "chat_enter", chat="ch-2", queue="support", number="whatsapp:+14155550102",
        channel="whatsapp", transfer=1)
    at(200)
    log(r, clock, "chat_connect", chat="ch-2", queue="support", agent="a01", wait=30)
    at(206)
    log(r, clock, "chat_reply", chat="ch-2", queue="support", agent="a01", frt=6)
    at(210)
    update_record(r, "ch-7", stopped=True)
    log(r, clock, "chat_end", chat="ch-7", queue="sales", agent="a00", outcome="answered",
        part="answered", handle=50)
    at(230)
    message(r, clock, "ch-1", "system", "Thanks for texting Acme!")
    log(r, clock, "chat_end", chat="ch-1", queue="sales", agent="a01", outcome="answered",
        part="answered", handle=200)
    at(245)
    log(r, clock, "chat_wrap", chat="ch-1", queue="sales", agent="a01", wrap=15,
        disposition="sale")
    at(260)
    log(r, clock, "chat_end", chat="ch-2", queue="support", agent="a01", outcome="answered",
        part="answered", handle=60)
    at(265)
    log(r, clock, "chat_wrap", chat="ch-2", queue="support", agent="a01", wrap=5,
        disposition="")
    at(400)
    log(r, clock, "chat_end", chat="ch-3", queue="sales", agent="", outcome="abandoned",
        part="abandoned", handle=0)
    return t
