"""Several gunicorn workers share one Redis: one texter's messages, spread over the
workers at once, still take their turns one by one (no lost or doubled step)."""

from __future__ import annotations

import threading
from pathlib import Path

import redis

from ivr.sim.harness import run_gunicorn
from ivr.sim.twilio import TwilioSim

from .conftest import FILES, SERVICE, TEXTER, write_flows
from .test_sms_e2e import COUNTER_FLOW

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "test-auth-token"


def test_one_texter_over_two_workers(redis_url: str, r: redis.Redis, tmp_path: Path) -> None:
    folder = tmp_path / "callflows"
    folder.mkdir()
    write_flows(folder, {**FILES, "text.yaml": COUNTER_FLOW})
    sim = TwilioSim(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    server = run_gunicorn("wsgi:app", workers=2, threads=8, env={
        "REDIS_URL": redis_url, "TWILIO_API_URL": sim.api_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_CALLFLOWS": str(folder), "IVR_RECORDINGS": str(tmp_path),
    }, cwd=str(Path(__file__).resolve().parents[2]), log_path=tmp_path / "gunicorn.log",
        extra_args=["--keep-alive", "60"])
    try:
        sim.app_url = server.url
        assert sim.send_sms(TEXTER, SERVICE, "start") == ["Say anything."]
        results: list[str] = []
        lock = threading.Lock()

        def send(i: int) -> None:
            got = sim.send_sms(TEXTER, SERVICE, f"m{i}")
            with lock:
                results.extend(got)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        counts = sorted(int(x.split(":")[0].removeprefix("Message ")) for x in results)
        assert counts == list(range(1, 13)), (results, server.log()[-2000:])
        sim.assert_no_errors()
    finally:
        sim.stop()
        server.stop()
