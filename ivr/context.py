"""Typed accessors for what `create_app` keeps in `app.extensions`.

Blueprints reach the engine, the router and Redis through these, so the web
layer never builds them itself (Flask's tutorial pattern).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
from flask import current_app

from ivr.config import Config

if TYPE_CHECKING:
    from twilio.rest import Client

    from ivr.flows.registry import FlowRegistry


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


def get_extension(name: str) -> Any:
    """The engine ("ivr.engine"), router ("ivr.router") and others registered later."""
    return current_app.extensions[name]
