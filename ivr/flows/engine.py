"""The voice engine: Twilio's voice webhooks in, the flow's steps out as TwiML.

Each webhook is one turn: read the call's state (one HGETALL), let the
`Runner` walk the flow, render its outputs with twilio-python's
`VoiceResponse`, and write the state back with the step counters (one
pipeline). The runner knows nothing of TwiML; this module knows nothing of
the language's semantics beyond turning outputs into verbs.

Continuation URLs all point at `/twilio/voice/step` with a query that says
what the request answers (`kind`: menu, gather, record, dial, queue), where
the call waits (`at`) and the turn counter (`seq`). The counter does two
jobs: it keeps a legitimately repeated request (the same key pressed twice
in a loop) apart from a duplicate delivery in the webhook replay cache, and
it lets the engine recognise a stale request (one whose turn has passed),
which just hears the current step again instead of moving the call twice.

Calls in progress finish on the version of the folder they started with
(`flows.version(v)`); when that version is gone, they move to the current
version if their step still exists there, and hear `on_error` if not.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from typing import Any, Protocol
from urllib.parse import quote, quote_plus, urlencode

import redis
from twilio.twiml.voice_response import Gather, VoiceResponse
from twilio.twiml.voice_response import Pause as PauseVerb
from twilio.twiml.voice_response import Play as PlayVerb
from twilio.twiml.voice_response import Say as SayVerb

from ivr import keys, paths, recordings, replay
from ivr.flows import state as state_mod
from ivr.flows import voicemail
from ivr.flows.actions_http import HttpResult
from ivr.flows.analytics import StepStats
from ivr.flows.engine_base import (
    FINAL_STATUSES,
    MAX_OVERFLOW_HOPS,
    FlowEngine,
    Params,
    Pipeline,
    caller_from,
    is_final,
)
from ivr.flows.model import Callflows, Flow
from ivr.flows.on_error import on_error_twiml
from ivr.flows.optout import send_text
from ivr.flows.runner import (
    Ask,
    Dial,
    Failed,
    Hangup,
    Output,
    Pause,
    Play,
    Queue,
    Record,
    Runner,
    SendText,
    Speak,
    Stop,
    Turn,
)
from ivr.flows.state import FlowState
from ivr.flows.steps import ANSWERING

__all__ = ["FINAL_STATUSES", "QueueRouter", "VoiceEngine", "caller_from"]

log = logging.getLogger("ivr.flows.engine")

NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."
MAX_SAY_CHARS = 4096  # Twilio's limit for the text of one <Say>
DIAL_RECORDING_EVENTS = "in-progress completed absent"  # as the conference recordings'


@functools.lru_cache(maxsize=4096)
def _quoted(value: str) -> str:
    """A step name or kind as urlencode writes it (the flows' names are few and fixed)."""
    return quote_plus(value)


# The verbs of prompts, built once per distinct text and reused: a prompt without a
# per-caller template is the same for every call (its flow version, step and language
# fix it), and a verb is only read once appended (written out to text), never changed.
# Bounded, so that prompts that do vary per caller only cycle through the cache.
@functools.lru_cache(maxsize=4096)
def _say_verb(text: str, voice: str, language: str, loop: int) -> SayVerb:
    args: dict[str, Any] = {}
    if voice:
        args["voice"] = voice
    if language:
        args["language"] = language
    if loop != 1:
        args["loop"] = loop
    return SayVerb(text[:MAX_SAY_CHARS], **args)


@functools.lru_cache(maxsize=1024)
def _play_verb(url: str, loop: int) -> PlayVerb:
    return PlayVerb(url, **({"loop": loop} if loop != 1 else {}))


@functools.lru_cache(maxsize=256)
def _pause_verb(seconds: int) -> PauseVerb:
    return PauseVerb(length=seconds)


class QueueRouter(Protocol):
    """The part of `ivr.routing.router.Router` the engine calls (docs: iface, queue step)."""

    def enqueue(self, call_sid: str, *, queue: str, priority: int, skills: list[str],
                max_wait: int | None, caller: str, called: str, flow: str, step: str,
                action_url: str) -> VoiceResponse | None: ...

    def queue_result(self, call_sid: str, queue_result: str) -> str: ...


class VoiceEngine(FlowEngine[QueueRouter]):
    """Answers the voice webhooks of one app (the voice blueprint hands them over).

    `incoming` and `resume` take the web layer's pipeline as `writes`: the
    call's state and counters are queued on it and go out with the webhook's
    replay-cache write (one round trip); without it they are written here.
    """

    channel = "voice"

    def _setup(self) -> None:
        self.stats = StepStats(self.store)
        self._save_script = self.store.register_script(state_mod.SAVE_UNLESS_HUNG_UP)
        self._claim_and_read = self.store.register_script(state_mod.CLAIM_AND_READ)
        self._commit_if_new = self.store.register_script(state_mod.COMMIT_IF_NEW)
        # Loaded now, so that a turn's first EVALSHA finds them (a restarted or flushed
        # server answers NOSCRIPT, and the callers load them again); Redis may be away.
        with contextlib.suppress(redis.RedisError):
            for script in (self._save_script, self._claim_and_read, self._commit_if_new):
                self.store.script_load(script.script)

    # --- webhooks -----------------------------------------------------------

    def incoming(self, params: Params, *, writes: Pipeline | None = None) -> VoiceResponse:
        """A new call: start the flow of the dialed number."""
        sid, to, from_ = params["CallSid"], params.get("To", ""), params.get("From", "")
        callflows = self.flows.current
        flow = callflows.flow_for(to, "voice")
        if flow is None:
            log.warning("call %s to %s: no flow answers this number", sid, to)
            response = VoiceResponse()
            response.say(NOT_IN_SERVICE)
            response.hangup()
            return response
        runner = self._runner(callflows)
        state = runner.new_state(flow, sid=sid, from_=from_, to=to, caller=caller_from(params))
        turn = runner.start(state)
        return self._finish(runner, state, turn, new=True, writes=writes)

    def resume(self, params: Params, *, writes: Pipeline | None = None) -> VoiceResponse:
        """Every way back into a flow: Gather, Record, Dial and Enqueue actions, Redirects."""
        sid = params["CallSid"]
        state = self._load_claiming(keys.call(sid))
        if state is None:
            log.warning("call %s: continuation without call state (expired?)", sid)
            return self._on_error(self.flows.current.flow_for(params.get("To", ""), "voice"))
        callflows = self._version_for(state)
        if callflows is None:
            log.warning("call %s: flow %s step %s exists in no loaded version", sid,
                        state.flow, state.step)
            return self._on_error(self.flows.current.flows.get(state.flow))
        runner = self._runner(callflows)
        kind = params.get("kind", "")
        if kind == "record":
            # Before the turn check: when the caller hangs up while recording, the
            # status callback may end the call before the Record action arrives.
            self._keep_voicemail(callflows, state, params)
        if params.get("seq") != str(state.seq) or state.ended:
            # A turn that has passed (or a call the flow has finished): say where we are.
            if state.ended:
                response = VoiceResponse()
                response.hangup()
                return response
            turn = runner.run(state, state.step)
        elif kind in ANSWERING:  # an Ask of a menu, gather or survey step
            turn = runner.answer(state, digits=params.get("Digits", ""),
                                 speech=params.get("SpeechResult", ""))
        elif kind == "record":
            turn = runner.after(state, "recorded")
        elif kind == "dial":
            turn = runner.after(state, params.get("DialCallStatus", "failed"))
        elif kind == "queue":
            result = self.router.queue_result(sid, params.get("QueueResult", ""))
            turn = runner.after(state, result)
        else:
            turn = runner.run(state, state.step)
        return self._finish(runner, state, turn, writes=writes)

    def status(self, params: Params) -> None:
        """The call ended: count a drop-off where the caller was, and let the state expire.

        Written at once (not on the web layer's pipeline): the router and the
        missed-call text read the ended state later in the same webhook.
        """
        if not is_final(params):
            return
        sid = params["CallSid"]
        key = keys.call(sid)
        state = state_mod.load(self.store, key)
        if state is None:
            return
        if not state.ended:
            self.stats.count_dropped(key, state.flow, state.step)
        pipe = self.store.pipeline(transaction=False)
        pipe.hset(key, "ended", state.ended or state_mod.HUNG_UP)
        pipe.expire(key, state_mod.ENDED_TTL)
        pipe.zrem(keys.calls_active(), sid)
        state_mod.trim_active(pipe)
        pipe.delete(keys.call_help(sid))  # a help request ends with the call (ivr/api/calls.py)
        pipe.zrem(keys.calls_helped(), sid)
        pipe.execute()

    def transcription(self, params: Params) -> None:
        """A voicemail's transcription arrives (we put the message id in the callback URL)."""
        vm_id = params.get("vm")
        if not vm_id:
            log.warning("transcription %s without a voicemail id", params.get("RecordingSid"))
            return
        voicemail.set_transcription(
            self.store, vm_id, params.get("TranscriptionText", ""),
            params.get("TranscriptionStatus", "completed"),
        )

    # --- internals ------------------------------------------------------------

    def _runner(self, callflows: Callflows) -> Runner:
        return Runner(callflows, channel="voice", clock=self.clock, http=self._http_claiming,
                      events=self)

    def _http_claiming(self, *args: Any, **kwargs: Any) -> HttpResult:
        """An HTTP action has effects elsewhere: a duplicate delivery must not repeat it."""
        replay.before_side_effect()
        return self.http(*args, **kwargs)

    def _load_claiming(self, key: str) -> FlowState | None:
        """The call's state; inside a webhook, read in the same round trip that claims the
        delivery (a duplicate raises `replay.Replayed` with the first answer)."""
        delivery = replay.current()
        if delivery is None:
            return state_mod.load(self.store, key)
        flat = delivery.claim_with(self._claim_and_read, [key], [])
        return FlowState.from_fields(dict(zip(flat[::2], flat[1::2], strict=True)))

    def _url(self, path: str) -> str:
        return self.urls.url(path)

    def _step_url(self, state: FlowState, kind: str, **extra: str) -> str:
        # What urlencode({"kind":..., "at":..., "seq":..., **extra}) gives, without its
        # per-call cost on every turn: the step's quoted name is cached.
        query = f"kind={_quoted(kind)}&at={_quoted(state.step)}&seq={state.seq}"
        if extra:
            query += "&" + urlencode(extra)
        return self._url(f"{paths.VOICE_STEP}?{query}")

    def _on_error(self, flow: Flow | None) -> VoiceResponse:
        twiml = on_error_twiml(flow, "voice")
        assert isinstance(twiml, VoiceResponse)
        return twiml

    def _finish(self, runner: Runner, state: FlowState, turn: Turn, *,
                new: bool = False, writes: Pipeline | None = None) -> VoiceResponse:
        """Render the turn as TwiML, then save the state and counters in one pipeline."""
        state.seq += 1
        response = VoiceResponse()
        reached = list(turn.reached)
        for _ in range(MAX_OVERFLOW_HOPS):
            self._render_outputs(response, turn.outputs, state)
            end = turn.end
            if isinstance(end, Queue):
                replay.before_side_effect()  # the caller joins a line: not twice
                held = self.router.enqueue(
                    state.call.get("sid", ""),
                    queue=end.queue, priority=end.priority, skills=end.skills,
                    max_wait=end.max_wait, caller=state.call.get("from", ""),
                    called=state.call.get("to", ""), flow=state.flow, step=end.step,
                    action_url=self._step_url(state, "queue"),
                )
                if held is None:  # nobody can take it now: the step's overflow
                    turn = runner.after(state, "overflow")
                    reached += turn.reached
                    continue
                for verb in getattr(held, "verbs", []):
                    response.append(verb)
            elif isinstance(end, Failed):
                response = self._on_error(runner.callflows.flows.get(state.flow))
            else:
                self._render_end(response, end, state)
            break
        else:
            log.error("call %s: queue overflow chain too long at %s", state.call.get("sid"),
                      state.step)
            state.ended = "error"
            response = self._on_error(runner.callflows.flows.get(state.flow))
        self._save(state, reached, new=new, writes=writes)
        return response

    def _save(self, state: FlowState, reached: list[tuple[str, str]], *, new: bool,
              writes: Pipeline | None = None) -> None:
        sid = state.call.get("sid", "")
        key = keys.call(sid)
        delivery = replay.current() if writes is not None else None
        if delivery is not None:
            # Inside a webhook: committed with the answer, only if the delivery is new.
            active = "rem" if state.ended else "add" if new else ""
            fields = state.to_fields()
            args: list[str | int] = [
                state_mod.call_ttl(state), state_mod.HUNG_UP, active, sid, repr(state.started),
                f"({state.started - state_mod.CALL_TTL}", len(reached),
                *(f"{step}:reached" for _flow, step in reached)]
            for name, value in fields.items():
                args += [name, value]
            delivery.defer(replay.DeferredCommit(
                self._commit_if_new,
                [key, keys.calls_active(), *(keys.step_stats(flow) for flow, _ in reached)],
                args))
            return
        pipe, deferred = self._writes(writes)
        state_mod.save_unless_hung_up(self._save_script, pipe, key, state,
                                      state_mod.call_ttl(state))
        StepStats.count_reached(pipe, reached)
        if state.ended:
            pipe.zrem(keys.calls_active(), sid)
        elif new:
            pipe.zadd(keys.calls_active(), {sid: state.started})
            # Calls whose status callback never came (no console status URL) age out here,
            # in status callbacks, and whenever the calls in the flows are read.
            state_mod.trim_active(pipe, state.started)
        self._flush(pipe, deferred)

    def _render_outputs(self, parent: VoiceResponse | Gather, outputs: list[Output],
                        state: FlowState) -> None:
        for out in outputs:
            if isinstance(out, Speak):
                if not out.text.strip():
                    continue  # an empty <Say> is an error at Twilio; a blank template says nothing
                parent.append(_say_verb(out.text, out.voice or "", out.language or "", out.loop))
            elif isinstance(out, Play):
                url = out.source if out.is_url else \
                    self._url(f"{paths.RECORDINGS}/{quote(out.source)}")
                parent.append(_play_verb(url, out.loop))
            elif isinstance(out, Pause):
                parent.append(_pause_verb(out.seconds))
            elif isinstance(out, SendText):
                self._send_text(out, state)

    def _send_text(self, out: SendText, state: FlowState) -> None:
        replay.before_side_effect()  # a text sent is sent: not again for a duplicate
        to = out.to or state.call.get("from", "")
        if not to or not to.startswith(("+", "whatsapp:")):
            log.warning("call %s: no number to text (%r)", state.call.get("sid"), to)
            return
        # Through the opt-out guard: nothing goes to a number that texted STOP.
        if not send_text(self.store, self.twilio, to=to, from_=state.call.get("to", ""),
                         body=out.body):
            log.info("call %s: text to %s not sent (opted out or refused)",
                     state.call.get("sid"), to)

    def _render_end(self, response: VoiceResponse, end: object, state: FlowState) -> None:
        if isinstance(end, Ask):
            gather_args: dict[str, Any] = {
                "input": {"dtmf": "dtmf", "speech": "speech"}.get(end.input, "dtmf speech"),
                "action": self._step_url(state, end.kind),
                "method": "POST",
                "timeout": end.timeout,
                "language": end.language,
            }
            if end.num_digits:
                gather_args["num_digits"] = end.num_digits
            if end.finish_on is not None:
                gather_args["finish_on_key"] = end.finish_on  # "" turns Twilio's "#" off
            if end.input != "dtmf":
                gather_args["speech_timeout"] = "auto"
            if end.hints:
                gather_args["hints"] = ", ".join(end.hints)
            gather = response.gather(**gather_args)
            self._render_outputs(gather, end.prompt, state)
            # Silence: Twilio goes on to the next verb; it brings the caller back to us.
            response.redirect(self._step_url(state, end.kind, silence="1"), method="POST")
        elif isinstance(end, Record):
            vm_id = uuid.uuid4().hex
            record_args: dict[str, Any] = {
                "action": self._step_url(state, "record", vm=vm_id, box=end.box),
                "method": "POST",
                "max_length": end.max_length,
                "play_beep": True,
                "finish_on_key": "#",
            }
            if end.transcribe:
                record_args["transcribe"] = True
                record_args["transcribe_callback"] = self._url(
                    f"{paths.VOICE_TRANSCRIPTION}?{urlencode({'vm': vm_id})}")
            response.record(**record_args)
            # Nothing recorded: Twilio skips the action and goes on; move on too.
            response.redirect(self._step_url(state, "record", empty="1"), method="POST")
        elif isinstance(end, Dial):
            dial_args: dict[str, Any] = {
                "action": self._step_url(state, "dial"),
                "method": "POST",
                "timeout": end.timeout,
            }
            if end.caller_id:
                dial_args["caller_id"] = end.caller_id
            if end.record:
                dial_args.update(self._dial_recording(state, end))
            dial = response.dial(**dial_args)
            for target in end.targets:
                if target.startswith("sip:"):
                    dial.sip(target)
                else:
                    dial.number(target)
        elif isinstance(end, Hangup):
            response.hangup()
        elif isinstance(end, Stop) or end is None:
            pass

    def _dial_recording(self, state: FlowState, end: Dial) -> dict[str, Any]:
        """The `<Dial>` attributes of a dial step with `record: true`, and the recording
        noted as expected (so that it is fetched from Twilio if its callback is lost).

        https://www.twilio.com/docs/voice/twiml/dial#record : `record-from-answer-dual`
        records from the dialled party's answer to the hang-up, each party on its own
        channel; `recordingStatusCallback` gets the finished recording (its CallSid is
        the parent call, the caller's), which the recordings store keeps with the call
        and this step's FLOW.STEP, and no queue or agent (docs/recordings.md).
        """
        call = state.call.get("sid", "")
        step = f"{state.flow}.{end.step}"
        if call:
            try:
                recordings.expect(self.store, call, None, source="dial", step=step)
            except redis.RedisError as exc:  # the callback still comes
                log.warning("call %s: expecting the recording of %s: %s", call, step, exc)
        return {
            "record": "record-from-answer-dual",
            "recording_status_callback": recordings.callback_url(
                self._url(""), call=call, source="dial", step=step),
            "recording_status_callback_method": "POST",
            "recording_status_callback_event": DIAL_RECORDING_EVENTS,
        }

    def _keep_voicemail(self, callflows: Callflows, state: FlowState, params: Params) -> None:
        """Keep the message of a Record action (idempotent per message id) and tell the owner.

        The box travels in the action URL (signed by Twilio with it), so a late
        action still finds its box when the call has moved on or ended.
        """
        replay.before_side_effect()  # (in a webhook, the state read has claimed it)
        recording_url = params.get("RecordingUrl", "")
        vm_id = params.get("vm", "")
        box = params.get("box", "") or state.flow
        if not recording_url or not vm_id:
            return  # nothing recorded (the empty-recording redirect)
        try:
            duration = int(params.get("RecordingDuration") or 0)
        except ValueError:
            duration = 0
        caller = state.call.get("from", "")
        voicemail.save(
            self.store, vm_id, box=box, caller=caller, called=state.call.get("to", ""),
            call_sid=state.call.get("sid", ""), flow=state.flow, recording_url=recording_url,
            duration=duration,
        )
        owner = voicemail.box_owner(callflows, box)
        if owner:
            voicemail.notify_owner(
                self.store, self.twilio, vm_id, owner=owner, from_=state.call.get("to", ""),
                box=box, caller=caller, duration=duration, recording_url=recording_url,
            )
