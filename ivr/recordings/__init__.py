"""Call recordings: kept with their call, queue and agent, listed, streamed, deleted.

How a recording gets here, for the code that starts one (the agent bridge in
ivr/routing/recording.py, a dial step in ivr/flows/engine.py):
1. start it with `recordingStatusCallback` = `callback_url(base, call=..., queue=...,
   agent=..., source=..., step=...)` and events `in-progress completed absent` (Twilio's
   recording status callback: `ivr/webhooks/recording.py`);
2. call `expect(db, call_sid, recording_sid_or_None, queue=..., agent=..., source=...)`
   so that a callback that never comes does not lose it: the timers ask Twilio for the
   call's recordings after a grace period (`Recordings.recover`).

`setup(app)` builds the worker's `Recordings` (the blueprint of the callback does it when
it is registered) and hangs its sweep on the timer thread that every worker runs
(`router.timers.ticks`, as the reports' fold does). Routing's own timers are members of
a sorted set fired by a Lua script that knows their kinds; adding a kind there would mean
changing that script and its dispatcher, so the recordings' timers keep their own sorted
sets and claim each item with SET NX instead (once across workers and hosts). docs/recordings.md
says what users see.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ivr import paths
from ivr.recordings.service import GRACE, Recordings, TwilioFailed, expect
from ivr.recordings.store import Recording, RecordingStore

if TYPE_CHECKING:  # the flow engine imports this package and must load without Flask
    from flask import Flask

EXTENSION = "ivr.recordings"


def callback_url(base: str, *, call: str, queue: str | None = None,
                 agent: str | None = None, source: str = "conference",
                 step: str | None = None) -> str:
    """The recording status callback URL to give Twilio for a recording of `call`
    (`step`: the FLOW.STEP of a recording dial step)."""
    query = {k: v for k, v in (("call", call), ("queue", queue), ("agent", agent),
                               ("source", source), ("step", step)) if v}
    return f"{base.rstrip('/')}{paths.RECORDING_STATUS}?{urlencode(query)}"


def setup(app: Flask) -> Recordings:
    """The worker's `Recordings`, built once per app, its sweep on the timer thread."""
    found: Recordings | None = app.extensions.get(EXTENSION)
    if found is not None:
        return found
    config = app.extensions["ivr.config"]
    router = app.extensions.get("ivr.router")
    reporting = app.extensions.get("ivr.reports")
    recordings = Recordings(
        app.extensions["ivr.redis"], app.extensions["ivr.twilio"],
        retention_days=config.retention_days,
        clock=router.clock if router is not None else time.time,
        contacts=reporting.contacts if reporting is not None else None,
        caller=router.caller if router is not None else None,
        grace=float(config.extra.get("recording_grace", GRACE)),
        interval=float(config.extra.get("recording_sweep_interval", 5.0)),
    )
    app.extensions[EXTENSION] = recordings
    if router is not None:
        router.timers.ticks.append(recordings.tick)
    return recordings


def get_recordings() -> Recordings:
    """The current app's `Recordings` (built on first use if no blueprint did)."""
    from flask import current_app

    return setup(current_app)


__all__ = ["GRACE", "Recording", "RecordingStore", "Recordings", "TwilioFailed",
           "callback_url", "expect", "get_recordings", "setup"]
