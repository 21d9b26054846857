"""The reserved files: hours.yaml (schedules), agents.yaml and queues.yaml.

Read before the flows, so steps can name schedules and queues, and queues can
be compared with the agents' skills.
"""

from __future__ import annotations

import re
from typing import Any

from ivr.flows import hours as hours_mod
from ivr.flows import templates
from ivr.flows.checker.values import (
    NAME,
    Values,
    did_you_mean,
    holiday_countries,
    is_int,
    type_name,
)
from ivr.flows.model import AGENTS_FILE_KEYS, ALERT_KEYS, ROLES, SCRIPT_NAMES, Location
from ivr.flows.yamlsrc import item_loc, key_loc, value_loc

RESERVED = ("queues.yaml", "agents.yaml", "hours.yaml")
STRATEGIES = ("longest-idle", "round-robin", "fewest-calls", "least-talk-time",
              "most-skilled", "random", "ring-all")
QUEUE_KEYS = ("skills", "strategy", "ring_timeout", "max_wait", "wrap_up", "max_missed",
              "hold_music", "announce", "callback", "service_level", "escalate", "timezone",
              "short_abandon", "survey_by_text", "alerts", "script", "dispositions",
              "record", "record_notice", "chat", "chat_capacity")
AGENT_KEYS = ("name", "phone", "skills", "pin", "shifts", "role")
MAX_SHORT_NAME = 40
"""Longest disposition or break reason (they are codes, shown on buttons and in reports)."""
HOURS_KEYS = ("timezone", "open", "holidays", "closed")


