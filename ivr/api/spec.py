"""Typed route declarations: one decorator registers a Flask view and describes it in OpenAPI.

Each `/api` operation is declared once, with pydantic models for its query, body and
answer (`Api.route`). The same declaration parses and validates the request, checks
and serialises the answer, and produces the operation in `/api/openapi.json`, so the
document cannot drift from the code. JSON Schemas come from pydantic
(`TypeAdapter.json_schemas`); only the small OpenAPI envelope (paths, parameters,
responses) is assembled here. Why not flask-openapi3 or spectree: both replace the
error bodies with their own formats and want their own blueprint or app wiring, while
every error here must be `{"error": "..."}` with a fixed set of status codes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, TypeAdapter, ValidationError

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (for example a body that is not JSON)",
    401: "Missing or wrong admin token",
    403: "Refused without an admin token: the Host names another site, or another site's "
         "page sent the change",
    404: "No such item",
    409: "Conflicts with the current state",
    415: "The body must be application/json (without an admin token, every POST must say so)",
    422: "Well-formed but invalid input",
    502: "Twilio refused or did not answer",
}


class ApiError(Exception):
    """An answer other than success: becomes `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ErrorBody(BaseModel):
    error: str


def describe_validation(exc: ValidationError) -> str:
    """A one-line account of what pydantic refused ("skills.sales: ... ; phone: ...")."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


@dataclass
class Operation:
    rule: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: Any
    status: int
    errors: tuple[int, ...]
    also: tuple[int, ...] = ()  # other success codes with the same answer (PUT: 200 or 201)
    path: dict[str, dict[str, Any]] = field(default_factory=dict)  # path arg -> JSON Schema
    csv: bool = False  # may also answer text/csv (`format=csv`)
    media: tuple[str, ...] = ()  # binary answers instead of JSON (audio/mpeg, ...)
    adapter: TypeAdapter[Any] | None = field(default=None, repr=False)


def _parse_query(model: type[BaseModel]) -> BaseModel:
    values = {k: request.args.get(k) for k in request.args}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(422, describe_validation(exc)) from exc


def _parse_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise ApiError(415, "send the body as JSON (Content-Type: application/json)")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, describe_validation(exc)) from exc


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry null: `X | None = None` is just an optional X there."""
    branches = prop.get("anyOf")
    if not branches:
        return prop
    kept = [b for b in branches if b.get("type") != "null"]
    if len(kept) != 1:
        return prop
    out = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    out.update(kept[0])
    if prop.get("default") is not None:
        out["default"] = prop["default"]
    return out


class Api:
    """The operations of one blueprint, and the OpenAPI document describing them."""

    def __init__(self, bp: Blueprint, *, prefix: str, title: str, version: str,
                 description: str = "") -> None:
        self.bp = bp
        self.prefix = prefix.rstrip("/")
        self.title = title
        self.version = version
        self.description = description
        self.operations: list[Operation] = []
        self._document: dict[str, Any] | None = None

    def route(
        self,
        rule: str,
        method: str,
        *,
        summary: str,
        tag: str,
        response: Any = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        also: tuple[int, ...] = (),
        path: dict[str, dict[str, Any]] | None = None,
        csv: bool = False,
        media: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register `fn` at `rule` for `method`; it gets path args, `query=`, `body=`."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            op = Operation(
                rule=rule, method=method.upper(), name=fn.__name__, summary=summary,
                description=(fn.__doc__ or "").strip(), tag=tag, query=query, body=body,
                response=response, status=status, also=also, path=dict(path or {}), csv=csv,
                media=media,
                errors=tuple(sorted({*errors, *((422,) if query or body else ()),
                                     *((400, 415) if body else ()),
                                     *((415,) if method.upper() == "POST" else ())})),
                adapter=TypeAdapter(response) if response is not None else None,
            )
            self.operations.append(op)
            self._document = None

            @functools.wraps(fn)
            def view(**path_args: Any) -> Response | tuple[Response, int]:
                kwargs = dict(path_args)
                if query is not None:
                    kwargs["query"] = _parse_query(query)
                if body is not None:
                    kwargs["body"] = _parse_body(body)
                result = fn(**kwargs)
                if isinstance(result, Response):
                    return result
                code = op.status
                if isinstance(result, tuple):
                    result, code = result
                if op.adapter is not None:
                    # Checked against the declared model: the document tells the truth.
                    # Written straight to JSON by pydantic-core (the wallboard's poll is
                    # hundreds of KB: a Python dict round trip and jsonify doubled its time).
                    text = op.adapter.dump_json(op.adapter.validate_python(result))
                    return Response(text, status=code, mimetype="application/json")
                return jsonify(result), code

            self.bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view,
                                 methods=[op.method])
            return fn

        return decorate

    # --- the document -------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every declared operation (built once, then cached)."""
        if self._document is not None:
            return self._document
        inputs: list[tuple[Any, Any, TypeAdapter[Any]]] = [
            ("error", "serialization", TypeAdapter(ErrorBody))]
        for i, op in enumerate(self.operations):
            if op.body is not None:
                inputs.append((("body", i), "validation", TypeAdapter(op.body)))
            if op.query is not None:
                inputs.append((("query", i), "validation", TypeAdapter(op.query)))
            if op.adapter is not None:
                inputs.append((("response", i), "serialization", op.adapter))
        schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF)
        components: dict[str, Any] = dict(definitions.get("$defs", {}))
        error_ref = schemas[("error", "serialization")]

        paths: dict[str, dict[str, Any]] = {}
        for i, op in enumerate(self.operations):
            path = self.prefix + re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", op.rule)
            params: list[dict[str, Any]] = [
                {"name": name, "in": "path", "required": True,
                 "schema": op.path.get(name, {"type": "string"})}
                for name in re.findall(r"{([^}]+)}", path)
            ]
            if op.query is not None:
                qschema = schemas[(("query", i), "validation")]
                if "$ref" in qschema:
                    qschema = components.pop(qschema["$ref"].rsplit("/", 1)[1])
                required = set(qschema.get("required", []))
                for name, prop in qschema.get("properties", {}).items():
                    prop = _without_null(prop)
                    param: dict[str, Any] = {"name": name, "in": "query",
                                             "required": name in required, "schema": prop}
                    if prop.get("description"):
                        param["description"] = prop["description"]
                    params.append(param)
            entry: dict[str, Any] = {
                "operationId": op.name,
                "summary": op.summary,
                "tags": [op.tag],
                "security": [{"bearerAuth": []}],
                "responses": {},
            }
            if op.description:
                entry["description"] = op.description
            if params:
                entry["parameters"] = params
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": schemas[(("body", i), "validation")]}}}
            ok: dict[str, Any] = {"description": "Success"}
            if op.adapter is not None:
                ok["content"] = {"application/json": {
                    "schema": schemas[(("response", i), "serialization")]}}
            if op.csv:
                ok.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}
            for mediatype in op.media:
                ok.setdefault("content", {})[mediatype] = {
                    "schema": {"type": "string", "format": "binary"}}
            for code in (op.status, *op.also):
                entry["responses"][str(code)] = ok
            for code in sorted({401, 403, *op.errors}):
                entry["responses"][str(code)] = {
                    "description": ERROR_TEXT.get(code, "Error"),
                    "content": {"application/json": {"schema": error_ref}},
                }
            paths.setdefault(path, {})[op.method.lower()] = entry

        self._document = {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version,
                     "description": self.description},
            "paths": paths,
            "components": {
                "schemas": components,
                "securitySchemes": {"bearerAuth": {
                    "type": "http", "scheme": "bearer",
                    "description": "IVR_ADMIN_TOKEN; unset, loopback clients only"}},
            },
        }
        return self._document
