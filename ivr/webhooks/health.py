"""Operational endpoints: health, metrics, and the audio prompts Twilio plays."""

from __future__ import annotations

import os
import time

import redis
from flask import Blueprint, Response, jsonify, send_from_directory

from ivr import metrics
from ivr.context import get_config, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when Redis answers. Says which worker and which Redis server answered,
    so an operator (and a test) can see that every worker shares one server."""
    started = time.perf_counter()
    try:
        run_id = get_redis().info("server").get("run_id")
    except redis.RedisError as exc:
        return jsonify(status="unavailable", redis=str(exc), worker=os.getpid()), 503
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return jsonify(status="ok", redis_ms=elapsed_ms, redis_run_id=run_id, worker=os.getpid()), 200


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/recordings/<path:filename>")
def recording(filename: str) -> Response:
    """Prompts and hold music for `<Play>`; send_from_directory refuses `..` escapes."""
    folder = get_config().recordings.resolve()
    return send_from_directory(folder, filename, max_age=3600)
