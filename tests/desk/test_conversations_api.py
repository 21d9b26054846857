"""Text conversations as the desk works them (`/api/conversations`): the JSON API over real
HTTP, desk sessions opened by texted links, texters and agents' phones played by the Twilio
simulator, the real routing core behind it.

A texter answers the flow's question (an order number) and reaches a `chat: true` queue;
Alice's desk sees the offer with that context, accepts it, and the replies go both ways:
hers from the desk and from her phone alike land in the texter's inbox from the service
number and in the transcript the desk reads. Then End and wrap-up, and the refusals along
the way: another agent's desk 403, an unknown conversation 404, an action the state does
not allow 409, a bad body 422."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from ivr.flows.chat_relay import CLOSED_TEXTER, JOINED_TEXTER
from ivr.sim.people import Phone
from tests.browser import wait_until
from tests.desk.chatcompany import ALICE, BOB, SAM, SERVICE, write_company
from tests.desk.conftest import desk_session

TOKEN = "desk-conversations-token"
TEXTER = "+14155550123"
WA_TEXTER = "whatsapp:+14155550177"






class Desk:
    """The live app, Alice's and Bob's desks (both available), the admin's token."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.sim = live.sim
        self.sim.phones[ALICE] = Phone(hangup_after=None)
        self.sim.phones[BOB] = Phone(hangup_after=None)
        self.alice = desk_session(live, ALICE)
        self.bob = desk_session(live, BOB)
        self.admin = requests.Session()
        self.admin.headers["Authorization"] = f"Bearer {TOKEN}"
        for who, session in (("alice", self.alice), ("bob", self.bob)):
            answer = session.put(f"{live.url}/api/agents/{who}/status",
                                 json={"status": "available"})
            assert answer.status_code == 200, answer.text

    def url(self, path: str) -> str:
        return f"{self.live.url}/api{path}"

    def listed(self, session: requests.Session, query: str = "") -> list[dict[str, Any]]:
        answer = session.get(self.url("/conversations" + query))
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def detail(self, session: requests.Session, chat_id: str) -> dict[str, Any]:
        answer = session.get(self.url(f"/conversations/{chat_id}"))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def post(self, session: requests.Session, chat_id: str, action: str,
             body: Any = None) -> requests.Response:
        return session.post(self.url(f"/conversations/{chat_id}/{action}"),
                            json=body if body is not None else {})

    def texts_to(self, number: str) -> list[str]:
        return [m.body for m in self.sim.inbox(number)]

    def offered(self, session: requests.Session) -> dict[str, Any]:
        """The conversation offered to this desk's agent, once it is."""
        row: dict[str, Any] = wait_until("an offer on the desk", lambda: next(
            (c for c in self.listed(session) if c["state"] == "offered"), None))
        return row


def start(live_factory: Any, callflows_dir: Path) -> Desk:
    return Desk(live_factory(write_company(callflows_dir), admin_token=TOKEN))


def reach_support(d: Desk, texter: str = TEXTER, service: str = SERVICE) -> None:
    """The texter answers the flow's question and waits for an agent by text."""
    assert d.sim.send_sms(texter, service, "hello") == ["Hi! What is your order number?"]
    d.sim.send_sms(texter, service, "4417")


