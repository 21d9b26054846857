"""No double assignment under concurrent decisions from many threads (one Redis)."""

from __future__ import annotations

import random
import threading
from collections import Counter

from tests.routing.conftest import agents_of, enqueue
from tests.routing.test_matching import token_of


def test_concurrent_matches_never_double_assign(make_router, twilio):
    routers = [make_router({"sales": {"skills": ["sales"]}}, agents_of(20)) for _ in range(6)]
    routers[0].sync_roster()
    sids = [f"CA{i:04d}" for i in range(200)]
    agents = [f"a{i:02d}" for i in range(20)]
    # half the agents come in while callers arrive; they start on break so nobody overflows
    for aid in agents:
        routers[0].set_agent_status(aid, "break", source="test")
    work = [("caller", s) for s in sids] + [("agent", a) for a in agents]
    random.Random(4).shuffle(work)
    chunks = [work[i::6] for i in range(6)]

    def run(router, chunk):
        for kind, name in chunk:
            if kind == "caller":
                enqueue(router, name)
            else:
                router.set_agent_status(name, "available", source="test")

    threads = [threading.Thread(target=run, args=(routers[i], chunks[i])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    offers = [token_of(p.url) for p in twilio.placed]
    per_agent = Counter(aid for aid, _ in offers)
    per_caller = Counter(tok.split(".")[0] for _, tok in offers)
    assert len(offers) == 20
    assert max(per_agent.values()) == 1 and len(per_agent) == 20
    assert max(per_caller.values()) == 1
    events = routers[0].events(count=10_000)
    assert Counter(e["type"] for e in events)["offer"] == 20
    # now everyone answers and hangs up concurrently: each frees and takes the next caller
    def answer(router, pair):
        aid, token = pair
        router.accept(aid, token)
        router.agent_leg_status(aid, token, "completed")

    threads = [threading.Thread(target=answer, args=(routers[i % 6], p))
               for i, p in enumerate(offers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = routers[0].queue_stats("sales")
    assert stats["answered"] == 20 and stats["agents_by_state"]["wrap-up"] == 20


def test_a_worker_with_stale_skill_lists_reloads_them(make_router, twilio):
    worker_a = make_router({"q": {"skills": ["french"]}}, agents_of(1))
    worker_b = make_router({"q": {"skills": ["french"]}}, agents_of(1))
    worker_a.sync_roster()
    worker_a.layout.universe()  # cached for a second: no "french" in it yet
    from ivr.flows.model import AgentConfig
    worker_b.upsert_agent(AgentConfig(id="fr", name="Fr", phone="+15005567777",
                                      skills={"french": 2}))
    worker_a.set_agent_status("fr", "available", source="test")  # indexes under french
    enqueue(worker_a, "CA1", "q")
    assert [p.to for p in twilio.placed] == ["+15005567777"]
