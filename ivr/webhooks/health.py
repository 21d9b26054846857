"""Operational endpoints: health, metrics, the audio prompts Twilio plays, and the
JSON Schemas of the call-flow files (for editors, wherever the folder lives)."""

from __future__ import annotations

import os
import time
from importlib import resources

import redis
from flask import Blueprint, Response, abort, jsonify, send_from_directory

from ivr import metrics, paths
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


def _schemas() -> dict[str, bytes]:
    """The package's `ivr/flows/<name>.schema.json`, by name (read once per process)."""
    found = {}
    for entry in resources.files("ivr.flows").iterdir():
        if entry.name.endswith(".schema.json") and entry.is_file():
            found[entry.name.removesuffix(".schema.json")] = entry.read_bytes()
    return found


_SCHEMAS: dict[str, bytes] | None = None


@bp.get(paths.SCHEMAS + "/<name>.json")
def schema(name: str) -> Response:
    """`/schemas/callflows.json` (or `callflows.schema.json`, as the file is named), so a
    `# yaml-language-server: $schema=http://127.0.0.1:8000/schemas/callflows.json`
    comment works wherever the call-flow folder is moved. Public: no live data."""
    global _SCHEMAS
    if _SCHEMAS is None:
        _SCHEMAS = _schemas()
    body = _SCHEMAS.get(name.removesuffix(".schema"))
    if body is None:
        abort(404)
    response = Response(body, mimetype="application/schema+json")
    response.headers["Cache-Control"] = "max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # browser-based editors
    return response
