"""The server `ivr simulate` plays Twilio for: a running one, or its own.

- Attached: `ivr serve --simulated` runs with this IVR_DATA_DIR (it leaves a
  `ServerRecord` there). The simulator serves its REST API on the port that
  server calls as its Twilio, and sends its webhooks to that server: callers
  appear on its wallboard, agents made available there ring in the terminal.
- Private: no such server. The app runs in this process on loopback, on
  REDIS_URL or on a throw-away embedded Redis, so a real server's live state
  is never touched.

Either way, agents' statuses and the live figures are read and changed through
the server's admin API (`AdminClient`), exactly as the wallboard does.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from ivr import paths
from ivr.flows.model import Callflows
from ivr.sim.harness import serve_wsgi
from ivr.sim.twilio import TwilioSim
from ivr.store import ServerRecord

SIM_ACCOUNT_SID = "AC" + "5" * 32
SIM_AUTH_TOKEN = "simulate-" + "token"


class AdminError(Exception):
    """The admin API refused or could not be reached; the message says why."""


class AdminClient:
    """The few admin API calls a simulation needs (the wallboard's own)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base = base_url.rstrip("/") + paths.API
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.session.request(method, self.base + path, timeout=10, **kwargs)
        except requests.RequestException as exc:
            raise AdminError(f"the server's API did not answer: {exc}") from None
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error") or resp.text
            except ValueError:
                message = resp.text
            raise AdminError(f"{message} (HTTP {resp.status_code})")
        return resp.json()

    def agents(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/agents"))

    def set_status(self, agent: str, status: str) -> dict[str, Any]:
        return dict(self._call("PUT", f"/agents/{agent}/status", json={"status": status}))

    def waiting(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/waiting"))

    def wallboard(self) -> dict[str, Any]:
        return dict(self._call("GET", "/wallboard"))

    def close(self) -> None:
        self.session.close()


@dataclass
class SimServer:
    """A simulator wired to a server, and what the simulation needs to know about it."""

    sim: TwilioSim
    url: str
    callflows: Callflows
    admin: AdminClient
    attached: bool
    folder: Path


def load_callflows(folder: Path) -> Callflows:
    """The folder as the server sees it (an empty set when it does not pass the checker)."""
    from ivr.flows.checker import check_folder

    callflows, _ = check_folder(folder)
    return callflows or Callflows(flows={})


class AttachError(Exception):
    """The running server cannot be attached to (it does not answer, another simulate is)."""


@contextlib.contextmanager
def attached(record: ServerRecord, time_scale: float,
             admin_token: str | None) -> Iterator[SimServer]:
    """Play Twilio for the `ivr serve --simulated` server of `record`."""
    from ivr.twilio_client import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN

    try:
        healthy = requests.get(record.url + paths.HEALTH, timeout=3).status_code == 200
    except requests.RequestException:
        healthy = False
    if not healthy:
        raise AttachError(f"the server at {record.url} (pid {record.pid}) does not answer "
                          f"{paths.HEALTH}; is it still starting, or stuck?")
    # A --simulated server runs in dev mode: it calls its Twilio with the dev credentials.
    sim = TwilioSim(account_sid=DEV_ACCOUNT_SID, auth_token=DEV_AUTH_TOKEN,
                    time_scale=time_scale)
    port = urlsplit(record.simulator_url or "").port or 0
    try:
        sim.start(port)
    except OSError:
        raise AttachError(f"another `ivr simulate` is attached to the server at {record.url} "
                          f"(port {port} is taken); one at a time") from None
    sim.app_url = record.url
    folder = Path(record.callflows)
    admin = AdminClient(record.url, admin_token)
    try:
        yield SimServer(sim=sim, url=record.url, callflows=load_callflows(folder),
                        admin=admin, attached=True, folder=folder)
    finally:
        sim.stop()
        admin.close()


@contextlib.contextmanager
def private(time_scale: float, config: Mapping[str, Any] | None = None) -> Iterator[SimServer]:
    """The app in-process on loopback, with the simulator as its Twilio."""
    from ivr.app import create_app
    from ivr.config import Config
    from ivr.sim.clock import install
    from ivr.store import EmbeddedRedis

    env = Config.from_env()
    sim = TwilioSim(account_sid=SIM_ACCOUNT_SID, auth_token=SIM_AUTH_TOKEN,
                    time_scale=time_scale)
    sim.start()
    embedded: EmbeddedRedis | None = None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    settings: dict[str, Any] = {
        "twilio_api_url": sim.api_url,
        "twilio_account_sid": SIM_ACCOUNT_SID,
        "twilio_auth_token": SIM_AUTH_TOKEN,
        "public_url": None,
    }
    settings.update(config or {})
    if not settings.get("redis_url") and not env.redis_url:
        # A private embedded Redis: a simulation must not touch a real server's live state.
        tmp = tempfile.TemporaryDirectory(prefix="ivr-simulate-")
        embedded = EmbeddedRedis(Path(tmp.name))
        settings["redis_url"] = embedded.start()
    app = create_app(settings)
    install(app)  # honour --at / --open
    server = serve_wsgi(app, quiet=True)
    sim.app_url = server.url
    cfg: Config = app.extensions["ivr.config"]
    admin = AdminClient(server.url, cfg.admin_token)
    try:
        yield SimServer(sim=sim, url=server.url, callflows=app.extensions["ivr.flows"].current,
                        admin=admin, attached=False, folder=cfg.callflows)
    finally:
        sim.stop()
        admin.close()
        for name in ("ivr.router", "ivr.flows"):
            ext = app.extensions.get(name)
            if ext is not None and hasattr(ext, "stop"):
                with contextlib.suppress(Exception):
                    ext.stop()
        server.stop()
        if embedded is not None:
            embedded.stop()
        if tmp is not None:
            tmp.cleanup()
