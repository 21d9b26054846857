"""Every URL path of the server, named in one place.

The four paths users paste into the Twilio console are fixed by the product;
the rest are the server's own choice, put into TwiML (Gather actions, Enqueue
waitUrls) and REST calls (status callbacks of the calls it places). Modules that
build URLs (the engines, the router) and the blueprints that answer them both
read these constants, so a path is changed in one place.
"""

from __future__ import annotations

# --- what users paste into Twilio (fixed) -------------------------------------
VOICE = "/twilio/voice"
VOICE_FALLBACK = "/twilio/voice/fallback"
VOICE_STATUS = "/twilio/voice/status"
SMS = "/twilio/sms"

# --- the flow engine's own callbacks -----------------------------------------
VOICE_STEP = "/twilio/voice/step"
VOICE_TRANSCRIPTION = "/twilio/voice/transcription"

# --- queues and agents' phones ------------------------------------------------
QUEUE_WAIT = "/twilio/queue/wait"
QUEUE_KEY = "/twilio/queue/key"
QUEUE_RESULT = "/twilio/queue/result"
QUEUE_JOIN = "/twilio/queue/join"
QUEUE_BACK = "/twilio/queue/back"
CONFERENCE_STATUS = "/twilio/conference/status"
AGENT_WHISPER = "/twilio/agent/whisper"
AGENT_ACCEPT = "/twilio/agent/accept"
AGENT_DIALED = "/twilio/agent/dialed"
AGENT_STATUS = "/twilio/agent/status"
AGENT_LINE = "/twilio/agent/line"
MONITOR_STATUS = "/twilio/monitor/status"  # a supervisor's monitor leg (status callback)

# --- people and machines ------------------------------------------------------
WALLBOARD = "/wallboard"
API = "/api"
HEALTH = "/healthz"
METRICS = "/metrics"
RECORDINGS = "/recordings"
#: JSON Schemas of the call-flow files, for editors (`$schema` comments): SCHEMAS/<name>.json
SCHEMAS = "/schemas"
RECORDING_STATUS = "/twilio/recording/status"  # Twilio's recording status callbacks

#: The console fields of the Twilio phone-number page and what to paste into each.
CONSOLE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Voice: a call comes in", VOICE),
    ("Voice: primary handler fails", VOICE_FALLBACK),
    ("Voice: call status changes", VOICE_STATUS),
    ("Messaging: a message comes in", SMS),
)
