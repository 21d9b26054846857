"""The text engine: SMS, MMS and WhatsApp conversations through the same YAML flows.

Twilio posts every inbound text to `/twilio/sms`; after the router has had its
say (agents' ON/OFF texts), `TextEngine.incoming` answers with a
`MessagingResponse`. It reuses the channel-neutral `Runner` of the voice
engine (no second interpreter) and renders its outputs as texts:

- `say`/`hangup` text and consecutive prompts join into one reply;
  `message` to the texter is its own reply in order, to anyone else a REST text;
- `menu`/`gather` reply with the prompt and wait for the next message, which
  is matched as typed digits or words (case, spacing and punctuation ignored);
- `queue` offers a call back; YES puts the texter in that queue as a callback
  (`router.request_callback`), keeping their place, and tells them the place;
- a conversation lives per (From, To) pair in Redis and expires after a quiet
  hour; a message after it ended starts the flow again.

Before any flow runs, the opt-out rules of docs/callflows.md (`ivr.flows.optout`)
and a flood throttle apply. One texter's messages are handled one at a time,
in arrival order (`ivr.flows.sms_turns`), so two messages arriving together
neither lose nor double a step.

`after_call` is the missed-call text: called from the voice status callback,
it texts a caller who hung up in a queue or called after hours when their
flow has `missed_call`; a reply of CALL then asks for a callback.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from twilio.twiml.messaging_response import MessagingResponse

from ivr import keys
from ivr.flows import chat_relay, optout, templates
from ivr.flows import state as state_mod
from ivr.flows.analytics import StepStats
from ivr.flows.engine_base import (
    FINAL_STATUSES,
    MAX_OVERFLOW_HOPS,
    FlowEngine,
    Params,
    caller_from,
    is_final,
)
from ivr.flows.exits import split_target
from ivr.flows.model import Callflows, Flow
from ivr.flows.on_error import on_error_text
from ivr.flows.runner import (
    Ask,
    Failed,
    FlowEvents,
    Hangup,
    Output,
    Queue,
    Runner,
    SendText,
    Speak,
    Stop,
    Turn,
    normalize_words,
)
from ivr.flows.sms_turns import TurnTaking
from ivr.flows.state import FlowState
from ivr.flows.steps import asking_spec
from ivr.routing.chats import ChatError, Chats

__all__ = ["FINAL_STATUSES", "CallbackRouter", "TextEngine", "caller_from", "media_of"]

log = logging.getLogger("ivr.flows.texting")

CONVERSATION_TTL = 3600  # seconds of quiet after which a conversation is forgotten
RATE_LIMIT = 30  # messages per window from one sender before flows stop running
RATE_WINDOW = 60  # seconds
LOCK_TTL = 20.0  # seconds a turn may hold its conversation (beyond Twilio's 15 s budget)
LOCK_WAIT = 12.0  # seconds a message waits for the one before it
MISSED_OFFER_TTL = 24 * 3600  # seconds a missed-call text's "reply CALL" stays good

STOP_CONFIRMATION = ("You have been unsubscribed and will get no more messages from us. "
                     "Reply START to subscribe again.")
START_CONFIRMATION = "You are subscribed again. Reply HELP for help, STOP to opt out."
DEFAULT_HELP = "Reply STOP to opt out, START to opt back in."
SLOW_DOWN = "You are sending messages too quickly. Please wait a minute and try again."
CALLBACK_OFFER = ("Would you like a call back from our {team} team? Reply YES and we will "
                  "call you at {number} as soon as someone is free, or NO.")
CALLBACK_AGAIN = "Please reply YES for a call back, or NO."
CALLBACK_PLACED = ("Thank you. You are number {position} in line for a call back; we will "
                   "call you at {number} as soon as someone is free.")
CALLBACK_DECLINED = "OK, no call back. Thanks for texting."
NOT_IN_SERVICE = "Sorry, this number does not take text messages."

YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yes please", "ok", "okay", "sure",
                       "call", "call me", "call me back", "please"})
NO_WORDS = frozenset({"no", "n", "nope", "no thanks", "no thank you", "not now"})
CALL_WORDS = frozenset({"call", "call me", "call me back", "callback", "call back", "yes"})
RESTART_WORDS = frozenset({"menu", "start over", "restart"})
CHAT_CALL_WORDS = CALL_WORDS - {"yes"}  # while waiting for an agent, "yes" is just a word
OFFER_ATTEMPTS = 2  # unclear answers to a call-back offer before it counts as "no"


class CallbackRouter(Protocol):
    """The part of `ivr.routing.router.Router` the text engine calls."""

    def request_callback(self, number: str, *, queue: str, service_number: str,
                         channel: str = "sms") -> int: ...

    def waiting(self) -> list[dict[str, Any]]: ...

    def caller_outcome(self, call_sid: str) -> str | None: ...

    @property
    def chats(self) -> Chats: ...


class ConversationListener(Protocol):
    """Who hears that a conversation's turn is over (the contact records of ivr/reports)."""

    def text_turn(self, state: FlowState) -> None: ...

    def survey_reply(self, number: str, service_number: str, body: str) -> str | None: ...


