"""One agent's call from sign-in to wrap-up, driven as the agents would drive it, through
the real HTTP server and the Twilio simulator, in headless Chromium at a desktop's width
and at a phone's (390 px).

Alice texts DESK from her phone and opens the link the simulator's phone received; Bob
does the same in a browser of his own. A caller walks the menu (says "sales", keys an
order number) and waits; Alice's desk shows the ringing offer with those answers and the
queue's script filled in for this caller. Her phone answers (whisper, 1); she holds and
resumes from the desk (the simulator says who the caller hears: the hold music, then
Alice again), consults Bob (his own desk shows the consult while his phone rings; his
phone answers), completes the transfer (the caller hears Bob only, Alice's leg is
gone), and files a disposition with notes, which the contact record keeps.

Each state is a screenshot in artifacts/ (desk-e2e-VIEWPORT-N-STATE.png); docs/desk.md
shows some of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.sim.people import Behaviour, Caller, Phone, Speech
from tests.browser import ARTIFACTS, VIEWPORTS, playwright_or_skip, wait_until
from tests.desk.conftest import open_desk

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()

TOKEN = "desk-e2e-token"
SERVICE = "+15005550006"
ALICE, BOB = "+15005550101", "+15005550102"
CALLER = "+15551230077"
HOLD_MUSIC = "http://music.example/sales.mp3"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: welcome
steps:
  welcome:
    say: "Thanks for calling Acme."
    next: menu
  menu:
    menu: "For sales press 1 or say sales."
    options: {{1: order}}
    words: {{order: [sales, buy]}}
    fallback: goodbye
  order:
    gather: "Please key in your order number, then press the pound key."
    into: order
    finish_on: "#"
    max_digits: 8
    next: sales
  sales:
    queue: sales
    overflow: goodbye
  goodbye:
    hangup: "Goodbye."
"""

QUEUES = f"""
sales:
  skills: [sales]
  ring_timeout: 30
  max_wait: 600
  wrap_up: 300
  hold_music: "{HOLD_MUSIC}"
  dispositions: [sale, quote, no-sale]
  script: |
    Greet **{{{{ caller.name or "the caller" }}}}** by name.
    Order number: {{{{ vars.order or "ask for it" }}}}.
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{support: 4}}
"""







class Gate:
    """A phone's ringing held until the test lets it answer (`on_ring` blocks): the desk
    can be looked at while the phone rings."""

    def __init__(self) -> None:
        self.ringing = threading.Event()
        self.answer = threading.Event()
        self.sids: list[str] = []

    def __call__(self, sid: str, from_: str, to: str) -> Behaviour | None:
        self.sids.append(sid)
        self.ringing.set()
        self.answer.wait(30)
        return None




