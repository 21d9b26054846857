"""Call controls on a connected call: hold and resume, hang up, cold transfer to a queue
or a phone number (docs/routing.md, "Conferences" and "Call controls").

Each control is one Lua decision (lua/control.lua), so two requests at once cannot both
apply: one wins, the other is refused with `ControlRefused`. The Twilio requests that
carry the decision out (a participant update, a REST move of the caller's call, ending
the agent's call) follow the decision. Plain values in, plain values out: the JSON API
(ivr/api/control.py) maps the exceptions to HTTP statuses.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr import paths
from ivr.routing.core import Acd
from ivr.routing.env import Env
from ivr.routing.hold import Hold
from ivr.routing.phones import CallGone, Phones
from ivr.routing.records import Offer
from ivr.routing.scripts import Scripts

log = logging.getLogger("ivr.routing")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class ControlError(Exception):
    """A call control could not be applied."""


class UnknownCall(ControlError):
    """No such call in routing (never queued, or forgotten)."""


class ControlRefused(ControlError):
    """The control does not fit the call's state now (not connected, already on hold, a
    transfer going on, another control won the race)."""


class BadTarget(ControlError, ValueError):
    """A transfer target that is not `queue:NAME`, `agent:ID` or `+E164`, or names nothing."""


class Controls:
    """The call controls (see module docstring)."""

    def __init__(self, env: Env, scripts: Scripts, acd: Acd, phones: Phones,
                 holding: Hold) -> None:
        self.env = env
        self.scripts = scripts
        self.acd = acd
        self.phones = phones
        self.holding = holding
        # set by the Router: hold pauses the call's recording (ivr/routing/recording.py)
        self.recording: Any = None

    def _decide(self, call_sid: str, args: dict[str, Any], **scope: Any) -> list[Any]:
        reply = self.scripts.control({"call": call_sid, **args}, **scope)
        if reply[0] == "unknown":
            raise UnknownCall(call_sid)
        if reply[0] != "ok":
            raise ControlRefused(str(reply[1]) if len(reply) > 1 else "refused")
        return reply

    def _conference(self, call_sid: str, known: str) -> str:
        return known or self.phones.conference_sid(call_sid)

    def hold(self, call_sid: str, on: bool) -> None:
        """Hold (the caller hears their queue's hold music, and nobody hears them) or
        resume: the caller's conference participant, updated."""
        reply = self._decide(call_sid, {"op": "hold" if on else "resume"})
        self._set_hold(self._conference(call_sid, str(reply[3])), call_sid, on, str(reply[4]))

    def hang_up(self, call_sid: str) -> None:
        """End the customer's call; the conference ends with it, the agent goes to wrap-up."""
        self._decide(call_sid, {"op": "hangup"})
        self.phones.end(call_sid)

    def transfer(self, call_sid: str, to: str, *, warm: bool = False) -> None:
        """Cold transfer: `queue:NAME` (back in line, keeping the original wait and
        priority), `agent:ID` (an offer to that agent only, who must be free) or `+E164`
        (the caller's call dials it); the agent's call ends at once. Warm (`agent:ID` or
        `+E164`): a consult; the caller is held while the target is dialled into the
        conference, then `complete` or `cancel`."""
        if warm:
            if to.startswith("agent:"):
                agent_id = to[len("agent:"):]
                if not agent_id or self.acd.roster.record(agent_id) is None:
                    raise BadTarget(f"no agent named {agent_id!r}")
                self._consult(call_sid, to, agent_id)
            elif E164.match(to):
                self._consult(call_sid, to, None)
            else:
                raise BadTarget(f"cannot consult {to!r}: use agent:ID or +E164")
            return
        if to.startswith("queue:"):
            self._to_queue(call_sid, to[len("queue:"):])
        elif to.startswith("agent:"):
            agent_id = to[len("agent:"):]
            if not agent_id or self.acd.roster.record(agent_id) is None:
                raise BadTarget(f"no agent named {agent_id!r}")
            self._to_agent(call_sid, agent_id)
        elif E164.match(to):
            self._to_number(call_sid, to)
        else:
            raise BadTarget(f"cannot transfer to {to!r}: use queue:NAME, agent:ID or +E164")

    def complete(self, call_sid: str, *, three_way: bool = False) -> None:
        """After a consult: `three_way` unholds the caller, all three talk (the agent still
        ends the call by hanging up); else the agent leaves and the caller stays with the
        target, whose hang-up now ends the call."""
        if three_way:
            reply = self._decide(call_sid, {"op": "three_way"})
            self._set_hold(self._conference(call_sid, str(reply[3])), call_sid, False, "")
            return
        reply = self._decide(call_sid, {"op": "complete"})
        conference = self._conference(call_sid, str(reply[3]))
        target_leg = str(reply[5][0]) if reply[5] else ""
        agent_leg = str(reply[2])
        if conference:
            if target_leg:
                self.phones.participant(conference, target_leg, end_conference_on_exit=True)
            if agent_leg:
                self.phones.participant(conference, agent_leg, end_conference_on_exit=False)
        self._set_hold(conference, call_sid, False, "")
        self.phones.end(agent_leg)

    def cancel(self, call_sid: str) -> None:
        """After a consult: the target leaves, the caller is resumed."""
        reply = self._decide(call_sid, {"op": "cancel"})
        self.phones.end(str(reply[5][0]) if reply[5] else "")
        self._set_hold(self._conference(call_sid, str(reply[3])), call_sid, False, "")

    def _set_hold(self, conference: str, call_sid: str, on: bool, queue: str) -> None:
        changes: dict[str, Any] = {"hold": on}
        music = self.holding.music_of(queue) if on and queue else None
        if music:
            changes["hold_url"] = music
            changes["hold_method"] = "GET"
        if not conference or not self.phones.participant(conference, call_sid, **changes):
            log.warning("hold %s of %s: Twilio refused the participant update", on, call_sid)
        if self.recording is not None:  # hold music and a consult are not recorded
            self.recording.held(call_sid, conference, on)

    def _consult(self, call_sid: str, to: str, agent_id: str | None) -> None:
        target = self.acd.roster.record(agent_id) if agent_id else None
        args: dict[str, Any] = {"op": "consult", "to": to}
        if agent_id:
            args["target"] = agent_id  # (never null: cjson's null is true in Lua)
        reply = self._decide(call_sid, args,
                             agent_skills=target.skills if target is not None else None)
        token = str(reply[5][0]) if reply[5] else ""
        conference, queue = self._conference(call_sid, str(reply[3])), str(reply[4])
        self._set_hold(conference, call_sid, True, queue)
        record = self.acd.caller(call_sid)
        phone = target.phone if target is not None else to
        status = (self.env.url(paths.AGENT_STATUS, agent=agent_id, token=token)
                  if target is not None else None)
        try:
            if not conference:
                raise CallGone("no conference")
            leg = self.phones.add_participant(
                conference, from_=(record.service_number if record else "") or phone, to=phone,
                status_callback=status)
        except CallGone as exc:
            try:
                self._decide(call_sid, {"op": "cancel"})
                self._set_hold(conference, call_sid, False, "")
            except ControlError:
                pass  # the call ended meanwhile, and the consult with it
            if agent_id:
                self.acd.agent_leg_status(agent_id, token, "failed")
            raise ControlRefused(f"could not reach {to}: {exc}") from exc
        try:
            self._decide(call_sid, {"op": "xleg", "leg": leg})
        except ControlError:
            # the call ended while the target was dialled (the consult ended with it,
            # before this leg was known): end the target's call too
            self.phones.end(leg)
            raise

    def _to_queue(self, call_sid: str, name: str) -> None:
        config = self.env.config().queues.get(name)
        if config is None:
            raise BadTarget(f"no queue named {name!r}")
        from ivr.routing.layout import bucket_name

        self.acd.layout.register_buckets({bucket_name(name, list(config.skills), 1)})
        reply = self._decide(call_sid, {
            "op": "queue", "q": name, "skills": list(config.skills), "lvl": 1,
            "strat": config.strategy, "ring": config.ring_timeout, "sl": config.service_level,
        }, queue=name, skills=config.skills)
        self._back_in_line(call_sid, str(reply[2]), Offer.many(reply[5]))

    def _to_agent(self, call_sid: str, agent_id: str) -> None:
        target = self.acd.roster.record(agent_id)
        reply = self._decide(call_sid, {"op": "agent", "target": agent_id},
                             agent_skills=target.skills if target else {})
        self._back_in_line(call_sid, str(reply[2]), Offer.many(reply[5]))

    def _back_in_line(self, call_sid: str, agent_leg: str, offers: list[Offer]) -> None:
        """The caller out of the conference into their <Enqueue> again; the agent's call
        ended at once; the new offers rung."""
        try:
            self.phones.move(call_sid, self.env.url(paths.QUEUE_BACK, call=call_sid))
        except CallGone:
            # gone meanwhile: their hang-up in line (offers withdrawn, nobody rung)
            self.acd.call_ended(call_sid, "completed")
            for offer in offers:
                self.acd.offer_failed(offer.agent_id, offer.token, "canceled")
            offers = []
        self.phones.end(agent_leg)
        self.acd.place_offers(offers)

    def _to_number(self, call_sid: str, number: str) -> None:
        reply = self._decide(call_sid, {"op": "number", "to": number})
        record = self.acd.caller(call_sid)
        response = VoiceResponse()
        action = None
        if record is not None:
            from urllib.parse import parse_qsl, urlsplit

            query = dict(parse_qsl(urlsplit(record.action_url).query))
            action = self.env.url(paths.QUEUE_RESULT, call=call_sid, via="conf",
                                  g=str(record.generation), **query)
        dial = Dial(caller_id=(record.service_number if record else None) or None,
                    action=action, method="POST") if action else Dial()
        dial.number(number)
        response.append(dial)
        if not self.phones.play_twiml(call_sid, str(response)):
            log.warning("transfer of %s to %s: Twilio refused the move", call_sid, number)
        self.phones.end(str(reply[2]))
