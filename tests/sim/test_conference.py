"""<Dial><Conference>, the conference status callbacks and the Conferences and Participants
REST resources, through twilio-python's own Client, as Twilio documents them:
https://www.twilio.com/docs/voice/twiml/conference
https://www.twilio.com/docs/voice/api/conference-resource
https://www.twilio.com/docs/voice/api/conference-participant-resource"""

from __future__ import annotations

from collections import Counter

import pytest
from twilio.base.exceptions import TwilioRestException

from ivr.sim.people import Caller, Phone
from ivr.sim.twilio import SimCall, TwilioSim

from .canned import resp
from .conftest import Canned
from .test_rest_and_sms import client_for

CUSTOMER, NUMBER, AGENT = "+15551230001", "+15005550006", "+15005550101"
SUPERVISOR = "+15005550199"
MUSIC = "http://music.example/hold.mp3"


def room_twiml(p: dict[str, str]) -> str:
    agent = p["From"] == AGENT
    return resp(
        '<Dial action="/left"><Conference beep="false" '
        f'endConferenceOnExit="{"true" if agent else "false"}" '
        'statusCallback="/conf" statusCallbackEvent="start end join leave hold mute modify">'
        "room-1</Conference></Dial>")


@pytest.fixture()
def room(canned: Canned, sim: TwilioSim) -> tuple[SimCall, SimCall]:
    """A customer and an agent talking in room-1 (the agent's leaving ends it)."""
    canned.twiml("/twilio/voice")(room_twiml)
    canned.twiml("/left")(lambda p: resp(f"<Say>left {p['DialCallStatus']}</Say>"))
    canned.twiml("/conf")(lambda p: resp())
    customer = sim.place_call(CUSTOMER, NUMBER, Caller(talk_for=1000))
    agent = sim.place_call(AGENT, NUMBER, Caller(talk_for=1000))
    assert sim.wait_for(lambda: sim.hears(customer.sid) == {agent.sid}, 5)
    return customer, agent


def events(canned: Canned) -> list[tuple[str, str]]:
    return [(h.params["StatusCallbackEvent"], h.params.get("CallSid", ""))
            for h in canned.hits_to("/conf")]


