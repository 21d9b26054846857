"""Voicemail boxes in Redis, and the text that tells a box's owner about a new message.

A `record` step leaves its message in a box (`box:` on the step):
- `box` names an agent of agents.yaml: the owner is that agent, texted at
  their `phone` (when it is a phone number, not a SIP address);
- `box` is a phone number in E.164 (`+15005550123`): that number is texted;
- no `box`: the box is named after the flow, and nobody is texted (the
  messages wait on the API/wallboard), since a flow has no owner to reach.
The text is sent from the number the caller dialed (our Twilio number).

Storage: one hash per message (`keys.voicemail_item(id)`: box, caller, called,
call_sid, flow, time, duration, recording_url, transcription,
transcription_status, notified, heard), a sorted set per box by time (`keys.voicemail(box)`),
and the set of box names (`keys.voicemail_boxes()`). Messages do not expire:
they are kept until someone deletes them. Saving is idempotent per message
id, and the owner is texted once per message, however often Twilio retries;
a text the REST API refuses is logged and not sent again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from twilio.rest import Client

from ivr import keys
from ivr.flows.model import Callflows
from ivr.flows.optout import send_text

log = logging.getLogger("ivr.flows.voicemail")


def box_owner(callflows: Callflows, box: str) -> str | None:
    """The phone number to text about a new message in `box`, or None (see module doc)."""
    agent = callflows.agents.get(box)
    if agent is not None:
        return agent.phone if agent.phone.startswith("+") else None
    if box.startswith("+") and box[1:].isdigit():
        return box
    return None


def save(
    store: redis.Redis,
    vm_id: str,
    *,
    box: str,
    caller: str,
    called: str,
    call_sid: str,
    flow: str,
    recording_url: str,
    duration: int,
    at: float | None = None,
) -> bool:
    """Keep one message; True the first time this message id is saved."""
    when = time.time() if at is None else at
    item = keys.voicemail_item(vm_id)
    pipe = store.pipeline(transaction=True)
    pipe.hsetnx(item, "time", repr(when))
    pipe.hset(item, mapping={
        "id": vm_id,
        "box": box,
        "caller": caller,
        "called": called,
        "call_sid": call_sid,
        "flow": flow,
        "recording_url": recording_url,
        "duration": str(duration),
    })
    pipe.zadd(keys.voicemail(box), {vm_id: when}, nx=True)
    pipe.sadd(keys.voicemail_boxes(), box)
    first = pipe.execute()[0]
    return bool(first)


def set_transcription(store: redis.Redis, vm_id: str, text: str, status: str) -> None:
    """Store a transcription; it may arrive before or after the recording itself."""
    store.hset(keys.voicemail_item(vm_id), mapping={
        "id": vm_id, "transcription": text, "transcription_status": status,
    })


def get(store: redis.Redis, vm_id: str) -> dict[str, Any] | None:
    raw: dict[str, str] = store.hgetall(keys.voicemail_item(vm_id))  # type: ignore[assignment]
    if not raw or "box" not in raw:
        return None
    item: dict[str, Any] = dict(raw)
    item["time"] = float(raw.get("time") or 0)
    item["duration"] = int(raw.get("duration") or 0)
    return item


def mark_heard(store: redis.Redis, vm_id: str, at: float | None = None) -> bool:
    """Mark a message heard (field `heard`, a Unix time); the first time is kept.

    False when there is no such message. Idempotent, so the API and the
    wallboard may both call it.
    """
    item = keys.voicemail_item(vm_id)
    if not store.hexists(item, "box"):
        return False
    store.hsetnx(item, "heard", repr(time.time() if at is None else at))
    return True


def messages(store: redis.Redis, box: str) -> list[dict[str, Any]]:
    """A box's messages, oldest first."""
    ids: list[str] = store.zrange(keys.voicemail(box), 0, -1)  # type: ignore[assignment]
    found = (get(store, vm_id) for vm_id in ids)
    return [item for item in found if item is not None]


def boxes(store: redis.Redis) -> list[str]:
    return sorted(store.smembers(keys.voicemail_boxes()))  # type: ignore[arg-type]


def notify_owner(
    store: redis.Redis,
    twilio: Client,
    vm_id: str,
    *,
    owner: str,
    from_: str,
    box: str,
    caller: str,
    duration: int,
    recording_url: str,
) -> bool:
    """Text the owner once per message (HSETNX gate); False when already sent or it failed."""
    item = keys.voicemail_item(vm_id)
    if not store.hsetnx(item, "notified", repr(time.time())):
        return False
    minutes, seconds = divmod(max(duration, 0), 60)
    body = (f"New voicemail in box {box} from {caller or 'an unknown caller'} "
            f"({minutes}:{seconds:02d}): {recording_url}")
    # Through the opt-out guard (ivr.flows.optout); it logs a failure. Not retried: the message
    # itself is kept and shows on the API/wallboard.
    if not send_text(store, twilio, to=owner, from_=from_, body=body):
        log.warning("voicemail %s: owner %s not texted", vm_id, owner)
        store.hdel(item, "notified")  # a later delivery of the same action may try again
        return False
    return True
