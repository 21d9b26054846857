"""`GET /api/staffing`: agents needed per queue and interval of a typical week, from the
interval reports (admin token, as every /api route). The wallboard's reports view draws
it as a heat map; `ivr staffing --history` prints the same rows."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import Field

from ivr.api.routes import api
from ivr.api.schemas import Open, Strict
from ivr.api.spec import ApiError
from ivr.context import get_flows, get_reporting
from ivr.reports.contacts import iso
from ivr.staffing import history


class StaffingQuery(Strict):
    queue: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="one queue (default: every queue)")
    days: Annotated[int, Field(ge=1, le=366)] = Field(
        28, description="how many full days before today to average")
    interval: Literal["15", "30", "60"] = "30"
    target: Annotated[float, Field(ge=0, le=86_400)] | None = Field(
        None, description="answer-time target in seconds (default: each queue's "
                          "service_level)")
    level: Annotated[float, Field(ge=0.01, le=0.99)] = Field(
        0.8, description="share of calls to answer within the target")
    shrinkage: Annotated[float, Field(ge=0, le=0.95)] = 0.0
    patience: Annotated[float, Field(ge=1, le=86_400)] | None = Field(
        None, description="mean seconds callers hold before giving up: Erlang A")
    format: Literal["json", "csv"] = "json"


class StaffingOut(Open):
    days: int
    interval: int
    model: Literal["erlang_c", "erlang_a"]
    level: float
    target: float | None
    shrinkage: float
    patience: float | None
    columns: list[str]
    rows: list[dict[str, Any]]


@api.route("/staffing", "GET", summary="Agents needed per interval of a typical week",
           tag="history", query=StaffingQuery, response=StaffingOut, errors=(404,), csv=True)
def get_staffing(query: StaffingQuery) -> Any:
    """Per queue, weekday and interval (in the queue's time zone): the mean calls offered
    and handle time of the last `days` full days, and the fewest agents meeting the
    target by Erlang C (Erlang A with `patience`). Intervals without calls are left out.
    docs/staffing.md explains every column."""
    reporting = get_reporting()
    callflows = get_flows().current
    if query.queue is not None and query.queue not in callflows.queues:
        raise ApiError(404, f"no queue named {query.queue!r}")
    targets = history.Targets(target_s=query.target, level=query.level,
                              shrinkage=query.shrinkage, patience_s=query.patience)
    reporting.reports.fold()  # the calls of the last second count too
    try:
        cells = history.typical_week(
            reporting.reports, [query.queue] if query.queue else sorted(callflows.queues),
            targets, days=query.days, interval_min=int(query.interval),
            now=reporting.reports.clock())
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    if query.format == "csv":
        return Response(history.as_csv(cells), mimetype="text/csv", headers={
            "Content-Disposition":
                f'attachment; filename="staffing-{iso(time.time())[:10]}.csv"'})
    return history.as_json(cells, {
        "days": query.days, "interval": int(query.interval),
        "model": "erlang_c" if query.patience is None else "erlang_a",
        "level": query.level, "target": query.target, "shrinkage": query.shrinkage,
        "patience": query.patience})
