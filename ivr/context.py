"""Typed accessors for what `create_app` keeps in `app.extensions`.

Blueprints reach the engine, the router and Redis through these, so the web
layer never builds them itself (Flask's tutorial pattern).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
from flask import current_app, g, has_request_context

from ivr.config import Config

if TYPE_CHECKING:
    from twilio.rest import Client

    from ivr.flows.engine import VoiceEngine
    from ivr.flows.registry import FlowRegistry
    from ivr.flows.texting import TextEngine
    from ivr.routing.router import Router


def get_config() -> Config:
    config: Config = current_app.extensions["ivr.config"]
    return config


def get_redis() -> redis.Redis:
    client: redis.Redis = current_app.extensions["ivr.redis"]
    return client


def get_flows() -> FlowRegistry:
    registry: FlowRegistry = current_app.extensions["ivr.flows"]
    return registry


def get_twilio() -> Client:
    client: Client = current_app.extensions["ivr.twilio"]
    return client


def get_engine() -> VoiceEngine:
    engine: VoiceEngine = current_app.extensions["ivr.engine"]
    return engine


def get_router() -> Router:
    router: Router = current_app.extensions["ivr.router"]
    return router


def get_texting() -> TextEngine:
    texting: TextEngine = current_app.extensions["ivr.texting"]
    return texting


def get_extension(name: str) -> Any:
    """The engine ("ivr.engine"), router ("ivr.router") and others registered later."""
    return current_app.extensions[name]


def final_writes(store: redis.Redis) -> tuple[redis.client.Pipeline, bool]:
    """A pipeline for a handler's last writes, and whether someone else executes it.

    Inside a Twilio webhook the decorator executes it together with the
    replay-cache write of the answer: one Redis round trip instead of two on
    every webhook. Outside one (a test calling the engine directly, a timer),
    the caller gets a fresh pipeline and executes it itself.
    """
    if has_request_context() and g.get("ivr_final_writes") is not None:
        pipe: redis.client.Pipeline = g.ivr_final_writes
        return pipe, True
    return store.pipeline(transaction=False), False
