"""Flow files and their steps: the flow's own keys, then each step through its spec.

A step is checked in the same order for every action: one action key (with
"did you mean"), no unknown settings, a channel that can carry it, then each
setting by the rule its spec declares (`ivr.flows.steps`), then the spec's own
`check` for rules that span settings. Ways out are collected as `Ref`s and
resolved once every flow is read (reach.py).
"""

from __future__ import annotations

from typing import Any

from ivr.flows.checker.base import FlowInfo, Ref
from ivr.flows.checker.values import NAME, Values, did_you_mean, is_int, phone_problem, type_name
from ivr.flows.model import Location, Step
from ivr.flows.steps import ACTIONS, ALL_EXITS, SETTINGS, SPECS
from ivr.flows.steps.base import CHANNELS
from ivr.flows.yamlsrc import item_loc, key_loc, node_loc, value_loc

FLOW_KEYS = ("numbers", "channels", "language", "voice", "timezone", "vars", "help",
             "on_error", "http_hosts", "missed_call", "start", "steps")
BROKEN = "?"  # the action of a step the checker could not make sense of (already reported)
# Why a channel cannot carry some actions (the spec of each action lists its channels).
CHANNEL_LIMITS = {"sms": "texts cannot play audio, pause, transfer or record",
                  "voice": "calls cannot carry it"}


