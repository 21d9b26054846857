"""The admin API through Flask's test client, on real Redis: access, errors, every resource."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from ivr import keys
from ivr.flows import voicemail
from tests.api.conftest import SERVICE, TOKEN

ROUTER = "ivr.router"


def get(app: Flask, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    return app.test_client().get(path, headers=headers, **kw)


def enqueue(app: Flask, sid: str, queue: str = "sales", caller: str = "+15551230001") -> Any:
    return app.extensions[ROUTER].enqueue(
        sid, queue=queue, priority=0, skills=[], max_wait=None, caller=caller, called=SERVICE,
        flow="main", step="sales", action_url="http://127.0.0.1/twilio/voice/step")


# --- access ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/agents", "/api/queues", "/api/wallboard", "/api/flows"])
def test_missing_or_wrong_token_is_401_json(app, path, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope-nope"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer " + "é" * 8}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.is_json and "token" in response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    # Neither the real token nor the wrong ones are ever logged.
    assert TOKEN not in caplog.text and "nope-nope" not in caplog.text


def test_change_with_wrong_token_changes_nothing(app, auth):
    client = app.test_client()
    response = client.put("/api/agents/alice/status", json={"status": "available"},
                          headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert client.get("/api/agents/alice", headers=auth).json["status"] == "offline"


def test_without_admin_token_only_loopback_gets_in(make_app):
    app = make_app(admin_token=None)
    client = app.test_client()
    assert client.get("/api/agents").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/api/agents", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    remote = client.get("/api/agents", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code == 401 and "loopback" in remote.json["error"]
    # Behind a proxy on the same host, everyone would look like loopback: refused.
    proxied = client.get("/api/agents", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 401


def test_openapi_document_is_public_valid_and_covers_every_route(app):
    response = get(app, "/api/openapi.json")
    assert response.status_code == 200
    doc = response.json
    validate(doc)  # a valid OpenAPI 3.1 document
    declared = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document":
            path = rule.rule.replace("<", "{").replace(">", "}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert declared == served
    status_op = doc["paths"]["/api/agents/{agent_id}/status"]["put"]
    body = status_op["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[1]
    assert doc["components"]["schemas"][ref]["properties"]["status"]["enum"] == \
        ["offline", "available", "break"]
    assert {"401", "404", "422", "400", "415"} <= set(status_op["responses"])


def test_unknown_api_path_and_method_answer_json(app, auth):
    client = app.test_client()
    missing = client.get("/api/no-such-thing", headers=auth)
    assert missing.status_code == 404 and "error" in missing.json
    wrong_method = client.delete("/api/queues", headers=auth)
    assert wrong_method.status_code == 405 and "error" in wrong_method.json
    # Outside /api the app's own 404 stays as it was (not JSON).
    assert not client.get("/nowhere").is_json


# --- agents ------------------------------------------------------------------------


def test_agents_listed_from_the_yaml_seed(app, auth):
    agents = get(app, "/api/agents", auth).json
    assert [a["id"] for a in agents] == ["alice", "bob"]
    alice = agents[0]
    assert alice["name"] == "Alice Jones" and alice["source"] == "yaml"
    assert alice["status"] == "offline" and alice["state"] == "idle"
    assert "pin" not in alice


def test_set_status_and_it_persists(app, make_app, auth):
    client = app.test_client()
    response = client.put("/api/agents/alice/status", json={"status": "break"}, headers=auth)
    assert response.status_code == 200
    assert response.json["status"] == "break"
    # Another app (another worker) on the same Redis sees it.
    other = make_app()
    assert get(other, "/api/agents/alice", auth).json["status"] == "break"
    events = get(app, "/api/events", auth).json
    assert any(e["type"] == "status" and e.get("agent") == "alice" for e in events)


@pytest.mark.parametrize(("path", "kwargs", "status", "words"), [
    ("/api/agents/zed/status", {"json": {"status": "break"}}, 404, "no agent"),
    ("/api/agents/alice/status", {"json": {"status": "lunch"}}, 422, "status"),
    ("/api/agents/alice/status", {"json": {"status": "break", "x": 1}}, 422, "x"),
    ("/api/agents/alice/status", {"json": {}}, 422, "status"),
    ("/api/agents/alice/status", {"json": ["break"]}, 422, "object"),
    ("/api/agents/alice/status", {"data": "{status: break",
                                  "content_type": "application/json"}, 400, "not valid JSON"),
    ("/api/agents/alice/status", {"data": b"\xff\xfe", "content_type": "application/json"},
     400, "not valid JSON"),
    ("/api/agents/alice/status", {"data": "status=break"}, 415, "JSON"),
])
def test_bad_input_is_4xx_json(app, auth, path, kwargs, status, words):
    response = app.test_client().put(path, headers=auth, **kwargs)
    assert response.status_code == status
    assert response.is_json and words in response.json["error"]
    assert get(app, "/api/agents/alice", auth).json["status"] == "offline"


def test_add_change_and_remove_an_agent(app, auth):
    client = app.test_client()
    new = {"id": "dana", "name": "Dana Lee", "phone": "+15005550109",
           "skills": {"sales": 2}, "pin": "8080"}
    created = client.post("/api/agents", json=new, headers=auth)
    assert created.status_code == 201
    assert created.json["source"] == "api" and created.json["status"] == "offline"
    assert client.post("/api/agents", json=new, headers=auth).status_code == 409
    # A second agent may not take Dana's phone.
    clash = client.put("/api/agents/erik", json={"phone": "+15005550109"}, headers=auth)
    assert clash.status_code == 409
    patched = client.patch("/api/agents/dana", json={"skills": {"sales": 4, "support": 1}},
                           headers=auth)
    assert patched.status_code == 200
    assert patched.json["skills"] == {"sales": 4, "support": 1}
    assert patched.json["phone"] == "+15005550109" and patched.json["name"] == "Dana Lee"
    # The PIN survives a PATCH that does not mention it (the router keeps it).
    assert app.extensions[ROUTER].agent_config("dana").pin == "8080"
    # Dana now counts for the support queue's agents.
    support = client.get("/api/queues/support", headers=auth).json
    assert support["agents_by_status"]["offline"] == 2
    replaced = client.put("/api/agents/alice", json={"phone": "+15005550101", "name": "Alice J"},
                          headers=auth)
    assert replaced.status_code == 200 and replaced.json["source"] == "api"
    added = client.put("/api/agents/erik", json={"phone": "+15005550110"}, headers=auth)
    assert added.status_code == 201 and added.json["name"] == "erik"
    assert client.delete("/api/agents/dana", headers=auth).json == {"id": "dana",
                                                                     "result": "removed"}
    assert client.get("/api/agents/dana", headers=auth).status_code == 404
    assert client.delete("/api/agents/dana", headers=auth).status_code == 404


@pytest.mark.parametrize("body", [
    {"id": "x y", "phone": "+15005550111"},
    {"id": "ok", "phone": "5550111"},
    {"id": "ok", "phone": "+15005550111", "skills": {"sales": 7}},
    {"id": "ok", "phone": "+15005550111", "pin": "12"},
    {"id": "ok"},
])
def test_invalid_agents_are_refused(app, auth, body):
    response = app.test_client().post("/api/agents", json=body, headers=auth)
    assert response.status_code == 422 and response.json["error"]
    assert "ok" not in [a["id"] for a in get(app, "/api/agents", auth).json]


def test_patch_of_unknown_agent_is_404(app, auth):
    response = app.test_client().patch("/api/agents/nobody", json={"name": "N"}, headers=auth)
    assert response.status_code == 404


# --- queues, callers, calls --------------------------------------------------------


def test_queues_waiting_and_events_follow_a_caller(app, auth):
    client = app.test_client()
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=auth)
    assert enqueue(app, "CA" + "1" * 32) is not None  # held: alice is logged in, on break
    queues = {q["queue"]: q for q in client.get("/api/queues", headers=auth).json}
    assert set(queues) >= {"sales", "support"}
    sales = queues["sales"]
    assert sales["waiting"] == 1 and sales["offered"] == 1
    assert sales["agents_by_status"]["break"] == 1
    assert sales["service_level_target"] == 20 and sales["strategy"] == "longest-idle"
    assert queues["support"]["waiting"] == 0
    waiting = client.get("/api/waiting?queue=sales", headers=auth).json
    assert [(w["id"], w["from"], w["position"]) for w in waiting] == \
        [("CA" + "1" * 32, "+15551230001", 1)]
    assert client.get("/api/waiting?queue=support", headers=auth).json == []
    events = client.get("/api/events?queue=sales", headers=auth).json
    assert [e["type"] for e in events] == ["enter"]
    later = client.get(f"/api/events?queue=sales&since={time.time() + 5}", headers=auth).json
    assert later == []
    assert client.get("/api/events?count=0", headers=auth).status_code == 422
    assert client.get("/api/events?since=soon", headers=auth).status_code == 422
    assert client.get("/api/queues/nope", headers=auth).status_code == 404


def test_calls_in_progress_show_where_the_caller_is(app, auth):
    client = app.test_client()
    form = {"CallSid": "CA" + "2" * 32, "From": "+15551230002", "To": SERVICE,
            "AccountSid": "AC" + "0" * 32, "CallStatus": "in-progress"}
    assert client.post("/twilio/voice", data=form).status_code == 200
    calls = client.get("/api/calls", headers=auth).json
    assert len(calls) == 1
    call = calls[0]
    assert call["sid"] == form["CallSid"] and call["step"] == "menu"
    assert call["from"] == "+15551230002" and call["to"] == SERVICE and call["flow"] == "main"
    detail = client.get("/api/flows/main", headers=auth).json
    reached = {s["name"]: s["reached"] for s in detail["step_list"]}
    assert reached["welcome"] == 1 and reached["menu"] == 1 and reached["sales"] == 0
    board = client.get("/api/wallboard", headers=auth).json
    assert board["calls_in_progress"] == 1
    client.post("/twilio/voice/status", data={**form, "CallStatus": "completed"})
    assert client.get("/api/calls", headers=auth).json == []
    detail = client.get("/api/flows/main", headers=auth).json
    dropped = {s["name"]: s["dropped"] for s in detail["step_list"]}
    assert dropped["menu"] == 1 and dropped["welcome"] == 0


# --- voicemails --------------------------------------------------------------------


def test_voicemails_listed_with_transcription_and_marked_heard(app, auth):
    store = app.extensions["ivr.redis"]
    for n, (box, at) in enumerate([("main", 1000.0), ("alice", 2000.0)]):
        voicemail.save(store, f"vm{n}", box=box, caller=f"+1555000000{n}", called=SERVICE,
                       call_sid=f"CA{n}", flow="main", recording_url=f"http://127.0.0.1/r{n}",
                       duration=12, at=at)
    voicemail.set_transcription(store, "vm0", "Please call me back about my bike.", "completed")
    client = app.test_client()
    items = client.get("/api/voicemails", headers=auth).json
    assert [v["id"] for v in items] == ["vm1", "vm0"]  # newest first
    assert items[1]["transcription"] == "Please call me back about my bike."
    assert all(v["heard"] is None for v in items)
    assert [v["id"] for v in client.get("/api/voicemails?box=main", headers=auth).json] == ["vm0"]
    assert client.get("/api/wallboard", headers=auth).json["unheard_voicemails"] == 2
    heard = client.post("/api/voicemails/vm0/heard", headers=auth)
    assert heard.status_code == 200 and heard.json["heard"] > 0
    again = client.post("/api/voicemails/vm0/heard", headers=auth)
    assert again.json["heard"] == heard.json["heard"]  # the first time is kept
    unheard = client.get("/api/voicemails?unheard=true", headers=auth).json
    assert [v["id"] for v in unheard] == ["vm1"]
    assert client.get("/api/wallboard", headers=auth).json["unheard_voicemails"] == 1
    assert client.post("/api/voicemails/vm9/heard", headers=auth).status_code == 404
    assert store.hget(keys.voicemail_item("vm0"), "heard") is not None


# --- flows -------------------------------------------------------------------------


def test_flows_checker_status_and_reload(app, auth, callflows_dir):
    client = app.test_client()
    status = client.get("/api/flows", headers=auth).json
    assert status["ok"] is True and status["problems"] == []
    assert [f["name"] for f in status["flows"]] == ["main"]
    version = status["version"]
    detail = client.get("/api/flows/main", headers=auth).json
    assert detail["start"] == "welcome" and "flowchart TD" in detail["mermaid"]
    assert [s["name"] for s in detail["step_list"]][:2] == ["welcome", "menu"]
    if detail["svg"] is not None:  # Graphviz installed
        assert "<svg" in detail["svg"] and "welcome" in detail["svg"]
    assert client.get("/api/flows/nope", headers=auth).status_code == 404

    main = callflows_dir / "main.yaml"
    main.write_text(main.read_text().replace("next: menu", "next: menuu"))
    refused = client.post("/api/reload", headers=auth).json
    assert refused["ok"] is False and refused["version"] == version
    assert any(p["location"].startswith("main.yaml:") or "main.yaml" in p["location"]
               for p in refused["problems"])
    assert any("menuu" in p["message"] for p in refused["problems"])
    assert client.get("/api/flows", headers=auth).json["ok"] is False

    main.write_text(main.read_text().replace("next: menuu", "next: menu").replace(
        "Thanks for calling.", "Thanks for calling us."))
    accepted = client.post("/api/reload", headers=auth).json
    assert accepted["ok"] is True and accepted["version"] != version


# --- the wallboard read and metrics --------------------------------------------------


def test_wallboard_read_and_metrics_agree(app, auth):
    client = app.test_client()
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=auth)
    enqueue(app, "CA" + "3" * 32)
    board = client.get("/api/wallboard", headers=auth).json
    sales = next(q for q in board["queues"] if q["queue"] == "sales")
    assert sales["waiting"] == 1
    assert [w["id"] for w in board["waiting"]] == ["CA" + "3" * 32]
    assert board["history"]["sales"][-1]["waiting"] == 1
    assert {a["id"]: a["status"] for a in board["agents"]} == {"alice": "break",
                                                               "bob": "offline"}
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ivr_queue_waiting{queue="sales"} 1.0' in text
    assert 'ivr_queue_waiting{queue="support"} 0.0' in text
    assert 'ivr_queue_offered_total{queue="sales"} 1.0' in text
    assert 'ivr_queue_agents{queue="sales",status="break"} 1.0' in text
    assert 'ivr_live_stats_up 1.0' in text
    assert 'ivr_queue_longest_wait_seconds{queue="sales"}' in text


def test_history_endpoint_bounds(app, auth):
    client = app.test_client()
    assert client.get("/api/history/waiting?minutes=61", headers=auth).status_code == 422
    got = client.get("/api/history/waiting?minutes=5", headers=auth).json
    assert set(got) >= {"sales", "support"}


def test_redis_unreachable_is_503_json_and_metrics_say_so(make_app, auth):
    app = make_app(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = app.test_client()
    for path in ("/api/agents", "/api/wallboard", "/api/queues"):
        response = client.get(path, headers=auth)
        assert response.status_code == 503, path
        assert "Redis" in response.json["error"]
    assert client.get("/api/openapi.json").status_code == 200  # needs no Redis
    assert "ivr_live_stats_up 0.0" in client.get("/metrics").get_data(as_text=True)