def test_participants_hear_each_other_and_callbacks_report_the_room(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    customer, agent = room
    assert sim.hears(agent.sid) == {customer.sid}
    assert sim.wait_for(lambda: len(events(canned)) >= 3, 5)
    agent.hang_up()  # endConferenceOnExit: the conference ends for the customer too
    customer.wait(10)
    assert customer.said() == ["left answered"]
    assert sim.wait_for(lambda: len(events(canned)) >= 6, 5)
    seen = Counter(events(canned))
    assert seen == Counter({
        ("conference-start", ""): 1, ("conference-end", ""): 1,
        ("participant-join", customer.sid): 1, ("participant-join", agent.sid): 1,
        ("participant-leave", customer.sid): 1, ("participant-leave", agent.sid): 1,
    })
    hits = canned.hits_to("/conf")
    assert all(h.signature_ok for h in hits)
    assert len({h.params["ConferenceSid"] for h in hits}) == 1
    assert {h.params["FriendlyName"] for h in hits} == {"room-1"}
    end = next(h for h in hits if h.params["StatusCallbackEvent"] == "conference-end")
    assert end.params["CallSidEndingConference"] == agent.sid
    assert end.params["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"


def test_rest_list_fetch_and_hold_a_participant(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    customer, agent = room
    client = client_for(sim)
    found = client.conferences.list(friendly_name="room-1", status="in-progress")
    assert [c.friendly_name for c in found] == ["room-1"]
    assert client.conferences.list(friendly_name="nope") == []
    conf = client.conferences(found[0].sid).fetch()
    assert conf.status == "in-progress"
    people = client.conferences(conf.sid).participants.list()
    assert {p.call_sid for p in people} == {customer.sid, agent.sid}
    held = client.conferences(conf.sid).participants(customer.sid).update(
        hold=True, hold_url=MUSIC)
    assert held.hold is True
    # the held caller hears the hold music, and nobody hears them
    assert sim.hears(customer.sid) == {f"hold-music:{MUSIC}"}
    assert sim.hears(agent.sid) == set()
    assert sim.wait_for(lambda: ("participant-hold", customer.sid) in events(canned), 5)
    client.conferences(conf.sid).participants(customer.sid).update(hold=False)
    assert sim.hears(customer.sid) == {agent.sid}
    assert sim.wait_for(lambda: ("participant-unhold", customer.sid) in events(canned), 5)
    # muted: the others stop hearing them, they still hear the others
    client.conferences(conf.sid).participants(agent.sid).update(muted=True)
    assert sim.hears(customer.sid) == set() and sim.hears(agent.sid) == {customer.sid}
    assert client.conferences(conf.sid).participants(agent.sid).fetch().muted is True
    with pytest.raises(TwilioRestException) as err:
        client.conferences(conf.sid).participants("CA" + "0" * 32).fetch()
    assert err.value.status == 404


def test_a_coach_is_heard_by_the_agent_only(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    customer, agent = room
    sim.phones[SUPERVISOR] = Phone(hangup_after=1000)
    client = client_for(sim)
    created = client.conferences("room-1").participants.create(
        from_=NUMBER, to=SUPERVISOR, coaching=True, call_sid_to_coach=agent.sid,
        beep="false")
    coach = created.call_sid
    assert sim.wait_for(lambda: coach in sim.hears(agent.sid), 5)
    assert sim.hears(agent.sid) == {customer.sid, coach}
    assert sim.hears(customer.sid) == {agent.sid}
    assert sim.hears(coach) == {customer.sid, agent.sid}
    conf = client.conferences.list(friendly_name="room-1")[0].sid
    # barge: coaching off, everyone hears the supervisor
    client.conferences(conf).participants(coach).update(coaching=False)
    assert sim.hears(customer.sid) == {agent.sid, coach}
    assert sim.wait_for(lambda: ("participant-modify", coach) in events(canned), 5)


def test_removing_a_participant_ends_their_dial_only(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    customer, agent = room
    client = client_for(sim)
    conf = client.conferences.list(friendly_name="room-1")[0].sid
    # the agent stops ending the room on exit, then is removed: the customer stays
    client.conferences(conf).participants(agent.sid).update(end_conference_on_exit=False)
    assert client.conferences(conf).participants(agent.sid).delete()
    agent.wait(10)
    assert agent.said() == ["left answered"]
    assert customer.status == "in-progress"
    assert sim.hears(customer.sid) == set()  # alone in the room
    # REST Status=completed ends the conference for whoever is left
    client.conferences(conf).update(status="completed")
    customer.wait(10)
    assert customer.said() == ["left answered"]
    assert client.conferences(conf).fetch().status == "completed"
    assert client.conferences.list(friendly_name="room-1", status="in-progress") == []


def test_no_participant_is_added_to_a_completed_conference(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    """https://www.twilio.com/docs/api/errors/16022: by its sid, a completed conference
    takes nobody in (nor does a new one of the same name start)."""
    customer, agent = room
    client = client_for(sim)
    conf = client.conferences.list(friendly_name="room-1")[0].sid
    agent.hang_up()
    customer.wait(10)
    sim.phones[SUPERVISOR] = Phone(hangup_after=1000)
    with pytest.raises(TwilioRestException) as err:
        client.conferences(conf).participants.create(from_=NUMBER, to=SUPERVISOR)
    assert err.value.code == 16022
    assert sim.record.calls_to(SUPERVISOR) == []


def test_a_participant_whose_conference_ended_while_ringing_joins_no_other(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    """Participants create makes a participant of that conference: one that completes
    while the new call rings is not started again, under the same name, by its answer."""
    customer, agent = room
    sim.phones[SUPERVISOR] = Phone(ring_delay=250, hangup_after=1000)  # 0.5 s at this scale
    client = client_for(sim)
    conf = client.conferences.list(friendly_name="room-1")[0].sid
    created = client.conferences(conf).participants.create(from_=NUMBER, to=SUPERVISOR,
                                                           timeout=600)
    agent.hang_up()  # the room ends before the supervisor's phone is answered
    customer.wait(10)
    added = sim.call(created.call_sid).wait(10)
    assert added.record.answered_at is not None and added.status == "completed"
    assert not any(p.call == added.sid for p in sim.record.presences)
    assert "room-1" not in sim.switch.rooms


def test_a_room_not_started_plays_its_wait_url(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Dial><Conference startConferenceOnEnter="false" '
                    f'waitUrl="{MUSIC}">room-2</Conference></Dial>')

    call = sim.place_call(CUSTOMER, NUMBER, Caller(hangup_after=50))
    assert sim.wait_for(lambda: sim.hears(call.sid) == {f"wait-music:{MUSIC}"}, 5)
    call.wait(10)
    assert sim.hears(call.sid) == set()


def test_rest_redirect_moves_a_caller_out_of_a_conference(
    canned: Canned, sim: TwilioSim, room: tuple[SimCall, SimCall]
) -> None:
    customer, agent = room
    canned.twiml("/elsewhere")(lambda p: resp("<Say>moved</Say>"))
    client_for(sim).calls(customer.sid).update(url=canned.url + "/elsewhere", method="POST")
    customer.wait(10)
    assert customer.said() == ["moved"]  # no Dial action for a call moved by REST
    assert sim.wait_for(lambda: ("participant-leave", customer.sid) in events(canned), 5)
