"""Every Redis key the server uses, named in one place (as rq does).

Keys are grouped by the module that owns them. Routing keys share the hash
tag `{acd}` so that the Lua scripts, which touch agents and queues together,
stay valid on Redis Cluster (all of them land in one slot).
"""

from __future__ import annotations

PREFIX = "ivr:"

# --- webhooks (ivr/webhooks) -------------------------------------------------


def replay(digest: str) -> str:
    """Cached TwiML answer of one webhook delivery, so a retry gets the same answer."""
    return f"{PREFIX}replay:{digest}"


# --- voice and sms engine (ivr/flows/engine.py) --------------------------------


def call(call_sid: str) -> str:
    """Hash: state of one call in a flow (flow, version, step, vars, attempts, language)."""
    return f"{PREFIX}call:{call_sid}"


def calls_active() -> str:
    """Sorted set: CallSids in progress, scored by start time (for the API)."""
    return f"{PREFIX}calls:active"


def conversation(from_: str, to: str) -> str:
    """Hash: one text conversation, per (From, To) pair."""
    return f"{PREFIX}sms:conv:{from_}:{to}"


def optout(number: str) -> str:
    return f"{PREFIX}sms:optout:{number}"


def sms_rate(number: str) -> str:
    return f"{PREFIX}sms:rate:{number}"


def conversation_lock(from_: str, to: str) -> str:
    """Short lock that makes one texter's messages take their turns one at a time."""
    return f"{PREFIX}sms:lock:{from_}:{to}"


def conversation_turns(from_: str, to: str) -> str:
    """Hash {next, done}: tickets that keep one texter's messages in arrival order."""
    return f"{PREFIX}sms:turns:{from_}:{to}"


def sms_slowdown(number: str) -> str:
    """Set while a flooding sender has been told to slow down (so they are told once)."""
    return f"{PREFIX}sms:slow:{number}"


def missed_call_offer(number: str, service_number: str) -> str:
    """String: the queue a missed caller joins as a callback if they reply CALL."""
    return f"{PREFIX}sms:missed:{number}:{service_number}"


def missed_call_sent(call_sid: str) -> str:
    """Marks a call whose missed-call text went out (status callbacks may come twice)."""
    return f"{PREFIX}sms:missed-sent:{call_sid}"


def voicemail(box: str) -> str:
    """Sorted set of voicemail ids in one box, newest last."""
    return f"{PREFIX}vm:box:{box}"


def voicemail_item(vm_id: str) -> str:
    return f"{PREFIX}vm:item:{vm_id}"


def voicemail_boxes() -> str:
    return f"{PREFIX}vm:boxes"


def step_stats(flow: str) -> str:
    """Hash: `<step>:reached` and `<step>:dropped` counters for one flow."""
    return f"{PREFIX}flowstats:{flow}"


# --- routing (ivr/routing) ---------------------------------------------------
# Every routing key carries the `{acd}` hash tag.

ACD = "{acd}"


def acd(*parts: str) -> str:
    """A routing key. Those in use (ivr/routing/lua/lib.lua describes each):
    agents, callers (hashes of JSON records), timers (zset), events (stream), stats, aht,
    buckets (hashes), skills (set), free:<skill|*> (zsets of free agents), on:<skill|*>
    (sets of logged-in agents), wait:<queue>#<skills>/<level> (zsets: waiting lines),
    phones:all (hash phone -> agent), inq:<CallSid> (hold loop started; last
    announcement), reply:<request id> (a decision's reply, kept seconds for a retry of
    it: ivr/routing/lua/once.lua), base_url, roster_version (strings)."""
    return f"{PREFIX}{ACD}:" + ":".join(parts)


def chat_messages(chat_id: str) -> str:
    """List (JSON per message): one text conversation's transcript, in order. In the
    routing slot because the chat decisions (ivr/routing/lua/chat.lua) append to it."""
    return acd("chatmsgs", chat_id)


