"""Benchmark: load + check a generated 1,000-step flow (and the demo folder).

    python bench/flows.py [--steps 1000] [--repeat 5]

Prints a table of best-of-N wall times (and medians) for each way of reading
the YAML, measured in the same run: the loader (PyYAML composing with libyaml's
C parser, then with its pure-Python parser) and, as the "before" baseline, the
ruamel.yaml round-trip loader the checker used until then (bench/ruamel_baseline.py;
skipped with a note when ruamel.yaml is not installed: `pip install ruamel.yaml`).
The generated flow is a realistic mix: menus fanning out to queues, gathers,
branches, templates in most prompts, and a chain that reaches every step, so
reachability and loop analysis see the whole graph.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.flows import yamlsrc  # noqa: E402
from ivr.flows.checker import check_folder  # noqa: E402

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


LOADER_API = ("load_text", "load_file", "key_loc", "value_loc", "item_loc", "node_loc", "at")


@contextlib.contextmanager
def loader(name: str) -> Iterator[None]:
    """Run the checker on one way of reading YAML: "libyaml", "python" or "ruamel".

    For "ruamel", every `ivr.flows` module's reference to a yamlsrc function is
    pointed at the baseline's function of the same name for the duration.
    """
    if name in ("libyaml", "python"):
        saved = yamlsrc.HAVE_LIBYAML
        yamlsrc.HAVE_LIBYAML = name == "libyaml"
        try:
            yield
        finally:
            yamlsrc.HAVE_LIBYAML = saved
        return
    import ruamel_baseline  # optional: ruamel.yaml is not a dependency

    swaps: list[tuple[ModuleType, str, object]] = []
    originals = {id(getattr(yamlsrc, n)): n for n in LOADER_API}
    for module in list(sys.modules.values()):
        if module is None or not module.__name__.startswith("ivr.flows") or module is yamlsrc:
            continue
        for attr, value in list(vars(module).items()):
            if id(value) in originals:
                swaps.append((module, attr, value))
                setattr(module, attr, getattr(ruamel_baseline, originals[id(value)]))
    try:
        yield
    finally:
        for module, attr, value in swaps:
            setattr(module, attr, value)


def loaders() -> list[tuple[str, str]]:
    """(name, column title) of each loader this machine can run, the baseline first."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    out = []
    try:
        import ruamel_baseline  # noqa: F401

        out.append(("ruamel", "before: ruamel.yaml"))
    except ImportError:
        print("(baseline skipped: ruamel.yaml is not installed; `pip install ruamel.yaml` "
              "to measure the loader this one replaced)\n")
    if yamlsrc.HAVE_LIBYAML:
        out.append(("libyaml", "PyYAML + libyaml"))
    else:
        print("(PyYAML was built without libyaml: only its pure-Python parser is measured)\n")
    out.append(("python", "PyYAML pure Python"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    columns = loaders()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    titles: list[str] = []
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
        titles = [f"parse big.yaml ({steps} steps, {size // 1024} KiB)",
                  f"check_folder: load + check + build ({steps} steps)",
                  "check_folder: demo callflows/"]
        for name, _ in columns:
            with loader(name):
                _, problems = check_folder(folder)
                assert not [p for p in problems if p.is_error], name
                results[name] = {
                    titles[0]: best_of(args.repeat, lambda n=name: yamlsrc_load(folder, n)),
                    titles[1]: best_of(args.repeat, lambda: check_folder(folder)),
                    titles[2]: best_of(args.repeat, lambda: check_folder(ROOT / "callflows")),
                }
    print(f"first check_folder, cold template caches ({steps} steps, "
          f"{'PyYAML + libyaml' if yamlsrc.HAVE_LIBYAML else 'PyYAML'}): {cold * 1000:.0f} ms\n")
    print(f"best / median of {args.repeat}, ms")
    header = f"{'what':<52}" + "".join(f" {title:>22}" for _, title in columns)
    print(header)
    for title in titles:
        cells = "".join(f" {results[n][title][0] * 1000:>11.1f} / "
                        f"{results[n][title][1] * 1000:>6.1f}" for n, _ in columns)
        print(f"{title:<52}{cells}")


def yamlsrc_load(folder: Path, name: str) -> object:
    """Parse big.yaml alone with the loader in use."""
    if name == "ruamel":
        import ruamel_baseline

        return ruamel_baseline.load_file(folder / "big.yaml", "big.yaml")
    return yamlsrc.load_file(folder / "big.yaml", "big.yaml")


if __name__ == "__main__":
    main()