class MessageInput(str):
    """The template's `input` on the text channel: the message text, plus `input.media`.

    A str subclass so `{{ input }}` still renders the text (as on voice) while
    `{{ input.media[0].url }}` reaches an MMS attachment.
    """

    media: list[dict[str, str]]

    def __new__(cls, text: str, media: list[dict[str, str]] | None = None) -> MessageInput:
        obj = super().__new__(cls, text)
        obj.media = list(media or [])
        return obj


class TextRunner(Runner):
    """The shared runner, with the message's media in the template context (a subclass,
    not a fork: only `context` differs)."""

    def __init__(self, callflows: Callflows, *, media: list[dict[str, str]],
                 engine: TextEngine, events: FlowEvents | None = None) -> None:
        super().__init__(callflows, channel="sms", clock=engine.clock, http=engine.http,
                         events=events)
        self.media = media

    def context(self, state: FlowState, flow: Flow) -> dict[str, Any]:
        ctx = super().context(state, flow)
        ctx["input"] = MessageInput(state.input, self.media)
        return ctx


class Reply:
    """The texts of one answer, in order: prompts join into one message until a
    separate one (a `message` step) starts a new one."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._open: list[str] = []

    def say(self, text: str) -> None:
        if text.strip():
            self._open.append(text.strip())

    def separate(self, text: str) -> None:
        self._flush()
        if text.strip():
            self.bodies.append(text.strip())

    def _flush(self) -> None:
        if self._open:
            self.bodies.append("\n".join(self._open))
            self._open = []

    def twiml(self) -> MessagingResponse:
        self._flush()
        response = MessagingResponse()
        for body in self.bodies:
            for part in optout.split_body(body):
                response.message(part)
        return response


def media_of(params: Params) -> list[dict[str, str]]:
    """MMS/WhatsApp attachments as [{url, content_type}] (MediaUrlN, MediaContentTypeN)."""
    try:
        count = min(int(params.get("NumMedia") or 0), 10)  # Twilio sends at most 10
    except ValueError:
        count = 0
    media = []
    for i in range(count):
        url = params.get(f"MediaUrl{i}", "")
        if url:
            media.append({"url": url, "content_type": params.get(f"MediaContentType{i}", "")})
    return media


def _team(queue: str) -> str:
    return queue.replace("_", " ").replace("-", " ")


class TextEngine(FlowEngine[CallbackRouter]):
    """Answers `/twilio/sms` for customers (see module docstring). One per app.

    A turn writes the conversation's state itself, before the texter's turn
    lock is released (the next message must read it), so it takes no
    pipeline from the web layer.
    """

    channel = "sms"
    contacts: ConversationListener | None = None  # set by create_app

    def _setup(self) -> None:
        extra = self.config.extra
        # Knobs for tests (not part of the user contract): a short TTL instead of an hour.
        self.conversation_ttl = int(extra.get("sms_conversation_ttl", CONVERSATION_TTL))
        self.rate_limit = int(extra.get("sms_rate_limit", RATE_LIMIT))
        self.rate_window = int(extra.get("sms_rate_window", RATE_WINDOW))
        self.turns = TurnTaking(self.store, wait=float(extra.get("sms_lock_wait", LOCK_WAIT)),
                                hold=LOCK_TTL)

    # --- the webhook ------------------------------------------------------------------

    def incoming(self, params: Params) -> MessagingResponse:
        """One inbound text: opt-out keywords, throttle, then the conversation's next turn."""
        from_, to = params.get("From", "").strip(), params.get("To", "").strip()
        body = optout.xml_safe(params.get("Body", ""))
        sender = optout.bare_number(from_)
        word = optout.keyword(body)
        reply = Reply()

        if word in optout.STOP_WORDS:
            # Honoured whatever else is going on (even while throttled), confirmed once.
            # A conversation with an agent ends first, then the opt-out is stored: an agent
            # accepting at that moment either joins before the end (and the texter is told,
            # the conversation answered) or finds it over, never joins unheard.
            self.router.chats.stop(from_)
            if optout.opt_out(self.store, sender):
                reply.say(STOP_CONFIRMATION)
            self.store.delete(keys.conversation(from_, to))
            return reply.twiml()
        if optout.is_opted_out(self.store, sender):
            if word in optout.START_WORDS:
                optout.opt_in(self.store, sender)
                reply.say(START_CONFIRMATION)
            return reply.twiml()  # nothing at all to an opted-out number
        if self._flooding(sender, reply):
            return reply.twiml()

        with self.turns.turn(from_, to):
            if word in optout.HELP_WORDS:
                reply.say(self._help(from_, to))
            elif self._chat_message(params, from_, to, body, reply):
                pass  # to the agent (or asked for a callback instead)
            elif not self._survey_reply(from_, to, body, reply) and \
                    not self._missed_call_reply(from_, to, body, reply):
                if normalize_words(body) in RESTART_WORDS:
                    # "reply MENU to start over" (the help text of the demo's flows)
                    self.store.delete(keys.conversation(from_, to))
                self._turn(params, from_, to, body, reply)
        return reply.twiml()

    # --- safety -----------------------------------------------------------------------

    def _flooding(self, sender: str, reply: Reply) -> bool:
        """More than `rate_limit` messages in the window: no flow runs; one "slow down"."""
        key = keys.sms_rate(sender)
        pipe = self.store.pipeline(transaction=True)
        pipe.set(key, 0, ex=self.rate_window, nx=True)
        pipe.incr(key)
        count = int(pipe.execute()[1])
        if count <= self.rate_limit:
            return False
        if self.store.set(keys.sms_slowdown(sender), "1", ex=self.rate_window, nx=True):
            reply.say(SLOW_DOWN)
        if count == self.rate_limit + 1:
            log.warning("texts from %s throttled (over %d in %d s)", sender, self.rate_limit,
                        self.rate_window)
        return True

    # --- flows ------------------------------------------------------------------------

    @staticmethod
    def flow_for(callflows: Callflows, to: str) -> Flow | None:
        """The sms flow of a number: one listing the exact address (whatsapp:+1... may have
        its own), else the number without the whatsapp: prefix, else the default flow."""
        for flow in callflows.flows.values():
            if "sms" in flow.channels and to in flow.numbers:
                return flow
        return callflows.flow_for(optout.bare_number(to), "sms")

    def _runner(self, callflows: Callflows, *, media: list[dict[str, str]]) -> TextRunner:
        return TextRunner(callflows, media=media, engine=self, events=self)

    def _help(self, from_: str, to: str) -> str:
        state = state_mod.load(self.store, keys.conversation(from_, to))
        callflows = self.flows.current
        flow = None
        if state is not None and not state.ended:
            versioned = self._version_for(state)
            flow = versioned.flows.get(state.flow) if versioned else None
        flow = flow or self.flow_for(callflows, to)
        if flow is None or not flow.help:
            return DEFAULT_HELP
        runner = self._runner(callflows, media=[])
        scratch = state or runner.new_state(flow, sid="", from_=from_, to=to,
                                            caller={"number": optout.bare_number(from_)})
        try:
            text = templates.pick_prompt(flow.help, scratch.language, flow.language)
            return templates.render(str(text), runner.context(scratch, flow)) or DEFAULT_HELP
        except Exception as exc:  # noqa: BLE001 - a broken help template still gets an answer
            log.error("flow %s: help text failed: %s", flow.name, exc)
            return DEFAULT_HELP

    def _turn(self, params: Params, from_: str, to: str, body: str,
              reply: Reply) -> None:
        key = keys.conversation(from_, to)
        media = media_of(params)
        state = state_mod.load(self.store, key)
        callflows = self._version_for(state) if state is not None and not state.ended else None
        if state is None or state.ended or callflows is None:
            callflows = self.flows.current
            flow = self.flow_for(callflows, to)
            if flow is None:
                log.warning("text from %s to %s: no sms flow answers this number", from_, to)
                reply.say(NOT_IN_SERVICE)
                return
            runner = self._runner(callflows, media=media)
            state = runner.new_state(flow, sid=params.get("MessageSid", ""), from_=from_, to=to,
                                     caller=caller_from(params))
            state.input = body.strip()  # the first step may use what they wrote
            turn = runner.start(state)
        else:
            runner = self._runner(callflows, media=media)
            turn = self._answer(runner, state, body, reply)
        state.seq += 1
        self._render(runner, state, turn, reply)
        pipe = self.store.pipeline(transaction=False)
        if state.ended:
            pipe.delete(key)  # the next message starts the flow again
        else:
            state_mod.save(pipe, key, state, self.conversation_ttl)
        StepStats.count_reached(pipe, turn.reached)
        pipe.execute()
        if self.contacts is not None:
            self.contacts.text_turn(state)

    def _answer(self, runner: TextRunner, state: FlowState, body: str, reply: Reply) -> Turn:
        """The texter's message as the answer to what the conversation waits at."""
        current = runner.current_step(state)
        if current is None:
            return runner.run(state, state.step)  # fails into on_error with the reason logged
        flow, step = current
        text = body.strip()
        if step.action == "queue":  # the Queue ending was rendered as a call-back offer
            return self._callback_answer(runner, state, flow, str(step.value),
                                         step.settings.get("next"), text, reply)
        spec = asking_spec(step.action)
        if spec is not None:  # menu, gather, survey: the text as keys and words
            digits, speech = spec.text_input(step, text)
            return runner.answer(state, digits=digits, speech=speech)
        return runner.run(state, state.step)

    def _callback_answer(self, runner: TextRunner, state: FlowState, flow: Flow, queue: str,
                         nxt: Any, text: str, reply: Reply) -> Turn:
        """The answer to "would you like a call back?" (the conversation waits at a queue step)."""
        said = normalize_words(text)
        state.input = text
        if said in YES_WORDS:
            number = optout.bare_number(state.call.get("from", ""))
            position = self._callback(number, queue, optout.bare_number(state.call.get("to", "")))
            log.info("texter %s asked for a call back from %s (place %d)", number, queue, position)
            reply.say(CALLBACK_PLACED.format(position=position, number=number))
            state.ended = "callback"
            return Turn(end=Hangup())
        if said not in NO_WORDS:
            state.attempts += 1
            if state.attempts < OFFER_ATTEMPTS:
                reply.say(CALLBACK_AGAIN)
                return Turn(end=Stop())
        if isinstance(nxt, str):
            return runner.run(state, nxt)
        reply.say(CALLBACK_DECLINED)
        state.ended = "declined"
        return Turn(end=Hangup())

    def _callback(self, number: str, queue: str, service: str) -> int:
        """Join `queue` as a callback, or keep the place of one already waiting there
        (a texter who says yes twice is called back once); their place in line."""
        for waiting in self.router.waiting():
            if waiting.get("kind") == "callback" and waiting.get("queue") == queue and \
                    waiting.get("from") == number:
                return int(waiting.get("position") or 1)
        return self.router.request_callback(number, queue=queue, service_number=service,
                                            channel="sms")

    # --- rendering --------------------------------------------------------------------

    def _render(self, runner: TextRunner, state: FlowState, turn: Turn, reply: Reply,
                depth: int = 0) -> None:
        self._outputs(turn.outputs, state, reply)
        end = turn.end
        if isinstance(end, Ask):
            self._outputs(end.prompt, state, reply)
        elif isinstance(end, Queue) and chat_relay.is_chat_queue(runner.callflows, end.queue):
            self._enter_chat(runner, state, end, reply, depth)
        elif isinstance(end, Queue):
            number = optout.bare_number(state.call.get("from", ""))
            reply.say(CALLBACK_OFFER.format(team=_team(end.queue), number=number))
        elif isinstance(end, Hangup):
            state.ended = state.ended or "hangup"
        elif isinstance(end, Stop) or end is None:
            pass
        else:
            # Failed, or a voice-only ending the checker should have refused (record, dial).
            if not isinstance(end, Failed):
                log.error("flow %s step %s: %s cannot run by text", state.flow, state.step,
                          type(end).__name__)
            state.ended = "error"
            flow = runner.callflows.flows.get(state.flow)
            reply.say(self._on_error_text(flow))

    # --- text conversations with agents (ivr/routing/chats.py, ivr/flows/chat_relay.py) ---

    def _enter_chat(self, runner: TextRunner, state: FlowState, end: Queue, reply: Reply,
                    depth: int) -> None:
        """A queue step with `chat: true`: the texter waits in line for an agent by text.
        The flow's conversation ends here (the agent's conversation takes over); nobody
        who could ever answer: the step's overflow, as on voice."""
        first = chat_relay.first_words(runner.callflows, state)
        entry = self.router.chats.enter(
            state.call.get("from", ""), state.call.get("to", ""), end.queue,
            priority=end.priority, skills=end.skills, first=first,
            media=runner.media if first else [], context=chat_relay.texter_context(state))
        if entry.outcome == "overflowed":
            if depth >= MAX_OVERFLOW_HOPS:
                log.error("texter %s: queue overflow chain too long at %s",
                          state.call.get("from"), state.step)
                reply.say(self._on_error_text(runner.callflows.flows.get(state.flow)))
                state.ended = "error"
                return
            self._render(runner, state, runner.after(state, "overflow"), reply, depth + 1)
            return
        state.ended = "chat"
        if entry.outcome == "waiting":
            reply.say(chat_relay.QUEUED.format(position=entry.position))
        elif entry.outcome != "open":
            reply.say(chat_relay.QUEUED_NEXT)

    def _chat_message(self, params: Params, from_: str, to: str, body: str,
                      reply: Reply) -> bool:
        """A message from a texter with a conversation open: relayed to the agent, or, while
        they wait, CALL swaps the conversation for a callback. False: no conversation."""
        chat = self.router.chats.open_of(from_, to)
        if chat is None:
            return False
        media = media_of(params)
        if chat.state != "active" and normalize_words(body) in CHAT_CALL_WORDS and \
                self.router.chats.leave(chat.id, "callback") is not None:
            number = optout.bare_number(from_)
            position = self._callback(number, chat.queue, optout.bare_number(to))
            reply.say(CALLBACK_PLACED.format(position=position, number=number))
            return True
        try:
            self.router.chats.from_texter(chat.id, body, media)
        except ChatError as exc:  # it ended a moment ago: the flows take the message
            log.info("texter %s: conversation %s closed (%s)", from_, chat.id, exc)
            return False
        return True

    def _outputs(self, outputs: list[Output], state: FlowState, reply: Reply) -> None:
        texter = state.call.get("from", "")
        for out in outputs:
            if isinstance(out, Speak):
                reply.say(out.text)
            elif isinstance(out, SendText):
                to = out.to or texter
                if optout.bare_number(to) == optout.bare_number(texter):
                    reply.separate(out.body)  # to the texter: its own message, in order
                else:
                    optout.send_text(self.store, self.twilio, to=to,
                                     from_=state.call.get("to", ""), body=out.body)
            # Play and Pause cannot be texted (the checker refuses them on sms).

    @staticmethod
    def _on_error_text(flow: Flow | None) -> str:
        return on_error_text(flow)

    # --- missed calls -----------------------------------------------------------------

    def _survey_reply(self, from_: str, to: str, body: str, reply: Reply) -> bool:
        """A score answering a queue's texted survey (ivr/reports keeps it): thanked, and
        no flow runs."""
        if self.contacts is None:
            return False
        thanks = self.contacts.survey_reply(optout.bare_number(from_), optout.bare_number(to),
                                            body)
        if thanks is None:
            return False
        reply.say(thanks)
        return True

    def _missed_call_reply(self, from_: str, to: str, body: str, reply: Reply) -> bool:
        """CALL in answer to a missed-call text: join that queue as a callback."""
        if normalize_words(body) not in CALL_WORDS:
            return False
        number, service = optout.bare_number(from_), optout.bare_number(to)
        queue = self.store.getdel(keys.missed_call_offer(number, service))
        if not queue:
            return False
        position = self._callback(number, str(queue), service)
        log.info("missed caller %s asked for a call back from %s (place %d)", number, queue,
                 position)
        reply.say(CALLBACK_PLACED.format(position=position, number=number))
        self.store.delete(keys.conversation(from_, to))
        return True

    def after_call(self, params: Params) -> bool:
        """Voice status callback hook (after the engine and the router have seen it).

        Texts the flow's `missed_call` text to a caller who hung up while
        waiting in a queue, or whose call went through the closed (or holiday)
        way of an `hours` step. Once per call, through `send_text` (opt-out
        honoured). True when the text went out.
        """
        if not is_final(params):
            return False
        sid = params.get("CallSid", "")
        state = state_mod.load(self.store, keys.call(sid))
        if state is None:
            return False
        callflows = self.flows.version(state.version) or self.flows.current
        flow = self._first_flow(callflows, state)
        if flow is None or not flow.missed_call:
            return False
        caller = state.call.get("from", "") or params.get("From", "")
        service = state.call.get("to", "") or params.get("To", "")
        if not caller.startswith("+") or not service:
            return False  # anonymous, SIP or client callers cannot get a text
        reason = self._missed_reason(callflows, state, sid)
        if reason is None:
            return False
        if not self.store.set(keys.missed_call_sent(sid), reason, nx=True, ex=MISSED_OFFER_TTL):
            return False  # a second delivery of the final status
        setting = flow.missed_call
        runner = self._runner(callflows, media=[])
        try:
            text = templates.pick_prompt(setting.get("text", ""), state.language, flow.language)
            body = templates.render(str(text), runner.context(state, flow))
        except Exception as exc:  # noqa: BLE001 - a bad template must not break the status hook
            log.error("flow %s: missed_call text failed: %s", flow.name, exc)
            return False
        sent = optout.send_text(self.store, self.twilio, to=caller, from_=service, body=body)
        queue = setting.get("queue")
        if sent and queue:
            self.store.set(keys.missed_call_offer(optout.bare_number(caller),
                                                  optout.bare_number(service)),
                           str(queue), ex=MISSED_OFFER_TTL)
        log.info("call %s (%s): missed-call text to %s %s", sid, reason, caller,
                 "sent" if sent else "not sent")
        return sent

    @staticmethod
    def _first_flow(callflows: Callflows, state: FlowState) -> Flow | None:
        """The flow the call started in (its first reached step), else where it ended."""
        first = state.seen[0].rpartition(".")[0] if state.seen else state.flow
        return callflows.flows.get(first) or callflows.flows.get(state.flow)

    def _missed_reason(self, callflows: Callflows, state: FlowState, sid: str) -> str | None:
        """"queue" (hung up while waiting), "after-hours", or None (nothing was missed)."""
        if state.ended in ("callback", "connected", "dial"):
            return None
        flow = callflows.flows.get(state.flow)
        step = flow.steps.get(state.step) if flow else None
        if step is not None and step.action == "queue" and self._abandoned(sid, state):
            return "queue"
        seen = set(state.seen)
        for mark in state.seen:
            flow_name, _, step_name = mark.rpartition(".")
            hours_flow = callflows.flows.get(flow_name)
            hours_step = hours_flow.steps.get(step_name) if hours_flow else None
            if hours_step is None or hours_step.action != "hours":
                continue
            for way in ("closed", "holiday"):
                target = hours_step.settings.get(way)
                if isinstance(target, str):
                    t_flow, t_step = split_target(target, flow_name)
                    if f"{t_flow}.{t_step}" in seen:
                        return "after-hours"
        return None

    def _abandoned(self, sid: str, state: FlowState) -> bool:
        """Did the router count this caller as abandoned? Without a router record, the
        engine's own view: the caller hung up while the flow waited at the queue step."""
        outcome = self.router.caller_outcome(sid)
        if outcome is not None:
            return outcome == "abandoned"
        return state.ended == "caller-hangup"

