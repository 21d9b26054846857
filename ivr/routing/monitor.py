"""Supervision: a supervisor listens to, whispers to, or barges into a live agent call
(docs/routing.md, "Supervision").

Every agent call runs in a Twilio conference named after the caller's CallSid. A
supervisor joins it from their own phone as one more participant, placed through the
Participants REST API (https://www.twilio.com/docs/voice/api/conference-participant-resource):

- listen: `muted` (they hear the caller and the agent; nobody hears them);
- whisper: `coaching` with `callSidToCoach` = the agent's leg (only the agent hears them);
- barge: unmuted, no coaching (all three talk).

Always `beep=false` and `endConferenceOnExit=false`: the supervisor hanging up changes
nothing else. A second request while their leg lives updates the same participant (no
new call). The decision is one Lua script (lua/monitor.lua), so two requests at once place
one call; the leg is kept in Redis (keys.monitor_leg) until it ends, is ended (`stop`), or
the customer's call ends (`call_ended`: the conference ends and so does the leg; we also
end it by REST in case).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from ivr import paths
from ivr.routing.control import ControlRefused, UnknownCall
from ivr.routing.core import Acd
from ivr.routing.env import Env
from ivr.routing.phones import CallGone, Phones
from ivr.routing.scripts import Scripts

log = logging.getLogger("ivr.routing")

Mode = Literal["listen", "whisper", "barge"]
MODES: tuple[str, ...] = ("listen", "whisper", "barge")


class NotSupervisor(ValueError):
    """The named agent is not a supervisor (or no agent at all)."""


def participant_options(mode: str, agent_leg: str) -> dict[str, Any]:
    """The Participants parameters of one mode (create and update take the same)."""
    if mode == "listen":
        return {"muted": True, "coaching": False}
    if mode == "whisper":
        return {"muted": False, "coaching": True, "call_sid_to_coach": agent_leg}
    return {"muted": False, "coaching": False}


class Monitor:
    """Monitor legs (see module docstring)."""

    def __init__(self, env: Env, scripts: Scripts, acd: Acd, phones: Phones) -> None:
        self.env = env
        self.scripts = scripts
        self.acd = acd
        self.phones = phones

    def supervisor_phone(self, supervisor: str) -> str:
        config = self.env.config().agents.get(supervisor)
        if config is None or config.role != "supervisor":
            raise NotSupervisor(f"{supervisor!r} is not a supervisor")
        return config.phone

    def current(self, call_sid: str) -> dict[str, str] | None:
        """The monitor leg on a call: {sup, mode, leg, agent, since}, or None."""
        raw = self.env.db.hgetall(self._key(call_sid))
        if not raw:
            return None
        return {(k.decode() if isinstance(k, bytes) else str(k)):
                (v.decode() if isinstance(v, bytes) else str(v)) for k, v in raw.items()}

    @staticmethod
    def _key(call_sid: str) -> str:
        from ivr import keys

        return keys.monitor_leg(call_sid)

    def start(self, call_sid: str, supervisor: str, mode: str) -> str:
        """Join `supervisor` to the call in `mode`, or change the mode of their live leg.
        Returns "started" or "changed"."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        phone = self.supervisor_phone(supervisor)
        reply = self.scripts.monitor({"call": call_sid, "op": "start", "sup": supervisor,
                                      "mode": mode})
        verdict = str(reply[0])
        if verdict == "unknown":
            raise UnknownCall(call_sid)
        if verdict == "refused":
            raise ControlRefused(str(reply[1]))
        if verdict == "mode":
            leg, agent_leg, conference = str(reply[1]), str(reply[2]), str(reply[3])
            if leg:  # while it is being placed, `leg` below applies the newest mode
                conference = conference or self.phones.conference_sid(call_sid)
                if not conference or not self.phones.participant(
                        conference, leg, **participant_options(mode, agent_leg)):
                    log.warning("monitor mode %s of %s: Twilio refused the update", mode, leg)
            return "changed"
        agent_leg, conference = str(reply[1]), str(reply[2])
        record = self.acd.caller(call_sid)
        try:
            # the conference by its sid, or by its FriendlyName (the caller's CallSid),
            # which the Participants resource accepts too
            leg = self.phones.add_participant(
                conference or call_sid, from_=(record.service_number if record else "") or phone,
                to=phone, status_callback=self.env.url(paths.MONITOR_STATUS, call=call_sid),
                **participant_options(mode, agent_leg))
        except CallGone as exc:
            self.scripts.monitor({"call": call_sid, "op": "stop", "why": "failed"})
            raise ControlRefused(f"could not call {supervisor}: {exc}") from exc
        placed = self.scripts.monitor({"call": call_sid, "op": "leg", "leg": leg})
        if str(placed[0]) != "ok":
            self.phones.end(leg)  # stopped (or the call ended) while we dialled
        elif str(placed[1]) != mode:  # a mode change came while we dialled
            conference = conference or self.phones.conference_sid(call_sid)
            if conference:
                self.phones.participant(conference, leg,
                                        **participant_options(str(placed[1]), agent_leg))
        return "started"

    def stop(self, call_sid: str, why: str = "stop") -> bool:
        """End the supervisor's leg (their call is hung up; the conference goes on).
        False when nobody was monitoring the call."""
        reply = self.scripts.monitor({"call": call_sid, "op": "stop", "why": why})
        if str(reply[0]) != "ok":
            return False
        self.phones.end(str(reply[1]))
        return True

    def leg_status(self, call_sid: str, leg: str, call_status: str) -> None:
        """The supervisor's call status callback: a final status forgets the leg."""
        if call_status in ("completed", "busy", "no-answer", "failed", "canceled") and leg:
            self.scripts.monitor({"call": call_sid, "op": "gone", "leg": leg})

    def call_ended(self, call_sid: str) -> None:
        """The customer's call ended: so does any monitor leg on it (a no-op when none;
        one EXISTS when nobody monitors, so cheap on every call's end)."""
        if self.env.db.exists(self._key(call_sid)):
            self.stop(call_sid, "call-ended")
