"""An app served over HTTP with the Twilio simulator, the admin token set, and helpers to
make recordings in the simulator and post their status callbacks as Twilio would.

Desk sessions are played by a test-only `before_request` hook that sets `g.desk_agent`
from the `X-Test-Desk-Agent` header (the desk's own sign-in is not what is tested here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask, g, request

from ivr.recordings import Recordings, callback_url
from ivr.reports.contacts import Contact
from ivr.sim.recordings import SimRecording, add_recording, fire_callback
from tests.conftest import DEMO_CALLFLOWS, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, Live

TOKEN = "recordings-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


class Rig:
    """One live app, its simulator, and what the recordings tests do with them."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.sim = live.sim
        self.url = live.url
        self.recordings: Recordings = live.app.extensions["ivr.recordings"]

        @live.app.before_request
        def _desk_session() -> None:  # test only: stands in for the desk's session cookie
            agent = request.headers.get("X-Test-Desk-Agent")
            if agent:
                g.desk_agent = agent

    def record(self, call: str, *, queue: str | None = "sales", agent: str | None = "alice",
               fire: bool = True, **sim_args: Any) -> SimRecording:
        """A recording of `call` in the simulator; its `completed` callback posted."""
        rec = add_recording(self.sim, call, **sim_args)
        if fire:
            ex = self.fire(rec, queue=queue, agent=agent)
            assert ex.status == 200, ex
        return rec

    def fire(self, rec: SimRecording, *, queue: str | None = "sales",
             agent: str | None = "alice", status: str | None = None) -> Any:
        url = callback_url(self.url, call=rec.call_sid, queue=queue, agent=agent,
                           source="conference" if rec.conference_sid else "dial")
        return fire_callback(self.sim, url, rec, status)

    def api(self, method: str, path: str, *, desk: str | None = None, admin: bool = True,
            **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if admin:
            headers.update(ADMIN)
        if desk:
            headers["X-Test-Desk-Agent"] = desk
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def put_contact(self, call: str, **fields: Any) -> Contact:
        now = time.time()
        contact = Contact(id=call, channel="voice", start=now - 60, end=now,
                          number="+15005550199", queue="sales", agents=["alice"],
                          outcome="connected", **fields)
        self.live.app.extensions["ivr.reports"].contacts.put(contact)
        return contact

    def contact(self, call: str) -> Contact | None:
        found: Contact | None = self.live.app.extensions["ivr.reports"].contacts.get(call)
        return found

    def deletes(self) -> list[str]:
        """Paths of the DELETE requests the simulator answered for recordings."""
        return [req.path for req in self.sim.record.rest_requests
                if req.method == "DELETE" and "/Recordings/" in req.path]

    def rest_paths(self, method: str = "GET") -> list[str]:
        return [req.path for req in self.sim.record.rest_requests if req.method == method]


def second_app(rig: Rig, redis_url: str, **config: Any) -> Flask:
    """Another worker (on another host, say) on the same Redis and the same Twilio."""
    from ivr.app import create_app

    settings: dict[str, Any] = {
        "redis_url": redis_url, "twilio_api_url": rig.sim.api_url,
        "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
        "callflows": DEMO_CALLFLOWS, "background": False, "recording_grace": 30.0,
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture()
def make_rig(live_factory: Callable[..., Live]) -> Callable[..., Rig]:
    def make(**config: Any) -> Rig:
        settings: dict[str, Any] = {"background": False, "admin_token": TOKEN,
                                    "recording_grace": 30.0}
        settings.update(config)
        return Rig(live_factory(**settings))

    return make


@pytest.fixture()
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()
