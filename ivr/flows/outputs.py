"""What a turn of a conversation produces, in channel-neutral terms.

The runner and the step specs (`ivr.flows.steps`) produce these; the voice
engine renders them as TwiML, the text engine as texts. A turn is a list of
outputs (`Speak`, `Play`, `Pause`, `SendText`) and one ending: the caller must
answer (`Ask`), the call is handed over (`Record`, `Dial`, `Queue`), or it is
over (`Hangup`, `Stop`, `Failed`). A new step reuses these; only a new kind of
hand-over needs a new ending and a branch in each renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_INPUT_TIMEOUT = 5  # seconds of silence before an answer counts as no input

# --- outputs ----------------------------------------------------------------


@dataclass
class Speak:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass
class Play:
    source: str  # a file name in recordings/ or an http(s) URL
    loop: int = 1

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))


@dataclass
class Pause:
    seconds: int


@dataclass
class SendText:
    body: str
    to: str | None = None  # None: the caller


Output = Speak | Play | Pause | SendText

# --- endings ----------------------------------------------------------------


@dataclass
class Ask:
    """Wait for the caller's answer to a step that takes one (menu, gather, survey)."""

    step: str
    kind: str  # the action of the step that asks: "menu" | "gather" | "survey"
    prompt: list[Output]
    input: str  # "dtmf" | "speech" | "both"
    language: str
    num_digits: int | None = None
    finish_on: str | None = None
    timeout: int = DEFAULT_INPUT_TIMEOUT
    hints: list[str] = field(default_factory=list)


@dataclass
class Record:
    step: str
    max_length: int = 120
    transcribe: bool = False
    box: str = ""


@dataclass
class Dial:
    step: str
    targets: list[str]
    timeout: int = 30
    caller_id: str | None = None
    record: bool = False


@dataclass
class Queue:
    step: str
    queue: str
    priority: int = 0
    skills: list[str] = field(default_factory=list)
    max_wait: int | None = None


@dataclass
class Hangup:
    pass


@dataclass
class Stop:
    """Nothing more to do or say (the caller is gone)."""


@dataclass
class Failed:
    reason: str


Ending = Ask | Record | Dial | Queue | Hangup | Stop | Failed


@dataclass
class Turn:
    """What one webhook produces: outputs in order, then how the turn ends."""

    outputs: list[Output] = field(default_factory=list)
    end: Ending | None = None
    reached: list[tuple[str, str]] = field(default_factory=list)  # newly reached (flow, step)
