"""The TwiML interpreter: runs voice documents on a call leg the way Twilio does.

The runner (documents, modes, the fallback URL) is `ivr.sim.documents`; the
verbs live by concern in `verbs` (play, listen, move on), `queueing` (Enqueue,
Leave, the bridge of a dequeued caller) and `dialing` (Dial and ringing the
phones the app calls). This module joins them into `VERBS`; the rest of the
simulator imports from here.
"""

from __future__ import annotations

from ivr.sim.dialing import child_leg, dial, ring
from ivr.sim.documents import ALLOWED, VERBS, answer, run_call, run_document, run_nested
from ivr.sim.queueing import DEFAULT_HOLD_MUSIC, enqueue, leave, stay_in_bridge
from ivr.sim.verbs import gather, hangup, pause, play, record, redirect, reject, say

VERBS.update({
    "Say": say,
    "Play": play,
    "Pause": pause,
    "Gather": gather,
    "Redirect": redirect,
    "Hangup": hangup,
    "Reject": reject,
    "Record": record,
    "Enqueue": enqueue,
    "Leave": leave,
    "Dial": dial,
})

__all__ = [
    "ALLOWED", "DEFAULT_HOLD_MUSIC", "VERBS", "answer", "child_leg", "ring", "run_call",
    "run_document", "run_nested", "stay_in_bridge",
]
