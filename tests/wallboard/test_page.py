"""The wallboard shell: served without a token but with no live data in it."""

from __future__ import annotations

from flask import Flask

from tests.api.conftest import TOKEN  # noqa: F401  (the `app` fixture sets it)


def test_page_is_a_shell_that_loads_its_script(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/wallboard", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<meta name="viewport"' in html  # readable on a phone
    assert "/wallboard/static/wallboard.js" in html and "/wallboard/static/wallboard.css" in html
    assert 'data-poll-ms="2000"' in html  # polls at most every 2 s
    # No live data in the shell: names of agents and queues come from the API only.
    assert "Alice" not in html and "sales" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    script = client.get("/wallboard/static/wallboard.js")
    assert script.status_code == 200 and "/api/wallboard" in script.get_data(as_text=True)
    assert client.get("/wallboard/static/wallboard.css").status_code == 200


def test_the_data_behind_the_page_needs_the_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/wallboard").status_code == 401
    ok = client.get("/api/wallboard", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and [a["id"] for a in ok.json["agents"]] == ["alice", "bob"]
