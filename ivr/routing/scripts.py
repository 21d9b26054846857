"""The routing decisions as Lua scripts, registered once per Redis client.

Each `.lua` file in `lua/` is one decision; `lib.lua` holds the helpers they
share and is prepended to every script before `register_script`, so that a
decision is still ONE atomic script (Redis runs a script without interleaving
any other command: that is what makes double offers impossible).
"""

from __future__ import annotations

from importlib import resources

import redis
from redis.commands.core import Script

NAMES = (
    "enter", "match_caller", "accept", "miss", "caller_gone", "agent_done",
    "wrap_end", "set_status", "set_leg", "upsert", "remove", "overflow", "callback",
    "callback_result", "claim_timers", "timer_done", "unconnect",
)


def _source(name: str) -> str:
    return resources.files("ivr.routing").joinpath("lua", f"{name}.lua").read_text("utf-8")


class Scripts:
    """Every routing script, registered on one client (EVALSHA, falling back to EVAL once)."""

    def __init__(self, store: redis.Redis) -> None:
        lib = _source("lib")
        self.by_name: dict[str, Script] = {
            name: store.register_script(lib + "\n" + _source(name)) for name in NAMES
        }

    def __getitem__(self, name: str) -> Script:
        return self.by_name[name]
