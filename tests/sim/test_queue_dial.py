"""Enqueue/Leave/Dial/Queue/Number/Conference as Twilio documents them."""

from __future__ import annotations

from ivr.sim.legs import HungUp
from ivr.sim.people import Caller, Hangup, Phone
from ivr.sim.twilio import TwilioSim

from .canned import resp
from .conftest import Canned

CUSTOMER, NUMBER, AGENT = "+15551230001", "+15005550006", "+15005550101"


def test_enqueue_wait_url_loop_params_and_leave(canned: Canned, sim: TwilioSim) -> None:
    rounds: list[dict[str, str]] = []

    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Enqueue waitUrl="/wait" action="/after">sales</Enqueue>',
                    "<Say>not reached with an action</Say>")

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        rounds.append(p)
        if len(rounds) >= 3:
            return resp("<Say>Leaving</Say><Leave/>")
        return resp(f"<Say>You are number {p['QueuePosition']}</Say><Play>/hold.mp3</Play>")

    @canned.twiml("/after")
    def after(p: dict[str, str]) -> str:
        return resp(f"<Say>result {p['QueueResult']}</Say>")

    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    assert call.said() == ["You are number 1", "You are number 1", "Leaving", "result leave"]
    for p in rounds:
        assert p["QueuePosition"] == "1" and p["CurrentQueueSize"] == "1"
        assert p["QueueSid"].startswith("QU") and p["CallSid"] == call.sid
        assert {"QueueTime", "AvgQueueTime", "MaxQueueSize"} <= set(p)
    after_hit = canned.hits_to("/after")[0]
    assert after_hit.params["QueueSid"] == rounds[0]["QueueSid"]
    assert sim.switch.size("sales") == 0
    entry = call.record.queue_entries[0]
    assert entry[0] == "sales" and entry[3] == "leave"


