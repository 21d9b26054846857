"""How long a long interval report takes: 90 days of 50 queues, by day and by quarter hour.

    python bench/reports.py [--queues 50] [--days 90] [--runs 3] [--digest]

`--digest` instead prints a SHA-256 of each report's JSON and CSV (queues by 15, 30, 60
minutes and day, in UTC and in a zone with a DST change, and an agent report), over
fuller counters at a fixed clock: equal digests before and after a change to the report
code mean byte-identical output.

Runs against REDIS_URL when set (use a database of its own: the bench flushes
it), else an embedded server in a temporary directory. Each queue gets a busy
day's counters on every day (40 quarter hours, 09:00-19:00 UTC, nine counters
each, and the day's totals), written straight into the interval hashes; then `run_report` (what
`GET /api/reports` and `ivr report` call, without the HTTP and JSON around
it) reads all queues, and one queue, by day and by quarter hour.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import keys  # noqa: E402
from ivr.flows.model import AgentConfig, Callflows, QueueConfig  # noqa: E402
from ivr.reports.contacts import ContactStore  # noqa: E402
from ivr.reports.intervals import Reports  # noqa: E402
from ivr.reports.query import csv_text, run_report  # noqa: E402
from ivr.reports.tally import SLOT_MS  # noqa: E402
from ivr.store import EmbeddedRedis, connect  # noqa: E402

COUNTERS = ("offered", "answered", "abandoned", "answered_in_sl", "wait_answered", "handled",
            "talk", "wrap", "longest_wait")
# --digest: every counter, so that every column (hold, surveys, CSAT...) has figures
ALL_COUNTERS = (*COUNTERS, "short_abandoned", "overflowed", "callbacks", "hold",
                "transfers_out", "surveys", "survey_total")
AGENT_COUNTERS = ("handled", "talk", "hold", "wrap", "available_ms", "missed",
                  "transfers_out", "surveys", "survey_total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--digest", action="store_true",
                        help="print digests of the reports' JSON and CSV, not times")
    args = parser.parse_args()
    random.seed(7)
    tmp = None
    url = os.environ.get("REDIS_URL")
    if not url:
        tmp = tempfile.TemporaryDirectory()
        server = EmbeddedRedis(Path(tmp.name))
        url = server.start()
    db = connect(url)
    db.flushdb()
    now = 1_796_212_800.0 if args.digest else time.time()  # 2026-12-02 12:00 UTC
    counters = ALL_COUNTERS if args.digest else COUNTERS
    queues = {f"q{i:02d}": QueueConfig(name=f"q{i:02d}") for i in range(args.queues)}
    agents = {f"a{i}": AgentConfig(id=f"a{i}", name=f"a{i}", phone="") for i in range(3)} \
        if args.digest else {}
    flows = Callflows(flows={}, queues=queues, agents=agents)
    reports = Reports(db, lambda: flows, ContactStore(db, clock=lambda: now),
                      clock=lambda: now)
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0,
                                                     microsecond=0)
    for name in queues:
        pipe = db.pipeline(transaction=False)
        for d in range(args.days + 1):
            day = today - timedelta(days=d)
            first = int(day.timestamp() * 1000) // SLOT_MS
            quarters = {(first + s, c): random.randint(1, 50) for s in range(36, 76)
                        for c in counters}
            pipe.hset(keys.report_slots("q", name, day.date().isoformat()),
                      mapping={f"{s}:{c}": v for (s, c), v in quarters.items()})
            totals = {c: sum(v for (_, k), v in quarters.items() if k == c) for c in counters}
            totals["longest_wait"] = max(v for (_, k), v in quarters.items()
                                         if k == "longest_wait")
            ordinal = day.date().toordinal()
            pipe.hset(keys.report_slots("d", name, day.date().isoformat()),
                      mapping={f"{ordinal}:{c}": v for c, v in totals.items()})
        pipe.execute()
    for name in agents:
        pipe = db.pipeline(transaction=False)
        for d in range(args.days + 1):
            day = today - timedelta(days=d)
            first = int(day.timestamp() * 1000) // SLOT_MS
            pipe.hset(keys.report_slots("a", name, day.date().isoformat()),
                      mapping={f"{first + s}:{c}": random.randint(0, 900)
                               for s in range(30, 80, 3) for c in AGENT_COUNTERS})
        pipe.execute()
    start = (today - timedelta(days=args.days - 1)).date().isoformat()
    end = today.date().isoformat()
    if args.digest:
        for queue, agent, interval, tz in (
                *((None, None, i, None) for i in ("15", "30", "60", "day")),
                *((None, None, i, "America/New_York") for i in ("15", "60", "day")),
                ("q01", None, "15", "Asia/Kolkata"), (None, "*", "60", None),
                (None, "a1", "15", "America/New_York")):
            answer = run_report(reports, flows, queue=queue, agent=agent, start=start,
                                end=end, interval=interval, tz=tz, now=now)
            digest = hashlib.sha256(json.dumps(answer).encode()).hexdigest()[:16]
            table = hashlib.sha256(csv_text(answer["columns"], answer["rows"]).encode())
            print(f"  queue={queue} agent={agent} interval={interval} tz={tz}: "
                  f"{len(answer['rows']):,} rows, json {digest}, "
                  f"csv {table.hexdigest()[:16]}")
    else:
        print(f"{args.queues} queues x {args.days} days, 40 busy quarters a day "
              f"({args.runs} runs each, median):")
        for queue, interval in ((None, "day"), (None, "60"), (None, "15"), ("q00", "15")):
            times: list[float] = []
            rows = 0
            for _ in range(args.runs):
                t = time.perf_counter()
                answer = run_report(reports, flows, queue=queue, agent=None, start=start,
                                    end=end, interval=interval, tz=None, now=now)
                times.append(time.perf_counter() - t)
                rows = len(answer["rows"])
            who = queue or f"all {args.queues} queues"
            print(f"  {who}, interval {interval}: {rows:,} rows in "
                  f"{statistics.median(times):.2f} s")
    db.flushdb()
    db.close()
    if tmp is not None:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
