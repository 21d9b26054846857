"""The agent desk's view of a call: GET /api/calls/{sid}, wrap-up, help, break reasons, and
who may see what (the admin, a supervisor's desk, the call's own agent's desk).

Calls are driven through the real voice webhooks (the flow, the queue step, the router);
the agents' phones are `RecordingTwilio`, and the agent accepts and hangs up through the
router, as the agent line's webhooks would. A desk session is simulated by a test-only
hook that sets `g.desk_agent` from a header (the desk itself sets it from its cookie).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient

from ivr import keys, paths
from ivr.reports.contacts import Contact
from tests.api.conftest import AGENTS, SERVICE, TOKEN
from tests.routing.conftest import RecordingTwilio

AUTH = {"Authorization": f"Bearer {TOKEN}"}
DESK = "X-Test-Desk-Agent"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
vars: {{company: Acme}}
start: welcome
steps:
  welcome:
    say: "Thanks for calling."
    next: menu
  menu:
    menu: "For sales press 1, for support press 2."
    options: {{1: order, 2: support}}
  order:
    gather: "Enter your order number."
    into: order
    digits: 4
    next: sales
  sales:
    queue: sales
  support:
    queue: support
"""

QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 20
  wrap_up: 30
  script: |
    ## Sales
    Greet **{{ caller.name or "the caller" }}** from {{ caller.place }}.
    Order: {{ vars.order }}; {{ vars.company }}; queue {{ queue }}; agent {{ agent.name }}.
  dispositions: [sale, quote, no-sale]
support:
  skills: [support]
  wrap_up: 30
  script: "{{ 'x' * (10 ** 9) }}"
"""

AGENTS_YAML = "breaks: [lunch, training]\n" + AGENTS + """
sam:
  name: Sam Lee
  phone: "+15005550150"
  role: supervisor
