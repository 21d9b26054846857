"""The layout of routing keys each script is given, and the context it runs in.

Every routing script gets the same fixed keys (KEYS[1..8], and the phone book
as KEYS[9] for the scripts that change the roster) and then the free
sets, logged-in sets and waiting-line buckets it needs, with a JSON map
(ARGV[4]) telling lib.lua which KEYS index is which, so no key name is ever
built or parsed in Lua and every key is declared (Redis Cluster). This module
owns that map, the per-worker cache of every skill and bucket it is built
from, and the context JSON (ARGV[2]: today's date per queue, bounds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from ivr import keys
from ivr.routing.env import Env

Scope = Literal["all", "queue", "agent", "none"]

EVENTS_MAXLEN = 100_000
SCAN = 32  # strategies other than longest-idle rank the first SCAN eligible free agents
SCAN_MAX = 2000  # a single decision never examines more entries than this
RING_ALL_MAX = 25  # ring-all rings at most this many agents at once
RING_GRACE = 15  # seconds past ring_timeout before the safety-net timer ends an offer
ON_CALL_CHECK = 300  # seconds between checks that an on-call agent's call still exists
KEEP_FINISHED = 3600  # seconds a finished caller's record stays (late webhooks, the API)
UNIVERSE_SECONDS = 1.0  # how stale a worker's list of skills and buckets may be

FIXED = ("agents", "callers", "timers", "events", "stats", "aht", "buckets", "skills")


def bucket_name(queue: str, skills: Iterable[str], level: int) -> str:
    """A waiting-line bucket: the queue and the requirements (as lib.lua's bucket())."""
    return f"{queue}#{','.join(sorted(skills))}/{level}"


def can_serve(skills: dict[str, int], bucket: str) -> bool:
    """Does an agent with these skills meet a bucket's requirements (as lib.lua's eligible)?"""
    needs, level = bucket.split("#", 1)[1].rsplit("/", 1)
    return all(skills.get(n, 0) >= int(level) for n in needs.split(",") if n)


class KeyLayout:
    """Builds (and caches) the KEYS and layout JSON of each kind of decision."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self._universe: tuple[float, list[str], list[str], list[str]] = (0.0, [], [], [])
        self._layouts: dict[Any, tuple[list[str], str]] = {}
        self._ctx_cache: tuple[float, str] = (0.0, "")

    # --- every skill, queue and bucket ------------------------------------------

    def universe(self) -> tuple[list[str], list[str], list[str]]:
        """(skills, queues, buckets), read from Redis at most once a second per worker."""
        stamp, skills, queues, buckets = self._universe
        if time.monotonic() - stamp < UNIVERSE_SECONDS:
            return skills, queues, buckets
        pipe = self.env.db.pipeline(transaction=False)
        pipe.smembers(keys.acd("skills"))
        pipe.hkeys(keys.acd("buckets"))
        got_skills, got_buckets = pipe.execute()
        skills = sorted(set(got_skills))
        buckets = sorted(got_buckets)
        queues = sorted({b.split("#", 1)[0] for b in buckets} | set(self.env.config().queues))
        if (skills, buckets) != (self._universe[1], self._universe[3]):
            self._layouts.clear()
        self._universe = (time.monotonic(), skills, queues, buckets)
        return skills, queues, buckets

    def skills(self) -> list[str]:
        return self.universe()[0]

    def queues(self) -> list[str]:
        """Every queue: those of queues.yaml and any that still has a waiting line."""
        return self.universe()[1]

    def forget(self) -> None:
        """Read the lists again at the next decision (this worker registered something)."""
        self._universe = (0.0, [], [], [])
        self._ctx_cache = (0.0, "")

    def buckets_of(self, queue: str) -> list[str]:
        """Wait-line keys of one queue (one per set of requirements its callers have)."""
        return [keys.acd("wait", b) for b in self.universe()[2] if b.split("#", 1)[0] == queue]

    def register_buckets(self, needed: set[str]) -> None:
        """Declare waiting lines before a caller may use them (see lib.lua: STALE)."""
        if not needed <= set(self.universe()[2]):
            self.env.db.hset(keys.acd("buckets"), mapping=dict.fromkeys(needed, 1))
            self.forget()

    def register_skills(self, skills: Iterable[str]) -> None:
        """Declare an agent's skills before the agent is indexed under them."""
        mine = set(skills)
        if mine:
            self.env.db.sadd(keys.acd("skills"), *mine)
            if not mine <= set(self.skills()):
                self.forget()

    # --- a script's keys ------------------------------------------------------

    def keys(
        self, scope: Scope = "all", queue: str | None = None, skills: Iterable[str] = (),
        agent_skills: dict[str, int] | None = None, *, phones: bool = False,
    ) -> tuple[list[str], str]:
        """KEYS for a script and the layout JSON (ARGV[4]) telling lib.lua which KEYS index
        is which free set, logged-in set and bucket.

        scope "all": every skill and bucket (any script that may match an agent against
        every queue); "queue": one queue's buckets and the given skills (a caller entering);
        "none": the fixed keys only (scripts that touch no set or line); "agent": the lines
        one agent can serve and the agent's skills (an agent-side match for that agent
        only; every bucket still counts for the STALE check). `phones`: the phone book too
        (KEYS[9]), for scripts that add, change or remove agents."""
        all_skills, _, buckets = self.universe()
        mine = agent_skills or {}
        cache_key = (scope, queue, tuple(sorted(skills)), tuple(sorted(mine.items())), phones)
        cached = self._layouts.get(cache_key)
        if cached is not None:
            return cached
        out = [keys.acd(name) for name in FIXED]
        if phones:
            out.append(keys.acd("phones", "all"))
        names: list[str] = []
        lines: list[str] = []
        if scope == "all":
            names, lines = ["*", *all_skills], buckets
        elif scope == "queue":
            names = ["*", *sorted(set(skills))]
            lines = [b for b in buckets if b.split("#", 1)[0] == queue]
        elif scope == "agent":
            names = ["*", *sorted(mine)]
            lines = [b for b in buckets if can_serve(mine, b)]
        layout: dict[str, Any] = {"free": {}, "on": {}, "wait": {},
                                  "phones": len(out) if phones else 0,
                                  "nwait": len(buckets) if scope in ("all", "agent") else -1,
                                  "nskills": len(all_skills) if scope == "all" else -1}
        for kind in ("free", "on"):
            for name in names:
                out.append(keys.acd(kind, name))
                layout[kind][name] = len(out)  # Lua's KEYS are 1-based
        for name in lines:
            out.append(keys.acd("wait", name))
            needs, level = name.split("#", 1)[1].rsplit("/", 1)
            layout["wait"][name] = [len(out), [n for n in needs.split(",") if n], int(level)]
        built = (out, json.dumps(layout))
        self._layouts[cache_key] = built
        return built

    def context(self) -> str:
        """The context JSON (ARGV[2]); rebuilt at most once a second (dates change daily)."""
        now = self.env.clock()
        stamp, cached = self._ctx_cache
        if cached and 0 <= now - stamp < 1.0:
            return cached
        built = json.dumps({
            "dates": {q: self.env.today(q) for q in self.queues()},
            "day": datetime.fromtimestamp(now, UTC).date().isoformat(),
            "maxlen": EVENTS_MAXLEN,
            "scan": SCAN,
            "scanmax": SCAN_MAX,
            "ringall": RING_ALL_MAX,
            "grace": RING_GRACE,
            "keep": KEEP_FINISHED,
            "check": ON_CALL_CHECK,
        })
        self._ctx_cache = (now, built)
        return built
