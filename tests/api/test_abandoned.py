"""Today's abandoned callers and *call back* from the wallboard, on real Redis."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from ivr.reports.contacts import Contact

ROUTER = "ivr.router"
REPORTS = "ivr.reports"


def _contact(sid: str, number: str, *, end: float, wait: int, outcome: str = "abandoned",
             queue: str = "sales") -> Contact:
    return Contact(id=sid, channel="voice", start=end - wait - 20, end=end, number=number,
                   service_number="+15005550006", flow="main", queue=queue, wait=wait,
                   outcome=outcome)


def _put(app: Flask, *contacts: Contact) -> None:
    for c in contacts:
        app.extensions[REPORTS].contacts.put(c)


def test_list_newest_first_with_short_and_reached(app: Flask, auth: dict[str, str]) -> None:
    now = time.time()
    _put(app,
         _contact("CAold", "+15551110001", end=now - 300, wait=90),
         _contact("CAshort", "+15551110002", end=now - 200, wait=2),
         _contact("CAlater", "+15551110001", end=now - 100, wait=30, outcome="connected"),
         _contact("CAnew", "+15551110003", end=now - 50, wait=45),
         _contact("CAyesterday", "+15551110004", end=now - 3 * 86_400, wait=60))
    got = app.test_client().get("/api/abandoned", headers=auth)
    assert got.status_code == 200
    rows = got.get_json()
    assert [r["id"] for r in rows] == ["CAnew", "CAshort", "CAold"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["CAold"]["reached"] is True  # called again and got through
    assert by_id["CAnew"]["reached"] is False
    assert by_id["CAshort"]["short"] is True and by_id["CAnew"]["short"] is False
    assert all(r["callback"] is None for r in rows)


def test_call_back_keeps_the_original_place_once(app: Flask, auth: dict[str, str]) -> None:
    router = app.extensions[ROUTER]
    now = time.time()
    _put(app, _contact("CAgone", "+15551110009", end=now - 60, wait=120))
    # Alice is on break (logged in, takes no calls): callers wait. One comes in now,
    # after the abandoned caller had arrived.
    router.set_agent_status("alice", "break", source="test")
    with app.test_request_context():
        assert router.enter_call("CAwaiting", queue="sales", priority=0, skills=[],
                                 max_wait=None, caller="+15552220000",
                                 called="+15005550006", flow="main", step="sales",
                                 action_url="http://x/a")
    client = app.test_client()
    first = client.post("/api/abandoned/CAgone/callback", headers=auth, json={})
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"id": "CAgone", "queue": "sales", "position": 1}
    again = client.post("/api/abandoned/CAgone/callback", headers=auth, json={})
    assert again.status_code == 409
    waiting = router.waiting()
    callbacks = [w for w in waiting if w.get("kind") == "callback"]
    assert len(callbacks) == 1
    assert router.caller(callbacks[0]["id"]).number == "+15551110009"
    # ahead of the caller who came later, at the original arrival (end - wait)
    assert [w.get("kind") for w in waiting][:2] == ["callback", "call"]
    record = router.caller(callbacks[0]["id"])
    assert record is not None
    assert abs(record.entered_ms / 1000 - (now - 60 - 120)) < 1
    rows = client.get("/api/abandoned", headers=auth).get_json()
    assert isinstance(rows[0]["callback"], float)
    events: list[dict[str, Any]] = router.events(count=1000)
    assert any(e["type"] == "callback" and e.get("via") == "wallboard" for e in events)


def test_call_back_refusals(app: Flask, auth: dict[str, str]) -> None:
    now = time.time()
    _put(app, _contact("CAok", "+15551110010", end=now - 10, wait=5, outcome="connected"),
         _contact("CAgoneq", "+15551110011", end=now - 10, wait=50, queue="closed"))
    client = app.test_client()
    assert client.post("/api/abandoned/CAnone/callback", headers=auth,
                       json={}).status_code == 404
    assert client.post("/api/abandoned/CAok/callback", headers=auth,
                       json={}).status_code == 404  # not abandoned
    assert client.post("/api/abandoned/CAgoneq/callback", headers=auth,
                       json={}).status_code == 422  # its queue is gone
    assert client.post("/api/abandoned/CAok/callback", json={}).status_code == 401


def test_two_supervisors_at_once_queue_one_callback(app: Flask, auth: dict[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    router = app.extensions[ROUTER]
    router.set_agent_status("alice", "break", source="test")
    _put(app, _contact("CAbusy", "+15551110020", end=time.time() - 5, wait=40))

    def press(_: int) -> int:
        return app.test_client().post("/api/abandoned/CAbusy/callback", headers=auth,
                                      json={}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(press, range(16)))
    assert codes == [200] + [409] * 15
    assert len([w for w in router.waiting() if w.get("kind") == "callback"]) == 1
