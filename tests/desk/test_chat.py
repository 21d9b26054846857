"""The team chat: rooms, who may use them, direct messages, polling with `after`, the cap
and the retention."""

from __future__ import annotations

import time

import pytest
import redis
from flask import Flask

from ivr import keys
from ivr.desk import chat
from tests.desk.conftest import BOB_PHONE, TOKEN, csrf_headers, sign_in

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def test_post_and_read_with_after(desk_app: Flask) -> None:
    alice = sign_in(desk_app)
    headers = csrf_headers(alice)
    first = alice.post("/api/chat/team", json={"text": " Hi team "}, headers=headers)
    assert first.status_code == 201
    message = first.json
    assert message["text"] == "Hi team" and message["from"] == "alice"
    assert message["name"] == "Alice Jones" and message["room"] == "team"
    assert message["kind"] == "text" and message["call"] is None
    assert abs(message["at"] - time.time()) < 5
    page = alice.get("/api/chat/team").json
    assert page["room"] == "team" and page["last"] == message["id"]
    assert [m["id"] for m in page["messages"]] == [message["id"]]
    # polling: nothing new after the last id, then only the new one
    assert alice.get(f"/api/chat/team?after={message['id']}").json["messages"] == []
    bob = sign_in(desk_app, BOB_PHONE)
    second = bob.post("/api/chat/team", json={"text": "Hi Alice"}, headers=csrf_headers(bob))
    polled = alice.get(f"/api/chat/team?after={message['id']}").json
    assert [m["text"] for m in polled["messages"]] == ["Hi Alice"]
    assert polled["last"] == second.json["id"]
    assert alice.get("/api/chat/team?after=junk").status_code == 400


def test_empty_and_long_texts_are_refused(desk_app: Flask) -> None:
    alice = sign_in(desk_app)
    headers = csrf_headers(alice)
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * (chat.TEXT_LIMIT + 1)}, {}):
        assert alice.post("/api/chat/team", json=body, headers=headers).status_code == 422
    assert alice.post("/api/chat/team", json={"text": "x" * chat.TEXT_LIMIT},
                      headers=headers).status_code == 201


def test_rooms_are_checked(desk_app: Flask) -> None:
    alice = sign_in(desk_app)  # skills: sales
    headers = csrf_headers(alice)
    assert alice.get("/api/chat/queue:sales").status_code == 200
    assert alice.post("/api/chat/queue:sales", json={"text": "deal"},
                      headers=headers).status_code == 201
    # support needs a skill she lacks
    assert alice.get("/api/chat/queue:support").status_code == 403
    assert alice.post("/api/chat/queue:support", json={"text": "x"},
                      headers=headers).status_code == 403
    for room in ("queue:nope", "agent:nobody", "lobby", "queue:", "dm:alice|bob"):
        assert alice.get(f"/api/chat/{room}").status_code == 404, room
    # the admin reads and posts every queue's room
    admin = desk_app.test_client()
    assert admin.get("/api/chat/queue:support", headers=ADMIN).status_code == 200
    assert admin.post("/api/chat/queue:support", json={"text": "hello support"},
                      headers=ADMIN).json["from"] == "admin"
    assert admin.get("/api/chat/queue:sales", headers=ADMIN).json["messages"][0]["text"] == "deal"


def test_direct_messages_between_two_agents(desk_app: Flask) -> None:
    alice = sign_in(desk_app)
    bob = sign_in(desk_app, BOB_PHONE)
    sent = alice.post("/api/chat/agent:bob", json={"text": "psst"}, headers=csrf_headers(alice))
    assert sent.status_code == 201
    assert sent.json["room"] == "agent:bob" and sent.json["to"] == "bob"
    # Bob sees the same conversation as agent:alice; each inbox has it, with its room
    assert [m["text"] for m in bob.get("/api/chat/agent:alice").json["messages"]] == ["psst"]
    assert [m["text"] for m in alice.get("/api/chat/agent:bob").json["messages"]] == ["psst"]
    [in_bob] = bob.get("/api/chat/agent:bob").json["messages"]
    assert in_bob["room"] == "agent:alice" and in_bob["from"] == "alice"
    [in_alice] = alice.get("/api/chat/agent:alice").json["messages"]
    assert in_alice["room"] == "agent:bob"
    reply = bob.post("/api/chat/agent:alice", json={"text": "yes?"}, headers=csrf_headers(bob))
    assert reply.status_code == 201
    texts = [m["text"] for m in alice.get("/api/chat/agent:bob").json["messages"]]
    assert texts == ["psst", "yes?"]
    # nobody messages themself; the admin reads any inbox but sends no direct messages
    assert alice.post("/api/chat/agent:alice", json={"text": "me"},
                      headers=csrf_headers(alice)).status_code == 422
    admin = desk_app.test_client()
    assert len(admin.get("/api/chat/agent:bob", headers=ADMIN).json["messages"]) == 2
    assert admin.post("/api/chat/agent:bob", json={"text": "hi"},
                      headers=ADMIN).status_code == 403


