"""Schemathesis against `/api/openapi.json`, in-process (WSGI), with its default checks
(but one, see below):
no generated input gets a 5xx, answers match the document (status codes, bodies,
headers), and invalid input is refused with a 4xx.

Bounded for speed (25 examples per operation, derandomized so CI is repeatable);
IVR_SCHEMATHESIS_EXAMPLES=500 runs a longer random search locally.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

from tests.api.conftest import TOKEN

EXAMPLES = int(os.environ.get("IVR_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture()
def api_schema(app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize="IVR_SCHEMATHESIS_EXAMPLES" not in
          os.environ, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: Any) -> None:
    # negative_data_rejection is left out: in a query string an integer "1" and the string
    # "1" are the same bytes, so schemathesis' type-violating "negative" cases can be
    # perfectly valid requests (it flagged `?minutes=1`). Every other default check runs.
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                           excluded_checks=[negative_data_rejection])
