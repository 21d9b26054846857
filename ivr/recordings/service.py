"""What happens to a call recording: kept from its callback, fetched when the callback was
lost, linked to its contact record, streamed, deleted (by hand or at the retention).

`Recordings` is built once per worker (`ivr.recordings.setup`). Twilio is reached through
the app's twilio-python client (REST: list, fetch, delete) and, for the media file, with
plain HTTP at `TWILIO_API_URL` and the account's credentials, which twilio-python
cannot stream. The media URL is built from `TWILIO_API_URL`, the account and the
RecordingSid, never taken from a callback, so the account's credentials only ever go
to the configured Twilio API.
https://www.twilio.com/docs/voice/api/recording
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import redis
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ivr import keys
from ivr.recordings.store import SOURCES, Recording, RecordingStore

if TYPE_CHECKING:
    from ivr.reports.contacts import Contact, ContactStore
    from ivr.routing.records import CallerRecord

log = logging.getLogger("ivr.recordings")

GRACE = 600.0  # seconds after a recording started before Twilio is asked for it
MAX_EXPECT = 4 * 3600.0  # the longest call: an expected recording is given up after that
LINK_WAIT = 4 * 3600.0  # how long a recording waits for its call's contact record
CLAIM_SECONDS = 300  # a claimed deletion or fetch is another worker's again after that
BATCH = 100  # items one sweep takes at most, of each kind
MEDIA_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
CHUNK = 64 * 1024
FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}
WAITING = ("in-progress", "processing", "paused", "stopped")


class TwilioFailed(Exception):
    """Twilio refused or did not answer (not a 404): nothing was changed here."""


def member(call_sid: str, recording_sid: str | None) -> str:
    return f"{call_sid}|{recording_sid or ''}"


def expect(db: redis.Redis, call_sid: str, recording_sid: str | None = None, *,
           queue: str | None = None, agent: str | None = None, source: str = "conference",
           conference_sid: str | None = None, step: str | None = None, grace: float = GRACE,
           now: float | None = None) -> None:
    """Remember a recording that was just started, so that it is fetched from Twilio if its
    status callback never comes. The bridge calls this when it starts one (`recording_sid`
    when it knows it, None when Twilio did not say: then every recording of the call is
    looked for), the voice engine when it renders a recorded dial step (`step`: its
    FLOW.STEP); the recording status callback for `in-progress` calls it too."""
    at = time.time() if now is None else now
    m = member(call_sid, recording_sid)
    pipe = db.pipeline(transaction=True)
    pipe.hsetnx(keys.recording_expectation(m), "since", repr(at))
    pipe.hset(keys.recording_expectation(m), mapping={
        k: v for k, v in (("queue", queue), ("agent", agent), ("source", source),
                          ("conference", conference_sid), ("step", step)) if v})
    pipe.expire(keys.recording_expectation(m), int(MAX_EXPECT + 2 * grace + 3600))
    pipe.zadd(keys.recording_expected(), {m: int((at + grace) * 1000)}, nx=True)
    pipe.execute()


def parse_start(raw: str | None) -> float | None:
    """RecordingStartTime (RFC 2822, as Twilio sends it; ISO 8601 accepted) as epoch s."""
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def source_of(twilio_source: str | None, conference: str | None) -> str:
    """Twilio's `source` (DialVerb, Conference, StartConferenceRecordingAPI, ...) as ours."""
    name = (twilio_source or "").lower()
    if "conference" in name or (not name and conference):
        return "conference"
    if name in ("dialverb", ""):
        return "dial"
    return "call"


def _int(raw: object, default: int = 0) -> int:
    try:
        return max(int(str(raw)), 0)
    except (TypeError, ValueError):
        return default


