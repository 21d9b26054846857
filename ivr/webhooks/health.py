"""Operational endpoints: health, metrics, and the audio prompts Twilio plays."""

from __future__ import annotations

import time

import redis
from flask import Blueprint, Response, jsonify, send_from_directory

from ivr import metrics
from ivr.context import get_config, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    started = time.perf_counter()
    try:
        get_redis().ping()
    except redis.RedisError as exc:
        return jsonify(status="unavailable", redis=str(exc)), 503
    return jsonify(status="ok", redis_ms=round((time.perf_counter() - started) * 1000, 2)), 200


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/recordings/<path:filename>")
def recording(filename: str) -> Response:
    """Prompts and hold music for `<Play>`; send_from_directory refuses `..` escapes."""
    folder = get_config().recordings.resolve()
    return send_from_directory(folder, filename, max_age=3600)
