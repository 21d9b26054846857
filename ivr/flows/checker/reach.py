"""Where ways out lead: unknown targets, steps never reached, and loops with no way out.

Runs once every flow's steps are known. The graph of ways out spans flows
(`FLOW.STEP` targets), so reachability and loops are judged across the folder.
"""

from __future__ import annotations

from typing import Any

from ivr.flows.checker.base import CheckerBase
from ivr.flows.checker.flows import BROKEN
from ivr.flows.checker.values import did_you_mean
from ivr.flows.exits import ends_call_when_unset, exits, split_target
from ivr.flows.model import Location
from ivr.flows.steps import ALL_EXITS, spec_for


class Reach(CheckerBase):
    def resolve_refs(self) -> None:
        for ref in self.refs:
            flow_name, step_name = split_target(ref.target, ref.flow)
            flow = self.flows.get(flow_name)
            if flow is None:
                self.error(ref.location,
                           f"'{ref.label}' leads to unknown flow '{flow_name}'"
                           f"{did_you_mean(flow_name, self.flows)}")
                continue
            if step_name not in flow.steps:
                names = list(flow.steps)
                where = "" if flow_name == ref.flow else f" in flow '{flow_name}'"
                self.error(ref.location,
                           f"'{ref.label}' leads to unknown step '{step_name}'{where}"
                           f"{did_you_mean(step_name, names)}")
                continue
            source = self.flows[ref.flow]
            if flow_name != ref.flow and not set(flow.channels) & set(source.channels):
                self.error(ref.location,
                           f"'{ref.label}' leads to flow '{flow_name}', which answers "
                           f"{'/'.join(flow.channels)}, not {'/'.join(source.channels)}")

    def check_start(self) -> None:
        for info in self.flows.values():
            if info.start is not None and info.steps and info.start not in info.steps and \
                    info.start_loc is not None:
                self.error(info.start_loc, f"start step '{info.start}' does not exist"
                                           f"{did_you_mean(info.start, info.steps)}")

    def graph(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for info in self.flows.values():
            for step in info.steps.values():
                out = []
                ways = exits(step) if step.action != BROKEN else [
                    (k, v) for k, v in step.settings.items()
                    if k in ALL_EXITS and isinstance(v, str)]
                for _, target in ways:
                    f, s = split_target(target, info.name)
                    if f in self.flows and s in self.flows[f].steps:
                        out.append((f, s))
                edges[(info.name, step.name)] = out
        return edges

    def check_reach_and_loops(self) -> None:
        edges = self.graph()
        roots = [(i.name, i.start) for i in self.flows.values()
                 if i.start is not None and i.start in i.steps]
        reached: set[tuple[str, str]] = set(roots)
        todo = list(roots)
        while todo:
            node = todo.pop()
            for nxt in edges.get(node, []):
                if nxt not in reached:
                    reached.add(nxt)
                    todo.append(nxt)
        entered_from_outside = {t[0] for (f, _), outs in edges.items() for t in outs if t[0] != f}
        # "never reached" only for a flow without other errors: a broken way out or start
        # would otherwise add one such message per step behind it
        files_with_errors = {p.location.file for p in self.problems if p.is_error}
        for info in self.flows.values():
            for step in info.steps.values():
                if info.file in files_with_errors:
                    break
                if (info.name, step.name) not in reached:
                    self.error(step.location,
                               f"step '{step.name}' is never reached (no way out of another "
                               f"step leads here from '{info.start}')")
            if not info.numbers and info.name not in entered_from_outside and info.steps:
                self.warn(Location(info.file, 1, 1),
                          f"flow '{info.name}' has no numbers and no other flow leads into it")
        for component in strongly_connected(edges):
            members = set(component)
            if len(component) == 1:
                only = component[0]
                if only not in edges.get(only, []):
                    continue
            if self.loop_can_leave(members, edges):
                continue
            ordered = sorted(component, key=lambda n: (
                n[0] != component[0][0], self.flows[n[0]].steps[n[1]].location.line))
            first = ordered[0]
            shown = [s if f == first[0] else f"{f}.{s}" for f, s in ordered]
            names = ", ".join(shown[:10]) + (f" and {len(shown) - 10} more"
                                              if len(shown) > 10 else "")
            self.error(self.flows[first[0]].steps[first[1]].location,
                       f"loop with no way out through steps {names}: add a way out, or a menu "
                       f"or gather that waits for the caller")

    def loop_can_leave(self, members: set[tuple[str, str]],
                       edges: dict[tuple[str, str], list[tuple[str, str]]]) -> bool:
        for flow, name in members:
            step = self.flows[flow].steps[name]
            spec = spec_for(step.action)
            if step.action == BROKEN or (spec is not None and spec.waits) or \
                    ends_call_when_unset(step):
                return True
            if any(t not in members for t in edges[(flow, name)]):
                return True
            # a way out that names a step that does not exist was reported already; it still
            # counts as a way out, so one mistake is reported once
            if len(edges[(flow, name)]) < len(exits(step)):
                return True
        return False


def strongly_connected(edges: dict[Any, list[Any]]) -> list[list[Any]]:
    """Tarjan's strongly connected components, iteratively (flows may have thousands of steps)."""
    index: dict[Any, int] = {}
    low: dict[Any, int] = {}
    on_stack: set[Any] = set()
    stack: list[Any] = []
    result: list[list[Any]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[Any, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                result.append(comp[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