def test_an_offer_accepted_answered_ended_and_wrapped_up_from_the_desk(
        live_factory: Any, callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    assert d.listed(d.alice) == []
    reach_support(d)
    row = d.offered(d.alice)
    chat_id = row["id"]
    assert (row["queue"], row["texter"], row["number"], row["channel"]) == (
        "support", TEXTER, TEXTER, "sms")
    assert (row["offered_to"], row["agent"], row["n"]) == ("alice", None, None)
    assert row["last"]["by"] == "texter" and row["messages"] >= 1

    # --- who may: Bob's desk neither reads nor takes Alice's offer; unknown ids are 404 --
    assert d.bob.get(d.url(f"/conversations/{chat_id}")).status_code == 403
    assert d.post(d.bob, chat_id, "accept").status_code == 403
    assert d.bob.get(d.url("/conversations?agent=alice")).status_code == 403
    assert d.listed(d.bob) == []
    for method, path in (("GET", "/conversations/ch-0000"),
                         ("POST", "/conversations/ch-0000/accept"),
                         ("POST", "/conversations/ch-0000/end")):
        answer = d.alice.request(method, d.url(path), json={} if method == "POST" else None)
        assert answer.status_code == 404, (path, answer.text)
        assert "error" in answer.json()
    assert d.admin.get(d.url("/conversations?agent=nobody")).status_code == 404
    assert [c["id"] for c in d.listed(d.admin, "?agent=alice")] == [chat_id]
    assert [c["id"] for c in d.listed(d.admin)] == [chat_id]  # every agent's
    # without the session's CSRF token a change is refused
    forged = requests.post(d.url(f"/conversations/{chat_id}/accept"), json={},
                           cookies=d.alice.cookies)
    assert forged.status_code == 403

    # --- the offer as the desk shows it: the texter's answers and the script ----------
    offer = d.detail(d.alice, chat_id)
    assert offer["state"] == "offered" and offer["vars"]["order"] == "4417"
    assert [s["step"] for s in offer["steps"]][:2] == ["order", "support"]
    assert "4417" in (offer["script"] or "")
    assert "<strong>4417</strong>" in (offer["script_html"] or "")
    assert offer["dispositions"] == ["solved", "follow-up"]
    assert offer["queues"] == ["billing"]  # the other chat queues: sales has no chat
    # a reply before accepting is refused: nothing reaches the texter
    assert d.post(d.alice, chat_id, "messages", {"text": "too soon"}).status_code == 409

    # --- accept: the texter is told; replies go both ways --------------------------------
    accepted = d.post(d.alice, chat_id, "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"id": chat_id, "action": "accept", "agent": "alice",
                               "state": "active"}
    assert d.post(d.alice, chat_id, "accept").status_code == 409  # not offered any more
    wait_until("the texter hears Alice joined",
               lambda: JOINED_TEXTER.format(first_name="Alice") in d.texts_to(TEXTER))
    [mine] = d.listed(d.alice)
    assert (mine["state"], mine["agent"], mine["n"]) == ("active", "alice", 1)

    sent = d.post(d.alice, chat_id, "messages", {"text": "Hi! Looking at 4417 now."})
    assert sent.status_code == 201, sent.text
    wait_until("the desk's reply reaches the texter",
               lambda: "Hi! Looking at 4417 now." in d.texts_to(TEXTER))
    [reply] = [m for m in d.sim.inbox(TEXTER) if m.body == "Hi! Looking at 4417 now."]
    assert reply.from_ == SERVICE  # never Alice's own number
    d.sim.send_sms(TEXTER, SERVICE, "Thanks, it was due Monday")
    wait_until("the texter's message reaches Alice's phone",
               lambda: any("Thanks, it was due Monday" in t for t in d.texts_to(ALICE)))
    # a reply from Alice's phone is in the transcript the desk reads, as hers
    d.sim.send_sms(ALICE, SERVICE, "It ships today")
    wait_until("the phone's reply reaches the texter",
               lambda: "It ships today" in d.texts_to(TEXTER))
    transcript = d.detail(d.alice, chat_id)["transcript"]
    said = [(m["by"], m["body"]) for m in transcript if m["by"] != "system"]
    assert said[-3:] == [("agent", "Hi! Looking at 4417 now."),
                         ("texter", "Thanks, it was due Monday"),
                         ("agent", "It ships today")]
    assert {m["agent"] for m in transcript if m["by"] == "agent"} == {"alice"}
    assert {m["name"] for m in transcript if m["by"] == "agent"} == {"Alice Jones"}
    assert d.listed(d.alice)[0]["last"]["body"] == "It ships today"

    # --- bodies the API refuses ----------------------------------------------------------
    assert d.post(d.alice, chat_id, "messages", {"text": ""}).status_code == 422
    assert d.post(d.alice, chat_id, "messages", {"text": "x" * 1601}).status_code == 422
    assert d.post(d.alice, chat_id, "messages", {}).status_code == 422
    assert d.post(d.alice, chat_id, "transfer", {"to": "queue:sales"}).status_code == 422
    assert d.post(d.alice, chat_id, "transfer", {"to": "queue:nope"}).status_code == 422
    assert d.post(d.alice, chat_id, "transfer", {"to": "agent:bob"}).status_code == 422
    # a wrap-up before the end is refused
    assert d.post(d.alice, chat_id, "wrapup", {"disposition": "solved"}).status_code == 409

    # --- End: the texter is thanked; wrap-up -------------------------------------------
    ended = d.post(d.alice, chat_id, "end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "wrap"
    wait_until("the texter is thanked",
               lambda: CLOSED_TEXTER in d.texts_to(TEXTER))
    assert d.post(d.alice, chat_id, "messages", {"text": "one more"}).status_code == 409
    assert d.post(d.alice, chat_id, "end").status_code == 409
    assert [c["state"] for c in d.listed(d.alice)] == ["wrap"]
    assert d.post(d.alice, chat_id, "wrapup",
                  {"disposition": "refund"}).status_code == 422  # not the queue's
    done = d.post(d.alice, chat_id, "wrapup", {"disposition": "solved", "notes": "ships"})
    assert done.status_code == 200, done.text
    assert done.json()["action"] == "wrapup"
    assert d.listed(d.alice) == []
    assert d.post(d.alice, chat_id, "wrapup", {"disposition": "solved"}).status_code == 409

    def contact() -> dict[str, Any] | None:
        answer = d.admin.get(d.url(f"/contacts?number=%2B{TEXTER[1:]}"))
        assert answer.status_code == 200, answer.text
        found = [c for c in answer.json() if c["id"] == chat_id]
        return found[0] if found and found[0].get("notes") else None

    record = wait_until("the wrap-up on the conversation's contact record", contact)
    assert (record["disposition"], record["notes"], record["agents"]) == (
        "solved", "ships", ["alice"])
    # the agent who served it still reads it (the history), Bob still does not
    assert d.detail(d.alice, chat_id)["agents"] == ["alice"]
    assert d.bob.get(d.url(f"/conversations/{chat_id}")).status_code == 403
    d.sim.assert_no_errors()


def test_decline_and_a_transfer_to_another_queue(live_factory: Any,
                                                 callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    reach_support(d)
    chat_id = d.offered(d.alice)["id"]
    declined = d.post(d.alice, chat_id, "decline")
    assert declined.status_code == 200, declined.text
    assert declined.json()["action"] == "decline"
    assert d.post(d.alice, chat_id, "decline").status_code == 403  # no longer hers
    assert d.listed(d.alice) == []
    assert d.detail(d.admin, chat_id)["state"] == "waiting"  # back in line, its place kept
    # Alice is the only one for support: after the rest that follows a miss, it rings
    # for her again
    again = wait_until("offered to Alice again", lambda: next(
        (c for c in d.listed(d.alice) if c["id"] == chat_id), None), timeout=25)
    assert again["state"] == "offered"
    took = d.admin.post(d.url(f"/conversations/{chat_id}/accept"), json={})
    assert took.status_code == 200, took.text
    assert took.json()["agent"] == "alice"  # the admin acts for the agent it rings for
    # to billing: Bob's desk is offered it, Alice's no longer lists it
    moved = d.post(d.alice, chat_id, "transfer", {"to": "queue:billing"})
    assert moved.status_code == 200, moved.text
    assert d.listed(d.alice) == [] or all(c["state"] == "wrap" for c in d.listed(d.alice))
    theirs = d.offered(d.bob)
    assert (theirs["id"], theirs["queue"]) == (chat_id, "billing")
    assert d.post(d.bob, chat_id, "accept").status_code == 200
    detail = d.detail(d.bob, chat_id)
    assert detail["agents"] == ["alice", "bob"] and detail["transfers"] == 1
    # Alice, who served it, reads it; she may no longer act on it
    assert d.alice.get(d.url(f"/conversations/{chat_id}")).status_code == 200
    assert d.post(d.alice, chat_id, "messages", {"text": "hi"}).status_code == 403
    # the admin speaks for the agent holding it
    said = d.admin.post(d.url(f"/conversations/{chat_id}/messages"), json={"text": "Bob here"})
    assert said.status_code == 201 and said.json()["agent"] == "bob"
    wait_until("Bob's reply reaches the texter", lambda: "Bob here" in d.texts_to(TEXTER))
    d.sim.assert_no_errors()


def test_whatsapp_a_supervisor_reading_and_the_texter_opting_out(live_factory: Any,
                                                                callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    wa_service = "whatsapp:" + SERVICE
    reach_support(d, WA_TEXTER, wa_service)
    row = d.offered(d.alice)
    chat_id = row["id"]
    assert (row["texter"], row["number"], row["channel"]) == (
        WA_TEXTER, WA_TEXTER.removeprefix("whatsapp:"), "whatsapp")
    assert d.post(d.alice, chat_id, "accept").status_code == 200
    assert d.post(d.alice, chat_id, "messages", {"text": "Hello from Acme"}).status_code == 201
    wait_until("the reply reaches WhatsApp", lambda: "Hello from Acme" in d.texts_to(WA_TEXTER))
    assert {m.from_ for m in d.sim.inbox(WA_TEXTER) if m.body == "Hello from Acme"} == {
        wa_service}
    # a supervisor's desk reads any conversation, and acts on none that is not theirs
    sam = desk_session(d.live, SAM)
    assert d.detail(sam, chat_id)["agent"] == "alice"
    assert d.post(sam, chat_id, "messages", {"text": "hi"}).status_code == 403
    assert d.post(sam, chat_id, "end").status_code == 403
    assert d.listed(sam) == []
    # STOP: it ends at once; Alice wraps it up; nothing more reaches the texter
    d.sim.send_sms(WA_TEXTER, wa_service, "STOP")
    wait_until("Alice wraps it up", lambda: [(c["state"], c["stopped"])
                                             for c in d.listed(d.alice)] == [("wrap", True)])
    before = len(d.sim.inbox(WA_TEXTER))
    assert d.post(d.alice, chat_id, "messages", {"text": "still there?"}).status_code == 409
    assert d.post(d.alice, chat_id, "wrapup", {"disposition": "solved"}).status_code == 200
    assert d.listed(d.alice) == []
    assert len(d.sim.inbox(WA_TEXTER)) == before
    d.sim.assert_no_errors()
