"""The wallboard tests use the API tests' app fixtures (same folder, same token)."""

from tests.api.conftest import app, auth, make_app  # noqa: F401
