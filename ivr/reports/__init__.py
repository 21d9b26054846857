"""History and reports: contact records, interval reports per queue and agent, surveys.

`Reporting` is what `create_app` builds once per worker: the contact store, the
interval counters (`Reports`) and the recorder the webhooks call when a contact
ends. Nothing here answers HTTP; `ivr/api/reports.py` and `ivr report` read it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import redis

from ivr.config import Config
from ivr.flows.state import FlowState
from ivr.reports.contacts import Contact, ContactStore
from ivr.reports.intervals import Reports
from ivr.reports.recorder import ContactRecorder

if TYPE_CHECKING:
    from ivr.flows.registry import FlowRegistry
    from ivr.routing.chats import ChatRecord
    from ivr.routing.router import Router

log = logging.getLogger("ivr.reports")


class Reporting:
    """One per worker: contacts, reports, and the hooks the web layer and engines call."""

    def __init__(self, store: redis.Redis, flows: FlowRegistry, router: Router,
                 config: Config) -> None:
        self.contacts = ContactStore(store, retention_days=config.retention_days,
                                     clock=router.clock)
        self.reports = Reports(store, lambda: flows.current, self.contacts,
                               retention_days=config.retention_days, clock=router.clock)
        self.recorder = ContactRecorder(store, flows, self.contacts, self.reports,
                                        caller=router.caller, clock=router.clock,
                                        twilio=router.twilio)

    def call_ended(self, params: Mapping[str, str]) -> Contact | None:
        """A call's status callback: its contact record. Never raises (a record that could
        not be written is logged; the hang-up's bookkeeping is done already)."""
        try:
            return self.recorder.call_ended(params)
        except Exception:
            log.exception("contact record of call %s", params.get("CallSid"))
            return None

    def survey_reply(self, number: str, service_number: str, body: str) -> str | None:
        """A text that may answer a texted survey: the thanks to text back, or None (also
        when the reply could not be kept: logged, and the text goes on to the flows)."""
        try:
            return self.recorder.survey_reply(number, service_number, body)
        except Exception:
            log.exception("survey reply of %s", number)
            return None

    def chat_survey(self, chat: ChatRecord) -> str | None:
        """`ChatRelay.survey`: the survey to text when an agent ends a text conversation, its
        reply awaited to score that conversation. Never raises (no survey then)."""
        try:
            return self.recorder.chat_survey(chat)
        except Exception:
            log.exception("survey of chat %s", chat.id)
            return None

    def text_turn(self, state: FlowState) -> None:
        """A text conversation's turn is over: its record as it stands. Never raises."""
        try:
            self.recorder.text_turn(state)
        except Exception:
            log.exception("contact record of the conversation of %s", state.call.get("from"))


__all__ = ["Contact", "ContactStore", "Reporting", "Reports"]
