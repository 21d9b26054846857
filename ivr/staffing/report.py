"""The what-if day as a planner reads it: a table, CSV, JSON, and a chart.

Each row is one interval of one queue: what the simulated routing gave
(offered, answered, abandoned, overflowed, service level, average speed of
answer, occupancy) beside what Erlang C — Erlang A when the forecast gives a
patience — predicts for the same calls and the agents on shift who have the
queue's skills. A "day" row per queue sums the intervals.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ivr.staffing.whatif import Cell

COLUMNS = (
    "interval_start", "queue", "forecast_calls", "offered", "answered", "abandoned",
    "overflowed", "callbacks", "called_back", "callback_failed", "service_level", "asa_s",
    "occupancy", "agents", "erlang_model",
    "erlang_agents", "erlang_service_level", "erlang_asa_s", "erlang_occupancy",
    "erlang_abandoned",
)


def day_rows(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """One summary row per queue: counts summed, ratios over the whole day, Erlang's
    figures weighted by the forecast calls of each interval."""
    out = []
    for queue in sorted({c.queue for c in cells}):
        mine = [c for c in cells if c.queue == queue]
        offered = sum(c.offered for c in mine)
        answered = sum(c.answered for c in mine)
        staffed = sum(c.staffed_s for c in mine)
        calls = sum(c.forecast_calls for c in mine)

        def weighted(name: str, cells_: list[Cell] = mine, total: float = calls) -> Any:
            values = [(c.forecast_calls, c.erlang.get(name)) for c in cells_]
            if total <= 0 or any(v is None for _, v in values):
                return None
            return sum(float(w) * float(v or 0.0) for w, v in values) / total

        out.append({
            "interval_start": "day", "queue": queue, "forecast_calls": calls,
            "offered": offered, "answered": answered,
            "abandoned": sum(c.abandoned for c in mine),
            "overflowed": sum(c.overflowed for c in mine),
            "callbacks": sum(c.callbacks for c in mine),
            "called_back": sum(c.called_back for c in mine),
            "callback_failed": sum(c.callback_failed for c in mine),
            "service_level": sum(c.answered_in_target for c in mine) / offered
            if offered else None,
            "asa_s": sum(c.wait_sum for c in mine) / answered if answered else None,
            "occupancy": min(1.0, sum(c.busy_s for c in mine) / staffed) if staffed else None,
            "agents": round(sum(c.agents for c in mine) / len(mine), 2),
            "erlang_model": mine[0].erlang.get("erlang_model"),
            "erlang_agents": None,
            "erlang_service_level": weighted("erlang_service_level"),
            "erlang_asa_s": weighted("erlang_asa_s"),
            "erlang_occupancy": weighted("erlang_occupancy"),
            "erlang_abandoned": sum(c.erlang.get("erlang_abandoned") or 0.0 for c in mine),
        })
    return out


def rows_of(cells: Sequence[Cell], *, with_day: bool = True) -> list[dict[str, Any]]:
    rows = [c.row() for c in cells]
    return rows + day_rows(cells) if with_day else rows


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def as_json(cells: Sequence[Cell], meta: dict[str, Any]) -> str:
    return json.dumps({**meta, "rows": [{k: _clean(r.get(k)) for k in COLUMNS}
                                        for r in rows_of(cells)]}, indent=2)


def as_csv(cells: Sequence[Cell]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows_of(cells):
        writer.writerow({k: "" if _clean(row.get(k)) is None else _clean(row.get(k))
                         for k in COLUMNS})
    return buf.getvalue()


def _f(value: Any, fmt: str) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else format(value, fmt)


def as_table(cells: Sequence[Cell], title: str) -> str:
    """Fixed-width columns: the simulation on the left, Erlang on the right. A day with
    callbacks gets a column `cb`: asked / reached (in any later interval)."""
    callbacks = any(c.callbacks for c in cells)
    header = ("interval", "queue", "offered", "answ", "aband", "overfl",
              *(("cb",) if callbacks else ()), "SL", "ASA", "occ",
              "agents", "|", "SL", "ASA", "occ", "aband")
    lines = []
    for row in rows_of(cells):
        start = row["interval_start"]
        lines.append((
            start if start == "day" else start[11:], row["queue"], str(row["offered"]),
            str(row["answered"]), str(row["abandoned"]), str(row["overflowed"]),
            *((f"{row['callbacks']}/{row['called_back']}",) if callbacks else ()),
            _f(row["service_level"], ".2f"), _f(row["asa_s"], ".0f"),
            _f(row["occupancy"], ".2f"), _f(row["agents"], ".1f"), "|",
            _f(row["erlang_service_level"], ".2f"), _f(row["erlang_asa_s"], ".0f"),
            _f(row["erlang_occupancy"], ".2f"), _f(row["erlang_abandoned"], ".1f"),
        ))
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    split = header.index("|")
    left = sum(widths[:split]) + 2 * (split - 1)
    out = [title, "", "simulated through the routing".center(left) + "  |  "
           + "Erlang, each queue alone", ""]
    for r in [header, *lines]:
        cols = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w)
                in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cols).rstrip())
    return "\n".join(out)


def write_chart(cells: Sequence[Cell], path: Path, title: str) -> None:
    """Service level and average speed of answer per interval: one line per queue, the
    simulation solid, Erlang dashed. PNG or SVG by the file's extension. Needs matplotlib
    (`pip install 'ivr[chart]'`); RuntimeError says so."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("the chart needs matplotlib, which is not installed: "
                           "pip install 'ivr[chart]' (or pip install matplotlib)") from None
    fig, (ax_sl, ax_asa) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for n, queue in enumerate(sorted({c.queue for c in cells})):
        mine = [c for c in cells if c.queue == queue]
        x = [c.interval_start for c in mine]
        color = f"C{n % 10}"
        ax_sl.plot(x, [c.service_level for c in mine], color=color, marker="o", label=queue)
        ax_sl.plot(x, [c.erlang.get("erlang_service_level") for c in mine], color=color,
                   linestyle="--")
        ax_asa.plot(x, [c.asa_s for c in mine], color=color, marker="o", label=queue)
        ax_asa.plot(x, [c.erlang.get("erlang_asa_s") for c in mine], color=color,
                    linestyle="--")
    ax_sl.set_ylabel("service level")
    ax_sl.set_ylim(0, 1.05)
    ax_sl.set_title(f"{title}\nsolid: simulated through the routing; dashed: Erlang")
    ax_sl.legend(loc="lower left", fontsize="small")
    ax_asa.set_ylabel("average speed of answer (s)")
    ax_asa.set_xlabel("interval start")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
