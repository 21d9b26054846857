"""Typed accessors for what `create_app` keeps in `app.extensions`, for the web layer.

Blueprints reach the engine, the router and Redis through these, so the web
layer never builds them itself (Flask's tutorial pattern). Nothing below the
web layer imports this module: the engines and the router get what they need
as arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from flask import current_app, g, has_request_context

from ivr.config import Config
from ivr.urls import PublicUrl

if TYPE_CHECKING:
    from ivr.flows.chat_relay import ChatRelay
    from ivr.flows.engine import VoiceEngine
    from ivr.flows.registry import FlowRegistry
    from ivr.flows.texting import TextEngine
    from ivr.reports import Reporting
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


def get_engine() -> VoiceEngine:
    engine: VoiceEngine = current_app.extensions["ivr.engine"]
    return engine


def get_urls() -> PublicUrl:
    """The worker's one PublicUrl (an app assembled by hand gets one on first use)."""
    urls: PublicUrl | None = current_app.extensions.get("ivr.urls")
    if urls is None:
        urls = PublicUrl(get_redis(), get_config().public_url)
        current_app.extensions["ivr.urls"] = urls
    return urls


def get_router() -> Router:
    router: Router = current_app.extensions["ivr.router"]
    return router


def get_texting() -> TextEngine:
    texting: TextEngine = current_app.extensions["ivr.texting"]
    return texting


def get_reporting() -> Reporting:
    reporting: Reporting = current_app.extensions["ivr.reports"]
    return reporting


def final_writes() -> redis.client.Pipeline | None:
    """The pipeline of the Twilio webhook being answered, for a handler's last writes.

    The webhook decorator (`ivr.webhooks.common`) executes it together with the
    replay-cache write of the answer: one Redis round trip instead of two on
    every webhook. Handlers pass it to the engine (`writes=`); None outside a
    webhook, and the engine then writes by itself.
    """
    if not has_request_context():
        return None
    pipe: redis.client.Pipeline | None = g.get("ivr_final_writes")
    return pipe


def get_chat_relay() -> ChatRelay:
    relay: ChatRelay = current_app.extensions["ivr.chat_relay"]
    return relay