def test_a_third_agent_cannot_read_a_direct_conversation(make_app, callflows_dir) -> None:
    agents = callflows_dir / "agents.yaml"
    agents.write_text(agents.read_text() + '''carol:
  name: Carol Diaz
  phone: "+15005550103"
  skills: {sales: 2}
  pin: "5555"
''')
    from tests.desk.conftest import ACCOUNT_SID, TWILIO_TOKEN

    app = make_app(twilio_auth_token=TWILIO_TOKEN, twilio_account_sid=ACCOUNT_SID)
    alice = sign_in(app)
    alice.post("/api/chat/agent:bob", json={"text": "secret"}, headers=csrf_headers(alice))
    carol = sign_in(app, "+15005550103")
    # carol's view of agent:bob is her own conversation with bob: empty
    assert carol.get("/api/chat/agent:bob").json["messages"] == []
    assert carol.get("/api/chat/agent:alice").json["messages"] == []
    assert carol.get("/api/chat/agent:carol").json["messages"] == []


def test_post_function_for_help_requests(desk_app: Flask, r: redis.Redis) -> None:
    message = chat.post(r, "team", sender="alice", text="Caller is angry", kind="help",
                        call="CA" + "1" * 32)
    assert message["kind"] == "help" and message["call"] == "CA" + "1" * 32
    bob = sign_in(desk_app, BOB_PHONE)
    [seen] = bob.get("/api/chat/team").json["messages"]
    assert seen["kind"] == "help" and seen["call"] == "CA" + "1" * 32
    with pytest.raises(chat.ChatError):
        chat.post(r, "team", sender="alice", text="x", kind="shout")


def test_each_room_keeps_its_last_500(r: redis.Redis) -> None:
    pipe_count = chat.ROOM_CAP + 20
    for i in range(pipe_count):
        chat.post(r, "team", sender="alice", text=f"m{i}")
    assert r.xlen(keys.chat_room("team")) == chat.ROOM_CAP
    room = chat.Room("team", "team", None)
    last = chat.read(r, room)
    assert len(last) == chat.READ_LIMIT
    assert last[-1]["text"] == f"m{pipe_count - 1}"
    everything = chat.read(r, room, limit=1000)
    assert everything[0]["text"] == "m20"  # the first 20 are gone


def test_messages_older_than_the_retention_are_dropped(r: redis.Redis) -> None:
    old_ms = int((time.time() - 3 * 86400) * 1000)
    r.xadd(keys.chat_room("team"), {"from": "alice", "text": "old"}, id=f"{old_ms}-0")
    chat.post(r, "team", sender="alice", text="new", retention_days=2)
    texts = [m["text"] for m in chat.read(r, chat.Room("team", "team", None))]
    assert texts == ["new"]
    ttl = r.ttl(keys.chat_room("team"))
    assert 2 * 86400 - 5 <= ttl <= 2 * 86400


def test_supervisors_see_help_requests_and_every_queue_room(desk_app: Flask,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from tests.desk.conftest import desk_data

    bob = sign_in(desk_app, BOB_PHONE)  # skills: support
    assert bob.get("/api/chat/queue:sales").status_code == 403
    page = bob.get("/desk").text
    assert 'id="help-panel"' not in page
    assert desk_data(bob)["queues"] == ["support"]
    current = desk_app.extensions["ivr.flows"].current
    monkeypatch.setattr(current.agents["bob"], "role", "supervisor")
    assert bob.get("/api/chat/queue:sales").status_code == 200
    page = bob.get("/desk").text
    assert 'id="help-panel"' in page
    data = desk_data(bob)
    assert data["me"]["role"] == "supervisor" and data["queues"] == ["sales", "support"]


def test_break_reasons_reach_the_page(desk_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.desk.conftest import desk_data

    alice = sign_in(desk_app)
    assert 'id="break-reason"' not in alice.get("/desk").text
    current = desk_app.extensions["ivr.flows"].current
    monkeypatch.setattr(current, "breaks", ["lunch", "training"])
    page = alice.get("/desk").text
    assert '<option value="lunch">lunch</option>' in page
    assert desk_data(alice)["breaks"] == ["lunch", "training"]
