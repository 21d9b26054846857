"""Writes a contact record when a contact ends, from what the flows and the router kept.

A call's record is written by the status callback that ends it (after the engine
and the router have made their bookkeeping of the hang-up): the flow state says
where the caller went (flow, steps, survey score), the router's caller record how
their queue wait ended (queue, wait, agent, outcome). A text conversation's record
is written again at each of its turns, so it is complete whenever the
conversation goes quiet (its state simply expires). What arrives later (the
agent's talk and wrap-up from the event log, a survey reply by text) patches the
record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import redis
from twilio.rest import Client

from ivr import keys
from ivr.flows import optout
from ivr.flows.model import Callflows
from ivr.flows.state import FlowState
from ivr.flows.steps.survey import DEFAULT_INTO, scale_of
from ivr.reports.contacts import Contact, ContactStore
from ivr.reports.intervals import Reports, apply_completion
from ivr.routing.chats import ChatRecord
from ivr.routing.records import FINAL_CALL_STATUSES, CallerRecord

if TYPE_CHECKING:
    from ivr.flows.registry import FlowRegistry

log = logging.getLogger("ivr.reports")

SURVEY_TTL = 86_400  # seconds a texted survey waits for its reply
SURVEY_SCALE = 5
SURVEY_THANKS = "Thank you for your feedback!"

OUTCOME_NAMES = {"connected": "connected", "abandoned": "abandoned",
                 "overflowed": "overflowed", "callback": "called back"}
STILL_WAITING = ("new", "waiting", "offered", "retry")


def apply_wrapup(contact: Contact, raw: str | bytes | None) -> None:
    """The agent's wrap-up of a call (`keys.call_wrapup`: disposition and notes) on its
    record."""
    if not raw:
        return
    try:
        given = json.loads(raw)
    except ValueError:
        return
    if isinstance(given, dict):
        contact.disposition = given.get("disposition") or None
        contact.notes = given.get("notes") or None


class ContactRecorder:
    """Turns ended calls and text turns into contact records (and their report parts)."""

    def __init__(self, store: redis.Redis, flows: FlowRegistry, contacts: ContactStore,
                 reports: Reports, *, caller: Callable[[str], CallerRecord | None],
                 clock: Callable[[], float], twilio: Client | None = None) -> None:
        self.store = store
        self.twilio = twilio
        self.flows = flows
        self.contacts = contacts
        self.reports = reports
        self.caller = caller
        self.clock = clock

    # --- calls ------------------------------------------------------------------------

    def call_ended(self, params: Mapping[str, str]) -> Contact | None:
        """A customer call's final status callback: its record (None for calls that never
        ran a flow, such as agents' legs, and for a repeated callback)."""
        if params.get("CallStatus") not in FINAL_CALL_STATUSES:
            return None
        sid = params.get("CallSid", "")
        # What the record is built from, in one round trip: the call's state, whether a
        # record exists already (a repeated callback), the router's talk and wrap-up.
        pipe = self.store.pipeline(transaction=False)
        pipe.hgetall(keys.call(sid))
        pipe.exists(keys.contact(sid))
        pipe.get(keys.contact_pending(sid))
        pipe.get(keys.call_wrapup(sid))
        fields, recorded, pending, wrapup = pipe.execute()
        state = FlowState.from_fields(fields)
        if state is None or recorded:
            return None
        now = self.clock()
        contact = Contact(id=sid, channel="voice", start=state.started, end=max(now, state.started),
                          number=optout.bare_number(state.call.get("from", "")),
                          service_number=state.call.get("to", ""), flow=state.flow,
                          steps=list(state.seen))
        caller = self.caller(sid)
        if caller is not None:
            self._queue_part(contact, caller, now)
        if pending:  # the agent hung up first: the router's count of talk and wrap-up
            apply_completion(contact, json.loads(pending))
            self.store.delete(keys.contact_pending(sid))
        self._survey(contact, state)
        apply_wrapup(contact, wrapup)
        # The agent's wrap-up given while this record was being built lands too: read
        # again in the write's round trip (the desk patches the record once it exists).
        put = self.store.pipeline(transaction=False)
        self.contacts.put(contact, put)
        put.get(keys.call_wrapup(sid))
        late = put.execute()[-1]
        if late and late != wrapup:
            patched = self.contacts.update(sid, lambda c: apply_wrapup(c, late))
            contact = patched or contact
        self.reports.add_contact(contact)
        self._text_survey(contact)
        return contact

    def _text_survey(self, contact: Contact) -> None:
        """The queue's `survey_by_text` after an agent call (unless the caller rated it by
        key already): one text per contact, opt-out honoured, the reply awaited a day."""
        if contact.outcome != "connected" or contact.survey is not None or not contact.queue:
            return
        text = self.reports.queue_config(contact.queue).survey_by_text
        if not text or self.twilio is None or not contact.number.startswith("+"):
            return
        service = optout.bare_number(contact.service_number)
        if optout.send_text(self.store, self.twilio, to=contact.number, from_=service,
                            body=text):
            self.store.set(keys.survey_pending(contact.number, service), contact.id,
                           ex=SURVEY_TTL)

    def chat_survey(self, chat: ChatRecord) -> str | None:
        """A text conversation its agent ended: the queue's `survey_by_text` for the relay
        to text (on the conversation's own channel), its reply awaited a day to score the
        conversation's record (id = the chat id). None: no survey (none set, opted out)."""
        text = self.reports.queue_config(chat.queue).survey_by_text
        number, service = optout.bare_number(chat.texter), optout.bare_number(chat.service)
        if not text or chat.stopped or optout.is_opted_out(self.store, number):
            return None
        self.store.set(keys.survey_pending(number, service), chat.id, ex=SURVEY_TTL)
        return text

    def survey_reply(self, number: str, service_number: str, body: str) -> str | None:
        """A text from someone a survey was texted to: a score 1-5 lands on the contact and
        is thanked (the answer to text back); anything else is not a survey reply (None),
        and goes to the flows as any text would."""
        key = keys.survey_pending(number, service_number)
        answer = body.strip().rstrip(".!")
        if not (answer.isascii() and answer.isdigit() and 1 <= int(answer) <= SURVEY_SCALE):
            return None
        contact_id = self.store.get(key)
        if not contact_id or not self.store.delete(key):  # none waiting, or taken already
            return None
        score, now = int(answer), self.clock()

        def scored(c: Contact) -> None:
            c.survey, c.survey_scale, c.survey_at = score, SURVEY_SCALE, now

        contact = self.contacts.update(str(contact_id), scored)
        if contact is None and self.reports.fold():
            # a conversation's record is written when its end is folded (about once a
            # second): a quick reply folds it now
            contact = self.contacts.update(str(contact_id), scored)
        if contact is not None:
            self.reports.add_contact(contact)
        return SURVEY_THANKS

    def _queue_part(self, contact: Contact, caller: CallerRecord, now: float) -> None:
        contact.queue = caller.queue
        outcome = caller.outcome
        if outcome is None and caller.state in STILL_WAITING:
            outcome = "abandoned"
        contact.outcome = OUTCOME_NAMES.get(outcome or "", "ended in the flow")
        entered = caller.entered_ms / 1000.0
        now_ms = int(now * 1000)
        # The caller record's running figures (kept by the routing scripts): every agent
        # who served them, the transfers, the hold (a consult's included) and the talk
        # without it. The event log's count of the talk replaces this one when it comes.
        contact.agents = list(caller.agents)
        contact.transfers = caller.transfers
        contact.hold = caller.held_ms(now_ms) // 1000
        first = caller.first_connected_ms or caller.connected_ms
        if first is not None and contact.outcome == "connected":
            contact.wait = max(0, int(first / 1000.0 - entered))
            contact.talk = caller.talk_so_far(now_ms)
            contact.wrap = self.reports.queue_config(caller.queue).wrap_up
            if not contact.agents and caller.agent:  # a record kept before the figures
                contact.agents = [caller.agent]
        elif contact.outcome == "abandoned":
            contact.wait = max(0, int(now - entered))

    # --- texts ------------------------------------------------------------------------

    def text_turn(self, state: FlowState) -> Contact | None:
        """After each turn of a text conversation: its record as it stands now. A flow
        that hands the texter to an agent by text (`state.ended == "chat"`) has none: the
        conversation's record (ivr/reports/chats.py) has the flow and its steps."""
        first = state.call.get("sid") or f"{state.call.get('from', '')}-{int(state.started)}"
        contact_id = f"sms-{first}"
        old = self.contacts.get(contact_id)
        if state.ended == "chat" and (old is None or old.survey is None):
            if old is not None:
                self.contacts.delete(contact_id, old.number)
            return None
        contact = Contact(id=contact_id, channel="sms", start=state.started,
                          end=max(self.clock(), state.started),
                          number=optout.bare_number(state.call.get("from", "")),
                          service_number=optout.bare_number(state.call.get("to", "")),
                          flow=state.flow, steps=list(state.seen))
        if old is not None:  # keep what late callbacks wrote
            contact.disposition, contact.notes = old.disposition, old.notes
            contact.survey, contact.survey_scale, contact.survey_at = (
                old.survey, old.survey_scale, old.survey_at)
        callflows = self._callflows(state)
        for reached in state.seen:
            flow_name, _, step_name = reached.partition(".")
            flow = callflows.flows.get(flow_name) if callflows else None
            step = flow.steps.get(step_name) if flow else None
            if step is not None and step.action == "queue":
                contact.queue = str(step.value)
        if state.ended == "callback":
            contact.outcome = "called back"
        self._survey(contact, state)
        self.contacts.put(contact)
        self.reports.add_contact(contact)
        return contact

    # --- surveys ----------------------------------------------------------------------

    def _callflows(self, state: FlowState) -> Callflows | None:
        return (self.flows.version(state.version) if state.version else None) or \
            self.flows.current

    def _survey(self, contact: Contact, state: FlowState) -> None:
        """The score of the last survey step the caller answered (kept in its variable)."""
        if contact.survey is not None:
            return
        callflows = self._callflows(state)
        if callflows is None:
            return
        for reached in reversed(state.seen):
            flow_name, _, step_name = reached.partition(".")
            flow = callflows.flows.get(flow_name)
            step = flow.steps.get(step_name) if flow else None
            if step is None or step.action != "survey":
                continue
            score = state.vars.get(str(step.settings.get("into") or DEFAULT_INTO))
            if isinstance(score, int) and 1 <= score <= scale_of(step):
                contact.survey, contact.survey_scale = score, scale_of(step)
                contact.survey_at = contact.end
                return
