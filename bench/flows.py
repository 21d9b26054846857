"""Benchmark: load + check a generated 1,000-step flow (and the demo folder).

    python bench/flows.py [--steps 1000] [--repeat 5]

Prints a table of best-of-N wall times. The generated flow is a realistic mix:
menus fanning out to queues, gathers, branches, templates in most prompts, and a
chain that reaches every step, so reachability and loop analysis see the whole graph.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.flows.checker import check_folder  # noqa: E402
from ivr.flows.yamlsrc import load_file  # noqa: E402

KINDS = ("say", "menu", "gather", "branch", "set", "queue", "hours")


def generate(steps: int) -> str:
    """One flow of `steps` steps plus a final hangup, every one reachable, loops only
    through menus."""
    lines = ['numbers: ["*"]', "vars: {company: Acme}", "start: s0", "steps:"]
    for i in range(steps):
        nxt = f"s{i + 1}" if i + 1 < steps else "end"
        kind = KINDS[i % len(KINDS)]
        name = f"s{i}"
        if kind == "say":
            lines += [f"  {name}:", f'    say: "Step {i} of {{{{ vars.company }}}}."',
                      f"    next: {nxt}"]
        elif kind == "menu":
            back = f"s{max(0, i - 7)}"
            lines += [f"  {name}:", '    menu: "Press 1 to go on, 2 to go back."',
                      f"    options: {{1: {nxt}, 2: {back}}}",
                      f"    words: {{{nxt}: [next, forward], {back}: [back]}}",
                      "    attempts: 3", f"    fallback: {nxt}"]
        elif kind == "gather":
            lines += [f"  {name}:", '    gather: "Your account number?"', "    into: acct",
                      "    digits: 8", '    pattern: "^[0-9]{8}$"', f"    next: {nxt}",
                      f"    fallback: {nxt}"]
        elif kind == "branch":
            lines += [f"  {name}:", "    branch:",
                      f'      - {{if: "vars.acct and vars.acct|int > {i}", goto: {nxt}}}',
                      f"    else: {nxt}"]
        elif kind == "set":
            lines += [f"  {name}:", f'    set: {{seen: "{{{{ vars.seen or 0 }}}} {i}"}}',
                      f"    next: {nxt}"]
        elif kind == "queue":
            lines += [f"  {name}:", "    queue: sales", "    priority: 1",
                      f"    overflow: {nxt}", f"    next: {nxt}"]
        else:
            lines += [f"  {name}:", "    hours: office", f"    open: {nxt}",
                      f"    closed: {nxt}"]
    if steps:
        lines += ["  end:", '    hangup: "Goodbye."']
    return "\n".join(lines) + "\n"


SIDE_FILES = {
    "hours.yaml": 'office:\n  timezone: America/New_York\n  open: {mon-fri: "09:00-17:00"}\n'
                  "  holidays: US\n",
    "queues.yaml": "sales: {skills: [sales], strategy: longest-idle}\n",
    "agents.yaml": 'alice: {phone: "+15005550101", skills: {sales: 5}}\n',
}


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "callflows"
        folder.mkdir()
        (folder / "big.yaml").write_text(generate(args.steps))
        for name, text in SIDE_FILES.items():
            (folder / name).write_text(text)
        start = time.perf_counter()
        callflows, problems = check_folder(folder)  # cold: template caches empty
        cold = time.perf_counter() - start
        errors = [str(p) for p in problems if p.is_error]
        if callflows is None:
            sys.exit("generated flow does not pass the checker:\n" + "\n".join(errors[:10]))
        steps = len(callflows.flows["big"].steps)
        size = (folder / "big.yaml").stat().st_size
        rows = [
            (f"first check_folder, cold caches ({steps} steps)", cold, cold),
            (f"parse big.yaml ({steps} steps, {size // 1024} KiB)",
             *best_of(args.repeat, lambda: load_file(folder / "big.yaml", "big.yaml"))),
            (f"check_folder again: load + check + build ({steps} steps)",
             *best_of(args.repeat, lambda: check_folder(folder))),
            ("check_folder: demo callflows/",
             *best_of(args.repeat, lambda: check_folder(ROOT / "callflows"))),
        ]
    print(f"{'what':<55} {'best':>9} {'median':>9}   (best of {args.repeat})")
    for what, best, median in rows:
        print(f"{what:<55} {best * 1000:>7.1f}ms {median * 1000:>7.1f}ms")


if __name__ == "__main__":
    main()
