"""The call-flow JSON Schemas are served at /schemas/<name>.json, the package's own files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

import ivr.flows
from ivr.app import create_app

DEMO = Path(__file__).resolve().parents[2] / "callflows"
PACKAGE = Path(ivr.flows.__file__).parent


@pytest.fixture()
def app(redis_url: str) -> Flask:
    return create_app({"redis_url": redis_url, "callflows": DEMO, "background": False})


@pytest.mark.parametrize("name", ["callflows", "queues", "agents", "hours"])
def test_each_schema_is_served(app: Flask, name: str) -> None:
    client = app.test_client()
    resp = client.get(f"/schemas/{name}.json", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/schema+json"
    document = json.loads(resp.data)
    assert document == json.loads((PACKAGE / f"{name}.schema.json").read_text())
    assert "$schema" in document
    # Also under the file's own name.
    assert client.get(f"/schemas/{name}.schema.json").data == resp.data


@pytest.mark.parametrize("path", ["/schemas/nope.json", "/schemas/..%2Fpaths.json",
                                  "/schemas/../flows/callflows.json", "/schemas/callflows"])
def test_nothing_else_is_served(app: Flask, path: str) -> None:
    assert app.test_client().get(path).status_code == 404


def test_the_demo_flows_name_schemas_that_exist() -> None:
    """Every `$schema` comment of the demo folder names a schema the server serves."""
    for yaml in DEMO.glob("*.yaml"):
        first = yaml.read_text().splitlines()[0]
        if "$schema=" in first:
            target = first.split("$schema=", 1)[1].strip()
            name = Path(target).name.removesuffix(".json").removesuffix(".schema")
            assert (PACKAGE / f"{name}.schema.json").exists(), yaml
