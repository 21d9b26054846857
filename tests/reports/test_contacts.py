"""The contact store: filters, CSV, late patches, and the retention that bounds memory."""

from __future__ import annotations

import csv
import io

from ivr import keys
from ivr.reports.contacts import CSV_HEADERS, Contact, ContactStore, to_csv
from tests.routing.conftest import Clock

T = 1_790_000_000.0


def contact(n: int, **kw: object) -> Contact:
    base: dict[str, object] = {"id": f"CA{n}", "channel": "voice", "start": T + n * 60,
                               "end": T + n * 60 + 30, "number": f"+1555000{n % 3}"}
    base.update(kw)
    return Contact(**base)  # type: ignore[arg-type]


def test_filters_by_number_queue_agent_and_time(r) -> None:
    store = ContactStore(r, clock=Clock(T + 3600))
    for n in range(6):
        store.put(contact(n, queue="sales" if n % 2 else "support",
                          agents=["alice"] if n < 3 else ["bob", "alice"] if n == 5 else []))
    assert [c.id for c in store.find()] == [f"CA{n}" for n in range(6)]
    assert [c.id for c in store.find(number="+15550001")] == ["CA1", "CA4"]
    assert [c.id for c in store.find(number="whatsapp:+15550001")] == ["CA1", "CA4"]
    assert [c.id for c in store.find(queue="sales")] == ["CA1", "CA3", "CA5"]
    assert [c.id for c in store.find(agent="alice")] == ["CA0", "CA1", "CA2", "CA5"]
    assert [c.id for c in store.find(start=T + 120, end=T + 240)] == ["CA2", "CA3", "CA4"]
    assert [c.id for c in store.find(limit=2)] == ["CA0", "CA1"]
    assert store.get("CA5").agent == "alice"  # type: ignore[union-attr]


def test_csv_parses_with_the_headers_in_order(r) -> None:
    store = ContactStore(r, clock=Clock(T + 3600))
    store.put(contact(1, steps=["main.menu", "main.sales"], notes='said "hi", then, bye',
                      survey=4, survey_scale=5))
    rows = list(csv.reader(io.StringIO(to_csv(store.find()))))
    assert rows[0] == list(CSV_HEADERS)
    got = dict(zip(rows[0], rows[1], strict=True))
    assert got["steps"] == "main.menu main.sales" and got["notes"] == 'said "hi", then, bye'
    assert got["survey"] == "4" and got["wait"] == "" and got["start"].endswith("Z")


def test_late_callback_patches_and_keeps_the_expiry(r) -> None:
    store = ContactStore(r, retention_days=90, clock=Clock(T + 3600))
    store.put(contact(1))
    ttl = r.ttl(keys.contact("CA1"))
    assert 89 * 86_400 < ttl <= 90 * 86_400

    def dispose(c: Contact) -> None:
        c.disposition, c.notes = "sale", "two seats"

    assert store.update("CA1", dispose) is not None
    assert store.get("CA1").disposition == "sale"  # type: ignore[union-attr]
    assert r.ttl(keys.contact("CA1")) > 89 * 86_400
    assert store.update("CA404", dispose) is None


def test_retention_drops_old_records_and_their_index(r) -> None:
    clock = Clock(T)
    store = ContactStore(r, retention_days=1, clock=clock)
    store.put(contact(1))
    clock.advance(2 * 86_400)
    store.put(contact(2, start=clock(), end=clock() + 10))
    assert r.zrange(keys.contacts_by_time(), 0, -1) == ["CA2"]  # the index was trimmed
    # the record itself expires by its TTL, counted from its end
    assert store.ttl(contact(1)) == 60  # (long past: the least)
