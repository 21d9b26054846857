"""`menu: PROMPT` takes one key (`options`) or a spoken or typed word (`words`), retrying on
invalid input and silence; the chosen option's step, or `fallback` after the last attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import DEFAULT_INPUT_TIMEOUT, Ask, Output
from ivr.flows.state import FlowState
from ivr.flows.steps.base import (
    ASKING,
    MENU_KEYS,
    SPEAKING,
    Accepted,
    AskingStep,
    Custom,
    Prompt,
    Target,
    is_keypad,
    normalize_words,
    option_key,
    squeeze,
)
from ivr.flows.yamlsrc import item_loc, key_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

class MenuStep(AskingStep):
    action = "menu"
    value = Prompt()
    settings = {**SPEAKING, "options": Custom(), "words": Custom(), **ASKING,
                "fallback": Target()}
    default_invalid = "Sorry, that is not one of the choices."

    def value_exits(self, step: Step) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        options = step.settings.get("options")
        if isinstance(options, dict):
            out.extend((option_key(key), target) for key, target in options.items()
                       if isinstance(target, str))
        words = step.settings.get("words")
        if isinstance(words, dict):
            for target, spoken in words.items():
                if isinstance(spoken, list):
                    out.extend((str(word), str(target)) for word in spoken)
                elif isinstance(spoken, str):
                    out.append((spoken, str(target)))
        return out

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        if "options" not in body and "words" not in body:
            ck.error(key_loc(file, body, "menu"),
                     f"menu '{step.name}' needs 'options' (keys) or 'words' (spoken or typed)")
        if "options" in body and ck.expect(file, body, "options",
                                           isinstance(body["options"], dict),
                                           "a mapping of key to step"):
            opts = body["options"]
            for key in opts:
                if option_key(key) not in MENU_KEYS:
                    ck.error(key_loc(file, opts, key),
                             f"menu option '{key}' must be one key: 0-9, * or #")
                ck.target(info, step, opts, key, f"option {key}")
        if "words" in body and ck.expect(file, body, "words", isinstance(body["words"], dict),
                                         "a mapping of step to a list of words"):
            words = body["words"]
            seen: dict[str, str] = {}
            for tgt, spoken in words.items():
                wl = key_loc(file, words, tgt)
                if not isinstance(tgt, str):
                    ck.error(wl, f"'words' keys must be step names, not {ck.type_name(tgt)}")
                    continue
                ck.ref(info, step, f"words for {tgt}", tgt, wl)
                items = spoken if isinstance(spoken, list) else [spoken]
                for i, w in enumerate(items):
                    where = item_loc(file, spoken, i) if isinstance(spoken, list) \
                        else value_loc(file, words, tgt)
                    if not isinstance(w, str | int) or isinstance(w, bool) or not str(w).strip():
                        ck.error(where, f"words must be text, not {ck.type_name(w)}")
                        continue
                    norm = " ".join(str(w).lower().split())
                    if norm in seen and seen[norm] != tgt:
                        ck.error(where, f"word '{w}' already leads to '{seen[norm]}'")
                    seen.setdefault(norm, tgt)

    def ask(self, rt: Runner, step: Step, flow: Flow, state: FlowState,
            prompt: list[Output]) -> Ask:
        s = step.settings
        keys = [option_key(k) for k in (s.get("options") or {})]
        hints: list[str] = []
        for spoken in (s.get("words") or {}).values():
            hints.extend(str(w) for w in (spoken if isinstance(spoken, list) else [spoken]))
        return Ask(
            step=step.name,
            kind="menu",
            prompt=prompt,
            input="both" if hints else "dtmf",
            language=state.language,
            num_digits=max((len(k) for k in keys), default=1),
            finish_on="",  # the key count ends it, and "#" may be an option
            timeout=int(s.get("timeout") or DEFAULT_INPUT_TIMEOUT),
            hints=hints,
        )

    def accept(self, rt: Runner, step: Step, flow: Flow, state: FlowState, digits: str,
               speech: str) -> Accepted | None:
        target = self.choice(step, digits, speech)
        return Accepted(target) if target is not None else None

    @staticmethod
    def choice(step: Step, digits: str, speech: str) -> str | None:
        """The option a key or a said (or typed) word chooses, else None."""
        options = {option_key(k): str(v) for k, v in (step.settings.get("options") or {}).items()}
        if digits:
            return options.get(digits)
        said = normalize_words(speech)
        if not said:
            return None
        if said in options:  # "2" said (or typed) aloud
            return options[said]
        padded = f" {said} "
        for target, spoken in (step.settings.get("words") or {}).items():
            for word in spoken if isinstance(spoken, list) else [spoken]:
                w = normalize_words(str(word))
                if w and (w == said or f" {w} " in padded):
                    return str(target)
        return None

    def text_input(self, step: Step, text: str) -> tuple[str, str]:
        digits = squeeze(text)
        return (digits if is_keypad(digits) else ""), text


SPEC = MenuStep()
