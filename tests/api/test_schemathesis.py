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

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import negative_data_rejection

from tests.api.conftest import TOKEN

EXAMPLES = int(os.environ.get("IVR_SCHEMATHESIS_EXAMPLES", "25"))


def test_api_conforms_to_its_document(app: Flask) -> None:
    """Every operation of the document, EXAMPLES generated cases each.

    Driven with hypothesis directly rather than schemathesis' pytest plugin,
    whose lazy fixtures break with each pytest release (pytest 9.2: no `_nodeid`).
    """
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # the whole API, not an empty document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None,
                  derandomize="IVR_SCHEMATHESIS_EXAMPLES" not in os.environ,
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            # negative_data_rejection is left out: in a query string an integer "1" and the
            # string "1" are the same bytes, so schemathesis' type-violating "negative" cases
            # can be perfectly valid requests (it flagged `?minutes=1`). Every other default
            # check runs.
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                                   excluded_checks=[negative_data_rejection])

        check()
