"""What the voice engine and the text engine share.

Both answer Twilio webhooks by running the same flows with the same `Runner`;
they differ only in how a turn is rendered (TwiML verbs or texts) and where a
conversation's state lives. This base holds the rest, once:

- the constructor (Redis, the flow registry, Twilio's REST client, the
  router, the config, an injectable clock and http caller, and the public URL
  builder `PublicUrl`);
- which version of the folder a conversation continues on (`_version_for`);
- what Twilio sends about the caller (`caller_from`) and which call statuses
  are final (`FINAL_STATUSES`);
- the final writes of a turn: the web layer passes its pipeline (`writes`) so
  they go out with the webhook's replay-cache write in one round trip; without
  one (a test, a timer) the engine executes its own;
- the events of a conversation that reports will count (`on_survey`).

Nothing here knows HTTP: webhook parameters arrive as a plain mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import redis
from twilio.rest import Client

from ivr.config import Config
from ivr.flows import optout
from ivr.flows.actions_http import call_http
from ivr.flows.model import Callflows
from ivr.flows.runner import HttpCaller
from ivr.flows.state import FlowState
from ivr.store import execute_pipeline
from ivr.urls import PublicUrl

if TYPE_CHECKING:
    from ivr.flows.registry import FlowRegistry

log = logging.getLogger("ivr.flows.engine")

Params = Mapping[str, str]
"""A webhook's parameters (form body and query string), as the web layer parsed them."""

Pipeline = redis.client.Pipeline

FINAL_STATUSES = ("completed", "busy", "failed", "no-answer", "canceled")
MAX_OVERFLOW_HOPS = 5  # a queue overflowing into a queue overflowing into ... (both engines)
"""Twilio's CallStatus values after which a call is over."""

_CALLER_FIELDS = {"country": "FromCountry", "city": "FromCity", "state": "FromState",
                  "zip": "FromZip"}

R = TypeVar("R")


def caller_from(params: Params) -> dict[str, str]:
    """The template's `caller`, from what Twilio sends about a caller or texter.

    `number` is the address without `whatsapp:` (on a call as by text); `name`
    is the caller ID name of a call (CallerName) or a WhatsApp profile name
    (ProfileName); country, city, state and zip when Twilio knows them.
    """
    out = {"number": optout.bare_number(params.get("From", ""))}
    out.update({name: params[p] for name, p in _CALLER_FIELDS.items() if params.get(p)})
    name = params.get("CallerName") or params.get("ProfileName")
    if name:
        out["name"] = name
    return out


def is_final(params: Params) -> bool:
    """Is this status callback the end of the call?"""
    return params.get("CallStatus") in FINAL_STATUSES


class FlowEngine(Generic[R]):
    """The common part of `VoiceEngine` and `TextEngine`; `R` is the router interface
    the engine needs (a Protocol each engine declares)."""

    channel = "voice"

    def __init__(
        self,
        store: redis.Redis,
        flows: FlowRegistry,
        twilio: Client,
        router: R,
        config: Config,
        *,
        clock: Callable[[], datetime] | None = None,
        http: HttpCaller = call_http,
        urls: PublicUrl | None = None,
    ) -> None:
        self.store = store
        self.flows = flows
        self.twilio = twilio
        self.router = router
        self.config = config
        self.clock = clock
        self.http = http
        # Outside a webhook (tests driving the engine directly) URLs stay relative.
        self.urls = urls or PublicUrl(store, config.public_url, default="")
        self._setup()

    def _setup(self) -> None:
        """What a subclass builds once at construction (scripts, counters, knobs)."""

    def _version_for(self, state: FlowState) -> Callflows | None:
        """The version the conversation started on; when that one is gone, the current
        version if the conversation's step is still there (it moves), else None."""
        callflows = self.flows.version(state.version) if state.version else None
        if callflows is not None:
            return callflows
        current = self.flows.current
        flow = current.flows.get(state.flow)
        if flow is None or state.step not in flow.steps:
            return None
        log.info("%s in %s.%s moves from version %s to %s", self.channel, state.flow,
                 state.step, state.version, current.version)
        state.version = current.version
        return current

    def _writes(self, writes: Pipeline | None) -> tuple[Pipeline, bool]:
        """The pipeline for a turn's final writes, and whether the caller executes it."""
        if writes is not None:
            return writes, True
        return self.store.pipeline(transaction=False), False

    def _flush(self, pipe: Pipeline, deferred: bool) -> None:
        if not deferred:  # inside a webhook, it goes out with the replay-cache write
            execute_pipeline(self.store, pipe)

    # --- events (what reports will count) ------------------------------------------------

    def on_survey(self, state: FlowState, score: int, *, scale: int, step: str) -> None:
        """A caller or texter gave a survey score (also kept in the state's vars)."""
        log.info("%s %s: survey %s.%s scored %d of %d", self.channel,
                 state.call.get("sid", ""), state.flow, step, score, scale)
