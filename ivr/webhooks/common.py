"""What every Twilio endpoint shares: signature check, strict form parsing,
replay protection, metrics, and the never-5xx error policy (docs/operations.md).

A handler decorated with `twilio_webhook` receives the request's parameters
(form body and query string, as Twilio signs them) and returns TwiML; the
decorator turns everything else (a forged signature, a malformed body, an
exception, Redis going away) into a defined answer.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

import redis
from flask import Response, g, request
from twilio.request_validator import RequestValidator, compare
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from ivr import access, keys, metrics, replay
from ivr.context import get_config, get_flows, get_redis, get_urls
from ivr.flows.model import Flow
from ivr.flows.on_error import Kind, on_error_twiml
from ivr.replay import Delivery, Replayed
from ivr.store import execute_pipeline
from ivr.urls import PublicUrl
from ivr.webhooks.twiml_text import to_text

log = logging.getLogger("ivr.webhooks")

TwiML: TypeAlias = VoiceResponse | MessagingResponse | str
Handler: TypeAlias = Callable[[MultiDict[str, str]], TwiML | None]
#: What an endpoint answers when handling failed (params, the exception); default on_error.
FaultAnswer: TypeAlias = Callable[[MultiDict[str, str], Exception], TwiML]

DRAIN_CHUNKS = 16  # 64 KB reads of an oversized chunked body before answering 413


class BadRequest(Exception):
    """A webhook Twilio would never send: answered 400 with TwiML, nothing changed."""


def xml_response(twiml: TwiML | None, status: int = 200) -> Response:
    body = to_text(twiml if twiml is not None else VoiceResponse())
    return Response(body, status=status, mimetype="text/xml")




def signed_url() -> str:
    """The URL Twilio computed its signature over: public base + path + query."""
    public = get_config().public_url
    if not public:
        return request.url
    query = request.query_string.decode("latin-1")
    return public + request.path + (f"?{query}" if query else "")


def _refuse_if_longer() -> None:
    """A chunked body (no Content-Length) that filled the limit: is there more?

    Werkzeug stops reading a stream at `MAX_CONTENT_LENGTH` without an error, so
    a longer chunked body would be cut there and handled as if complete. One more
    byte from the server's stream (which ends the body itself: the WSGI server
    sets `wsgi.input_terminated` for chunked requests) tells a body of exactly
    the limit from a longer one; a longer one is drained a little, so that the
    client reads our 413 rather than a reset connection.
    """
    stream = request.environ.get("wsgi.input")
    if stream is None or not stream.read(1):
        return
    for _ in range(DRAIN_CHUNKS):
        if not stream.read(64 * 1024):
            break
    raise RequestEntityTooLarge()


def parse_params() -> tuple[MultiDict[str, str], MultiDict[str, str]]:
    """(form body, form body plus query string), decoded strictly.

    Werkzeug's own form parser replaces undecodable bytes silently; we want
    invalid UTF-8 and non-form bodies refused, so we parse with
    `urllib.parse.parse_qsl(errors="strict")` ourselves. The form alone is
    what Twilio signs; handlers get both merged.
    """
    ctype = request.mimetype
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        _refuse_if_longer()
    pairs: list[tuple[str, str]] = []
    if raw:
        if ctype != "application/x-www-form-urlencoded":
            raise BadRequest(f"expected a form body, got {ctype or 'no content type'}")
        try:
            text = raw.decode("ascii")
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise BadRequest("body is not valid UTF-8 form data") from exc
    try:
        query = request.query_string.decode("ascii")
        query_pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("query string is not valid UTF-8") from exc
    return MultiDict(pairs), MultiDict(pairs + query_pairs)


def refusal(form: MultiDict[str, str]) -> str | None:
    """Why this request may not be taken as Twilio's (None: it may).

    With a token, the `X-Twilio-Signature` must match. In dev mode there is no
    secret, so only this machine is trusted (`ivr.access`): a loopback peer that
    no proxy header says relays someone else, addressing us by a local name
    (not a page whose DNS name was rebound to 127.0.0.1), and not a browser
    posting on another site's behalf (Twilio sends no `Origin`).
    """
    config = get_config()
    if config.dev_mode:
        if not access.local_client():
            return "dev mode: not a local client (a remote peer, or a proxy header)"
        if not access.local_host_name(config.public_url):
            return f"dev mode: Host {request.host!r} is not a name of this machine"
        if access.cross_site(config.public_url):
            return "dev mode: cross-site request (Origin or Sec-Fetch-Site)"
        return None
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return "missing signature"
    validator = RequestValidator(config.twilio_auth_token)
    url = signed_url()
    # The common case costs one HMAC; `validate` then covers what Twilio also
    # accepts (the URL with or without an explicit port), at two more.
    if compare(validator.compute_signature(url, form), signature):
        return None
    if validator.validate(url, form, signature):
        return None
    return "bad signature"


def _request_base() -> str:
    """`request.host_url` without its slash, in the common case without its cost.

    Werkzeug builds `host_url` as a full URL and converts it to an IRI (decoding
    `%` escapes and punycode, lower case), a few percent of a webhook's CPU; for a
    plain ASCII Host header that comes down to lower case, so the base is put
    together here (tests/webhooks/test_request_base.py holds the two equal).
    """
    host = request.host
    if host and host.isascii() and "%" not in host and "xn--" not in host:
        return f"{request.scheme}://{host.lower()}"
    return request.host_url.rstrip("/")


def flow_for_request(params: MultiDict[str, str], channel: str) -> Flow | None:
    """The flow a request belongs to, from memory only (works with Redis down)."""
    try:
        to = params.get("To", "").removeprefix("whatsapp:")
        return get_flows().current.flow_for(to, channel)
    except Exception:  # the fallback itself must never fail
        log.exception("no flow for fallback")
        return None


def _replay_key(params: MultiDict[str, str]) -> str:
    """One key per delivery.

    A signed request's key is its signature, already checked by `refusal`: an
    HMAC over the URL and every parameter, which Twilio sends again unchanged when
    it retries, so it names the delivery without hashing the parameters again
    (a webhook's CPU, docs/benchmarks.md). In dev mode, unsigned, the key is a
    SHA-256 built the way twilio-python's `compute_signature` reads the
    parameters: names sorted, each name's *set* of values sorted. A signed request
    replayed with a pair repeated (`&Body=hi` again) keeps its signature, so it must
    keep its key too; any other change needs a new signature. (Repeated names are
    accepted: some Twilio webhooks send them, e.g. Conversations' bindings.)
    """
    if not get_config().dev_mode:
        return keys.replay("sig:" + request.headers.get("X-Twilio-Signature", ""))
    digest = hashlib.sha256()
    digest.update(request.path.encode())
    for key in sorted(set(params.keys())):
        name = key.encode()
        for value in sorted(set(params.getlist(key))):
            data = value.encode()  # length-prefixed: no two pairs run together the same way
            digest.update(b"%d:%s%d:%s" % (len(name), name, len(data), data))
    return keys.replay(digest.hexdigest())


def twilio_webhook(
    kind: Kind,
    required: tuple[str, ...] = (),
    *,
    replay: bool = True,
    fault: FaultAnswer | None = None,
    late_claim: bool = False,
) -> Callable[[Handler], Callable[..., Response]]:
    """Wrap a Twilio endpoint with the webhook policy: signature, replay, never a 5xx.

    kind: "voice" answers VoiceResponse, "sms" MessagingResponse, "callback"
    (status callbacks) an empty VoiceResponse. `required` lists parameters
    whose absence makes the request malformed. `replay=False` for endpoints
    that are idempotent by nature and where caching would be wrong. `fault`
    replaces the flow's `on_error` as the answer to a fault (the messaging
    endpoint must not text a number whose opt-out it could not check).
    `late_claim=True` for handlers that claim their delivery themselves
    (`ivr.replay`: with their state read, before a side effect, or with their
    final writes), saving the claim's own round trip; others claim it first.
    """

    def decorate(handler: Handler) -> Callable[..., Response]:
        endpoint = handler.__name__

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            started = time.perf_counter()
            status = 200
            try:
                response = _handle(handler, kind, required, replay, endpoint, fault,
                                   late_claim)
                status = response.status_code
                return response
            finally:
                metrics.observe_request(endpoint, request.method, str(status),
                                        time.perf_counter() - started)

        return wrapper

    return decorate


def _handle(
    handler: Handler, kind: Kind, required: tuple[str, ...], replay_on: bool, endpoint: str,
    fault: FaultAnswer | None = None, late_claim: bool = False,
) -> Response:
    channel = "sms" if kind == "sms" else "voice"
    try:
        form, params = parse_params()
    except RequestEntityTooLarge:
        metrics.WEBHOOK_REJECTED.labels(endpoint, "too-large").inc()
        log.warning("%s: webhook body over %s bytes refused", endpoint, request.max_content_length)
        return xml_response(on_error_twiml(None, kind), 413)
    except BadRequest as exc:
        metrics.WEBHOOK_REJECTED.labels(endpoint, "malformed").inc()
        log.warning("%s: malformed webhook: %s", endpoint, exc)
        return xml_response(on_error_twiml(None, kind), 400)
    refused = refusal(form)
    if refused is not None:
        metrics.WEBHOOK_REJECTED.labels(endpoint, "signature").inc()
        log.warning("%s: rejected webhook from %s: %s", endpoint, request.remote_addr, refused)
        reason = "not a local request" if get_config().dev_mode else "invalid Twilio signature"
        return Response(f"Forbidden: {reason}\n", status=403, mimetype="text/plain")
    missing = [name for name in required if not params.get(name)]
    if missing:
        metrics.WEBHOOK_REJECTED.labels(endpoint, "malformed").inc()
        log.warning("%s: webhook without %s", endpoint, ", ".join(missing))
        return xml_response(on_error_twiml(flow_for_request(params, channel), kind), 400)
    sid = params.get("CallSid") or params.get("MessageSid") or "-"
    delivery = None
    # Only a webhook that passed the checks above may say where Twilio reaches us.
    base = _request_base()
    bound = PublicUrl.bind(base)
    delivery_token = replay.bind(None)
    try:
        get_urls().learn(base)
        if replay_on:
            delivery = Delivery(get_redis(), _replay_key(params))
            replay.bind(delivery)
            if not late_claim:
                delivery.claim()
        pipe = get_redis().pipeline(transaction=False)
        g.ivr_final_writes = pipe  # see ivr.context.final_writes
        result = handler(params)
        body = to_text(result if result is not None else VoiceResponse())
        if delivery is not None:
            body = delivery.commit(body, pipe)
        elif len(pipe):
            execute_pipeline(get_redis(), pipe)
        return Response(body, mimetype="text/xml")
    except Replayed as replayed:
        log.info("%s: replayed delivery for %s answered from cache", endpoint, sid)
        return Response(replayed.answer, mimetype="text/xml")
    except Exception as exc:
        metrics.WEBHOOK_FAULTS.labels(endpoint).inc()
        log.exception("%s: fault while handling %s; answering on_error", endpoint, sid)
        if delivery is not None:
            with contextlib.suppress(redis.RedisError):
                delivery.release()
        if fault is not None:
            try:
                return xml_response(fault(params, exc))
            except Exception:  # the fault answer must not fail in turn: say nothing
                log.exception("%s: fault answer failed for %s", endpoint, sid)
                return xml_response(MessagingResponse() if kind == "sms" else VoiceResponse())
        return xml_response(on_error_twiml(flow_for_request(params, channel), kind))
    finally:
        replay.unbind(delivery_token)
        PublicUrl.unbind(bound)