def chat_keys() -> list[str]:
    """The chat decisions' own keys (ivr/routing/lua/chat.lua's KEYS[9..12]): chats (hash
    id -> record), chatload (agent -> open conversations), chatwait (the line), chatof
    (texter|service -> their open conversation)."""
    return [acd("chats"), acd("chatload"), acd("chatwait"), acd("chatof")]


def pin_failures(agent_id: str) -> str:
    """Sorted set: one agent's wrong PIN tries and PIN lock (ivr/routing/lua/pin.lua)."""
    return f"{PREFIX}pin:tries:{agent_id}"


def public_base() -> str:
    """String: the base URL learnt from Twilio's webhooks (ivr/urls.py), when not configured."""
    return acd("base_url")


# --- wallboard and admin API (ivr/api, ivr/wallboard) -------------------------


def waiting_history(queue: str) -> str:
    """Hash: callers waiting in one queue, sampled per 10 s bucket (field = bucket start, s)."""
    return f"{PREFIX}wb:waiting:{queue}"


# --- contact records and interval reports (ivr/reports) -------------------------
# Every report key carries the `{rep}` hash tag: the fold script (ivr/reports/lua/fold.lua)
# writes the cursor, the agents' timeline and the interval hashes together.

REP = "{rep}"


def contact(contact_id: str) -> str:
    """String: one contact record (JSON), expiring IVR_RETENTION_DAYS after it ended."""
    return f"{PREFIX}contact:{contact_id}"


def contact_pending(call_sid: str) -> str:
    """String (JSON): an agent's talk and wrap-up of a call whose record is not written yet
    (the agent hung up first and the caller is still in the flow); a few hours."""
    return f"{PREFIX}contact-pending:{call_sid}"


def contacts_by_time() -> str:
    """Sorted set: contact ids scored by start time (ms); trimmed to the retention."""
    return f"{PREFIX}contacts:time"


def report_slots(scope: str, name: str, day: str) -> str:
    """Hash: one queue's (scope "q") or agent's ("a") 15-minute counters of one UTC day,
    field "<slot>:<counter>" where slot = epoch ms // 900000; or (scope "d") a queue's
    totals of one day in its own time zone, field "<the date's ordinal>:<counter>"."""
    return f"{PREFIX}{REP}:{scope}:{name}:{day}"


def report_cursor() -> str:
    """String: the id of the last routing event folded into the interval counters."""
    return f"{PREFIX}{REP}:cursor"


def report_agents() -> str:
    """String (JSON): each agent's availability and busy-until, as the fold left them."""
    return f"{PREFIX}{REP}:agents"


def survey_pending(number: str, service_number: str) -> str:
    """String: the contact a texted survey (a queue's survey_by_text) waits to score; a day."""
    return f"{PREFIX}survey:pending:{number}:{service_number}"


def report_once(contact_id: str, what: str) -> str:
    """Marks a contact's contribution (its survey) counted, so a repeated
    callback counts it once."""
    return f"{PREFIX}{REP}:once:{contact_id}:{what}"


# abandoned callers


def abandoned_callback(contact_id: str) -> str:
    """When a callback was asked for an abandoned caller from the wallboard (set
    once, so two supervisors pressing *call back* at once queue one callback)."""
    return f"{PREFIX}{REP}:abandoned-callback:{contact_id}"


# call context
# The agent desk's view of a call (ivr/api/calls.py): help asked for, the wrap-up given.


def call_help(call_sid: str) -> str:
    """String (JSON {note, at, agent}): an agent asked for help on this call; cleared when
    the call ends, else expires after a few hours."""
    return f"{PREFIX}help:{call_sid}"


def calls_helped() -> str:
    """Sorted set: CallSids with a help request, scored by when it was asked (s); the
    wallboard reads it, entries older than the request's lifetime are trimmed."""
    return f"{PREFIX}help:calls"


def call_wrapup(call_sid: str) -> str:
    """String (JSON {disposition, notes, agent, at}): the wrap-up an agent gave for a call,
    kept a few hours so that it lands on the contact record when that is written later."""
    return f"{PREFIX}wrapup:{call_sid}"


