"""Contact records of text conversations with agents, kept from the `chat_*` routing events.

Why from the events: every way a conversation ends (the agent's DONE, the texter's STOP,
a wait that runs out, an overflow, a callback) is one Lua decision that logs a
`chat_end`, on whichever worker or timer made it. The fold that counts the events
(`Reports.fold`, each batch applied once over all workers) hands each chat event here
after counting it, so nothing else has to remember to write the record.

While the conversation is open its record is built up in `keys.contact_pending(chat id)`
(not listed yet: a contact is listed once it has ended); at `chat_end` it is completed
with the transcript (`keys.chat_messages`) and written like any contact, and a
`chat_wrap` after that patches the wrap-up in place. The conversation's routing record
(`keys.acd("chats")`, kept a while after it ends) gives what the events do not carry:
read when the conversation enters (the service number, when it entered, the flow that
led there) and when it ends (whether the texter opted out).

The queue's texted survey is not sent from here: the relay texts it when the agent ends
the conversation (`ChatRelay.survey` -> `Reporting.chat_survey`), and the reply scores
this record (`ContactRecorder.survey_reply`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis

from ivr import keys
from ivr.flows import optout
from ivr.reports.contacts import DAY, Contact, ContactStore

log = logging.getLogger("ivr.reports")

OPEN_TTL = 7 * DAY  # a conversation's record in the making; refreshed at each of its events
OUTCOMES = {"answered": "connected", "abandoned": "abandoned", "overflowed": "overflowed",
            "callback": "called back", "stopped": "stopped"}
"""A `chat_end` outcome as the contact record says it (the calls' words, and `stopped`)."""
SERVED = ("answered", "stopped")  # how a part ends with an agent (`chat_end` part)


def transcript_of(raw: list[str]) -> list[dict[str, Any]]:
    """`keys.chat_messages` entries as the record keeps them: `at` in epoch seconds, each
    attachment as {url, type} (the webhook's `content_type` is the type)."""
    out: list[dict[str, Any]] = []
    for item in raw:
        try:
            m = json.loads(item)
        except ValueError:
            continue
        if not isinstance(m, dict):
            continue
        out.append({"at": int(m.get("at") or 0) / 1000.0, "by": m.get("by") or "system",
                    "agent": m.get("agent") or None, "body": m.get("body") or "",
                    "media": [{"url": str(a.get("url") or ""),
                               "type": str(a.get("type") or a.get("content_type") or "")}
                              for a in m.get("media") or [] if isinstance(a, dict)]})
    return out


def _int(raw: str | None) -> int:
    try:
        return int(float(raw or 0))
    except ValueError:
        return 0


@dataclass
class Making:
    """A conversation's record while it is open, and when its current agent joined it (ms),
    for the handle time of a part the event does not give."""

    contact: Contact
    joined: int | None = None

    def handle(self, at: int, f: dict[str, str]) -> int:
        """The part that ends now: the event's handle, else since the agent joined."""
        joined, self.joined = self.joined, None
        if f.get("handle") is not None:
            return _int(f.get("handle"))
        return round((at - joined) / 1000) if joined is not None else 0

    def to_json(self) -> str:
        return json.dumps({"contact": asdict(self.contact), "joined": self.joined},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Making:
        data = json.loads(raw)
        return cls(Contact.from_dict(data["contact"]), data.get("joined"))


class ChatContacts:
    """Builds and writes the contact record of each text conversation with an agent."""

    def __init__(self, store: redis.Redis, contacts: ContactStore) -> None:
        self.db: Any = store
        self.contacts = contacts

    def event(self, at: int, f: dict[str, str]) -> None:
        """One `chat_*` event (time in ms), after it was counted. Never raises: a record
        that could not be kept is logged (the counters are right either way)."""
        chat = f.get("chat") or ""
        if not chat:
            return
        try:
            self._event(chat, at, f)
        except Exception:
            log.exception("contact record of chat %s (%s)", chat, f.get("type"))

    def _event(self, chat: str, at: int, f: dict[str, str]) -> None:
        kind = f.get("type")
        agent = f.get("agent") or ""
        if kind == "chat_enter":  # first, or again in the queue it was transferred to
            def entered(m: Making) -> None:
                m.contact.queue = f.get("queue") or m.contact.queue
            self._open(chat, at, f, entered)
        elif kind == "chat_connect":
            def connected(m: Making) -> None:
                c = m.contact
                c.queue = f.get("queue") or c.queue
                if c.wait is None:  # the wait until an agent first answered
                    c.wait = _int(f.get("wait"))
                if agent and agent not in c.agents:
                    c.agents.append(agent)
                m.joined = at
            self._open(chat, at, f, connected)
        elif kind == "chat_reply":
            def replied(m: Making) -> None:
                if m.contact.first_response is None:
                    m.contact.first_response = _int(f.get("frt"))
            self._open(chat, at, f, replied)
        elif kind == "chat_transfer":
            def transferred(m: Making) -> None:
                m.contact.transfers += 1
                m.contact.talk += m.handle(at, f)
            self._open(chat, at, f, transferred)
        elif kind == "chat_end":
            self._end(chat, at, f)
        elif kind == "chat_wrap":
            self._wrap(chat, f)

    # --- the record while the conversation is open -------------------------------------

    def _open(self, chat: str, at: int, f: dict[str, str],
              change: Callable[[Making], None]) -> Contact:
        """Apply `change` to the record in the making (begun here when missing), safely
        against another worker doing the same (WATCH, retried)."""
        key = keys.contact_pending(chat)
        with self.db.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    making = Making.from_json(raw) if raw else \
                        Making(self._begin(chat, at, f))
                    change(making)
                    making.contact.end = max(making.contact.end, at / 1000.0)
                    pipe.multi()
                    pipe.set(key, making.to_json(), ex=OPEN_TTL)
                    pipe.execute()
                    return making.contact
                except redis.WatchError:
                    continue

    def _record(self, chat: str) -> dict[str, Any]:
        """The conversation's routing record, or {} once it is forgotten."""
        raw = self.db.hget(keys.acd("chats"), chat)
        try:
            record = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}

    def _begin(self, chat: str, at: int, f: dict[str, str]) -> Contact:
        """A new record from the conversation's routing record (when it is still kept)
        and the event."""
        record = self._record(chat)
        texter = str(record.get("from") or f.get("number") or "")
        context = record.get("context") or {}
        start = int(record.get("t0") or at) / 1000.0
        channel = f.get("channel") or (
            "whatsapp" if texter.lower().startswith(optout.WHATSAPP) else "sms")
        return Contact(id=chat, channel=channel, start=start, end=start,
                       number=optout.bare_number(texter),
                       service_number=optout.bare_number(str(record.get("to") or "")),
                       flow=str(context.get("flow") or ""),
                       steps=_steps(context.get("steps")),
                       queue=f.get("queue") or record.get("q") or None, transcript=[])

    # --- the end, and the wrap-up after it ----------------------------------------------

    def _end(self, chat: str, at: int, f: dict[str, str]) -> None:
        # outcome: the conversation's (answered once an agent took it); part: how it ended
        # in the queue it was last in
        outcome = f.get("outcome") or ""
        part = f.get("part") or outcome
        agent = f.get("agent") or ""
        stopped = outcome == "stopped" or bool(self._record(chat).get("stopped"))

        def ended(m: Making) -> None:
            c = m.contact
            c.outcome = "stopped" if stopped else OUTCOMES.get(outcome, c.outcome)
            c.queue = f.get("queue") or c.queue
            if agent and part in SERVED:
                c.talk += m.handle(at, f)
                if agent not in c.agents:
                    c.agents.append(agent)
            elif c.wait is None and part in ("abandoned", "stopped"):
                c.wait = max(0, int(at / 1000.0 - c.start))  # gave up waiting

        contact = self._open(chat, at, f, ended)
        contact.end = at / 1000.0
        pipe = self.db.pipeline(transaction=False)
        pipe.lrange(keys.chat_messages(chat), 0, -1)
        pipe.get(keys.call_wrapup(chat))
        messages, wrapup = pipe.execute()
        contact.transcript = transcript_of(messages)
        _wrapup(contact, wrapup, {})
        put = self.db.pipeline(transaction=False)
        self.contacts.put(contact, put)
        put.delete(keys.contact_pending(chat))
        put.execute()

    def _wrap(self, chat: str, f: dict[str, str]) -> None:
        """The agent's wrap-up: its time, and the disposition and notes the agent gave
        (in the event, or kept at `keys.call_wrapup(chat id)` as a call's are)."""
        given = self.db.get(keys.call_wrapup(chat))

        def wrapped(c: Contact) -> None:
            c.wrap = _int(f.get("wrap"))
            _wrapup(c, given, f)

        if self.contacts.update(chat, wrapped) is None and \
                self.db.exists(keys.contact_pending(chat)):
            # a part wrapped up before the conversation ended (it was transferred)
            self._open(chat, 0, f, lambda m: wrapped(m.contact))


def _steps(raw: Any) -> list[str]:
    """The flow's steps before the line ("flow.step", each once, in order), from the
    conversation's context (its trail: {flow, step, input} each)."""
    out: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            name = f"{item.get('flow') or ''}.{item.get('step') or ''}"
        elif isinstance(item, list | tuple) and len(item) >= 2:
            name = f"{item[0]}.{item[1]}"
        else:
            name = str(item)
        if name not in out:
            out.append(name)
    return out


def _wrapup(contact: Contact, raw: str | None, f: dict[str, str]) -> None:
    """Disposition and notes, from the event first, else from the kept wrap-up."""
    kept: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
            kept = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            pass
    disposition = f.get("disposition") or kept.get("disposition")
    notes = f.get("notes") or kept.get("notes")
    if disposition:
        contact.disposition = str(disposition)
    if notes:
        contact.notes = str(notes)
