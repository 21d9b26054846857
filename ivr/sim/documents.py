"""Running TwiML voice documents on a call leg the way Twilio does.

A verb handler (in `verbs`, `queueing`, `dialing`) either returns None (go on
with the next verb), a `Source` (the next document: a Redirect, or an action
URL with its parameters), or raises (the call or the wait ends). Modes say
which verbs a document may use: a whole call, a queue's waitUrl, the whisper
on a dialed party (`<Number url>`), the `<Queue url>` announcement.
`ivr.sim.twiml` fills `VERBS` and is what the rest of the simulator imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin
from xml.etree import ElementTree as ET

from ivr.sim.legs import HungUp, Leg, Redirected, Source

SAY_SECONDS_PER_CHAR = 0.06

ALLOWED: dict[str, frozenset[str]] = {
    "call": frozenset(
        {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Record",
         "Enqueue", "Leave", "Dial"}
    ),
    # https://www.twilio.com/docs/voice/twiml/enqueue#attributes-wait-url
    "wait": frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}),
    # https://www.twilio.com/docs/voice/twiml/number#attributes-url
    "whisper": frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Hangup"}),
    # https://www.twilio.com/docs/voice/twiml/queue#attributes-url
    "queue-whisper": frozenset({"Say", "Play", "Pause", "Redirect"}),
}


Handler = Callable[[Leg, ET.Element, str, str], "Source | None"]


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext()).strip()


def flag(el: ET.Element, name: str, default: bool) -> bool:
    value = el.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def absolute(doc_url: str, url: str | None) -> str:
    return urljoin(doc_url, url) if url else doc_url



#: Verb name -> handler; filled by ivr.sim.twiml (the handlers live in three modules).
VERBS: dict[str, Handler] = {}


# --- running documents ----------------------------------------------------------------


def run_document(leg: Leg, source: Source, mode: str) -> Source | None:
    """Fetch and run one document; return where the call goes next (None: document ended)."""
    leg.documents += 1
    if leg.documents > leg.sim.max_documents:
        leg.sim.error(f"{leg.sid}: more than {leg.sim.max_documents} documents; ending the call")
        raise HungUp("sim-cap")
    if time.monotonic() - leg.started > leg.sim.max_call_seconds * leg.sim.time_scale:
        leg.sim.error(f"{leg.sid}: longer than max_call_seconds; ending the call")
        raise HungUp("sim-cap")
    leg.check()
    root = leg.fetch_document(source)
    if root is None:
        raise HungUp("application-error")
    doc_url = source.url or leg.current_url
    if mode == "call" and leg.status in ("queued", "ringing"):
        first = root[0] if len(root) else None
        waits = first is not None and first.tag == "Dial" and flag(first, "answerOnBridge", False)
        if (first is None or first.tag != "Reject") and not waits:
            answer(leg)  # answerOnBridge: the caller hears ringing until the bridge
    for el in root:
        leg.check()
        handler = VERBS.get(el.tag)
        if handler is None:
            leg.sim.error(f"{leg.sid}: unknown TwiML verb <{el.tag}> in {doc_url}")
            leg.application_error()
            raise HungUp("application-error")
        if el.tag not in ALLOWED[mode]:
            leg.sim.error(f"{leg.sid}: <{el.tag}> is not allowed in a {mode} document ({doc_url})")
            leg.application_error()
            raise HungUp("application-error")
        nxt = handler(leg, el, doc_url, mode)
        if nxt is not None:
            return nxt
    return None


def answer(leg: Leg) -> None:
    """Twilio answers an inbound call when the first document is not a <Reject>."""
    leg.set_status("in-progress", "answered")
    if leg.caller is not None:
        leg.hang_up_in(leg.caller.hangup_after)


def run_call(leg: Leg, source: Source | None) -> None:
    """Run a whole call: documents one after another, REST redirects, until it ends."""
    status = "completed"
    try:
        while source is not None:
            try:
                source = run_document(leg, source, "call")
            except Redirected as r:
                leg.note("redirected", r.source.url or "twiml")
                source = r.source
    except HungUp as h:
        status = h.status
    except Exception as exc:  # a bug in the simulator must not hang the test
        leg.sim.error(f"{leg.sid}: simulator fault: {exc!r}")
    leg.finish(status)


def run_nested(leg: Leg, source: Source, mode: str) -> None:
    """Run documents in a restricted mode (waitUrl, whisper) until one ends without a jump."""
    nxt: Source | None = source
    while nxt is not None:
        nxt = run_document(leg, nxt, mode)

