"""Request and answer models of the admin API (pydantic); `/api/openapi.json` is built from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

AGENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
AgentId = Annotated[str, Field(pattern=AGENT_ID,
                               description="letters, digits, _ . - (as in agents.yaml)")]
PHONE = r"^(\+[1-9][0-9]{6,14}|sip:[A-Za-z0-9._~%+-]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?)$"
PhoneOrSip = Annotated[str, Field(pattern=PHONE, description="E.164 number or sip: address")]
SkillLevel = Annotated[int, Field(ge=1, le=5)]
SKILL_NAME = r"^[A-Za-z0-9_-]{1,40}$"
SkillName = Annotated[str, Field(pattern=SKILL_NAME)]
# pydantic describes dict keys with patternProperties alone, which lets any other key
# through in the document; the explicit schema says what validation really does.
Skills = Annotated[dict[SkillName, SkillLevel], WithJsonSchema({
    "type": "object", "description": "skill name -> level 1..5",
    "patternProperties": {SKILL_NAME: {"type": "integer", "minimum": 1, "maximum": 5}},
    "additionalProperties": False,
}, mode="validation")]
Pin = Annotated[str, Field(pattern=r"^[0-9]{4,8}$", description="4 to 8 digits, for phone log-in")]
Status = Literal["offline", "available", "break"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """Answers: extra fields the router adds later pass through unchanged."""

    model_config = ConfigDict(extra="allow", serialize_by_alias=True, validate_by_name=True)


# --- agents ----------------------------------------------------------------------------


SHORT_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$"
ShortName = Annotated[str, Field(pattern=SHORT_NAME, description="a word of up to 40 "
                                 "letters, digits, _ or -")]


class StatusChange(Strict):
    status: Status
    reason: ShortName | None = Field(
        None, description="with `break`: one of agents.yaml's `breaks:` (422 otherwise); "
        "ignored with another status")


class AgentFields(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    phone: PhoneOrSip
    skills: Skills = Field(default_factory=dict)
    pin: Pin | None = None


class NewAgent(AgentFields):
    id: AgentId


class AgentPatch(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    phone: PhoneOrSip | None = None
    skills: Skills | None = None
    pin: Pin | None = None


class Agent(Open):
    id: str
    name: str | None = None
    phone: str | None = None
    skills: dict[str, int] = Field(default_factory=dict)
    status: str | None = None
    state: str | None = None
    since: float = Field(0.0, description="epoch seconds of the last status or state change")
    status_since: float = 0.0
    state_since: float = 0.0
    calls_today: int = 0
    talk_today: int = 0
    missed_in_a_row: int = 0
    source: str | None = Field(None, description="yaml (the roster file) or api (changed here)")
    offer: str | None = Field(None, description="CallSid ringing the agent's phone now")
    break_reason: str | None = Field(None, description="why on break (agents.yaml `breaks:`)")
    call: str | None = Field(None, description="CallSid of the call the agent is connected "
                             "with or wrapping up")


class Removed(Open):
    id: str
    result: Literal["removed", "busy"] = Field(
        description="busy: the agent was on a call; logged out now, removed when it ends")


# --- queues ----------------------------------------------------------------------------


class QueueStats(Open):
    queue: str
    waiting: int
    longest_wait: float
    agents_by_status: dict[str, int]
    agents_by_state: dict[str, int]
    date: str
    timezone: str | None = None
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None = Field(None, description="answered within target / offered")
    average_wait: float | None = None
    average_talk: float | None = None
    asa: float | None = Field(None, description="since midnight: average speed of answer, s")
    aht: float | None = Field(None, description="since midnight: average handle time, s")
    abandon_rate: float | None = Field(
        None, description="since midnight: abandoned / (offered - short abandons)")
    service_level_target: int | None = Field(None, description="seconds, from queues.yaml")
    max_wait: int | None = None
    strategy: str | None = None
    skills: list[str] = Field(default_factory=list)
    alerts: dict[str, int | float] = Field(
        default_factory=dict, description="thresholds from queues.yaml: longest_wait (s), "
        "waiting (callers), service_level (below), abandon_rate (above)")
    alerting: list[str] = Field(
        default_factory=list, description="the thresholds of `alerts` the queue is past now")
    chat: bool = Field(False, description="texters in this queue talk to an agent by text")
    texts_waiting: int | None = Field(
        None, description="text conversations waiting for an agent now (chat queues only)")


class WaitingCaller(Open):
    id: str
    queue: str
    position: int
    priority: int
    kind: str
    from_: str | None = Field(None, alias="from")
    state: str
    waited: float


class WaitingQuery(Strict):
    queue: str | None = None


class HistoryQuery(Strict):
    minutes: Annotated[int, Field(ge=1, le=60)] = 60


class HistoryPoint(BaseModel):
    ts: float
    waiting: int


# --- calls -----------------------------------------------------------------------------


class CallInProgress(Open):
    sid: str
    flow: str
    step: str
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    channel: str | None = None
    language: str | None = None
    started: float
    duration: float


# --- a call's context on the agent desk ---------------------------------------------------

MAX_NOTES = 2000
MAX_HELP_NOTE = 500


class TrailStep(BaseModel):
    flow: str
    step: str
    input: str = Field("", description="what the caller pressed or said there")


class PreviousContact(BaseModel):
    start: float = Field(description="epoch seconds")
    queue: str | None = None
    agents: list[str] = Field(default_factory=list)
    outcome: str
    disposition: str | None = None
    notes: str | None = None


class HelpFlag(BaseModel):
    note: str
    at: float = Field(description="epoch seconds when it was asked")
    agent: str | None = None


class ConsultInfo(BaseModel):
    to: str = Field(description='the target: "agent:ID" or "+E164"')
    agent: str | None = Field(None, description="the agent consulted (a desk target)")
    by: str | None = Field(None, description="the agent who started the consult")
    three_way: bool = Field(False, description="all three talk (the caller unheld)")


class CallContext(BaseModel):
    sid: str
    state: Literal["waiting", "offered", "connected", "wrap-up", "ended"] = Field(
        description="as the router knows it (waiting: in the queue, not offered yet)")
    agent: str | None = Field(None, description="the agent it is offered to, on, or wrapped "
                              "up by")
    queue: str
    waited: float = Field(description="seconds in the queue before an agent answered (so far)")
    number: str
    name: str | None = Field(None, description="caller ID name, when Twilio sends it")
    place: str | None = Field(None, description="city, state, country, when Twilio sends them")
    steps: list[TrailStep] = Field(description="the steps taken through the flow")
    vars: dict[str, Any] = Field(description="the flow's variables")
    previous: list[PreviousContact] = Field(
        description="this number's contacts of the last 30 days, newest first")
    script: str | None = Field(None, description="the queue's script rendered for this caller")
    script_html: str | None = Field(None, description="the script's Markdown as HTML "
                                    "(raw HTML in it is escaped)")
    dispositions: list[str] = Field(description="the queue's wrap-up codes")
    disposition: str | None = None
    notes: str | None = None
    help: HelpFlag | None = None
    held: bool = Field(False, description="the caller is on hold (hears the hold music)")
    consult: ConsultInfo | None = Field(None, description="a consult going on")


class WrapupBody(Strict):
    disposition: ShortName | None = Field(
        None, description="one of the queue's `dispositions` (any word when it has none)")
    notes: Annotated[str, Field(max_length=MAX_NOTES)] | None = None


class WrapupResult(BaseModel):
    sid: str
    agent: str
    disposition: str | None = None
    notes: str | None = None
    wrap_up_ended: bool = Field(description="false when the agent is still on the call: the "
                                "wrap-up is kept and nothing ends")


class HelpBody(Strict):
    note: Annotated[str, Field(max_length=MAX_HELP_NOTE)] = ""


class HelpResult(BaseModel):
    sid: str
    help: HelpFlag


# --- voicemails ------------------------------------------------------------------------


class VoicemailQuery(Strict):
    box: str | None = None
    unheard: bool = False


class Voicemail(Open):
    id: str
    box: str
    caller: str | None = None
    called: str | None = None
    call_sid: str | None = None
    flow: str | None = None
    time: float
    duration: int
    recording_url: str | None = None
    transcription: str | None = None
    transcription_status: str | None = None
    heard: float | None = Field(None, description="epoch seconds when marked heard")


# --- flows -----------------------------------------------------------------------------


class ProblemOut(BaseModel):
    location: str
    message: str
    severity: str


class FlowSummary(BaseModel):
    name: str
    file: str
    numbers: list[str]
    channels: list[str]
    start: str
    steps: int


class FlowsStatus(BaseModel):
    version: str
    ok: bool = Field(description="False when the last change on disk was refused")
    problems: list[ProblemOut]
    flows: list[FlowSummary]


class StepOut(BaseModel):
    name: str
    action: str
    line: int
    reached: int
    dropped: int


class FlowDetail(FlowSummary):
    version: str
    step_list: list[StepOut]
    mermaid: str
    svg: str | None = Field(None, description="drawn by Graphviz when installed")


class ReloadResult(BaseModel):
    ok: bool
    version: str
    problems: list[ProblemOut]


# --- events ----------------------------------------------------------------------------


class EventsQuery(Strict):
    queue: str | None = None
    since: Annotated[float, Field(ge=0, le=10_000_000_000, allow_inf_nan=False)] | None = Field(
        None, description="epoch seconds; only events after it")
    count: Annotated[int, Field(ge=1, le=1000)] = 100


class Event(Open):
    id: str
    ts: float
    type: str


# --- the wallboard in one read ---------------------------------------------------------


class AgentCall(Open):
    id: str = Field(description="CallSid of the caller")
    queue: str | None = None
    from_: str | None = Field(None, alias="from", description="the caller's number")
    talk: float | None = Field(None, description="seconds since connected; null while ringing")
    help: str | None = Field(None, description="the agent asked for help on it: their note")


class WallboardAgent(Agent):
    call: AgentCall | None = Field(  # type: ignore[assignment]
        None, description="the call the agent is ringing for, on, or wrapping up after")


class HelpRequest(Open):
    call: str = Field(description="CallSid of the call that asked for help")
    agent: str | None = None
    note: str = ""
    at: float = Field(description="epoch seconds when it was asked")
    queue: str | None = None


class Wallboard(BaseModel):
    now: float
    version: str
    queues: list[QueueStats]
    agents: list[WallboardAgent]
    waiting: list[WaitingCaller] = Field(
        description="the first 10 callers of each queue, best first (the queues' `waiting` "
                    "counts every one; GET /api/waiting lists them all)")
    calls_in_progress: int
    unheard_voicemails: int
    history: dict[str, list[HistoryPoint]]
    help: list[HelpRequest] = Field(default_factory=list,
                                    description="calls whose agent asked for help, oldest first")
