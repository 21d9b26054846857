"""`GET /api/contacts` and `GET /api/reports`: history as JSON or CSV (admin token, as
every /api route: the blueprint's guard in routes.py applies)."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import Field

from ivr.api.routes import api
from ivr.api.schemas import Open, Strict
from ivr.api.spec import ApiError
from ivr.context import get_flows, get_redis, get_reporting, get_router
from ivr.reports import abandoned
from ivr.reports.contacts import MAX_LIST, Contact, iso, to_csv
from ivr.reports.query import QueryError, csv_text, parse_time, run_report
from ivr.reports.query import parse_zone as _zone

Word = Annotated[str, Field(min_length=1, max_length=100)]
TimeArg = Annotated[date | datetime, Field(description=(
    "ISO 8601 date or date-time (without an offset: the report's time zone)"))]


class ContactsQuery(Strict):
    number: Word | None = None
    queue: Word | None = None
    agent: Word | None = None
    from_: TimeArg | None = Field(None, alias="from")
    to: TimeArg | None = None
    format: Literal["json", "csv"] = "json"
    limit: Annotated[int, Field(ge=1, le=MAX_LIST)] = 1000


class ContactOut(Open):
    id: str
    channel: str
    start: float
    end: float
    number: str
    service_number: str
    flow: str
    steps: list[str]
    queue: str | None
    wait: int | None
    agents: list[str]
    transfers: int
    talk: int
    hold: int
    wrap: int
    outcome: str
    disposition: str | None
    notes: str | None
    survey: int | None
    survey_scale: int | None
    survey_at: float | None
    recording: str | None


class ReportsQuery(Strict):
    queue: Word | None = None
    agent: Word | None = Field(None, description="an agent id, or * for every agent: the "
                                                 "agent report (else the queue report)")
    from_: TimeArg | None = Field(None, alias="from")
    to: TimeArg | None = None
    interval: Literal["15", "30", "60", "day"] = "60"
    format: Literal["json", "csv"] = "json"


class ReportOut(Open):
    report: Literal["queue", "agent"]
    interval: str
    timezone: str
    from_: str = Field(alias="from")
    to: str
    columns: list[str]
    rows: list[dict[str, Any]]


def _epoch(moment: datetime) -> float:
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        return 0.0 if moment.year < 1970 else 1e11


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@api.route("/contacts", "GET", summary="Contact records: one per call and text conversation",
           tag="history", query=ContactsQuery, response=list[ContactOut], csv=True)
def list_contacts(query: ContactsQuery) -> Any:
    """Oldest first; filter by the customer's number, the queue, an agent who served them,
    and the start time (`from`, `to`: UTC unless the time says otherwise). `format=csv`
    answers a spreadsheet's CSV."""
    utc = _zone("UTC")
    start = _epoch(parse_time(query.from_, utc)) if query.from_ is not None else None
    end = _epoch(parse_time(query.to, utc, end=True)) if query.to is not None else None
    contacts = get_reporting().contacts.find(number=query.number, queue=query.queue,
                                             agent=query.agent, start=start, end=end,
                                             limit=query.limit)
    if query.format == "csv":
        return _csv(to_csv(contacts), "contacts")
    return [c.__dict__ for c in contacts]


@api.route("/reports", "GET", summary="Interval reports per queue or per agent",
           tag="history", query=ReportsQuery, response=ReportOut, errors=(404,), csv=True)
def get_report(query: ReportsQuery) -> Any:
    """Per queue (default) or per agent (`agent=`), over 15, 30 or 60 minutes or days in
    the queue's time zone, from `from` (default: today's midnight) to `to` (default: a day
    later). docs/reports.md defines every column."""
    reporting = get_reporting()
    try:
        answer = run_report(reporting.reports, get_flows().current, queue=query.queue,
                            agent=query.agent, start=query.from_, end=query.to,
                            interval=query.interval, tz=None,
                            now=reporting.reports.clock())
    except QueryError as exc:
        raise ApiError(422, str(exc)) from exc
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    if query.format == "csv":
        return _csv(csv_text(answer["columns"], answer["rows"]),
                    f"{answer['report']}-report-{iso(time.time())[:10]}")
    return answer


# --- today's abandoned callers ----------------------------------------------------------


class AbandonedOut(Open):
    id: str = Field(description="the abandoned call's CallSid (its contact record)")
    number: str
    queue: str
    service_number: str
    at: float = Field(description="when they hung up (epoch seconds)")
    wait: int | None
    short: bool = Field(description="hung up sooner than the queue's short_abandon")
    reached: bool = Field(description="a later call or callback of theirs got through today")
    callback: float | str | None = Field(
        description="when a callback was asked from the wallboard (epoch seconds)")


class CallbackOut(Open):
    id: str
    queue: str
    position: int


@api.route("/abandoned", "GET", summary="Today's abandoned callers, newest first",
           tag="history", response=list[AbandonedOut])
def list_abandoned() -> Any:
    """Callers who hung up while waiting in a queue today (each queue's own day), whether
    they got through later, and whether a callback was asked for them."""
    reporting = get_reporting()
    return abandoned.abandoned_today(reporting.contacts, get_flows().current, get_redis(),
                                     reporting.reports.clock())


@api.route("/abandoned/<contact_id>/callback", "POST",
           summary="Call an abandoned caller back, keeping their original place in line",
           tag="history", response=CallbackOut, errors=(404, 409, 422))
def call_back_abandoned(contact_id: str) -> Any:
    """Queues a callback in the caller's queue with their original arrival time, so it is
    offered before callers who came after them; an agent's phone rings with the whisper
    "callback", as for a caller who pressed 1. Once per abandoned call (409 after)."""
    reporting = get_reporting()
    contact = reporting.contacts.get(contact_id)
    if contact is None or contact.outcome != "abandoned" or not contact.queue:
        raise ApiError(404, f"no abandoned call {contact_id!r}")
    queue = contact.queue
    if queue not in get_flows().current.queues:
        raise ApiError(422, f"queue {queue!r} is no longer in queues.yaml")
    router = get_router()

    def request(c: Contact, entered_ms: int) -> int:
        return router.request_callback(c.number, queue=queue, service_number=c.service_number,
                                       channel="wallboard", entered_ms=entered_ms)

    try:
        position = abandoned.call_back(contact, get_redis(), request,
                                       now=reporting.reports.clock())
    except abandoned.AlreadyCalledBack as exc:
        raise ApiError(409, f"a callback was already asked for {contact_id!r}") from exc
    return {"id": contact_id, "queue": queue, "position": position}