def contacts_of_number(number: str) -> str:
    """Sorted set: one customer number's contact ids scored by start time (ms), for the
    desk's previous contacts; trimmed to the retention on every write, expires with it."""
    return f"{PREFIX}contacts:number:{number}"


# --- recordings (ivr/recordings) ------------------------------------------------
# Every recording key carries the `{rec}` hash tag: a recording, its indexes and its
# claims are written together (MULTI), which Redis Cluster allows within one slot.

REC = "{rec}"


def recording(sid: str) -> str:
    """Hash: one kept call recording (call, queue, agent, start, duration, channels,
    status, source, conference, media_url: Twilio's URL, never shown to a browser)."""
    return f"{PREFIX}{REC}:rec:{sid}"


def recordings_by_time() -> str:
    """Sorted set: RecordingSids scored by start time (ms); listing and retention."""
    return f"{PREFIX}{REC}:time"


def recordings_of_call(call_sid: str) -> str:
    """Set: the RecordingSids of one call (the customer's CallSid); kept as long as they."""
    return f"{PREFIX}{REC}:call:{call_sid}"


def recording_expected() -> str:
    """Sorted set: recordings started and not stored yet, "CallSid|RecordingSid" (the
    RecordingSid may be empty), scored by when to ask Twilio for them (ms)."""
    return f"{PREFIX}{REC}:expected"


def recording_expectation(member: str) -> str:
    """Hash: what the bridge said of an expected recording (queue, agent, source, conference,
    since, tries); member as in `recording_expected`."""
    return f"{PREFIX}{REC}:expect:{member}"


def recordings_unlinked() -> str:
    """Sorted set: stored RecordingSids whose call's contact record was not written yet,
    scored by when stored (ms); the timers link them when it is."""
    return f"{PREFIX}{REC}:unlinked"


def recording_deleted(sid: str) -> str:
    """String: a recording deleted here (API or retention), so that a late callback or a
    fetch does not bring it back; a week."""
    return f"{PREFIX}{REC}:deleted:{sid}"


def recording_claim(what: str) -> str:
    """String (SET NX with expiry): one worker's claim on a piece of recordings work (a
    sweep, a deletion, an expected recording), so it is done once across workers."""
    return f"{PREFIX}{REC}:claim:{what}"


# --- supervision (ivr/routing/monitor.py, ivr/routing/recording.py) ----------------------
# Monitor legs carry the routing hash tag: lua/monitor.lua reads the caller's record with them.


def monitor_leg(call_sid: str) -> str:
    """Hash {sup, mode, leg, agent, since}: the supervisor's monitor leg on one customer
    call (lua/monitor.lua); gone when the leg ends, is ended, or the call ends."""
    return acd("monitor", call_sid)


def recording_pauses(call_sid: str) -> str:
    """Set: why one call's conference recording is paused now ("user": the desk or the
    API; "hold": the caller is on hold); the recording runs when it is empty. A day."""
    return f"{PREFIX}{REC}:pauses:{call_sid}"


# --- desk (ivr/desk) ----------------------------------------------------------------
# Secrets (sign-in links, session ids) are never keys themselves: only their SHA-256.


def desk_link(token_hash: str) -> str:
    """String: the agent a texted sign-in link opens a desk session for; 10 minutes."""
    return f"{PREFIX}desk:link:{token_hash}"


def desk_link_seen(token_hash: str) -> str:
    """String: a sign-in link was issued ("issued") or spent ("used"); a day, so that a
    late or second use is told apart from a forged link."""
    return f"{PREFIX}desk:link-seen:{token_hash}"


def desk_session(session_hash: str) -> str:
    """Hash {agent, csrf, created}: one desk session; 12 hours or until sign-out."""
    return f"{PREFIX}desk:session:{session_hash}"


def chat_room(room: str) -> str:
    """Stream: one chat room's messages (`team`, `queue:NAME`, `dm:A|B` for two agents'
    direct messages, `inbox:ID` for every direct message of one agent); capped, and
    trimmed to IVR_RETENTION_DAYS."""
    return f"{PREFIX}chat:{room}"
