"""The Twilio REST requests of routing: ring an agent, end an agent's call, ask how a call
is, text an agent. Nothing else in `ivr/routing/` talks to Twilio.

An offer rings the agent's own phone: a call from the number the caller
dialled, whose answer URL is the whisper and whose status callbacks report
how it went (ivr/webhooks/queue.py answers both).
"""

from __future__ import annotations

import logging
from typing import Any

from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ivr import paths
from ivr.flows.optout import send_text
from ivr.routing.env import Env
from ivr.routing.records import Offer

log = logging.getLogger("ivr.routing")

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class RingFailed(Exception):
    """Twilio refused the call to the agent's phone (or could not be reached)."""


class CallGone(Exception):
    """Twilio refused to change a call: it has ended (or never existed)."""


class Phones:
    """Twilio's REST API as routing uses it (the client is injectable: tests record it)."""

    def __init__(self, env: Env, twilio: Client) -> None:
        self.env = env
        self.twilio = twilio

    def ring(self, offer: Offer, *, ring_timeout: int) -> str:
        """Place the offer's call to the agent's phone; its CallSid."""
        url = self.env.url
        try:
            call = self.twilio.calls.create(
                to=offer.phone,
                from_=offer.service_number or offer.phone,
                url=url(paths.AGENT_WHISPER, agent=offer.agent_id, token=offer.token),
                method="POST",
                timeout=ring_timeout,
                status_callback=url(paths.AGENT_STATUS, agent=offer.agent_id,
                                    token=offer.token),
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
            )
        except (TwilioException, OSError) as exc:
            raise RingFailed(str(exc)) from exc
        return str(call.sid)

    def end(self, leg: str) -> None:
        """Stop ringing (or hang up) an agent's call whose offer is over.

        Twilio's Call update: `canceled` only hangs up a queued or ringing call
        and leaves an answered one (an agent in the whisper) untouched, while
        `completed` "will attempt to hang up a call even if it's already in
        progress". We can't know which it is at this instant, so: `completed`.
        """
        if not leg:
            return
        try:
            self.twilio.calls(leg).update(status="completed")
        except (TwilioException, OSError) as exc:
            log.info("ending agent leg %s: %s", leg, exc)

    def move(self, call_sid: str, url: str) -> None:
        """Give a live call new TwiML from `url` (REST Calls update, Url + Method), as
        Twilio Flex moves a caller out of its queue. CallGone if Twilio refuses (the call
        has ended: error 21220, or 20404)."""
        try:
            self.twilio.calls(call_sid).update(url=url, method="POST")
        except (TwilioException, OSError) as exc:
            raise CallGone(str(exc)) from exc

    def play_twiml(self, call_sid: str, twiml: str) -> bool:
        """Give a live call inline TwiML (REST Calls update, Twiml); False if refused."""
        if not call_sid:
            return False
        try:
            self.twilio.calls(call_sid).update(twiml=twiml)
        except (TwilioException, OSError) as exc:
            log.info("updating call %s: %s", call_sid, exc)
            return False
        return True

    def say_and_end(self, call_sid: str, text: str) -> bool:
        """Tell the person on a live call something, then hang up (REST, inline TwiML)."""
        response = VoiceResponse()
        response.say(text)
        response.hangup()
        return self.play_twiml(call_sid, str(response))

    def participant(self, conference: str, call_sid: str, **changes: Any) -> bool:
        """Update one conference participant (hold, hold_url, muted, coaching,
        call_sid_to_coach, end_conference_on_exit); False if Twilio refused."""
        try:
            self.twilio.conferences(conference).participants(call_sid).update(**changes)
        except (TwilioException, OSError) as exc:
            log.info("participant %s of %s: %s", call_sid, conference, exc)
            return False
        return True

    def add_participant(self, conference: str, *, from_: str, to: str,
                        status_callback: str | None = None, **options: Any) -> str:
        """Dial `to` into the conference (Participants create); the new call's sid.
        `options`: more Participants create parameters (muted, coaching,
        call_sid_to_coach: a supervisor's monitor leg). CallGone if Twilio refused."""
        extra: dict[str, Any] = dict(options)
        if status_callback:
            extra.update({"status_callback": status_callback, "status_callback_method": "POST",
                          "status_callback_event": STATUS_EVENTS})
        try:
            created = self.twilio.conferences(conference).participants.create(
                from_=from_, to=to, beep="false", end_conference_on_exit=False,
                start_conference_on_enter=True, **extra)
        except (TwilioException, OSError) as exc:
            raise CallGone(str(exc)) from exc
        return str(created.call_sid)

    def conference_sid(self, name: str) -> str:
        """The in-progress conference named `name` ("" if none)."""
        try:
            found = self.twilio.conferences.list(friendly_name=name, status="in-progress",
                                                 limit=1)
        except (TwilioException, OSError) as exc:
            log.info("conference %s: %s", name, exc)
            return ""
        return str(found[0].sid) if found else ""

    def end_conference(self, conference: str) -> None:
        try:
            self.twilio.conferences(conference).update(status="completed")
        except (TwilioException, OSError) as exc:
            log.info("ending conference %s: %s", conference, exc)

    def status(self, leg: str) -> str:
        """Twilio's status of a call ("" when it cannot be asked)."""
        try:
            return str(self.twilio.calls(leg).fetch().status)
        except (TwilioException, OSError) as exc:
            log.info("checking call %s: %s", leg, exc)
            return ""

    def text(self, *, to: str, from_: str, body: str) -> bool:
        """Text an agent, through the opt-out guard (which logs a failure)."""
        return send_text(self.env.store, self.twilio, to=to, from_=from_, body=body)
