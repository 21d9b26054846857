"""`/api/recordings`: list call recordings, play one through the server, delete one.

Access: the admin token for all three; the audio also for the desk session of the agent
who took the call (anyone else's desk session: 403). The audio is fetched from Twilio
with the account's credentials at `TWILIO_API_URL` and streamed on: the browser sees
neither Twilio's URL nor the credentials. A `Range` request is passed to Twilio, and
Twilio's partial answer (206, Content-Range) passed back, so that a player can seek.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

import requests
from flask import Response, request
from pydantic import Field

from ivr.api.actor import actor, desk_allowed
from ivr.api.routes import api
from ivr.api.schemas import Open, Strict
from ivr.api.spec import ApiError
from ivr.recordings import TwilioFailed, get_recordings
from ivr.recordings.service import CHUNK, FORMATS
from ivr.recordings.store import MAX_LIST
from ivr.reports.query import parse_time, parse_zone

Word = Annotated[str, Field(min_length=1, max_length=100)]
TimeArg = Annotated[date | datetime, Field(description=(
    "ISO 8601 date or date-time (UTC unless it says otherwise)"))]
PASSED_ON = ("Content-Length", "Content-Range", "Accept-Ranges")


class RecordingsQuery(Strict):
    call: Word | None = Field(None, description="the customer's CallSid")
    queue: Word | None = None
    agent: Word | None = None
    from_: TimeArg | None = Field(None, alias="from")
    to: TimeArg | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIST)] = 1000


class RecordingOut(Open):
    sid: str = Field(description="Twilio's RecordingSid")
    call: str = Field(description="the customer's CallSid (its contact record's id)")
    queue: str | None
    agent: str | None
    start: float = Field(description="epoch seconds")
    duration: int = Field(description="seconds")
    channels: int
    status: str
    source: Literal["conference", "dial", "call"] = Field(
        description="conference: the customer-agent conference; dial: a dial step; call: "
                    "a recording of the whole call")
    conference: str | None = Field(description="ConferenceSid, for a conference recording")
    step: str | None = Field(None, description="FLOW.STEP of the dial step that made it "
                                               "(a dial recording: queue and agent are null)")


class AudioQuery(Strict):
    format: Literal["mp3", "wav"] = "mp3"


class RecordingDeleted(Open):
    sid: str
    deleted: bool


def _epoch(moment: datetime) -> float:
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        return 0.0 if moment.year < 1970 else 1e11


@api.route("/recordings", "GET", summary="Call recordings, oldest first", tag="recordings",
           query=RecordingsQuery, response=list[RecordingOut])
def list_recordings(query: RecordingsQuery) -> Any:
    """Filter by the customer's call, the queue, the agent and the start time (`from`,
    `to`: UTC unless the time says otherwise). Twilio's media URL is never shown: play a
    recording with `/api/recordings/{sid}/audio`."""
    utc = parse_zone("UTC")
    start = _epoch(parse_time(query.from_, utc)) if query.from_ is not None else None
    end = _epoch(parse_time(query.to, utc, end=True)) if query.to is not None else None
    found = get_recordings().store.find(call=query.call, queue=query.queue,
                                        agent=query.agent, start=start, end=end,
                                        limit=query.limit)
    return [rec.public() for rec in found]


def _content_type(upstream: requests.Response, fmt: str) -> str:
    given = upstream.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if given == "audio/mpeg":
        return given
    if given in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"):
        return "audio/wav"
    return FORMATS[fmt]


@api.route("/recordings/<sid>/audio", "GET", summary="Play a recording (streamed through "
           "this server)", tag="recordings", query=AudioQuery, also=(206,),
           errors=(403, 404, 416, 502), media=("audio/mpeg", "audio/wav"))
@desk_allowed
def recording_audio(sid: str, query: AudioQuery) -> Any:
    """The recording's audio as Twilio keeps it (`format=mp3`, the default, or `wav`),
    fetched with the account's credentials. Send `Range: bytes=...` to get part of it
    (206). The admin token, or the desk session of the agent who took the call."""
    who = actor()
    recordings = get_recordings()
    rec = recordings.store.get(sid)
    if rec is None:
        raise ApiError(404, f"no recording {sid!r}")
    if not who.admin and who.agent != rec.agent:
        raise ApiError(403, "a desk session plays its own agent's calls only")
    try:
        upstream = recordings.open_media(sid, query.format, request.headers.get("Range"))
    except TwilioFailed as exc:
        raise ApiError(502, str(exc)) from exc
    status = upstream.status_code
    if status not in (200, 206):
        upstream.close()
        if status == 404:
            raise ApiError(404, f"recording {sid!r} is no longer at Twilio")
        if status == 416:
            raise ApiError(416, "the range asked for is not in the recording")
        raise ApiError(502, f"Twilio answered {status} for the recording's audio")
    headers = {name: upstream.headers[name] for name in PASSED_ON if name in upstream.headers}
    headers["Cache-Control"] = "private, no-store"
    headers["Content-Disposition"] = f'inline; filename="{sid}.{query.format}"'

    def body() -> Iterator[bytes]:
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()

    return Response(body(), status=status, headers=headers,
                    content_type=_content_type(upstream, query.format),
                    direct_passthrough=True)


@api.route("/recordings/<sid>", "DELETE", summary="Delete a recording, at Twilio and here",
           tag="recordings", response=RecordingDeleted, errors=(404, 502))
def delete_recording(sid: str) -> Any:
    """Deleted at Twilio first (a recording Twilio no longer has counts as deleted), then
    here; its contact record keeps the RecordingSid."""
    try:
        found = get_recordings().delete(sid)
    except TwilioFailed as exc:
        raise ApiError(502, str(exc)) from exc
    if not found:
        raise ApiError(404, f"no recording {sid!r}")
    return {"sid": sid, "deleted": True}
