"""The status callback of a supervisor's monitor leg (ivr/routing/monitor.py): once their
call has ended, the leg is forgotten (and a new listen/whisper/barge places a new call).
The usual webhook policy applies (`twilio_webhook`: signature, never a 5xx)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import get_router
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("monitor", __name__)


@bp.post(paths.MONITOR_STATUS)
@twilio_webhook("callback", required=("call", "CallSid"))
def monitor_status(params: MultiDict[str, str]) -> TwiML | None:
    get_router().monitor_leg_status(params["call"], params["CallSid"],
                                    params.get("CallStatus", ""))
    return None
