"""Text conversations with agents, as texts: what texters and agents' phones receive.

The routing decisions live in ivr/routing/chats.py; this module turns their
notices into texts (an offer to an agent's phone, a texter's message relayed,
"Alice has joined", the end) and reads what agents text back from their own
phones (`A`, `D`, `DONE`, `XFER QUEUE`, `LIST`, `#N ...`). Every text goes out
from the service number the texter wrote to, so neither side sees the
other's number; a WhatsApp texter keeps the `whatsapp:` channel (send_text
prefixes the sender to match).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import phonenumbers
import redis
from twilio.rest import Client

from ivr.flows.model import Callflows
from ivr.flows.optout import bare_number, send_text
from ivr.flows.state import FlowState
from ivr.routing.chats import ChatError, ChatRecord, Chats, Notice

log = logging.getLogger("ivr.flows.chat_relay")

OFFER = 'New text from {who} ({queue}): "{first}" Reply A to accept, D to decline.'
OFFER_QUIET = "New text from {who} ({queue}). Reply A to accept, D to decline."
OFFER_GONE = "The text from {who} is no longer waiting for you."
OFFER_MISSED = "You missed the text from {who}; it went back in line."
JOINED_TEXTER = "{first_name} has joined the conversation."
JOINED_AGENT = ("{tag}You're texting with {who} ({queue}). Reply to text them, DONE to end, "
                "XFER QUEUE to transfer.")
QUEUED = ("You're number {position} in line for an agent. We'll text you here when they join. "
          "Reply CALL to be called back instead.")
QUEUED_NEXT = "An agent will be with you shortly."
CLOSED_TEXTER = "This conversation has ended. Thank you for texting us."
CLOSED_AGENT = "{tag}Conversation with {who} ended. You are wrapping up."
STOPPED_AGENT = "{tag}{who} opted out; the conversation has ended."
TRANSFERRED_TEXTER = ("You're being transferred to our {team} team. Someone will be with you "
                      "shortly.")
TRANSFERRED_AGENT = "{tag}Transferred to {queue}."
WHICH = ("You have {count} conversations: start your reply with its number, e.g. #{n} ... "
         "{listing}")
NONE_OPEN = "You have no text conversation open."
NOTHING_RINGING = "No text is waiting for your answer now (send #N A to text a lone A)."
LISTING_EMPTY = "No text conversations."
AGENT_HELP = ("Texts: A accept, D decline, DONE end, XFER QUEUE transfer, LIST, #N to pick a "
              "conversation.")

TAGGED = re.compile(r"^\s*#(\d+)\s*(.*)$", re.DOTALL)
SurveyHook = Callable[[ChatRecord], str | None]


def is_chat_queue(callflows: Callflows, queue: str) -> bool:
    """Does a texter reaching this queue talk to an agent by text (`chat: true`)?"""
    config = callflows.queues.get(queue)
    return config is not None and config.chat


def texter_context(state: FlowState) -> dict[str, Any]:
    """What the desk shows beside the conversation: the flow, its variables, the steps
    taken with what the texter answered."""
    return {"flow": state.flow, "step": state.step, "vars": state.vars, "caller": state.caller,
            "steps": [{"flow": f, "step": st, "input": said} for f, st, said in state.trail]}


def first_words(callflows: Callflows, state: FlowState) -> str:
    """What the texter wrote that the agent should see first: their last message,
    unless it only chose a menu option ("3") on the way to the queue."""
    for flow_name, step_name, said in reversed(state.trail):
        if not said:
            continue
        flow = callflows.flows.get(flow_name)
        step = flow.steps.get(step_name) if flow is not None else None
        if step is not None and step.action == "menu" and said == state.input:
            return ""
        break
    return state.input or ""


def masked(number: str) -> str:
    """The texter as agents see them: country and area code only (`+1 415…`)."""
    bare = bare_number(number)
    try:
        parsed = phonenumbers.parse(bare, None)
    except phonenumbers.NumberParseException:
        return "a texter"
    national = str(parsed.national_number)
    area = phonenumbers.length_of_geographical_area_code(parsed) or \
        phonenumbers.length_of_national_destination_code(parsed) or 3
    return f"+{parsed.country_code} {national[:area]}…"


def first_name(name: str) -> str:
    return (name or "An agent").split()[0]


class ChatRelay:
    """Texts of text conversations; one per worker, listening to `router.chats`."""

    def __init__(self, store: redis.Redis, twilio: Client, chats: Chats,
                 callflows: Callable[[], Callflows],
                 agent: Callable[[str], dict[str, Any] | None]) -> None:
        self.store = store
        self.twilio = twilio
        self.chats = chats
        self.callflows = callflows
        self.agent = agent
        #: called when an answered conversation ends by DONE: the survey's text, if any
        #: (ivr/reports sets it so the reply scores this contact)
        self.survey: SurveyHook | None = None
        chats.listen(self.tell)

    # --- texts out ------------------------------------------------------------------

    def _send(self, to: str, from_: str, body: str, media: list[str] | None = None) -> None:
        send_text(self.store, self.twilio, to=to, from_=from_, body=body, media=media)

    def _agent_phone(self, agent_id: str | None) -> tuple[str, str]:
        agent = self.agent(agent_id) if agent_id else None
        if agent is None:
            return "", ""
        return str(agent.get("phone") or ""), str(agent.get("name") or agent_id)

    def _tag(self, agent_id: str | None, n: int | None) -> str:
        """`#N ` when the agent has more than one conversation (or this is not their #1)."""
        if n is None or agent_id is None:
            return ""
        if n != 1 or sum(1 for c in self.chats.of_agent(agent_id)
                         if c.state in ("active", "wrap")) > 1:
            return f"#{n} "
        return ""

    def tell(self, notices: list[Notice]) -> None:
        """Text what each notice says (see ivr/routing/lua/chat.lua). Offers and their
        withdrawals go first: a decision's other texts (joined, relayed backlog) take a
        REST call each, and an offer texted late can reach the agent after another
        worker's "no longer waiting" for it."""
        first = [n for n in notices if n.kind in ("withdrawn", "offer")]
        for notice in first + [n for n in notices if n.kind not in ("withdrawn", "offer")]:
            try:
                self._tell_one(notice)
            except Exception:  # noqa: BLE001 - the next notice still goes out
                log.exception("chat %s: %s notice not texted", notice.chat.id, notice.kind)

    def _tell_one(self, notice: Notice) -> None:
        chat = notice.chat
        phone, name = self._agent_phone(notice.agent)
        who = masked(chat.texter)
        service = bare_number(chat.service)
        tag = self._tag(notice.agent, notice.n)
        kind = notice.kind
        if kind == "offer" and phone:
            text = OFFER if chat.first else OFFER_QUIET
            self._send(phone, service, text.format(who=who, queue=chat.queue,
                                                   first=_short(chat.first)))
        elif kind == "withdrawn" and phone:
            text = OFFER_MISSED if notice.why == "expired" else OFFER_GONE
            self._send(phone, service, text.format(who=who))
        elif kind == "joined":
            self._send(chat.texter, chat.service, JOINED_TEXTER.format(first_name=first_name(name)))
            if phone:
                self._send(phone, service, JOINED_AGENT.format(tag=tag, who=who, queue=chat.queue))
                self._relay_to_agent(phone, service, tag, chat, notice.first, notice.last)
        elif kind == "to_agent" and phone:
            self._relay_to_agent(phone, service, tag, chat, notice.first, notice.last)
        elif kind == "to_texter":
            for msg in self.chats.transcript(chat.id, notice.first, notice.last):
                self._send(chat.texter, chat.service, msg.get("body") or "",
                           [m["url"] for m in msg.get("media") or [] if m.get("url")])
        elif kind == "closed":
            if notice.why == "stop":
                if phone:
                    self._send(phone, service, STOPPED_AGENT.format(tag=tag, who=who))
                return
            self._send(chat.texter, chat.service, CLOSED_TEXTER)
            survey = self.survey(chat) if self.survey is not None else None
            if survey:
                self._send(chat.texter, chat.service, survey)
            if phone and notice.why == "done":
                self._send(phone, service, CLOSED_AGENT.format(tag=tag, who=who))
        elif kind == "transferred":
            self._send(chat.texter, chat.service,
                       TRANSFERRED_TEXTER.format(team=notice.to_queue.replace("_", " ")))
            if phone:
                self._send(phone, service, TRANSFERRED_AGENT.format(tag=tag, queue=notice.to_queue))

    def _relay_to_agent(self, phone: str, service: str, tag: str, chat: ChatRecord,
                        first: int, last: int) -> None:
        if first < 1 or last < first:
            return
        for msg in self.chats.transcript(chat.id, first, last):
            if msg.get("by") != "texter":
                continue
            media = [m["url"] for m in msg.get("media") or [] if m.get("url")]
            self._send(phone, service, tag + (msg.get("body") or ""), media)

    # --- texts in: agents' phones --------------------------------------------------------

    def agent_text(self, agent_id: str, body: str, media: list[dict[str, str]]) -> str | None:
        """An agent's text that is not a status command: an answer to an offer, a command
        for a conversation, or a message for the texter. The reply to the agent, or None
        when there is nothing to say (the message went to the texter)."""
        text = body.strip()
        mine = self.chats.of_agent(agent_id)
        word = text.upper()
        offered = [c for c in mine if c.state == "offered" and c.offered_to == agent_id]
        if word in ("A", "ACCEPT") and offered:
            return self._try(lambda: self.chats.accept(agent_id, offered[0].id), silent=True)
        if word in ("D", "DECLINE") and offered:
            return self._try(lambda: self.chats.decline(agent_id, offered[0].id), "Declined.")
        if word in ("A", "ACCEPT", "D", "DECLINE"):
            # an offer that went (rang out, withdrawn) a moment before: never to a texter
            return NOTHING_RINGING
        active = [c for c in mine if c.state == "active" and c.agent == agent_id]
        if word == "LIST":
            return self._listing(mine)
        chat: ChatRecord | None = None
        tagged = TAGGED.match(text)
        if tagged:
            chat = next((c for c in active if c.n == int(tagged.group(1))), None)
            if chat is None:
                return f"No conversation #{tagged.group(1)}. " + self._listing(mine)
            text = tagged.group(2).strip()
            word = text.upper()
        elif len(active) == 1:
            chat = active[0]
        elif not active:
            return NONE_OPEN if not offered else None
        else:
            return WHICH.format(count=len(active), n=active[0].n, listing=self._listing(mine))
        if word == "DONE":
            return self._try(lambda: self.chats.end(agent_id, chat.id), silent=True)
        if word.startswith("XFER"):
            target = text[4:].strip()
            queue = self._queue_named(target)
            if queue is None:
                return f"No queue {target!r}. Queues: {', '.join(sorted(self.callflows().queues))}."
            return self._try(lambda: self.chats.transfer(agent_id, chat.id, queue), silent=True)
        if not text and not media:
            return None
        return self._try(lambda: self.chats.from_agent(agent_id, chat.id, text, media,
                                                        source="phone"), silent=True)

    def _queue_named(self, name: str) -> str | None:
        wanted = name.strip().lower().replace(" ", "_")
        for queue in self.callflows().queues:
            if queue.lower() == wanted or queue.lower().replace("-", "_") == wanted:
                return queue
        return None

    def _listing(self, mine: list[ChatRecord]) -> str:
        rows = [f"#{c.n} {masked(c.texter)} ({c.queue})" for c in mine if c.state == "active"]
        rows += [f"ringing: {masked(c.texter)} ({c.queue})" for c in mine if c.state == "offered"]
        return "; ".join(rows) if rows else LISTING_EMPTY

    @staticmethod
    def _try(action: Callable[[], object], done: str | None = None, *,
             silent: bool = False) -> str | None:
        try:
            action()
        except ChatError as exc:
            return f"Sorry, that did not work ({exc})."
        return None if silent else done


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
