"""Text conversations routed like calls: capacity, one offer at a time, order, outcomes."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from ivr import keys
from ivr.routing.chats import ChatRefused, Notice, NotYours
from tests.routing.conftest import agents_of, enqueue

SERVICE = "+15005550006"


def chat_router(make_router, n_agents=2, **queue):
    settings = {"chat": True, "chat_capacity": 2, "ring_timeout": 20, "wrap_up": 30,
                "max_wait": 300, **queue}
    router = make_router({"support": settings, "billing": dict(settings)}, agents_of(n_agents))
    notices: list[Notice] = []
    router.chats.listen(notices.extend)
    return router, notices


def texter(i: int) -> str:
    return f"+1415555{i:04d}"


def test_offer_accept_relay_done_wrapup(make_router, clock, r):
    router, notices = chat_router(make_router, 1)
    entry = router.chats.enter(texter(1), SERVICE, "support", first="hello")
    assert entry.outcome == "overflowed"  # nobody logged in who could ever take it
    router.set_agent_status("a00", "available", source="test")
    entry = router.chats.enter(texter(2), SERVICE, "support", first="hi there")
    chat = entry.chat
    assert chat.state == "offered" and chat.offered_to == "a00"
    assert [n.kind for n in notices][-1] == "offer"
    clock.advance(5)
    router.chats.from_texter(chat.id, "are you there?")
    with pytest.raises(NotYours):
        router.chats.accept("a01", chat.id)
    got = router.chats.accept("a00", chat.id)
    assert got.state == "active" and got.n == 1 and got.agents == ["a00"]
    joined = notices[-1]
    assert joined.kind == "joined" and (joined.first, joined.last) == (2, 2)
    assert router.chats.transcript(chat.id, joined.first, joined.last)[0]["body"] == \
        "are you there?"
    router.chats.from_texter(chat.id, "order 42")
    assert notices[-1].kind == "to_agent" and notices[-1].n == 1
    clock.advance(7)
    router.chats.from_agent("a00", chat.id, "Let me look")
    assert notices[-1].kind == "to_texter"
    clock.advance(60)
    ended = router.chats.end("a00", chat.id)
    assert ended.state == "wrap" and ended.outcome == "answered"
    assert notices[-1].kind == "closed"
    assert router.chats.open_of(texter(2), SERVICE) is None
    done = router.chats.wrapup("a00", chat.id, "solved")
    assert done.state == "ended" and done.disposition == "solved"
    assert [(m["by"], m["body"]) for m in router.chats.transcript(chat.id)] == [
        ("texter", "hi there"), ("texter", "are you there?"), ("system", "Agent 0 joined"),
        ("texter", "order 42"), ("agent", "Let me look"), ("system", "Ended by Agent 0")]
    events = [(e[1]["type"], e[1]) for e in r.xrange(keys.acd("events"))
              if e[1]["type"].startswith("chat_")]
    kinds = [k for k, _ in events]
    assert kinds == ["chat_enter", "chat_end", "chat_enter", "chat_offer", "chat_connect",
                     "chat_reply", "chat_end", "chat_wrap"]
    fields = dict(events)
    assert fields["chat_connect"]["wait"] == "5"
    assert fields["chat_reply"]["frt"] == "7"
    assert fields["chat_end"]["handle"] == "67" and fields["chat_end"]["outcome"] == "answered"
    assert fields["chat_wrap"]["disposition"] == "solved"


def test_capacity_and_one_offer_at_a_time(make_router, clock):
    router, notices = chat_router(make_router, 1, chat_capacity=2)
    router.set_agent_status("a00", "available", source="test")
    ids = []
    for i in range(4):
        ids.append(router.chats.enter(texter(i), SERVICE, "support", first=f"m{i}").chat.id)
        clock.advance(1)
    # one offer ringing at a time
    assert [router.chats.get(i).state for i in ids] == ["offered", "waiting", "waiting",
                                                         "waiting"]
    router.chats.accept("a00", ids[0])
    assert router.chats.get(ids[1]).state == "offered"
    router.chats.accept("a00", ids[1])
    # at capacity: the third waits, first in line
    assert router.chats.get(ids[2]).state == "waiting"
    assert [c.id for c in router.chats.waiting()] == ids[2:]
    assert [c.n for c in router.chats.of_agent("a00")] == [1, 2]
    router.chats.end("a00", ids[0])
    assert router.chats.get(ids[2]).state == "waiting"  # wrap-up holds the slot
    clock.advance(31)
    router.timers.run()
    assert router.chats.get(ids[0]).state == "ended"
    offered = router.chats.get(ids[2])
    assert offered.state == "offered"
    assert router.chats.accept("a00", ids[2]).n == 1  # the lowest free number


def test_agents_on_a_call_still_take_texts(make_router, twilio):
    router, _ = chat_router(make_router, 1)
    router.set_agent_status("a00", "available", source="test")
    router.callflows().queues["support"].chat = False
    enqueue(router, "CA1", "support")
    assert twilio.placed  # the call rings the agent
    chat = router.chats.enter(texter(1), SERVICE, "support", first="hi").chat
    assert chat.state == "offered"


def test_decline_and_expiry_keep_the_place(make_router, clock):
    router, notices = chat_router(make_router, 2)
    router.set_agent_status("a00", "available", source="test")
    first = router.chats.enter(texter(1), SERVICE, "support", first="one").chat
    clock.advance(1)
    second = router.chats.enter(texter(2), SERVICE, "support", first="two").chat
    assert router.chats.get(second.id).state == "waiting"
    router.chats.decline("a00", first.id)
    # not back to the agent who declined (for a while): the second goes to a00
    assert router.chats.get(second.id).offered_to == "a00"
    router.set_agent_status("a01", "available", source="test")
    assert router.chats.get(first.id).offered_to == "a01"
    clock.advance(21)
    router.timers.run()
    kinds = [n.kind for n in notices]
    assert kinds.count("withdrawn") == 2  # both offers rang out
    # rang out: back in line, and each offered to the agent who did not just miss it
    assert router.chats.get(first.id).offered_to == "a00"
    assert router.chats.get(second.id).offered_to == "a01"
    with pytest.raises(NotYours):
        router.chats.accept("a00", second.id)
    assert router.chats.accept("a01", second.id).state == "active"
    with pytest.raises(ChatRefused):
        router.chats.accept("a01", second.id)


def test_quiet_texter_abandons_and_stop_ends(make_router, clock, r):
    router, notices = chat_router(make_router, 1, max_wait=60)
    router.set_agent_status("a00", "break", source="test")
    chat = router.chats.enter(texter(1), SERVICE, "support", first="hi").chat
    assert chat.state == "waiting"
    clock.advance(50)
    router.chats.from_texter(chat.id, "still here")
    clock.advance(50)
    router.timers.run()
    assert router.chats.get(chat.id).state == "waiting"  # the message reset the clock
    clock.advance(11)
    router.timers.run()
    gone = router.chats.get(chat.id)
    assert gone.state == "ended" and gone.outcome == "abandoned"
    router.set_agent_status("a00", "available", source="test")
    chat2 = router.chats.enter(texter(2), SERVICE, "support", first="hi").chat
    router.chats.accept("a00", chat2.id)
    [stopped] = router.chats.stop(texter(2))
    assert stopped.state == "wrap" and stopped.outcome == "answered" and stopped.stopped
    assert notices[-1].kind == "closed" and notices[-1].why == "stop"


def test_transfer_to_another_queue(make_router, clock):
    router, notices = chat_router(make_router, 2)
    for a in ("a00", "a01"):
        router.set_agent_status(a, "available", source="test")
    chat = router.chats.enter(texter(1), SERVICE, "support", first="hi").chat
    agent = router.chats.get(chat.id).offered_to
    router.chats.accept(agent, chat.id)
    with pytest.raises(ChatRefused):
        router.chats.transfer(agent, chat.id, "nowhere")
    moved = router.chats.transfer(agent, chat.id, "billing")
    assert moved.queue == "billing" and moved.transfers == 1
    other = "a01" if agent == "a00" else "a00"
    assert moved.offered_to == other  # not back to the agent who passed it on
    assert router.chats.of_agent(agent) == []
    final = router.chats.accept(other, chat.id)
    assert final.agents == [agent, other]
    assert "transferred" in [n.kind for n in notices]


def test_many_workers_never_over_capacity(make_router, r, clock):
    """Many threads enter, accept and end at once: no agent is ever over capacity and
    no conversation is with two agents."""
    router, _ = chat_router(make_router, 4, chat_capacity=3)
    for i in range(4):
        router.set_agent_status(f"a{i:02d}", "available", source="test")
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for j in range(6):
                entry = router.chats.enter(texter(k * 10 + j), SERVICE, "support", first="x")
                for record in router.chats.of_agent(f"a{k % 4:02d}"):
                    try:
                        if record.state == "offered":
                            router.chats.accept(f"a{k % 4:02d}", record.id)
                        elif record.state == "active" and j % 2:
                            router.chats.end(f"a{k % 4:02d}", record.id)
                    except ChatRefused:
                        pass
                del entry
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    holders: Counter[str] = Counter()
    for raw in r.hvals(keys.acd("chats")):
        import json
        c = json.loads(raw)
        if c["state"] in ("active", "wrap"):
            holders[c["agent"]] += 1
    assert holders and max(holders.values()) <= 3
    for aid in ("a00", "a01", "a02", "a03"):
        records = router.chats.of_agent(aid)
        assert len([c for c in records if c.state != "offered"]) <= 3
        assert len([c for c in records if c.state == "offered"]) <= 1


def test_an_agent_taken_off_the_roster_hands_conversations_back(make_router, clock):
    router, notices = chat_router(make_router, 2)
    router.set_agent_status("a00", "available", source="test")
    talking = router.chats.enter(texter(1), SERVICE, "support", first="hi").chat
    router.chats.accept("a00", talking.id)
    clock.advance(1)
    ringing = router.chats.enter(texter(2), SERVICE, "support", first="hello").chat
    assert router.chats.get(ringing.id).offered_to == "a00"
    clock.advance(1)
    router.remove_agent("a00")
    assert router.chats.of_agent("a00") == []
    back = router.chats.get(talking.id)
    assert back.state == "waiting" and back.queue == "support" and back.agents == ["a00"]
    assert router.chats.get(ringing.id).state == "waiting"
    router.set_agent_status("a01", "available", source="test")
    # one offer at a time, and the one waiting since before the hand-back goes first
    assert router.chats.get(ringing.id).offered_to == "a01"
    assert "transferred" in [n.kind for n in notices]