class ReservedFiles(Values):
    def check_hours(self, file: str, data: Any) -> None:
        for name, raw in data.items():
            loc = key_loc(file, data, name)
            if not isinstance(name, str) or not NAME.match(name):
                self.error(loc, f"schedule name '{name}' must be a word (letters, digits, _ or -)")
                continue
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, name),
                           f"schedule '{name}' must be a mapping, not {type_name(raw)}")
                continue
            self.hours[name] = raw
            self.unknown_keys(file, raw, HOURS_KEYS, f"schedule '{name}'")
            if "timezone" not in raw:
                self.error(loc, f"schedule '{name}' has no 'timezone' "
                                f"(for example America/New_York)")
            self.timezone(file, raw, "timezone")
            if "open" not in raw:
                self.warn(loc, f"schedule '{name}' has no 'open' hours: it is always closed")
            elif self.expect(file, raw, "open", isinstance(raw["open"], dict),
                             "a mapping of days to hours"):
                self.check_open(file, raw["open"])
            if "holidays" in raw and self.text(file, raw, "holidays"):
                self.holidays(file, raw, "holidays")
            if "closed" in raw and self.expect(file, raw, "closed", isinstance(raw["closed"], list),
                                               "a list of dates"):
                for i, d in enumerate(raw["closed"]):
                    if hours_mod.parse_date(d) is None:
                        self.error(item_loc(file, raw["closed"], i),
                                   f"'{d}' is not a date like 2026-12-24")

    def check_open(self, file: str, open_: Any) -> None:
        for spec, ranges in open_.items():
            try:
                hours_mod.parse_days(str(spec))
            except ValueError as exc:
                self.error(key_loc(file, open_, spec), str(exc))
            loc = value_loc(file, open_, spec)
            if isinstance(ranges, list) and all(isinstance(r, str) for r in ranges):
                items: list[tuple[str, Location]] = [
                    (r, item_loc(file, ranges, i)) for i, r in enumerate(ranges)]
            elif isinstance(ranges, str):
                items = [(part, loc) for part in ranges.split(",")]
            else:
                self.error(loc, f"hours must be text like \"09:00-17:30\" or a list of them, "
                                f"not {type_name(ranges)}")
                continue
            for text, where in items:
                try:
                    hours_mod.parse_range(text)
                except ValueError as exc:
                    self.error(where, str(exc))

    def holidays(self, file: str, m: Any, key: str) -> None:
        code = m[key]
        country, subdiv = hours_mod.split_holidays(code)
        supported = holiday_countries()
        loc = value_loc(file, m, key)
        if country not in supported:
            self.error(loc, f"unknown holiday country '{country}'{did_you_mean(country, supported)}"
                            f" (ISO codes like US, GB, DE; subdivisions like US-NY)")
        elif subdiv is not None and subdiv not in supported[country]:
            self.error(loc, f"unknown subdivision '{subdiv}' of {country}"
                            f"{did_you_mean(subdiv, supported[country])}")

    def check_agents(self, file: str, data: Any) -> None:
        phones: dict[str, str] = {}
        for agent_id, raw in data.items():
            loc = key_loc(file, data, agent_id)
            if agent_id in AGENTS_FILE_KEYS:  # `breaks:` names break reasons: not an agent
                self.breaks = self.short_names(file, data, agent_id, "break reason")
                continue
            if not isinstance(agent_id, str) or not NAME.match(agent_id):
                self.error(loc, f"agent id '{agent_id}' must be a word (letters, digits, _ or -)")
                continue
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, agent_id),
                           f"agent '{agent_id}' must be a mapping, not {type_name(raw)}")
                continue
            self.agents[agent_id] = raw
            self.unknown_keys(file, raw, AGENT_KEYS, f"agent '{agent_id}'")
            self.text(file, raw, "name")
            if "phone" not in raw:
                self.error(loc, f"agent '{agent_id}' has no 'phone' (E.164 or sip:)")
            else:
                self.phone(file, raw, "phone", sip=True)
                phone = raw["phone"]
                if isinstance(phone, str):
                    if phone in phones:
                        self.error(value_loc(file, raw, "phone"),
                                   f"phone {phone} is already agent '{phones[phone]}''s phone")
                    phones.setdefault(phone, agent_id)
            if "skills" in raw and self.expect(file, raw, "skills", isinstance(raw["skills"], dict),
                                               "a mapping of skill to level 1-5"):
                for skill, level in raw["skills"].items():
                    self.agent_skills.add(str(skill))
                    if not is_int(level) or not 1 <= level <= 5:
                        self.error(value_loc(file, raw["skills"], skill),
                                   f"skill level of '{skill}' must be a whole number 1-5, "
                                   f"not {level!r}")
            if "shifts" in raw:
                self.check_shifts(file, raw, agent_id)
            if "role" in raw and self.text(file, raw, "role") and raw["role"] not in ROLES:
                self.error(value_loc(file, raw, "role"),
                           f"unknown role '{raw['role']}'{did_you_mean(raw['role'], ROLES)} "
                           f"(agent or supervisor)")
            if "pin" in raw:
                pin = raw["pin"]
                if is_int(pin):
                    self.error(value_loc(file, raw, "pin"),
                               f"'pin' must be quoted text (\"{pin}\"): YAML reads it as a number "
                               f"and drops leading zeros")
                elif not isinstance(pin, str) or not re.match(r"^\d{4,8}$", pin):
                    self.error(value_loc(file, raw, "pin"), "'pin' must be 4 to 8 digits")

    def short_names(self, file: str, m: Any, key: str, what: str) -> list[str]:
        """A list of unique short names (`dispositions`, `breaks`): words of up to
        MAX_SHORT_NAME characters, each written once."""
        self.str_list(file, m, key)  # a list of text (reports what is not)
        seen: set[str] = set()
        out: list[str] = []
        for i, name in enumerate(m[key] if isinstance(m.get(key), list) else []):
            if not isinstance(name, str):
                continue
            where = item_loc(file, m[key], i)
            if not NAME.match(name) or len(name) > MAX_SHORT_NAME:
                self.error(where, f"{what} '{name}' must be a word of letters, digits, _ or - "
                                  f"(at most {MAX_SHORT_NAME} characters)")
            elif name in seen:
                self.error(where, f"{what} '{name}' is listed twice")
            else:
                seen.add(name)
                out.append(name)
        return out

    def script(self, file: str, raw: dict[str, Any], what: str) -> None:
        """A queue's `script`: Markdown the desk shows, a template rendered per call. A syntax
        error is an error; names other than caller, vars, queue, agent are warnings (they
        render empty)."""
        if not self.text(file, raw, "script"):
            return
        text, loc = raw["script"], value_loc(file, raw, "script")
        if "{" not in text:
            return
        msg, names = templates.analyze(text)
        if msg:
            self.error(loc, msg)
            return
        for var in templates.vars_read(text):
            self.vars_read.append((loc, var))
        known = set(SCRIPT_NAMES) | set(templates.ENV.globals)
        for name in sorted(names - known):
            self.warn(loc, f"unknown name '{name}' in the script of {what}"
                           f"{did_you_mean(name, known)} (scripts see "
                           f"{', '.join(SCRIPT_NAMES)}): it renders empty")

    def check_shifts(self, file: str, raw: dict[str, Any], agent_id: str) -> None:
        """`shifts:` (used by `ivr whatif`): days such as mon-fri to "09:00-17:00" or a list."""
        from ivr.staffing.shifts import RosterError, parse_ranges, weekdays

        shifts = raw["shifts"]
        if not self.expect(file, raw, "shifts", isinstance(shifts, dict),
                           'a mapping of days to times, such as {mon-fri: "09:00-17:00"}'):
            return
        for days, times in shifts.items():
            try:
                weekdays(str(days))
                parse_ranges(times)
            except RosterError as exc:
                self.error(value_loc(file, shifts, days),
                           f"agent '{agent_id}' shifts: {exc}")

    def alerts(self, file: str, raw: dict[str, Any]) -> None:
        """The wallboard's thresholds: counts and seconds are whole numbers, ratios 0-1."""
        if "alerts" not in raw or not self.expect(file, raw, "alerts",
                                                  isinstance(raw["alerts"], dict), "a mapping"):
            return
        a = raw["alerts"]
        self.unknown_keys(file, a, ALERT_KEYS, "alerts")
        self.int_in(file, a, "longest_wait", 0)
        self.int_in(file, a, "waiting", 0)
        for key in ("service_level", "abandon_rate"):
            if key in a and self.expect(file, a, key, self.is_number(a[key]),
                                        "a number from 0 to 1") and not 0 <= a[key] <= 1:
                self.error(value_loc(file, a, key),
                           f"'{key}' must be a ratio from 0 to 1 (0.8 is 80%), not {a[key]}")

    def check_queues(self, file: str, data: Any) -> None:
        for name, raw in data.items():
            loc = key_loc(file, data, name)
            if not isinstance(name, str) or not NAME.match(name):
                self.error(loc, f"queue name '{name}' must be a word (letters, digits, _ or -)")
                continue
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, name),
                           f"queue '{name}' must be a mapping, not {type_name(raw)}")
                continue
            self.queues[name] = raw
            what = f"queue '{name}'"
            self.unknown_keys(file, raw, QUEUE_KEYS, what)
            for skill in self.str_list(file, raw, "skills"):
                if self.agents and skill not in self.agent_skills:
                    self.warn(value_loc(file, raw, "skills"),
                              f"no agent has skill '{skill}' needed by {what}")
            if "strategy" in raw and self.text(file, raw, "strategy") and \
                    raw["strategy"] not in STRATEGIES:
                self.error(value_loc(file, raw, "strategy"),
                           f"unknown strategy '{raw['strategy']}'"
                           f"{did_you_mean(raw['strategy'], STRATEGIES)}"
                           f" (one of {', '.join(STRATEGIES)})")
            self.int_in(file, raw, "ring_timeout", 5, 600)
            for key in ("max_wait", "wrap_up", "max_missed", "service_level", "short_abandon"):
                self.int_in(file, raw, key, 0)
            self.boolean(file, raw, "callback")
            self.text(file, raw, "hold_music")
            self.text(file, raw, "survey_by_text")
            # recording agent calls (ivr/routing/recording.py)
            self.boolean(file, raw, "record")
            self.text(file, raw, "record_notice")
            if raw.get("record") is True and not raw.get("record_notice"):
                self.warn(value_loc(file, raw, "record"),
                          f"{what} records calls but has no 'record_notice' to tell callers")
            elif raw.get("record_notice") and raw.get("record") is not True:
                self.warn(value_loc(file, raw, "record_notice"),
                          f"{what} has a 'record_notice' but does not record ('record: true')")
            self.script(file, raw, what)
            if "dispositions" in raw:
                self.short_names(file, raw, "dispositions", "disposition")
            if "hold_music" in raw and isinstance(raw["hold_music"], str):
                self.media(file, raw, "hold_music")
            self.timezone(file, raw, "timezone")
            self.alerts(file, raw)
            if "announce" in raw:
                a = raw["announce"]
                if isinstance(a, bool):
                    pass
                elif self.expect(file, raw, "announce", isinstance(a, dict),
                                 "true/false or a mapping"):
                    self.unknown_keys(file, a, ("position", "wait_time", "every"), "announce")
                    self.boolean(file, a, "position")
                    self.boolean(file, a, "wait_time")
                    self.int_in(file, a, "every", 10, 3600)
            if "escalate" in raw and self.expect(file, raw, "escalate",
                                                 isinstance(raw["escalate"], list), "a list"):
                last = -1
                for i, e in enumerate(raw["escalate"]):
                    eloc = item_loc(file, raw["escalate"], i)
                    if not isinstance(e, dict):
                        self.error(eloc, f"an escalate entry must be a mapping like "
                                         f"{{after: 90, skills: []}}, not {type_name(e)}")
                        continue
                    self.unknown_keys(file, e, ("after", "skills", "min_level"), "escalate entry")
                    if "after" not in e:
                        self.error(eloc, "escalate entry has no 'after' (seconds of waiting)")
                    self.int_in(file, e, "after", 0)
                    self.str_list(file, e, "skills")
                    self.int_in(file, e, "min_level", 1, 5)
                    after = e.get("after")
                    if isinstance(after, int) and not isinstance(after, bool):
                        if after <= last:
                            self.error(value_loc(file, e, "after"),
                                       f"escalate entries must come in order of 'after' "
                                       f"({after} is not after {last})")
                        last = after
