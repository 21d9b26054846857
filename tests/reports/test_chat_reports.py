"""Text conversations with agents in the interval reports: the `chat_*` events folded into
counters of their own (JSON fields computed by hand), the CSV columns and every call
figure unchanged by them, and a rebuild from the event log equal to the live counters."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from ivr.reports.intervals import (
    AGENT_CHAT_FIELDS,
    AGENT_COLUMNS,
    QUEUE_CHAT_FIELDS,
    QUEUE_COLUMNS,
    agent_row,
    queue_row,
)
from ivr.reports.query import csv_text, run_report
from ivr.reports.tally import AGENT_ALL, QUEUE_ALL
from tests.reports.chatlog import play_chats
from tests.reports.test_intervals import QUEUES, play_day
from tests.routing.conftest import agents_of

CHAT_QUEUES = {**QUEUES, "support": {"service_level": 20}}


def day_row(reports: Any, router: Any, clock: Any, **who: str | None) -> dict[str, Any]:
    answer = run_report(reports, router.callflows(), queue=who.get("queue"),
                        agent=who.get("agent"), start=None, end=None, interval="day",
                        tz=None, now=clock())
    assert len(answer["rows"]) == 1
    return answer["rows"][0]


@pytest.mark.parametrize("transfer_handle", [True, False])
def test_chats_are_counted_per_queue_and_agent(setup, twilio, clock, r,
                                               transfer_handle) -> None:
    router, reports = setup(CHAT_QUEUES, agents_of(2))
    play_chats(r, clock, transfer_handle=transfer_handle)
    assert reports.fold() > 0
    sales = day_row(reports, router, clock, queue="sales")
    assert {k: sales[k] for k in QUEUE_CHAT_FIELDS} == {
        "chats_offered": 7, "chats_handled": 3, "chats_abandoned": 2,  # ch-3, ch-6 (STOP)
        "chats_overflowed": 1, "chats_callbacks": 1, "chat_transfers_out": 1,
        "chat_frt": 16.0,    # (12 + 20) / 2
        "chat_aht": 121.67,  # (200 + 100 + 50 + 15) / 3 parts
        "chat_surveys": 0, "chat_csat": None}
    support = day_row(reports, router, clock, queue="support")
    assert {k: support[k] for k in ("chats_offered", "chats_handled", "chats_abandoned",
                                    "chat_frt", "chat_aht")} == {
        "chats_offered": 1, "chats_handled": 1, "chats_abandoned": 0,  # the transfer
        "chat_frt": 6.0, "chat_aht": 65.0}
    a00 = day_row(reports, router, clock, agent="a00")
    assert {k: a00[k] for k in AGENT_CHAT_FIELDS} == {
        "chats_handled": 2, "chats_missed": 1, "chat_transfers_out": 1, "chat_frt": 20.0,
        "chat_aht": 75.0, "chat_surveys": 0, "chat_csat": None}  # (100 + 50) / 2
    a01 = day_row(reports, router, clock, agent="a01")
    assert (a01["chats_handled"], a01["chats_missed"], a01["chat_frt"], a01["chat_aht"]) == \
        (2, 0, 9.0, 140.0)  # (200 + 60 + 15 + 5) / 2
    # a chat is not a call: nothing of it in the call columns
    for row, columns in ((sales, QUEUE_COLUMNS), (support, QUEUE_COLUMNS),
                         (a00, AGENT_COLUMNS), (a01, AGENT_COLUMNS)):
        assert not any(row[c] for c in columns[2:] if c != "occupancy"), row
    # the day totals (wallboard, daily rows) and the quarters agree
    assert reports.today(["sales"])["sales"]["chats_abandoned"] == 2
    assert reports.stored() == reports.rebuild()


def test_call_figures_and_csv_do_not_move_because_of_chats(setup, twilio, clock, r) -> None:
    router, reports = setup(CHAT_QUEUES, agents_of(2))
    play_day(router, twilio, clock)
    reports.fold()
    before_q = day_row(reports, router, clock, queue="sales")
    before_a = day_row(reports, router, clock, agent="a00")
    play_chats(r, clock)
    reports.fold()
    after_q = day_row(reports, router, clock, queue="sales")
    after_a = day_row(reports, router, clock, agent="a00")
    assert {c: after_q[c] for c in QUEUE_COLUMNS} == {c: before_q[c] for c in QUEUE_COLUMNS}
    assert {c: after_a[c] for c in AGENT_COLUMNS} == {c: before_a[c] for c in AGENT_COLUMNS}
    assert after_q["offered"] == 6 and after_q["chats_offered"] == 7
    # the CSV has exactly the documented columns, in order
    answer = run_report(reports, router.callflows(), queue="sales", agent=None, start=None,
                        end=None, interval="day", tz=None, now=clock())
    assert answer["columns"] == list(QUEUE_COLUMNS)
    table = list(csv.reader(io.StringIO(csv_text(answer["columns"], answer["rows"]))))
    assert table[0] == list(QUEUE_COLUMNS) and len(table[1]) == len(QUEUE_COLUMNS)
    # JSON rows: the call columns first, then the chat fields
    assert tuple(after_q) == QUEUE_COLUMNS + QUEUE_CHAT_FIELDS
    assert tuple(after_a) == AGENT_COLUMNS + AGENT_CHAT_FIELDS
    assert reports.stored() == reports.rebuild()


def test_chat_fields_with_nothing_to_divide_by_are_none() -> None:
    q = queue_row(dict.fromkeys(QUEUE_ALL, 0))
    a = agent_row(dict.fromkeys(AGENT_ALL, 0))
    assert (q["chat_frt"], q["chat_aht"], q["chat_csat"]) == (None, None, None)
    assert (a["chat_frt"], a["chat_aht"], a["chat_csat"]) == (None, None, None)
    # counters of calls only (no chat counter kept yet) read as zero chats
    assert queue_row({"offered": 1})["chats_offered"] == 0