class FlowChecks(Values):
    """The flows' keys and steps; what step specs receive as `ck`."""

    def check_flow(self, info: FlowInfo) -> None:
        file, raw = info.file, info.raw
        self.unknown_keys(file, raw, FLOW_KEYS, f"flow '{info.name}'")
        if "numbers" in raw and self.expect(file, raw, "numbers", isinstance(raw["numbers"], list),
                                            "a list"):
            for i, n in enumerate(raw["numbers"]):
                loc = item_loc(file, raw["numbers"], i)
                if n == "*":
                    info.numbers.append(n)
                elif is_int(n):
                    self.error(loc, f"numbers must be quoted text (\"+{n}\"): YAML reads +{n} "
                                    f"as a number")
                elif not isinstance(n, str):
                    self.error(loc, f"numbers must be text, not {type_name(n)}")
                else:
                    msg = phone_problem(n, sip=True, whatsapp=True)
                    if msg:
                        self.error(loc, msg)
                    else:
                        info.numbers.append(n)
        if "channels" in raw:
            chans = self.str_list(file, raw, "channels")
            for i, c in enumerate(chans):
                if c not in CHANNELS:
                    self.error(item_loc(file, raw["channels"], i),
                               f"unknown channel '{c}'{did_you_mean(c, CHANNELS)} (voice or sms; "
                               f"sms also carries MMS and WhatsApp)")
            if isinstance(raw["channels"], list) and not raw["channels"]:
                self.error(value_loc(file, raw, "channels"), "'channels' is empty")
            info.channels = [c for c in chans if c in CHANNELS]
        if "language" in raw:
            self.language(file, value_loc(file, raw, "language"), raw["language"])
        self.voice(file, raw, "voice")
        self.timezone(file, raw, "timezone")
        if "vars" in raw and self.expect(file, raw, "vars", isinstance(raw["vars"], dict),
                                         "a mapping"):
            for k in raw["vars"]:
                self.variable_name(file, raw["vars"], k)
        self.prompt(file, raw, "help")
        if "on_error" in raw and self.expect(file, raw, "on_error",
                                             isinstance(raw["on_error"], dict), "a mapping"):
            oe = raw["on_error"]
            self.unknown_keys(file, oe, ("say", "dial"), "on_error")
            self.prompt(file, oe, "say")
            if "dial" in oe:
                self.phone(file, oe, "dial", sip=True)
        if "http_hosts" in raw:
            info.http_hosts = self.str_list(file, raw, "http_hosts")
        if "missed_call" in raw:
            self.missed_call(file, raw)
        if "start" in raw and self.text(file, raw, "start"):
            info.start = raw["start"]
            info.start_loc = value_loc(file, raw, "start")
        if "steps" not in raw:
            if not any(did_you_mean(str(k), ("steps",)) for k in raw if k not in FLOW_KEYS):
                self.error(node_loc(file, raw), f"flow '{info.name}' has no 'steps'")
            return
        steps = raw["steps"]
        if not self.expect(file, raw, "steps", isinstance(steps, dict), "a mapping of step names"):
            return
        if not steps:
            self.error(value_loc(file, raw, "steps"), f"flow '{info.name}' has no steps")
            return
        for name, body in steps.items():
            self.check_step(info, steps, name, body)
        if info.start is None and "start" not in raw and steps:
            first = next(iter(steps))
            if isinstance(first, str):
                info.start = first
                info.start_loc = key_loc(file, steps, first)

    def missed_call(self, file: str, raw: Any) -> None:
        """The missed-call text: {text: PROMPT, queue: QUEUE (for a CALL reply)}."""
        if not self.expect(file, raw, "missed_call", isinstance(raw["missed_call"], dict),
                           "a mapping with 'text' (and 'queue')"):
            return
        mc = raw["missed_call"]
        self.unknown_keys(file, mc, ("text", "queue"), "missed_call")
        if "text" not in mc:
            self.error(value_loc(file, raw, "missed_call"), "missed_call needs a 'text'")
        self.prompt(file, mc, "text")
        if "queue" in mc and self.expect(file, mc, "queue", isinstance(mc["queue"], str),
                                         "a queue name") and mc["queue"] not in self.queues:
            v = mc["queue"]
            self.error(value_loc(file, mc, "queue"),
                       f"unknown queue '{v}'{did_you_mean(v, self.queues)} (queues are in "
                       f"queues.yaml)")

    # --- steps ----------------------------------------------------------------------

    def check_step(self, info: FlowInfo, steps: Any, name: Any, body: Any) -> None:
        file = info.file
        loc = key_loc(file, steps, name)
        if not isinstance(name, str) or not NAME.match(name):
            self.error(loc, f"step name '{name}' must be a word (letters, digits, _ or -; no dots)")
            return
        if not isinstance(body, dict):
            self.error(value_loc(file, steps, name),
                       f"step '{name}' must be a mapping with one action "
                       f"(say, menu, queue, ...), not {type_name(body)}")
            return
        present = [k for k in body if k in SPECS]
        if len(present) > 1:
            # `language` is also a setting of speaking steps, `record` of dial.
            present = [a for a in present
                       if not any(a in SETTINGS[o] for o in present if o != a)] or present
        if not present:
            guesses = [(k, did_you_mean(str(k), ACTIONS)) for k in body]
            guessed = [(k, hint) for k, hint in guesses if hint and str(k) not in
                       {s for a in ACTIONS for s in SETTINGS[a]}]
            if guessed:
                k, hint = guessed[0]
                self.error(key_loc(file, body, k),
                           f"step '{name}' has no action: unknown key '{k}'{hint}")
            else:
                self.error(loc, f"step '{name}' has no action (one of {', '.join(ACTIONS)})")
            self.broken_step(info, name, body, loc)
            return
        if len(present) > 1:
            second = present[1]
            self.error(key_loc(file, body, second),
                       f"step '{name}' has two actions, '{present[0]}' and '{second}': "
                       f"give each its own step")
            self.broken_step(info, name, body, loc)
            return
        action = present[0]
        spec = SPECS[action]
        step = Step(name=name, action=action, value=body[action],
                    settings={k: v for k, v in body.items() if k != action}, location=loc)
        info.steps[name] = step
        allowed = SETTINGS[action]
        for key in body:
            if key != action and key not in allowed:
                hint = did_you_mean(str(key), allowed)
                extra = f" ('{action}' steps take: {', '.join(allowed)})" if not hint and allowed \
                    else ""
                self.error(key_loc(file, body, key),
                           f"unknown key '{key}' in {action} step '{name}'{hint}{extra}")
        for channel in info.channels:
            if channel not in spec.channels:
                self.error(key_loc(file, body, action),
                           f"'{action}' cannot be used on the {channel} channel (flow "
                           f"'{info.name}' answers {channel}): {CHANNEL_LIMITS[channel]}")
        spec.value.check(self, info, step, body, action)
        for key, setting in spec.settings.items():
            if key in body:
                setting.check(self, info, step, body, key)
        spec.check(self, info, step, body)

    def broken_step(self, info: FlowInfo, name: str, body: Any, loc: Location) -> None:
        """Keep a step whose action is unclear, so its name and ways out still count:
        one mistake gives one message, not a cascade of 'unknown step' and 'never reached'."""
        step = Step(name=name, action=BROKEN, value=None, settings=dict(body), location=loc)
        info.steps[name] = step
        for key in body:
            if key in ALL_EXITS and isinstance(body[key], str):
                self.target(info, step, body, key, str(key))

    def target(self, info: FlowInfo, step: Step, m: Any, key: Any, label: str) -> None:
        """A way out written at `m[key]`: a step name, resolved later."""
        v = m[key]
        loc = value_loc(info.file, m, key)
        if not isinstance(v, str) or not v:
            self.error(loc, f"'{label}' must be a step name, not {type_name(v)}")
            return
        self.ref(info, step, label, v, loc)

    def ref(self, info: FlowInfo, step: Step, label: str, target: str, loc: Location) -> None:
        """A way out to a step (already known to be text), resolved once all flows are read."""
        self.refs.append(Ref(info.name, step.name, label, target, loc))

    # --- across flows ---------------------------------------------------------------

    def check_vars(self) -> None:
        """Warn about `vars.NAME` that nothing ever sets (usually a typo; it renders empty)."""
        for loc, name in self.vars_read:
            if name not in self.vars_set:
                self.warn(loc, f"vars.{name} is never set (not in any flow's vars, set, or "
                               f"a gather or http 'into'){did_you_mean(name, self.vars_set)}")

    def check_numbers(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        any_default = False
        for info in self.flows.values():
            nums = info.raw.get("numbers") if isinstance(info.raw, dict) else None
            for i, n in enumerate(info.numbers):
                index = nums.index(n) if isinstance(nums, list) and n in nums else i
                for channel in info.channels:
                    other = seen.get((n, channel))
                    if other is not None and other != info.name:
                        what = "is already the default flow" if n == "*" else \
                            f"already starts flow '{other}'"
                        if n == "*":
                            self.error(item_loc(info.file, nums, index),
                                       f"flow '{other}' {what} on {channel}")
                        else:
                            self.error(item_loc(info.file, nums, index),
                                       f"number {n} {what} on {channel}")
                        break
                    seen[(n, channel)] = info.name
                any_default = any_default or n == "*"
        if self.flows and not any_default:
            first = next(iter(self.flows.values()))
            self.error(Location(first.file, 1, 1),
                       "no default flow: add \"*\" to the numbers of the flow that answers "
                       "every other number")
        elif self.flows:
            for channel in CHANNELS:
                users = [f for f in self.flows.values() if channel in f.channels and f.numbers]
                if users and ("*", channel) not in seen:
                    self.warn(Location(users[0].file, 1, 1),
                              f"no default flow (\"*\") on {channel}: {channel} to other "
                              f"numbers gets no answer")
