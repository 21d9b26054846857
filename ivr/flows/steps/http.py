"""`http: URL` calls a web service of a host the flow lists; `next`, or `error` on failure."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Custom, StepError, StepSpec, Target, Variable, next_of
from ivr.flows.yamlsrc import value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

log = logging.getLogger("ivr.flows.runner")

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_TIMEOUT = 5  # seconds: the answer must reach Twilio within its 15 s budget


class HttpStep(StepSpec):
    action = "http"
    value = Custom()  # the URL (see Values.http_url)
    settings = {"method": Custom(), "json": Custom(), "headers": Custom(), "timeout": Custom(),
                "into": Variable(), "next": Target(), "error": Target()}

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        if not ck.expect(file, body, "http", isinstance(body["http"], str), "a URL"):
            return
        ck.http_url(file, body, "http", info.http_hosts)
        if "method" in body and ck.text(file, body, "method") and \
                body["method"].upper() not in HTTP_METHODS:
            ck.error(value_loc(file, body, "method"),
                     f"'method' must be one of {', '.join(HTTP_METHODS)}")
        if "json" in body:
            ck.templates_in(file, body, "json", body["json"])
        if "headers" in body and ck.expect(file, body, "headers",
                                           isinstance(body["headers"], dict),
                                           "a mapping of header names to text"):
            for k, hv in body["headers"].items():
                if isinstance(hv, str):
                    ck.template(value_loc(file, body["headers"], k), hv)
                else:
                    ck.error(value_loc(file, body["headers"], k),
                             f"header '{k}' must be text, not {ck.type_name(hv)}")
        if "timeout" in body:
            t = body["timeout"]
            if not ck.is_number(t) or not 0 < t <= MAX_TIMEOUT:
                ck.error(value_loc(file, body, "timeout"),
                         f"'timeout' of an http step must be more than 0 and at most "
                         f"{MAX_TIMEOUT} seconds, not {t!r}")

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        s = step.settings
        url = rt.render(str(step.value), flow, state)
        into = s.get("into")
        result = rt.http(
            url,
            allowed_hosts=list(flow.http_hosts),
            method=str(s.get("method") or ("POST" if "json" in s else "GET")),
            json_body=rt.render_deep(s.get("json"), flow, state) if "json" in s else None,
            headers=rt.render_deep(s.get("headers") or {}, flow, state),
            timeout=s.get("timeout"),
            want_json=bool(into),
        )
        if result.ok:
            if into:
                state.vars[str(into)] = result.data
            return next_of(step)
        log.warning("%s: http step %s of flow %s: %s", step.location, step.name, flow.name,
                    result.error)
        error = s.get("error")
        if isinstance(error, str):
            return error
        raise StepError(f"http failed ({result.error}) and the step has no `error` way out")


SPEC = HttpStep()
