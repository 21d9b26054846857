"""The entry point: `check_folder` (a folder on disk) and `check_texts` (files given as text).

Reads every file, then checks in the order that lets later checks use earlier
findings: the reserved files (hours, agents, queues), each flow and its steps,
then what spans the folder (ways out, variables, start steps, numbers,
reachability and loops). The model is built only when there is no error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ivr.flows.checker.base import FlowInfo
from ivr.flows.checker.flows import FlowChecks
from ivr.flows.checker.reach import Reach
from ivr.flows.checker.reserved import RESERVED, ReservedFiles
from ivr.flows.checker.values import MAX_DEPTH, type_name
from ivr.flows.loader import build_callflows, plain
from ivr.flows.model import Callflows, Location
from ivr.flows.yamlsrc import Problem, load_file, load_text, node_loc


class Checker(ReservedFiles, FlowChecks, Reach):
    """One check of one folder: every part's rules over one shared state."""


def _self_referencing(data: Any) -> bool:
    """True when YAML anchors make a value contain itself, or nest or repeat absurdly.

    A value that contains itself has no bottom, so a depth bound finds it; the
    node budget stops alias bombs (an anchor repeated into millions of nodes).
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    budget = 200_000
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if depth > MAX_DEPTH or budget < 0:
            return True
        if isinstance(node, dict):
            stack.extend((c, depth + 1) for c in (*node.keys(), *node.values()))
        elif isinstance(node, list):
            stack.extend((c, depth + 1) for c in node)
    return False


def check_texts(files: dict[str, str], *, folder: str = "callflows") -> tuple[Callflows | None,
                                                                          list[Problem]]:
    """Check a folder given as {file name: YAML text} (for tests, fuzzing and the API)."""
    loaded = {name: load_text(text, str(Path(folder) / name)) for name, text in files.items()}
    return _check_loaded(folder, loaded, None, files)


def check_folder(path: Path, *, recordings: Path | None = None) -> tuple[Callflows | None,
                                                                        list[Problem]]:
    """Check every YAML file of a call-flow folder; the Callflows only when there is no error."""
    path = Path(path)
    if not path.is_dir():
        return None, [Problem(Location(str(path), 1, 1), "not a folder of call flows")]
    loaded: dict[str, tuple[Any, list[Problem]]] = {}
    texts: dict[str, str] = {}
    extra: list[Problem] = []
    for file in sorted(path.iterdir()):
        if not file.is_file():
            continue
        shown = str(path / file.name)
        if file.suffix == ".yml":
            extra.append(Problem(Location(shown, 1, 1),
                                 f"ignored: call-flow files end in .yaml (rename to "
                                 f"{file.stem}.yaml)", "warning"))
        if file.suffix != ".yaml":
            continue
        try:
            texts[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            loaded[file.name] = load_file(file, shown)  # reports why it cannot be read
            texts[file.name] = ""
            continue
        loaded[file.name] = load_text(texts[file.name], shown)
    cf, problems = _check_loaded(str(path), loaded, recordings, texts)
    problems = extra + problems
    return cf, problems


def _check_loaded(folder: str, loaded: dict[str, tuple[Any, list[Problem]]],
                  recordings: Path | None, texts: dict[str, str]) -> tuple[Callflows | None,
                                                                           list[Problem]]:
    ck = Checker(folder, recordings)
    raw: dict[str, Any] = {}

    def shown(name: str) -> str:
        return str(Path(folder) / name)

    for name, (data, problems) in loaded.items():
        ck.problems.extend(problems)
        if problems:
            continue
        if data is not None and _self_referencing(data):
            ck.error(Location(shown(name), 1, 1), "YAML anchors make this file contain itself "
                                            "(or nest or repeat too much)")
            continue
        if data is None and name in RESERVED:
            data = {}
        if data is None:
            ck.error(Location(shown(name), 1, 1), "empty flow file (a flow needs 'steps')")
            continue
        if not isinstance(data, dict):
            ck.error(node_loc(shown(name), data),
                     f"{name} must be a mapping, not {type_name(data)}")
            continue
        raw[name] = data

    if "hours.yaml" in raw:
        ck.check_hours(shown("hours.yaml"), raw["hours.yaml"])
    if "agents.yaml" in raw:
        ck.check_agents(shown("agents.yaml"), raw["agents.yaml"])
    if "queues.yaml" in raw:
        ck.check_queues(shown("queues.yaml"), raw["queues.yaml"])
    flow_files = [n for n in loaded if n not in RESERVED]
    for name in flow_files:
        if name in raw:
            stem = name[: -len(".yaml")]
            ck.flows[stem] = FlowInfo(stem, shown(name), raw[name])
    for info in ck.flows.values():
        ck.check_flow(info)
    if not flow_files:
        ck.error(Location(folder, 1, 1), "no flows: add a FLOW.yaml file with 'steps'")
    ck.resolve_refs()
    ck.check_vars()
    ck.check_start()
    ck.check_numbers()
    ck.check_reach_and_loops()
    problems = sorted(ck.problems, key=lambda p: (p.location.file, p.location.line,
                                                  p.location.col))
    if any(p.is_error for p in problems):
        return None, problems
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode() + b"\0")
    cf = build_callflows(
        flows={n: (i.file, plain(i.raw), i.steps, i.start or "") for n, i in ck.flows.items()},
        queues={k: plain(v) for k, v in ck.queues.items()},
        agents={k: plain(v) for k, v in ck.agents.items()},
        hours={k: plain(v) for k, v in ck.hours.items()},
        breaks=list(ck.breaks),
        version=digest.hexdigest()[:12],
    )
    return cf, problems
