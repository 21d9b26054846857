"""Redis memory per contact record, and what a retention window of them costs.

    python bench/contacts_memory.py [--records 20000]

Runs against REDIS_URL when set (use a database of its own: the bench flushes
it), else an embedded server in a temporary directory. It writes realistic
records through `ContactStore.put` (a served call with steps, an agent, a
survey; a few with notes) and reports INFO used_memory before and after,
divided by the records: the record itself, its key, its expiry and its entry
in the time index. The interval counters are measured too: one busy queue and
agent day (96 quarter hours, every counter set).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import keys  # noqa: E402
from ivr.reports.contacts import Contact, ContactStore  # noqa: E402
from ivr.reports.tally import AGENT_COUNTERS, QUEUE_COUNTERS, SLOT_MS  # noqa: E402
from ivr.store import EmbeddedRedis, connect  # noqa: E402

STEPS = ["main.welcome", "main.office_hours", "main.main_menu", "main.sales", "main.rate",
         "main.goodbye"]


def record(i: int, now: float) -> Contact:
    start = now - random.uniform(0, 86_400)
    served = random.random() < 0.8
    return Contact(
        id=f"CA{i:032x}", channel="voice" if i % 10 else "sms", start=start,
        end=start + random.uniform(30, 600), number=f"+1415555{i % 10_000:04d}",
        service_number="+15005550006", flow="main",
        steps=STEPS if served else STEPS[:4], queue="sales",
        wait=random.randint(0, 120), agents=[f"agent{i % 50:02d}"] if served else [],
        talk=random.randint(30, 500) if served else 0, wrap=30 if served else 0,
        outcome="connected" if served else "abandoned",
        disposition="sale" if served and i % 3 == 0 else None,
        notes="Customer asked about the renewal price." if i % 7 == 0 else None,
        survey=random.randint(1, 5) if served and i % 4 == 0 else None,
        survey_scale=5 if served and i % 4 == 0 else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
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
    now = 1_800_000_000.0
    store = ContactStore(db, retention_days=90, clock=lambda: now)
    before = int(db.info("memory")["used_memory"])
    pipe = db.pipeline(transaction=False)
    for i in range(args.records):
        store.put(record(i, now), pipe)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    after = int(db.info("memory")["used_memory"])
    per = (after - before) / args.records
    sample = db.memory_usage(keys.contact(f"CA{1:032x}")) or 0
    json_len = len(db.get(keys.contact(f"CA{1:032x}")) or "")
    print(f"{args.records:,} contact records: used_memory {before / 1e6:.1f} MB -> "
          f"{after / 1e6:.1f} MB, {per:,.0f} bytes per record "
          f"(one served call's key: MEMORY USAGE {sample} bytes, JSON {json_len} bytes)")
    calls_per_day = 10_000
    print(f"90 days at {calls_per_day:,} contacts a day: "
          f"{per * calls_per_day * 90 / 1e9:.2f} GB")

    before = int(db.info("memory")["used_memory"])
    day0 = int(now * 1000) // SLOT_MS // 96 * 96
    for scope, name, counters in (("q", "sales", QUEUE_COUNTERS), ("a", "agent00", AGENT_COUNTERS)):
        key = keys.report_slots(scope, name, "2027-01-15")
        db.hset(key, mapping={f"{day0 + s}:{c}": random.randint(1, 5000)
                              for s in range(96) for c in counters})
    after = int(db.info("memory")["used_memory"])
    print(f"interval counters of one queue day and one agent day, every counter set: "
          f"{(after - before) / 1e3:.1f} KB")
    db.flushdb()
    db.close()
    if tmp is not None:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
