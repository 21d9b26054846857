"""The admin JSON API (`/api/...`, bearer token) and its live Prometheus metrics.

Wiring, for `create_app`: `app.register_blueprint(ivr.api.bp)` and
`ivr.api.metrics.install(app)`.
"""

from __future__ import annotations

from ivr.api import reports as _reports  # noqa: F401,E402 - registers /contacts, /reports
from ivr.api import staffing as _staffing  # noqa: F401,E402 - registers /staffing
from ivr.api.routes import api, bp

__all__ = ["api", "bp"]
