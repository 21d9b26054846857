"""The contact recorder: what the router counted after the agent hung up reaches the
record, whichever is written first."""

from __future__ import annotations

from ivr import keys
from ivr.reports.recorder import ContactRecorder
from tests.reports.test_surveys import QUEUES, SERVICE
from tests.routing.conftest import agents_of


def test_talk_of_an_agent_who_hung_up_first_reaches_the_record(setup, twilio, clock, r):
    """The agent's call completes (and is folded) while the caller is still in the flow:
    the record, written at the caller's hang-up, takes the router's talk and wrap-up."""
    from types import SimpleNamespace

    from ivr.flows import state as state_mod
    from ivr.flows.model import Callflows
    from ivr.flows.state import FlowState

    _, reports = setup(QUEUES, agents_of(1))
    flows = SimpleNamespace(version=lambda v: None, current=Callflows(flows={}))
    rec = ContactRecorder(r, flows, reports.contacts, reports,  # type: ignore[arg-type]
                          caller=lambda sid: None, clock=clock, twilio=twilio)
    reports._complete_contact({"call": "CA9", "agent": "a00", "talk": "42", "wrap": "7"})
    assert r.exists(keys.contact_pending("CA9"))
    state = FlowState(flow="main", version="", step="rate", language="en-US",
                      call={"sid": "CA9", "from": "+15550000009", "to": SERVICE},
                      started=clock() - 100)
    pipe = r.pipeline()
    state_mod.save(pipe, keys.call("CA9"), state)
    pipe.execute()
    contact = rec.call_ended({"CallSid": "CA9", "CallStatus": "completed"})
    assert contact is not None and (contact.talk, contact.wrap, contact.agents) == \
        (42, 7, ["a00"])
    assert not r.exists(keys.contact_pending("CA9"))
    # and when the record exists already, the completion patches it in place
    reports._complete_contact({"call": "CA9", "agent": "a00", "talk": "50", "wrap": "7"})
    assert reports.contacts.get("CA9").talk == 50  # type: ignore[union-attr]
