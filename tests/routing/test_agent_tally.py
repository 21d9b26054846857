"""Agents by status and state per queue, counted from one pass over the roster."""

from __future__ import annotations

import random

from ivr.routing.records import STATES, STATUSES, AgentRecord
from ivr.routing.statistics import AgentTally


def _agent(n: int, skills: dict[str, int], status: str, state: str) -> AgentRecord:
    return AgentRecord(id=f"a{n}", name=f"a{n}", phone="", skills=skills, pin="", source="yaml",
                       status=status, state=state, status_since_ms=0, state_since_ms=0,
                       calls=0, talk=0, missed=0, day="", offer=None, leg="", gone=False)


def _walk_every_agent(agents: list[AgentRecord],
                      needs: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The plain definition: every agent who has all the queue's skills at level 1 or more."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_state = dict.fromkeys(STATES, 0)
    for a in agents:
        if all(a.skills.get(s, 0) >= 1 for s in needs):
            by_status[a.status] += 1
            if a.status != "offline" or a.state != "idle":
                by_state[a.state] += 1
    return by_status, by_state


def test_tally_equals_walking_every_agent_for_every_queue() -> None:
    rng = random.Random(5)
    skills = [f"s{i}" for i in range(8)]
    agents = [
        _agent(n, {s: rng.choice([0, 1, 3]) for s in rng.sample(skills, rng.randint(0, 3))},
               rng.choice(STATUSES), rng.choice(STATES))
        for n in range(300)
    ]
    tally = AgentTally(agents)
    queues = [[], ["s0"], ["s1", "s2"], ["s2", "s1"], ["s3", "s4", "s5"], ["nobody"]]
    for needs in queues:
        assert tally.counts(needs) == _walk_every_agent(agents, needs), needs
    # a level-0 skill does not count, and the answers are copies (callers may change them)
    assert tally.counts(["nobody"])[0] == dict.fromkeys(STATUSES, 0)
    first = tally.counts(["s0"])[0]
    first["available"] += 100
    assert tally.counts(["s0"]) == _walk_every_agent(agents, ["s0"])
