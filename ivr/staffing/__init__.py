"""Staffing: how many agents an interval's calls need (Erlang C, Erlang A)."""

from ivr.staffing.erlang import (
    Performance,
    Staffing,
    erlang_a_performance,
    erlang_b,
    erlang_c,
    erlang_c_performance,
    performance,
    required_agents,
    rostered,
    traffic_of,
)

__all__ = [
    "Performance",
    "Staffing",
    "erlang_a_performance",
    "erlang_b",
    "erlang_c",
    "erlang_c_performance",
    "performance",
    "required_agents",
    "rostered",
    "traffic_of",
]