@pytest.fixture()
def gates() -> Iterator[tuple[Gate, Gate]]:
    """Alice's and Bob's phones' gates, opened at the end whatever happened (a phone left
    ringing would hold the simulator's shutdown)."""
    pair = (Gate(), Gate())
    yield pair
    for gate in pair:
        gate.answer.set()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_call_from_sign_in_to_wrap_up(live_factory: Any, callflows_dir: Path,
                                        browser: Any, gates: tuple[Gate, Gate],
                                        size: str) -> None:
    expect = sync_api.expect
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    live = live_factory(callflows_dir, admin_token=TOKEN)
    sim = live.sim
    api = live.app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ARTIFACTS.mkdir(exist_ok=True)
    viewport = VIEWPORTS[size]
    width = viewport["viewport"]["width"]

    def shot(page: Any, n: int, state: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, state
        page.evaluate("window.scrollTo(0, 0)")  # (the sticky header stays on top)
        page.screenshot(path=str(ARTIFACTS / f"desk-e2e-{size}-{n}-{state}.png"),
                        full_page=True)

    alice_rings, bob_rings = gates
    sim.phones[ALICE] = Phone(inputs=["1"], ring_delay=1, hangup_after=None,
                              on_ring=alice_rings)
    sim.phones[BOB] = Phone(ring_delay=1, hangup_after=None, on_ring=bob_rings)

    # --- 1. both sign in by the texted link and make themselves available ----------------
    alice = open_desk(browser, live, ALICE, viewport)
    bob = open_desk(browser, live, BOB, viewport)
    expect(alice.locator("header h1")).to_have_text("Alice Jones")
    expect(bob.locator("header h1")).to_have_text("Bob Smith")
    for page in (alice, bob):
        expect(page.locator("#status-pill")).to_have_text("offline")
        page.click("#status-panel button[data-set=available]")
        expect(page.locator("#status-pill")).to_have_text("available")
        expect(page.locator("#no-call")).to_be_visible()
    shot(alice, 1, "signed-in")

    # --- 2. a caller walks the menu and waits; the offer rings on Alice's desk ------------
    call = sim.place_call(CALLER, SERVICE, Caller(
        inputs=[Speech("sales"), "4417#"], caller_name="Pat Doe", from_city="Austin",
        from_state="TX"))
    sid = call.sid
    assert alice_rings.ringing.wait(15), "Alice's phone never rang"
    offer = alice.locator("#offer")
    expect(offer).to_be_visible(timeout=5000)
    expect(alice.locator("#state")).to_have_text("offered")
    expect(offer.locator("[data-field=who]")).to_have_text("Pat Doe +15551230077")
    expect(offer.locator("[data-field=where]")).to_contain_text("sales")
    expect(alice.locator("#script")).to_contain_text(
        "Greet Pat Doe by name. Order number: 4417.")
    expect(alice.locator("#script strong")).to_have_text("Pat Doe")
    expect(alice.locator("#caller")).to_contain_text("Austin, TX")
    alice.click("#history summary")
    expect(alice.locator("#steps li")).to_have_text(
        [re.compile(r"welcome"), "main › menu — sales", "main › order — 4417",
         re.compile(r"main › sales")])
    expect(alice.locator("#vars")).to_contain_text("4417")
    expect(alice.locator("#controls")).to_be_hidden()  # nothing to control before she answers
    expect(bob.locator("#no-call")).to_be_visible()
    shot(alice, 2, "ringing")

    # --- 3. her phone answers (the whisper, 1): the call is in progress ------------------
    alice_rings.answer.set()
    expect(alice.locator("#state")).to_have_text("on-call", timeout=10000)
    expect(alice.locator("#offer")).to_be_hidden()
    expect(alice.locator("#call")).to_be_visible()
    expect(alice.locator("#call [data-field=who]")).to_have_text("Pat Doe +15551230077")
    expect(alice.locator("#script strong")).to_have_text("Pat Doe")
    [alice_leg] = alice_rings.sids
    wait_until("the caller hears Alice", lambda: sim.hears(sid) == {alice_leg})
    assert sim.hears(alice_leg) == {sid}
    shot(alice, 3, "on-call")

    # --- 4. hold, then resume, from the desk ---------------------------------------------
    hold = alice.locator("#hold")
    expect(hold).to_have_text("Hold")
    hold.click()
    wait_until("the held caller hears the hold music",
               lambda: sim.hears(sid) == {f"hold-music:{HOLD_MUSIC}"})
    assert sid not in sim.hears(alice_leg)
    expect(hold).to_have_text("Resume")
    expect(alice.locator("#call-flags")).to_have_text("on hold")
    shot(alice, 4, "on-hold")
    hold.click()
    wait_until("the caller hears Alice again", lambda: sim.hears(sid) == {alice_leg})
    assert sim.hears(alice_leg) == {sid}
    expect(hold).to_have_text("Hold")
    expect(alice.locator("#call-flags")).to_be_hidden()

    # --- 5. a consult with Bob: his desk shows it while his phone rings; he answers ------
    alice.select_option("#transfer-kind", "agent")
    alice.select_option("#transfer-agent", "bob")
    alice.check("#transfer-warm")
    alice.click("#transfer-go")
    assert bob_rings.ringing.wait(10), "Bob's phone never rang"
    expect(alice.locator("#consult")).to_be_visible()
    expect(alice.locator("#transfer")).to_be_hidden()
    expect(alice.locator("#consult-who")).to_contain_text("Bob Smith")
    expect(alice.locator("#call-flags")).to_contain_text("consulting")
    wait_until("the caller is held during the consult",
               lambda: sim.hears(sid) == {f"hold-music:{HOLD_MUSIC}"})
    expect(bob.locator("#call")).to_be_visible(timeout=5000)
    expect(bob.locator("#call [data-field=who]")).to_have_text("Pat Doe +15551230077")
    expect(bob.locator("#consult-from")).to_contain_text("Alice Jones")
    expect(bob.locator("#script strong")).to_have_text("Pat Doe")
    shot(bob, 5, "consult-ringing-bob")
    bob_rings.answer.set()
    [bob_leg] = bob_rings.sids
    wait_until("Alice and Bob talk, the caller held",
               lambda: sim.hears(alice_leg) == {bob_leg} and sim.hears(bob_leg) == {alice_leg})
    assert sim.hears(sid) == {f"hold-music:{HOLD_MUSIC}"}
    shot(alice, 5, "consulting")

    # --- 6. Alice completes the transfer: the caller with Bob only ------------------------
    alice.click("#consult-complete")
    wait_until("the caller hears Bob only", lambda: sim.hears(sid) == {bob_leg})
    wait_until("Alice's leg is gone", lambda: sim.call(alice_leg).status == "completed")
    assert sim.hears(bob_leg) == {sid}
    expect(alice.locator("#state")).to_have_text("wrap-up", timeout=5000)
    expect(alice.locator("#wrapup")).to_be_visible()
    expect(alice.locator("#controls")).to_be_hidden()
    expect(bob.locator("#state")).to_have_text("on-call")
    expect(bob.locator("#consult-from")).to_be_hidden()
    expect(bob.locator("#controls")).to_be_visible()
    shot(bob, 6, "transferred-bob")

    # --- 7. Alice's wrap-up: a disposition and notes, kept with the contact ----------------
    alice.select_option("#disposition", "sale")
    alice.fill("#notes", "Wants the blue one; Bob has the stock")
    shot(alice, 7, "wrap-up")
    alice.click("#wrapup-done")
    expect(alice.locator("#no-call")).to_be_visible(timeout=5000)
    expect(alice.locator("#banner")).to_be_hidden()
    expect(alice.locator("#state")).to_have_text("")
    context = api.get(f"/api/calls/{sid}", headers=auth).get_json()
    assert (context["disposition"], context["notes"]) == (
        "sale", "Wants the blue one; Bob has the stock")
    # the caller and Bob say goodbye: the contact record keeps Alice's wrap-up
    call.hang_up()
    call.wait(10)

    def contact() -> dict[str, Any] | None:
        resp = api.get(f"/api/contacts?number=%2B{CALLER[1:]}", headers=auth)
        assert resp.status_code == 200, resp.text
        found = [c for c in resp.get_json() if c["id"] == sid]
        return found[0] if found and found[0].get("disposition") else None

    wait_until("the contact record", contact)
    record = contact()
    assert record is not None
    assert (record["disposition"], record["notes"]) == (
        "sale", "Wants the blue one; Bob has the stock")
    # both served the caller, Alice first; her completed consult is one transfer
    assert record["agents"] == ["alice", "bob"]
    assert record["transfers"] == 1
    expect(bob.locator("#state")).to_have_text("wrap-up", timeout=5000)
    shot(alice, 8, "done")
    assert alice.errors == [] and bob.errors == []
    sim.assert_no_errors()
