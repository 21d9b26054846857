"""Recording agent calls: a queue with `record: true` records the caller's conference
(docs/routing.md, "Recording calls").

How: the `<Conference>` noun of the conference `<Dial>` (caller and agent both) carries
`record="record-from-start"`, `recordingStatusCallback` (ivr.recordings.callback_url) and
`recordingStatusCallbackEvent="in-progress completed absent"`
(https://www.twilio.com/docs/voice/twiml/conference#record: recording "begins when the
first two participants are bridged", so from the agent joining, and lasts until the
conference ends with the call). Twilio records a conference as one mixed channel (dual
channel is offered for <Dial><Number> and call recordings, not for conferences), both
parties in it. The caller hears the queue's `record_notice` before joining
(ivr/webhooks/queue.py), and `ivr.recordings.expect` is told, so the recording is fetched
even if its status callback is lost.

Pause and resume go through the Conference Recording resource
(https://www.twilio.com/docs/voice/api/conference-recording-resource): `Status=paused`
with `PauseBehavior=skip` (the paused span is left out of the recording), then
`Status=in-progress`. Two reasons may pause a recording and both must be gone for it to
run again (keys.recording_pauses): "user" (the desk or the API) and "hold" — holding the
caller pauses the recording, so neither hold music nor the agent's side while the caller
is held (a consult) is recorded; Twilio does not pause conference recordings on hold by
itself.
"""

from __future__ import annotations

import logging
from typing import Any

from twilio.base.exceptions import TwilioException

from ivr import keys, recordings
from ivr.routing.core import Acd
from ivr.routing.env import Env
from ivr.routing.phones import Phones

log = logging.getLogger("ivr.routing")

RECORDING_EVENTS = "in-progress completed absent"
LIVE = ("in-progress", "paused")
PAUSE_KEEP = 86_400  # seconds a call's pause reasons are kept (longer than any call)


class NotRecording(Exception):
    """Nothing is recording this call now (its queue does not record, or not yet)."""


class Recording:
    """The conference recordings of agent calls (see module docstring)."""

    def __init__(self, env: Env, acd: Acd, phones: Phones) -> None:
        self.env = env
        self.acd = acd
        self.phones = phones

    def records(self, queue: str) -> bool:
        config = self.env.config().queues.get(queue)
        return bool(config is not None and config.record)

    def notice(self, call_sid: str) -> str | None:
        """What the caller hears before joining a recorded conference (None: nothing)."""
        record = self.acd.caller(call_sid)
        if record is None:
            return None
        config = self.env.config().queues.get(record.queue)
        if config is None or not config.record:
            return None
        return config.record_notice or None

    def conference_attrs(self, call_sid: str, *, caller_side: bool) -> dict[str, Any]:
        """Extra `<Conference>` attributes for the conference of `call_sid`: none unless
        its queue records. `caller_side`: this is the caller's <Dial> (the expectation of
        the recording is written once, there)."""
        record = self.acd.caller(call_sid)
        if record is None or not self.records(record.queue):
            return {}
        url = recordings.callback_url(self.env.urls.base(), call=call_sid, queue=record.queue,
                                      agent=record.agent, source="conference")
        if caller_side:
            # a new connection (after a transfer, say): no pause left from the last one
            self.env.db.delete(keys.recording_pauses(call_sid))
            try:
                recordings.expect(self.env.db, call_sid, None, queue=record.queue,
                                  agent=record.agent, source="conference",
                                  now=self.env.clock())
            except Exception as exc:  # noqa: BLE001 - the callback still comes
                log.warning("expecting the recording of %s: %s", call_sid, exc)
        return {"record": "record-from-start", "recording_status_callback": url,
                "recording_status_callback_method": "POST",
                "recording_status_callback_event": RECORDING_EVENTS}

    def joined(self, call_sid: str, conference: str) -> None:
        """The caller entered their conference (its participant-join callback): the
        expected recording learns the ConferenceSid, by which a lost callback's recording
        is looked for."""
        record = self.acd.caller(call_sid)
        if record is None or not conference or not self.records(record.queue):
            return
        recordings.expect(self.env.db, call_sid, None, queue=record.queue,
                          agent=record.agent, source="conference", conference_sid=conference,
                          now=self.env.clock())

    # --- pause and resume ---------------------------------------------------------------

    def pause(self, call_sid: str, paused: bool) -> None:
        """The desk's or the API's pause (True) or resume (False). NotRecording when the
        call's conference has no live recording."""
        conference, live = self._live(call_sid)
        if not live:
            raise NotRecording(call_sid)
        self._reason(call_sid, "user", paused, conference, live)

    def held(self, call_sid: str, conference: str, on: bool) -> None:
        """Hook of the hold control (ivr/routing/control.py): hold pauses, resume resumes
        (unless the user paused too). Nothing when the queue does not record."""
        record = self.acd.caller(call_sid)
        if record is None or not self.records(record.queue):
            return
        conference, live = self._live(call_sid, conference)
        self._reason(call_sid, "hold", on, conference, live)

    def _reason(self, call_sid: str, reason: str, on: bool, conference: str,
                live: list[tuple[str, str]]) -> None:
        key = keys.recording_pauses(call_sid)
        pipe = self.env.db.pipeline(transaction=True)
        (pipe.sadd if on else pipe.srem)(key, reason)
        pipe.scard(key)
        pipe.expire(key, PAUSE_KEEP)
        _changed, left, _ = pipe.execute()
        want = "paused" if int(left) > 0 else "in-progress"
        for sid, status in live:
            if status != want:
                self._set(conference, sid, want)

    def _live(self, call_sid: str, conference: str = "") -> tuple[str, list[tuple[str, str]]]:
        if not conference:
            record = self.acd.caller(call_sid)
            conference = (record.conference if record else "") \
                or self.phones.conference_sid(call_sid)
        if not conference:
            return "", []
        try:
            found = self.phones.twilio.conferences(conference).recordings.list(limit=20)
        except (TwilioException, OSError) as exc:
            log.info("recordings of conference %s: %s", conference, exc)
            return conference, []
        return conference, [(str(r.sid), str(r.status)) for r in found
                            if str(r.status) in LIVE]

    def _set(self, conference: str, sid: str, status: str) -> None:
        extra: dict[str, Any] = {"pause_behavior": "skip"} if status == "paused" else {}
        try:
            self.phones.twilio.conferences(conference).recordings(sid).update(
                status=status, **extra)
        except (TwilioException, OSError) as exc:
            log.warning("recording %s of %s to %s: %s", sid, conference, status, exc)
