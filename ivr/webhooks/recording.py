"""Twilio's recording status callback: a call recording is kept when it is `completed`.

Twilio posts RecordingSid, RecordingUrl, RecordingStatus (in-progress, completed,
absent, failed), RecordingDuration, RecordingChannels, RecordingStartTime (RFC 2822),
RecordingSource, CallSid and, for a conference recording, ConferenceSid; the code that
started the recording adds our own query parameters `call` (the customer's CallSid),
`queue`, `agent` and `source` to the URL it gives Twilio (`ivr.recordings.callback_url`).
https://www.twilio.com/docs/usage/webhooks/voice-webhooks#recording-status-callbacks

The usual webhook policy applies (`twilio_webhook`: signature, never a 5xx); a repeated
delivery is answered from the replay cache, and a recording kept already (the same
callback with other parameters, or after the timers fetched it) is not kept twice.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.recordings import get_recordings, setup
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("recording", __name__)


@bp.record_once
def _build(state: BlueprintSetupState) -> None:
    """The worker's recordings and their timers, when create_app registers this blueprint."""
    app = state.app
    assert isinstance(app, Flask)
    setup(app)


@bp.post(paths.RECORDING_STATUS)
@twilio_webhook("callback", required=("RecordingSid",))
def status(params: MultiDict[str, str]) -> TwiML | None:
    get_recordings().callback(params)
    return None