class Recordings:
    """One per worker: the store, Twilio, the contact records, and the timers' work."""

    def __init__(self, db: redis.Redis, twilio: Client, *, retention_days: int,
                 clock: Callable[[], float] = time.time,
                 contacts: ContactStore | None = None,
                 caller: Callable[[str], CallerRecord | None] | None = None,
                 grace: float = GRACE, interval: float = 5.0) -> None:
        self.db: Any = db
        self.twilio = twilio
        self.clock = clock
        self.store = RecordingStore(db, retention_days=retention_days, clock=clock)
        self.contacts = contacts
        self.caller = caller
        self.grace = grace
        self.interval = interval  # seconds between this worker's sweeps
        self._next_sweep = 0.0

    # --- the status callback -----------------------------------------------------------

    def callback(self, params: Mapping[str, str]) -> Recording | None:
        """Twilio's recording status callback (and our query parameters call, queue,
        agent, source, step): the recording kept on `completed`; None otherwise or if kept
        already."""
        sid = params.get("RecordingSid", "")
        status = params.get("RecordingStatus", "completed")
        call = params.get("call") or params.get("CallSid") or params.get("ConferenceSid", "")
        if not sid or not call:
            log.warning("recording callback without RecordingSid or call: %s", dict(params))
            return None
        if status == "in-progress":
            expect(self.db, call, sid, queue=params.get("queue"), agent=params.get("agent"),
                   source=self._source(params),
                   conference_sid=params.get("ConferenceSid"), step=params.get("step"),
                   grace=self.grace, now=self.clock())
            return None
        if status != "completed":  # absent, failed: nothing to keep, nothing to wait for
            log.warning("recording %s of call %s: %s (%s)", sid, call, status,
                        params.get("ErrorCode", "no error code"))
            self._expected_done(member(call, sid))
            return None
        duration = _int(params.get("RecordingDuration"))
        start = parse_start(params.get("RecordingStartTime"))
        rec = Recording(
            sid=sid, call=call,
            start=start if start is not None else self.clock() - duration,
            duration=duration, channels=_int(params.get("RecordingChannels"), 1) or 1,
            status="completed",
            source=self._source(params),
            queue=params.get("queue") or None, agent=params.get("agent") or None,
            conference=params.get("ConferenceSid") or None,
            step=params.get("step") or None,
            media_url=params.get("RecordingUrl", ""),
        )
        return self.keep(rec)

    @staticmethod
    def _source(params: Mapping[str, str]) -> str:
        """Ours (the `source` query parameter), else from Twilio's RecordingSource."""
        given = params.get("source", "")
        if given in SOURCES:
            return given
        return source_of(params.get("RecordingSource"), params.get("ConferenceSid"))

    def keep(self, rec: Recording) -> Recording | None:
        """Store a completed recording once, fill in its queue and agent from the router
        when nobody said them, and link it to its call's contact record. A dial step's
        recording has neither: the call was not with a queue's agent then (a caller
        record left from an earlier queue of the call would name the wrong ones)."""
        if (rec.queue is None or rec.agent is None) and self.caller is not None \
                and rec.source != "dial":
            caller = self.caller(rec.call)
            if caller is not None:
                rec.queue = rec.queue or caller.queue or None
                rec.agent = rec.agent or caller.agent
        first = self.store.add(rec)
        self._expected_done(member(rec.call, rec.sid))
        if not first:
            return None
        self.link(rec)
        return rec

    def link(self, rec: Recording) -> bool:
        """The call's contact record gets the recording (its first one); a record not
        written yet (the caller is still in the flow) gets it from the timers later."""
        if self.contacts is None:
            return True
        if self._link(rec):
            return True
        self.db.zadd(keys.recordings_unlinked(), {rec.sid: int(self.clock() * 1000)})
        if self._link(rec):  # written in between
            self.db.zrem(keys.recordings_unlinked(), rec.sid)
            return True
        return False

    def _link(self, rec: Recording) -> bool:
        assert self.contacts is not None

        def add(contact: Contact) -> None:
            if not contact.recording:
                contact.recording = rec.sid

        return self.contacts.update(rec.call, add) is not None

    def _expected_done(self, m: str) -> None:
        pipe = self.db.pipeline(transaction=True)
        pipe.zrem(keys.recording_expected(), m)
        pipe.delete(keys.recording_expectation(m))
        pipe.execute()

    # --- deleting ----------------------------------------------------------------------

    def delete(self, sid: str) -> bool:
        """Delete a recording at Twilio (a 404 there counts as deleted), then here. False
        for a recording not kept here; TwilioFailed when Twilio did not delete it."""
        rec = self.store.get(sid)
        if rec is None and self.db.zscore(keys.recordings_by_time(), sid) is None:
            return False
        self._delete_at_twilio(sid)
        self.store.remove(sid, rec.call if rec is not None else None)
        return True

    def _delete_at_twilio(self, sid: str) -> None:
        try:
            self.twilio.recordings(sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:
                raise TwilioFailed(f"Twilio answered {exc.status}: {exc.msg}") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise TwilioFailed(f"Twilio did not answer: {exc}") from exc

    # --- the media ---------------------------------------------------------------------

    def media_url(self, sid: str, fmt: str) -> str:
        base = str(self.twilio.api.base_url).rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self.twilio.account_sid}/Recordings/{sid}.{fmt}"

    def open_media(self, sid: str, fmt: str, range_header: str | None) -> requests.Response:
        """Twilio's answer for the media file, streaming (the caller closes it)."""
        headers = {"Accept-Encoding": "identity"}  # Content-Length and Range as stored
        if range_header:
            headers["Range"] = range_header
        try:
            return requests.get(self.media_url(sid, fmt), headers=headers, stream=True,
                                auth=(str(self.twilio.username), str(self.twilio.password)),
                                timeout=MEDIA_TIMEOUT, allow_redirects=True)
        except requests.RequestException as exc:
            raise TwilioFailed(f"Twilio did not answer: {exc}") from exc

    # --- the timers --------------------------------------------------------------------

    def tick(self) -> None:
        """Called on every turn of the worker's timer thread: a sweep every `interval`."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.interval
        self.sweep()

    def sweep(self) -> dict[str, int]:
        """One pass of the timers' work; each item is claimed, so once across workers."""
        now = self.clock()
        return {"recovered": self.recover(now), "linked": self.link_waiting(now),
                "expired": self.expire(now)}

    def _claim(self, what: str) -> bool:
        return bool(self.db.set(keys.recording_claim(what), "1", nx=True, ex=CLAIM_SECONDS))

    def recover(self, now: float) -> int:
        """Expected recordings whose callback did not come in time: asked of Twilio."""
        due: list[tuple[str, float]] = self.db.zrangebyscore(
            keys.recording_expected(), "-inf", int(now * 1000), start=0, num=BATCH,
            withscores=True)
        kept = 0
        for m, score in due:
            # One claim per check (member and due time): a worker that read the set before
            # another rescheduled the member cannot check it again before its new time.
            if not self._claim(f"expect:{m}:{int(score)}"):
                continue
            try:
                done, found = self._recover(m, now)
            except TwilioFailed as exc:
                log.warning("expected recording %s: %s; asked again later", m, exc)
                done, found = False, 0
            kept += found
            if done:
                self._expected_done(m)
            else:
                self.db.zadd(keys.recording_expected(), {m: int((now + self.grace) * 1000)},
                             xx=True)
        return kept

    def _recover(self, m: str, now: float) -> tuple[bool, int]:
        call, _, sid = m.partition("|")
        info: dict[str, str] = self.db.hgetall(keys.recording_expectation(m))
        if not info.get("since"):  # its details outlived MAX_EXPECT: long given up
            return True, 0
        since = float(info["since"])
        if sid and (self.store.exists(sid) or self.store.was_deleted(sid)):
            return True, 0
        if not sid and any(r.start >= since - 5 for r in self.store.of_call(call)):
            return True, 0
        if now - since > MAX_EXPECT:
            log.warning("recording %s: nothing from Twilio after %.0f s; given up", m,
                        now - since)
            return True, 0
        try:
            if sid:
                found = [self.twilio.recordings(sid).fetch()]
            elif info.get("conference"):
                found = list(self.twilio.recordings.list(conference_sid=info["conference"],
                                                         limit=50))
            else:
                found = list(self.twilio.recordings.list(call_sid=call, limit=50))
        except TwilioRestException as exc:
            if exc.status == 404:
                return True, 0  # deleted at Twilio, or never made
            raise TwilioFailed(f"Twilio answered {exc.status}: {exc.msg}") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise TwilioFailed(f"Twilio did not answer: {exc}") from exc
        waiting, kept = False, 0
        for item in found:
            if info.get("source") == "dial" and source_of(item.source,
                                                         item.conference_sid) != "dial":
                continue  # another kind of recording of the call: not a dial step's
            status = str(item.status or "")
            if status in WAITING:
                waiting = True
            if status != "completed" or not item.sid:
                continue
            started = item.start_time or item.date_created
            rec = Recording(
                sid=item.sid, call=call,
                start=started.timestamp() if started is not None else now,
                duration=_int(item.duration), channels=item.channels or 1,
                status="completed",
                source=(info["source"] if info.get("source") in SOURCES
                        else source_of(item.source, item.conference_sid)),
                queue=info.get("queue") or None, agent=info.get("agent") or None,
                conference=item.conference_sid or info.get("conference") or None,
                step=info.get("step") or None,
                media_url=self.media_url(item.sid, "mp3").rsplit(".", 1)[0],
            )
            if self.keep(rec) is not None:
                log.info("recording %s of call %s fetched (its callback was lost)",
                         rec.sid, call)
                kept += 1
        return not waiting, kept

    def link_waiting(self, now: float) -> int:
        """Recordings whose contact record was not written when they came: linked now."""
        waiting: list[tuple[str, float]] = self.db.zrange(
            keys.recordings_unlinked(), 0, BATCH - 1, withscores=True)
        linked = 0
        for sid, score in waiting:
            rec = self.store.get(sid)
            if rec is not None and self._link(rec):
                linked += 1
            elif rec is not None and now - score / 1000 < LINK_WAIT:
                continue
            self.db.zrem(keys.recordings_unlinked(), sid)
        return linked

    def expire(self, now: float) -> int:
        """Recordings older than the retention: deleted at Twilio, then here, each by the
        one worker that claimed it."""
        deleted = 0
        for sid in self.store.older_than(now - self.store.retention, limit=BATCH):
            if not self._claim(f"delete:{sid}"):
                continue
            try:
                self._delete_at_twilio(sid)
            except TwilioFailed as exc:
                log.warning("recording %s past its retention: %s; tried again later", sid, exc)
                continue  # the claim runs out: another sweep tries again
            self.store.remove(sid)
            deleted += 1
        return deleted