"""

CALLER = "+15551239999"


@pytest.fixture()
def desk_app(make_app: Any, callflows_dir: Path) -> Flask:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS_YAML)
    app: Flask = make_app()
    app.extensions["ivr.router"].phones.twilio = RecordingTwilio()

    @app.before_request
    def _desk_session() -> None:  # test only: what the desk does for a valid session
        agent = request.headers.get(DESK)
        if agent:
            g.desk_agent = agent

    return app


def router(app: Flask) -> Any:
    return app.extensions["ivr.router"]


def phones(app: Flask) -> RecordingTwilio:
    twilio: RecordingTwilio = router(app).phones.twilio
    return twilio


def desk(agent: str) -> dict[str, str]:
    return {DESK: agent}


def sid_of(n: int) -> str:
    return f"CA{n:032d}"


def form(sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "From": CALLER, "To": SERVICE, "AccountSid": "AC" + "0" * 32,
            "CallStatus": "in-progress", **extra}


def step(client: FlaskClient, sid: str, kind: str, **params: str) -> None:
    state = client.application.extensions["ivr.redis"].hgetall(keys.call(sid))
    query = f"kind={kind}&at={state['step']}&seq={state['seq']}"
    answer = client.post(f"{paths.VOICE_STEP}?{query}", data=form(sid, **params))
    assert answer.status_code == 200


def call_into_sales(client: FlaskClient, sid: str, name: str = "Pat <b>Doe</b>") -> None:
    """A caller with caller ID name and place presses 1, enters order 1234, and queues."""
    extra = {"CallerName": name, "FromCity": "SPRINGFIELD", "FromState": "IL",
             "FromCountry": "US"}
    assert client.post(paths.VOICE, data=form(sid, **extra)).status_code == 200
    step(client, sid, "menu", Digits="1")
    step(client, sid, "gather", Digits="1234")


def token_of(app: Flask, agent: str) -> str:
    placed = [p for p in phones(app).placed if "agent=" + agent in p.url]
    assert placed, f"{agent}'s phone never rang"
    return parse_qs(urlparse(placed[-1].url).query)["token"][0]


def connect(app: Flask, client: FlaskClient, sid: str, agent: str = "alice") -> str:
    client.put(f"/api/agents/{agent}/status", json={"status": "available"}, headers=AUTH)
    call_into_sales(client, sid)
    token = token_of(app, agent)
    assert router(app).accept(agent, token)[0] == "ok"
    return token


def context(client: FlaskClient, sid: str, headers: dict[str, str] = AUTH) -> Any:
    answer = client.get(f"/api/calls/{sid}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


# --- the call's context ----------------------------------------------------------------


def test_context_follows_the_call_from_waiting_to_wrap_up(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(1)
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=AUTH)
    call_into_sales(client, sid)
    ctx = context(client, sid)
    assert ctx["state"] == "waiting" and ctx["agent"] is None and ctx["queue"] == "sales"
    assert ctx["number"] == CALLER and ctx["name"] == "Pat <b>Doe</b>"
    assert ctx["place"] == "SPRINGFIELD, IL, US"
    assert ctx["steps"] == [
        {"flow": "main", "step": "welcome", "input": ""},
        {"flow": "main", "step": "menu", "input": "1"},
        {"flow": "main", "step": "order", "input": "1234"},
        {"flow": "main", "step": "sales", "input": ""}]
    assert ctx["vars"] == {"company": "Acme", "order": "1234"}
    assert ctx["dispositions"] == ["sale", "quote", "no-sale"]
    assert ctx["disposition"] is None and ctx["notes"] is None and ctx["help"] is None
    assert ctx["previous"] == []
    assert "Pat <b>Doe</b>" in ctx["script"] and "Order: 1234; Acme; queue sales" in ctx["script"]
    html = ctx["script_html"]
    assert "<h2>Sales</h2>" in html and "<strong>Pat &lt;b&gt;Doe&lt;/b&gt;</strong>" in html
    assert "<b>" not in html  # raw HTML from the caller's name is escaped

    client.put("/api/agents/alice/status", json={"status": "available"}, headers=AUTH)
    ctx = context(client, sid)
    assert ctx["state"] == "offered" and ctx["agent"] == "alice"
    assert "agent Alice Jones." in ctx["script"]
    token = token_of(desk_app, "alice")
    router(desk_app).accept("alice", token)
    ctx = context(client, sid)
    assert ctx["state"] == "connected" and ctx["agent"] == "alice" and ctx["waited"] >= 0
    router(desk_app).agent_leg_status("alice", token, "completed")
    assert context(client, sid)["state"] == "wrap-up"


def test_a_callers_name_cannot_put_links_or_markup_in_the_script(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(3)
    name = "[Pay here](https://evil.example/pay) *URGENT* <https://evil.example>"
    call_into_sales(client, sid, name=name)
    ctx = context(client, sid)
    assert name in ctx["script"]  # the text version says it as given
    html = ctx["script_html"]
    # the admin's own Markdown still works; the caller's is shown as typed
    assert "<h2>Sales</h2>" in html and "<strong>" in html
    assert "<a " not in html and "<em>" not in html
    assert "[Pay here](https://evil.example/pay) *URGENT* &lt;https://evil.example&gt;" in html


def test_unknown_call_is_404(desk_app: Flask) -> None:
    client = desk_app.test_client()
    for path, method in ((f"/api/calls/{sid_of(99)}", "get"),
                         (f"/api/calls/{sid_of(99)}/wrapup", "post"),
                         (f"/api/calls/{sid_of(99)}/help", "post")):
        answer = getattr(client, method)(path, headers=AUTH, json={})
        assert answer.status_code == 404 and "no call" in answer.json["error"], path


def test_script_that_fails_renders_a_message(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(2)
    client.put("/api/agents/bob/status", json={"status": "break"}, headers=AUTH)
    assert client.post(paths.VOICE, data=form(sid)).status_code == 200
    step(client, sid, "menu", Digits="2")
    ctx = context(client, sid)
    assert ctx["queue"] == "support" and ctx["dispositions"] == []
    assert ctx["script"].startswith("(The script could not be shown:")
    assert "too large" in ctx["script"]


def test_previous_contacts_of_the_number_newest_first(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(3)
    contacts = desk_app.extensions["ivr.reports"].contacts
    now = time.time()
    for n, days in ((1, 40), (2, 10), (3, 2)):
        contacts.put(Contact(id=f"CAold{n}", channel="voice", start=now - days * 86_400,
                             end=now - days * 86_400 + 60, number=CALLER, queue="sales",
                             agents=["bob"], outcome="connected", disposition="quote",
                             notes=f"call {n}"))
    contacts.put(Contact(id="CAother", channel="voice", start=now - 3600, end=now - 3500,
                         number="+15550000000"))
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=AUTH)
    call_into_sales(client, sid)
    previous = context(client, sid)["previous"]
    assert [p["notes"] for p in previous] == ["call 3", "call 2"]
    assert previous[0] == {"start": pytest.approx(now - 2 * 86_400), "queue": "sales",
                           "agents": ["bob"], "outcome": "connected", "disposition": "quote",
                           "notes": "call 3"}


# --- who may see and act -----------------------------------------------------------------


def test_desk_sessions_see_their_own_calls_and_agent_only(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(4)
    connect(desk_app, client, sid)
    assert context(client, sid, desk("alice"))["agent"] == "alice"
    assert client.get(f"/api/calls/{sid}", headers=desk("bob")).status_code == 403
    assert context(client, sid, desk("sam"))["agent"] == "alice"  # a supervisor: any call
    assert client.post(f"/api/calls/{sid}/help", json={"note": "x"},
                       headers=desk("bob")).status_code == 403
    assert client.post(f"/api/calls/{sid}/wrapup", json={"disposition": "sale"},
                       headers=desk("bob")).status_code == 403
    assert client.get("/api/agents/alice", headers=desk("alice")).json["call"] == sid
    assert client.get("/api/agents/alice", headers=desk("bob")).status_code == 403
    assert client.put("/api/agents/alice/status", json={"status": "break"},
                      headers=desk("bob")).status_code == 403
    mine = client.put("/api/agents/bob/status", json={"status": "break", "reason": "lunch"},
                      headers=desk("bob"))
    assert mine.status_code == 200 and mine.json["break_reason"] == "lunch"
    assert client.get("/api/queues", headers=desk("alice")).status_code == 401  # not desk's
    assert client.get("/api/agents", headers=desk("alice")).status_code == 401


# --- wrap-up ---------------------------------------------------------------------------------


def events_of(client: FlaskClient, kind: str) -> list[dict[str, Any]]:
    return [e for e in client.get("/api/events?count=1000", headers=AUTH).json
            if e["type"] == kind]


def test_wrapup_validation_and_state(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(5)
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=AUTH)
    call_into_sales(client, sid)
    wrap = f"/api/calls/{sid}/wrapup"
    answer = client.post(wrap, json={"disposition": "sale"}, headers=AUTH)
    assert answer.status_code == 409 and "no agent" in answer.json["error"]  # still waiting
    bad = client.post(wrap, json={"disposition": "maybe"}, headers=AUTH)
    assert bad.status_code == 422 and "sale, quote, no-sale" in bad.json["error"]
    long = client.post(wrap, json={"disposition": "sale", "notes": "x" * 2001}, headers=AUTH)
    assert long.status_code == 422
    assert client.post(wrap, json={"disposition": "a b"}, headers=AUTH).status_code == 422

    client.put("/api/agents/alice/status", json={"status": "available"}, headers=AUTH)
    token = token_of(desk_app, "alice")
    router(desk_app).accept("alice", token)
    # connected: kept, nothing ends
    early = client.post(wrap, json={"disposition": "quote", "notes": "call back Friday"},
                        headers=desk("alice"))
    assert early.status_code == 200 and early.json["wrap_up_ended"] is False
    assert router(desk_app).agent("alice")["state"] == "on-call"
    ctx = context(client, sid, desk("alice"))
    assert ctx["disposition"] == "quote" and ctx["notes"] == "call back Friday"

    router(desk_app).agent_leg_status("alice", token, "completed")
    assert router(desk_app).agent("alice")["state"] == "wrap-up"
    done = client.post(wrap, json={"disposition": "sale", "notes": "sold 2"},
                       headers=desk("alice"))
    assert done.status_code == 200 and done.json == {
        "sid": sid, "agent": "alice", "disposition": "sale", "notes": "sold 2",
        "wrap_up_ended": True}
    alice = router(desk_app).agent("alice")
    assert alice["state"] == "idle" and alice["call"] is None
    assert not router(desk_app).store.zscore(keys.acd("timers"), f"wrap|alice|{token}")
    again = client.post(wrap, json={"disposition": "sale"}, headers=desk("alice"))
    assert again.status_code == 409  # no longer wrapping this call up
    logged = events_of(client, "disposition")
    assert [(e["call"], e["agent"], e["disposition"], e["queue"]) for e in logged] == [
        (sid, "alice", "quote", "sales"), (sid, "alice", "sale", "sales")]

    # the caller hangs up later: the record is written with the wrap-up
    client.post(paths.VOICE_STATUS, data=form(sid, CallStatus="completed"))
    record = desk_app.extensions["ivr.reports"].contacts.get(sid)
    assert record is not None and (record.disposition, record.notes) == ("sale", "sold 2")


def test_wrapup_after_the_record_is_written_patches_it(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(6)
    token = connect(desk_app, client, sid)
    client.post(paths.VOICE_STATUS, data=form(sid, CallStatus="completed"))
    router(desk_app).agent_leg_status("alice", token, "completed")
    contacts = desk_app.extensions["ivr.reports"].contacts
    assert contacts.get(sid).disposition is None
    answer = client.post(f"/api/calls/{sid}/wrapup", json={"disposition": "no-sale"},
                         headers=AUTH)
    assert answer.status_code == 200 and answer.json["wrap_up_ended"] is True
    assert contacts.get(sid).disposition == "no-sale" and contacts.get(sid).notes is None
    assert context(client, sid)["disposition"] == "no-sale"


def test_queue_without_dispositions_takes_any_word_or_null(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(7)
    client.put("/api/agents/bob/status", json={"status": "available"}, headers=AUTH)
    assert client.post(paths.VOICE, data=form(sid)).status_code == 200
    step(client, sid, "menu", Digits="2")
    token = token_of(desk_app, "bob")
    router(desk_app).accept("bob", token)
    router(desk_app).agent_leg_status("bob", token, "completed")
    answer = client.post(f"/api/calls/{sid}/wrapup", json={"disposition": None},
                         headers=desk("bob"))
    assert answer.status_code == 200 and answer.json["disposition"] is None
    assert router(desk_app).agent("bob")["state"] == "idle"


# --- help ---------------------------------------------------------------------------------


def test_help_flags_the_call_until_it_ends(desk_app: Flask) -> None:
    client, sid = desk_app.test_client(), sid_of(8)
    connect(desk_app, client, sid)
    asked = client.post(f"/api/calls/{sid}/help", json={"note": "angry caller"},
                        headers=desk("alice"))
    assert asked.status_code == 200 and asked.json["help"]["note"] == "angry caller"
    assert asked.json["help"]["agent"] == "alice"
    assert context(client, sid)["help"]["note"] == "angry caller"
    board = client.get("/api/wallboard", headers=AUTH).json
    assert [(h["call"], h["agent"], h["note"], h["queue"]) for h in board["help"]] == [
        (sid, "alice", "angry caller", "sales")]
    alice = next(a for a in board["agents"] if a["id"] == "alice")
    assert alice["call"]["id"] == sid and alice["call"]["help"] == "angry caller"
    assert [e["call"] for e in events_of(client, "help")] == [sid]
    # supervisors' desks see it in the team room
    team = client.get("/api/chat/team", headers=AUTH).json
    helps = [m for m in (team["messages"] if isinstance(team, dict) else team)
             if m["kind"] == "help"]
    assert [(m["call"], m["from"]) for m in helps] == [(sid, "alice")]
    assert "angry caller" in helps[0]["text"]
    too_long = client.post(f"/api/calls/{sid}/help", json={"note": "x" * 501}, headers=AUTH)
    assert too_long.status_code == 422

    client.post(paths.VOICE_STATUS, data=form(sid, CallStatus="completed"))
    assert client.get("/api/wallboard", headers=AUTH).json["help"] == []
    assert context(client, sid)["help"] is None
    over = client.post(f"/api/calls/{sid}/help", json={"note": "again"}, headers=AUTH)
    assert over.status_code == 409


# --- break reasons ----------------------------------------------------------------------------


def test_break_reasons(desk_app: Flask) -> None:
    client = desk_app.test_client()
    status = "/api/agents/alice/status"
    lunch = client.put(status, json={"status": "break", "reason": "lunch"}, headers=AUTH)
    assert lunch.status_code == 200 and lunch.json["break_reason"] == "lunch"
    assert client.get("/api/agents/alice", headers=AUTH).json["break_reason"] == "lunch"
    board = client.get("/api/wallboard", headers=AUTH).json
    assert next(a for a in board["agents"] if a["id"] == "alice")["break_reason"] == "lunch"
    wrong = client.put(status, json={"status": "break", "reason": "nap"}, headers=AUTH)
    assert wrong.status_code == 422 and "lunch, training" in wrong.json["error"]
    assert client.get("/api/agents/alice", headers=AUTH).json["break_reason"] == "lunch"
    unknown = client.put("/api/agents/nobody/status", json={"status": "break", "reason": "nap"},
                         headers=AUTH)
    assert unknown.status_code == 404
    back = client.put(status, json={"status": "available", "reason": "lunch"}, headers=AUTH)
    assert back.status_code == 200 and back.json["break_reason"] is None  # not a break
    plain = client.put(status, json={"status": "break"}, headers=AUTH)
    assert plain.json["status"] == "break" and plain.json["break_reason"] is None
    kinds = [(e.get("status"), e.get("reason")) for e in events_of(client, "status")
             if e.get("agent") == "alice"]
    assert kinds == [("break", "lunch"), ("available", ""), ("break", "")]


def test_router_checks_the_reason(desk_app: Flask) -> None:
    with desk_app.app_context():
        agent = router(desk_app).set_agent_status("bob", "break", source="test",
                                                  reason="training")
        assert agent["break_reason"] == "training"
        with pytest.raises(ValueError, match="unknown break reason"):
            router(desk_app).set_agent_status("bob", "break", source="test", reason="nap")
        raw = json.loads(router(desk_app).store.hget(keys.acd("agents"), "bob"))
        assert raw["reason"] == "training"


# --- the document ------------------------------------------------------------------------------


def test_openapi_describes_the_desk_endpoints(desk_app: Flask) -> None:
    doc = desk_app.test_client().get("/api/openapi.json").json
    assert set(doc["paths"]["/api/calls/{sid}"]) == {"get"}
    for path in ("/api/calls/{sid}/wrapup", "/api/calls/{sid}/help"):
        op = doc["paths"][path]["post"]
        assert {"403", "404", "409", "422"} <= set(op["responses"]), path
    context_schema = doc["components"]["schemas"]["CallContext"]
    assert {"sid", "state", "steps", "previous", "script_html", "help"} <= \
        set(context_schema["properties"])
    status = doc["components"]["schemas"]["StatusChange"]
    assert "reason" in status["properties"]
    assert "break_reason" in doc["components"]["schemas"]["Agent"]["properties"]


# --- the wallboard shows break reasons and help requests (headless Chromium) -----------------


@pytest.mark.browser
def test_wallboard_shows_break_reason_and_help(live_factory: Any, callflows_dir: Path) -> None:
    import requests

    from ivr.sim.people import Caller, Phone
    from tests.api.conftest import wire, write_folder
    from tests.browser import ARTIFACTS, launch, playwright_or_skip

    sync_api = playwright_or_skip()
    expect = sync_api.expect
    folder = write_folder(callflows_dir)
    (folder / "agents.yaml").write_text("breaks: [lunch, training]\n" + AGENTS)
    live = live_factory(folder, admin_token=TOKEN)
    wire(live.app)
    live_router = live.app.extensions["ivr.router"]
    live_router.set_agent_status("bob", "break", source="test", reason="lunch")
    live_router.set_agent_status("alice", "available", source="test")
    live.sim.phones["+15005550101"] = Phone(inputs=["1"], ring_delay=1, hangup_after=None)
    live.sim.place_call("+15551230001", SERVICE, Caller(inputs=["1"], talk_for=5000))
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.url + "/wallboard#token=" + TOKEN)
            expect(page.locator("#agent-bob .status .reason")).to_have_text("lunch")
            alice = page.locator("#agent-alice")
            expect(alice.locator(".state")).to_have_attribute("data-state", "on-call",
                                                              timeout=20000)
            sid = live_router.agent("alice")["call"]
            asked = requests.post(f"{live.url}/api/calls/{sid}/help",
                                  json={"note": "caller wants a manager"}, headers=AUTH,
                                  timeout=10)
            assert asked.status_code == 200, asked.text
            expect(alice.locator(".pill.help")).to_have_text("help: caller wants a manager")
            expect(page.locator("#summary")).to_contain_text("1 call asks for help")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "wallboard-help.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