def test_leave_without_action_continues_after_enqueue(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Enqueue waitUrl="/wait">support</Enqueue><Say>Line closed</Say>')

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        return resp("<Leave/>")

    assert sim.place_call(CUSTOMER, NUMBER).wait(10).said() == ["Line closed"]


def test_caller_hangup_in_queue_posts_action_hangup(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Enqueue waitUrl="/wait" action="/after">sales</Enqueue>')

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        return resp('<Play loop="0">/hold.mp3</Play>')

    @canned.twiml("/after")
    def after(p: dict[str, str]) -> str:
        return resp("<Say>ignored, the caller is gone</Say>")

    call = sim.place_call(CUSTOMER, NUMBER)
    assert sim.wait_for(lambda: sim.switch.size("sales") == 1, 5)
    call.hang_up()  # the caller gives up while on hold
    call.wait(10)
    assert call.status == "completed"
    hits = canned.hits_to("/after")
    assert len(hits) == 1 and hits[0].params["QueueResult"] == "hangup"
    assert hits[0].params["CallStatus"] == "completed"
    assert call.said() == []
    assert sim.switch.size("sales") == 0


def test_dial_queue_bridges_front_caller_and_both_actions_fire(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        if p["From"] == AGENT:
            return resp('<Dial action="/agent-done"><Queue url="/announce">sales</Queue></Dial>')
        return resp('<Enqueue waitUrl="/wait" action="/after">sales</Enqueue>')

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        return resp('<Play>/hold.mp3</Play>')

    @canned.twiml("/announce")
    def announce(p: dict[str, str]) -> str:
        return resp(f"<Say>Connecting you, waited {p['QueueTime']}</Say>")

    @canned.twiml("/after")
    def after(p: dict[str, str]) -> str:
        return resp(f"<Say>thanks {p['QueueResult']}</Say>")

    @canned.twiml("/agent-done")
    def agent_done(p: dict[str, str]) -> str:
        return resp(f"<Say>call was {p['DialCallStatus']}</Say>")

    calls = [sim.place_call(CUSTOMER, NUMBER), sim.place_call("+15551230002", NUMBER)]
    assert sim.wait_for(lambda: sim.switch.size("sales") == 2, 5)
    front_sid = sim.switch.queue("sales").members[0].leg.sid  # whoever got in line first
    first = next(c for c in calls if c.sid == front_sid)
    second = next(c for c in calls if c.sid != front_sid)
    # the agent calls in and takes the first caller; hangs up after 20 s of talk
    agent = sim.place_call(AGENT, NUMBER, Caller(talk_for=20)).wait(10)
    first.wait(10)
    assert agent.said() == []  # the agent hung up: the Dial action's answer is not played
    assert first.said()[0].startswith("Connecting you, waited")
    assert first.said()[-1] == "thanks bridged"
    done = canned.hits_to("/agent-done")[0].params
    assert done["DialCallSid"] == first.sid and done["DialBridged"] == "true"
    assert done["DialCallStatus"] == "completed" and done["CallStatus"] == "completed"
    announce_hit = canned.hits_to("/announce")[0].params
    assert announce_hit["DequeingCallSid"] == agent.sid and announce_hit["CallSid"] == first.sid
    assert first.record.bridged_to == [agent.sid]
    assert sim.switch.size("sales") == 1  # the second caller is still waiting
    assert not second.leg.done.is_set()
    second.leg.interrupt(HungUp("test"))
    second.wait(5)


def test_dial_number_whisper_accept_and_action_params(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f'<Dial action="/dialed" timeout="20"><Number url="/whisper">{AGENT}'
                    "</Number></Dial>")

    @canned.twiml("/whisper")
    def whisper(p: dict[str, str]) -> str:
        if p.get("Digits") == "1":
            return resp("<Say>Connecting</Say>")
        return resp('<Gather numDigits="1" action="/whisper"><Say>Press 1 to accept</Say>'
                    "</Gather><Hangup/>")

    @canned.twiml("/dialed")
    def dialed(p: dict[str, str]) -> str:
        return resp(f"<Say>{p['DialCallStatus']}</Say>")

    sim.phones[AGENT] = Phone(inputs=["1"], ring_delay=2, hangup_after=15)
    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    assert call.said() == ["completed"]
    p = canned.hits_to("/dialed")[0].params
    child = sim.call(p["DialCallSid"])
    assert child.leg.direction == "outbound-dial" and child.leg.parent is call.leg
    assert child.said() == ["Press 1 to accept", "Connecting"]
    w = canned.hits_to("/whisper")[0].params
    assert w["Direction"] == "outbound-dial" and w["ParentCallSid"] == call.sid
    assert w["From"] == CUSTOMER and w["To"] == AGENT
    assert child.record.bridged_to == [call.sid]
    assert int(p["DialCallDuration"]) >= 0 and p["DialBridged"] == "true"


def test_dial_number_outcomes(canned: Canned, sim: TwilioSim) -> None:
    results: list[str] = []

    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f'<Dial action="/dialed" timeout="5"><Number url="/whisper">{p["Caller"]}'
                    "</Number></Dial>")

    @canned.twiml("/whisper")
    def whisper(p: dict[str, str]) -> str:
        return resp('<Gather numDigits="1" action="/accept"><Say>Press 1</Say></Gather>'
                    "<Hangup/>")

    @canned.twiml("/accept")
    def accept(p: dict[str, str]) -> str:
        return resp() if p.get("Digits") == "1" else resp("<Hangup/>")

    @canned.twiml("/dialed")
    def dialed(p: dict[str, str]) -> str:
        results.append(p["DialCallStatus"])
        return resp()

    # The test reuses the caller's number as the dialed number (the canned app dials `Caller`).
    cases = {
        "+15550000001": (Phone(behaviour="busy"), "busy"),
        "+15550000002": (Phone(behaviour="failed"), "failed"),
        "+15550000003": (Phone(behaviour="no-answer"), "no-answer"),
        "+15550000004": (None, "no-answer"),  # nobody there: rings out
        "+15550000005": (Phone(behaviour="decline"), "no-answer"),  # hangs up at the whisper
        "+15550000006": (Phone(inputs=["2"]), "no-answer"),  # presses the wrong key
        "+15550000007": (Phone(inputs=["1"], hangup_after=3), "completed"),
        "+15550000008": (Phone(inputs=["1"], ring_delay=9), "no-answer"),  # slower than timeout
    }
    for number, (phone, _expected) in cases.items():
        if phone is not None:
            sim.phones[number] = phone
    for number, (_phone, expected) in cases.items():
        results.clear()
        sim.place_call(number, NUMBER).wait(10)
        assert results == [expected], number


def test_dial_plain_number_without_action_continues(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f"<Dial>{AGENT}</Dial><Say>after the call</Say>")

    sim.phones[AGENT] = Phone(hangup_after=5)
    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    assert call.said() == ["after the call"]
    agent_leg = sim.calls_to(AGENT)[0]
    assert agent_leg.status == "completed" and agent_leg.record.bridged_to == [call.sid]


def test_caller_hangup_while_dialing_cancels_the_ringing_phone(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f'<Dial action="/dialed" timeout="100000">{AGENT}</Dial>')

    @canned.twiml("/dialed")
    def dialed(p: dict[str, str]) -> str:
        return resp("<Say>ignored</Say>")

    sim.phones[AGENT] = Phone(behaviour="no-answer")
    call = sim.place_call(CUSTOMER, NUMBER)
    assert sim.wait_for(lambda: [c.status for c in sim.calls_to(AGENT)] == ["ringing"], 5)
    call.leg.hang_up_in(0)  # the caller gives up while the agent's phone rings
    call.wait(10)
    sim.wait_idle(5)
    agent_leg = sim.calls_to(AGENT)[0]
    assert agent_leg.status == "canceled"
    assert canned.hits_to("/dialed")[0].params["DialCallStatus"] == "canceled"
    assert call.said() == []


def test_conference_bridges_everyone_in_the_room(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        end = "true" if p["From"] == AGENT else "false"
        return resp(f'<Dial action="/left"><Conference endConferenceOnExit="{end}">room-1'
                    "</Conference></Dial>")

    @canned.twiml("/left")
    def left(p: dict[str, str]) -> str:
        return resp(f"<Say>left {p['DialCallStatus']}</Say>")

    customer = sim.place_call(CUSTOMER, NUMBER)
    other = sim.place_call("+15551230002", NUMBER)
    assert sim.wait_for(
        lambda: "room-1" in sim.switch.rooms
        and len(sim.switch.rooms["room-1"].participants) == 2, 5)
    agent = sim.place_call(AGENT, NUMBER, Caller(talk_for=10))
    for c in (customer, other, agent):
        c.wait(10)
    assert customer.said() == ["left answered"] and other.said() == ["left answered"]
    bridges = [b for b in sim.record.bridges if b.kind == "conference"]
    assert len(bridges) == 1
    assert set(bridges[0].legs) == {customer.sid, other.sid, agent.sid}
    assert bridges[0].ended_by == agent.sid


def test_bridge_ends_when_caller_hangs_up_and_agent_leg_continues(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        if p["From"] == AGENT:
            return resp('<Dial action="/agent-done"><Queue>sales</Queue></Dial>')
        return resp('<Enqueue action="/after">sales</Enqueue>')

    @canned.twiml("/agent-done")
    def agent_done(p: dict[str, str]) -> str:
        return resp("<Say>wrap up</Say>")

    @canned.twiml("/after")
    def after(p: dict[str, str]) -> str:
        return resp("<Say>never heard</Say>")

    customer = sim.place_call(CUSTOMER, NUMBER, Caller(talk_for=5))
    assert sim.wait_for(lambda: sim.switch.size("sales") == 1, 5)
    agent = sim.place_call(AGENT, NUMBER).wait(10)
    customer.wait(10)
    assert agent.said() == ["wrap up"]
    assert customer.said() == []
    after_params = canned.hits_to("/after")[0].params
    assert after_params["QueueResult"] == "bridged" and after_params["CallStatus"] == "completed"
    bridge = sim.record.bridges[0]
    assert bridge.ended_by == customer.sid


def test_dial_queue_empty_times_out(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Dial timeout="5" action="/r"><Queue>empty</Queue></Dial>')

    @canned.twiml("/r")
    def r(p: dict[str, str]) -> str:
        return resp(f"<Say>{p['DialCallStatus']}</Say>")

    assert sim.place_call(AGENT, NUMBER).wait(10).said() == ["no-answer"]


def test_unused_inputs_do_not_leak_between_calls(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Gather action="/g"><Say>x</Say></Gather>')

    @canned.twiml("/g")
    def g(p: dict[str, str]) -> str:
        return resp(f"<Say>{p['Digits']}</Say>")

    assert sim.place_call(CUSTOMER, NUMBER, Caller(["5", "6", Hangup()])).wait(10).said() == [
        "x", "5"]
    assert sim.place_call(CUSTOMER, NUMBER, Caller(["7"])).wait(10).said() == ["x", "7"]


def test_many_callers_many_dequeuers_each_bridged_exactly_once(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        if p["From"].startswith("+1500555"):
            return resp('<Dial timeout="5000"><Queue>q</Queue></Dial>')
        return resp('<Enqueue waitUrl="/wait">q</Enqueue>')

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        return resp("<Pause length=\"2\"/>")

    callers = [sim.place_call(f"+1555123{i:04d}", NUMBER, Caller(talk_for=3)) for i in range(12)]
    agents = [sim.place_call(f"+1500555{i:04d}", NUMBER) for i in range(12)]
    for c in callers + agents:
        c.wait(20)
    partners = [c.record.bridged_to for c in callers]
    assert all(len(p) == 1 for p in partners), partners
    assert sorted(p[0] for p in partners) == sorted(a.sid for a in agents)
    assert sim.switch.size("q") == 0
    assert sim.errors == []


def test_overlapping_offers_witness(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        timeout = 5 if p["From"] == CUSTOMER else 100_000
        return resp(f'<Dial timeout="{timeout}">{AGENT}</Dial>')

    sim.phones[AGENT] = Phone(behaviour="no-answer", busy_when_in_call=False)
    first = sim.place_call("+15551230002", NUMBER)
    second = sim.place_call("+15551230003", NUMBER)
    assert sim.wait_for(lambda: [c.status for c in sim.calls_to(AGENT)] == ["ringing"] * 2, 5)
    for c in (first, second):
        c.leg.interrupt(HungUp("test"))  # both callers give up while the agent's phone rings
        c.wait(10)
    sim.wait_idle(5)
    assert len(sim.record.overlapping_offers(AGENT)) == 1  # both rang the agent at once
    third = sim.place_call(CUSTOMER, NUMBER).wait(10)
    sim.wait_idle(5)
    assert third.status == "completed"
    assert len(sim.record.overlapping_offers(AGENT)) == 1  # the later call did not overlap


def test_number_status_callback_record_and_time_limit(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Dial action="/dialed" record="record-from-answer" timeLimit="2">'
                    '<Number statusCallback="/leg-status" '
                    f'statusCallbackEvent="ringing answered completed">{AGENT}</Number></Dial>')

    @canned.twiml("/dialed")
    def dialed(p: dict[str, str]) -> str:
        return resp("<Say>after</Say>")

    @canned.twiml("/leg-status")
    def leg_status(p: dict[str, str]) -> str:
        return ""

    sim.phones[AGENT] = Phone(hangup_after=None)  # would talk forever: timeLimit ends it
    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    assert call.said() == ["after"]
    d = canned.hits_to("/dialed")[0].params
    assert d["DialCallStatus"] == "completed" and d["RecordingSid"].startswith("RE")
    assert d["RecordingUrl"].startswith(sim.api_url)
    sim.wait_idle(5)
    statuses = [h.params["CallStatus"] for h in canned.hits_to("/leg-status")]
    assert statuses == ["ringing", "in-progress", "completed"]
    assert all(h.params["Direction"] == "outbound-dial" for h in canned.hits_to("/leg-status"))
    assert ("disconnected", "time-limit") in call.transcript


def test_redeliver_sends_the_same_signed_request(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp("<Say>once</Say>")

    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    first = call.requests_to("/twilio/voice")[0]
    again = sim.redeliver(first)
    assert again.status == 200 and again.body == first.body
    hits = canned.hits_to("/twilio/voice")
    assert len(hits) == 2 and hits[0].params == hits[1].params and hits[1].signature_ok


def test_phone_plan_and_per_call_inputs(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f'<Dial action="/dialed" timeout="5"><Number url="/whisper">{AGENT}'
                    "</Number></Dial>")

    @canned.twiml("/whisper")
    def whisper(p: dict[str, str]) -> str:
        if p.get("Digits") == "1":
            return resp()
        return resp('<Gather numDigits="1" action="/whisper"><Say>Press 1</Say></Gather>'
                    "<Hangup/>")

    results: list[str] = []

    @canned.twiml("/dialed")
    def dialed(p: dict[str, str]) -> str:
        results.append(p["DialCallStatus"])
        return resp()

    sim.phones[AGENT] = Phone(plan=["no-answer", "decline", "answer"], inputs=["1"],
                              hangup_after=2)
    for _ in range(4):
        sim.place_call(CUSTOMER, NUMBER).wait(10)
        sim.wait_idle(5)
    # missed, declined at the whisper, then "1" pressed afresh on every answered call
    assert results == ["no-answer", "no-answer", "completed", "completed"]
    shared = Phone(inputs=[Hangup(), "1"], per_call=False, hangup_after=2)
    sim.phones[AGENT] = shared
    results.clear()
    for _ in range(2):
        sim.place_call(CUSTOMER, NUMBER).wait(10)
        sim.wait_idle(5)
    assert results == ["no-answer", "completed"]  # hangs up on the first, accepts the next


def test_dial_client_and_sip_ring_the_phones_registered_under_those_addresses(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Dial action="/d" timeout="10"><Client>alice</Client>'
                    "<Sip>sip:desk@pbx.example.com</Sip></Dial>")

    @canned.twiml("/d")
    def d(p: dict[str, str]) -> str:
        return resp(f"<Say>{p['DialCallStatus']}</Say>")

    sim.phones["client:alice"] = Phone(behaviour="no-answer")
    sim.phones["sip:desk@pbx.example.com"] = Phone(ring_delay=2, hangup_after=3)
    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    assert call.said() == ["completed"]
    sim.wait_idle(5)
    desk = sim.calls_to("sip:desk@pbx.example.com")[0]
    alice = sim.calls_to("client:alice")[0]
    assert desk.record.bridged_to == [call.sid]
    assert alice.status == "canceled"  # the other ringing leg is cancelled when one answers


def test_answer_on_bridge_keeps_the_caller_ringing_until_the_agent_answers(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp(f'<Dial answerOnBridge="true" action="/d">{AGENT}</Dial>')

    @canned.twiml("/d")
    def d(p: dict[str, str]) -> str:
        return resp(f"<Say>{p['CallStatus']}</Say>")

    sim.phones[AGENT] = Phone(ring_delay=20, hangup_after=2)
    call = sim.place_call(CUSTOMER, NUMBER).wait(10)
    agent = sim.calls_to(AGENT)[0]
    caller_answered = dict(call.record.statuses)["in-progress"]
    agent_answered = dict(agent.record.statuses)["in-progress"]
    assert caller_answered >= agent_answered
    assert call.said() == ["in-progress"]  # the action comes while the caller is on the line
