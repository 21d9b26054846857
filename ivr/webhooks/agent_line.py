"""The agents' own phones: status by text, and by calling the service number.

An agent texts the service number from their registered phone (`ON`,
`AVAILABLE`, `OFF`, `BREAK`, `STATUS`, and `DESK` for a one-time sign-in link to the
agent desk), or calls it: PIN (when they have
one), then a menu (1 available, 2 break, 3 log out). The SMS and voice
webhooks ask `agent_sms_answer` / `agent_line_answer` first; None means the
sender is not an agent (or no longer one), and the customer's flow runs.
The menu's Gather actions come back to AGENT_LINE (ivr/paths.py). Wrong PINs
count across calls: 5 within 15 minutes lock PIN entry for 15 minutes
(Router.check_pin, ivr/routing/lua/pin.lua).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import get_chat_relay, get_router, get_texting
from ivr.flows.texting import media_of
from ivr.routing.roster import UnknownAgent
from ivr.routing.router import Router
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("agent_line", __name__)

WORDS = {"ON": "available", "AVAILABLE": "available", "OFF": "offline", "BREAK": "break"}
KEYS = {"1": "available", "2": "break", "3": "offline"}
PIN_TRIES = 3  # wrong PINs in one call before it ends (the roster locks after 5 across calls)
MENU_TRIES = 3
SMS_HELP = ("Text ON to take calls, BREAK for a break, OFF to log out, STATUS to check, "
            "DESK for a desk sign-in link.")
NOT_AN_AGENT = "Sorry, this line is for agents only. Goodbye."
LOCKED = "Too many wrong PINs. PIN entry is locked for 15 minutes. Goodbye."


def describe(agent: dict[str, Any]) -> str:
    """An agent's status and state in a sentence (the reply to every status command)."""
    status = {"available": "available for calls", "break": "on break",
              "offline": "logged out"}[agent["status"]]
    text = f"{agent['name']}, you are {status}."
    if agent["state"] != "idle":
        text += {"offered": " A call is ringing for you.", "on-call": " You are on a call.",
                 "wrap-up": " You are wrapping up a call."}.get(agent["state"], "")
    return text


# --- texts ---------------------------------------------------------------------------


def agent_sms_answer(params: MultiDict[str, str]) -> MessagingResponse | None:
    """ON / OFF / BREAK / STATUS from an agent's registered phone; None for anyone else."""
    router = get_router()
    agent_id = router.agent_by_phone(params.get("From", ""))
    if agent_id is None:
        return None
    word = params.get("Body", "").strip().upper()
    if word == "DESK":  # a one-time sign-in link for the agent desk (ivr/desk)
        from ivr.desk.web import sms_link

        if router.agent(agent_id) is None:
            return None
        desk = MessagingResponse()
        desk.message(sms_link(agent_id))
        return desk
    wanted = WORDS.get(word)
    if wanted is None and word != "STATUS":
        # not a status command: an answer to a text offer, or for a texter (ivr/flows/chat_relay.py)
        relay = get_chat_relay()
        if router.chats.of_agent(agent_id):
            # one at a time, in arrival order, like a texter's (ivr/flows/sms_turns.py)
            with get_texting().turns.turn(params.get("From", ""), params.get("To", "")):
                answer = relay.agent_text(agent_id, params.get("Body", ""), media_of(params))
            response = MessagingResponse()
            if answer:
                response.message(answer)
            return response
    try:
        agent = (router.set_agent_status(agent_id, wanted, source="sms") if wanted is not None
                 else router.agent(agent_id))
    except UnknownAgent:
        agent = None
    if agent is None:  # removed a moment ago (another worker's phone book is behind)
        return None
    response = MessagingResponse()
    if wanted is None and word != "STATUS":
        response.message(SMS_HELP)
        return response
    text = describe(agent)
    talking = [c for c in router.chats.of_agent(agent_id) if c.state == "active"]
    if talking:  # texts with agents (docs/texting.md): their open conversations
        text += (f" You have {len(talking)} text conversation"
                 f"{'s' if len(talking) > 1 else ''} open (LIST to see them).")
    response.message(text)
    return response


# --- the phone line -------------------------------------------------------------------


def agent_line_answer(params: MultiDict[str, str]) -> VoiceResponse | None:
    """An agent calling the service number from their own phone: PIN, then the menu; None
    for anyone else (the customer's flow answers)."""
    router = get_router()
    agent_id = router.agent_by_phone(params.get("From", ""))
    if agent_id is None:
        return None
    agent = router.agent(agent_id)
    config = router.agent_config(agent_id)
    if agent is None or config is None:
        return None
    if config.pin:
        if router.pin_locked(agent_id):
            return _goodbye(LOCKED)
        return _pin_prompt(router, agent_id, tries=0, greeting=f"Hello {agent['name']}.")
    return _menu(router, agent, n=0)


def _goodbye(text: str | None) -> VoiceResponse:
    response = VoiceResponse()
    if text:
        response.say(text)
    response.hangup()
    return response


def _pin_prompt(router: Router, agent_id: str, *, tries: int, greeting: str) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        action=router.url(paths.AGENT_LINE, agent=agent_id, stage="pin", n=tries),
        method="POST", finish_on_key="#", timeout=8,
    )
    gather.say(f"{greeting} Please enter your PIN, then press pound.")
    response.say("Goodbye.")
    response.hangup()
    return response


def _menu(router: Router, agent: dict[str, Any], *, n: int) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, method="POST", timeout=8,
        action=router.url(paths.AGENT_LINE, agent=agent["id"], stage="menu", n=n),
    )
    gather.say(describe(agent) + " Press 1 to be available, 2 for a break, 3 to log out.")
    response.say("Goodbye.")
    response.hangup()
    return response


@bp.post(paths.AGENT_LINE)
@twilio_webhook("voice", required=("agent", "stage"))
def agent_line(params: MultiDict[str, str]) -> TwiML:
    """The agent line's Gather actions (PIN, then menu choice)."""
    router = get_router()
    agent_id = params.get("agent", "")
    agent = router.agent(agent_id)
    # The PIN gates the menu: only the phone registered for this agent may use it.
    if agent is None or params.get("From", "").removeprefix("whatsapp:") != agent["phone"]:
        return _goodbye(NOT_AN_AGENT)
    stage, n = params.get("stage"), int(params.get("n", "0") or 0)
    digits = params.get("Digits", "")
    if stage == "pin":
        verdict = router.check_pin(agent_id, digits)
        if verdict == "ok":
            return _menu(router, agent, n=0)
        if verdict == "locked":
            return _goodbye(LOCKED)
        if verdict != "wrong":
            return _goodbye(NOT_AN_AGENT)
        if n + 1 >= PIN_TRIES:
            return _goodbye("Sorry, that PIN is not right. Goodbye.")
        return _pin_prompt(router, agent_id, tries=n + 1, greeting="That PIN is not right.")
    choice = KEYS.get(digits)
    if choice is None:
        if n + 1 >= MENU_TRIES:
            return _goodbye(None)
        return _menu(router, agent, n=n + 1)
    try:
        updated = router.set_agent_status(agent_id, choice, source="phone")
    except UnknownAgent:
        return _goodbye(NOT_AN_AGENT)
    return _goodbye(describe(updated) + " Goodbye.")
