"""Load on text conversations with agents: 100 texters and 40 callers across 10 agents who
hold up to 3 conversations each beside one call, on 4 gunicorn workers sharing one Redis.

Agents' phones (ivr/sim/texters.py) accept, decline or ignore offers at random (seeded),
reply to what they are relayed, and say DONE after a few replies or when the texter goes
quiet; texters chat, go quiet, or text STOP at a random moment (some on WhatsApp, some
with a picture). Every check reads the simulator's record of the texts it carried (what
Twilio would have seen), and compares it with the server's own record only for how each
conversation ended:

- no agent ever over capacity (3 conversations open at once) or on two calls at once;
- every conversation ends exactly one way, the same on both sides;
- every message is delivered exactly once and in order, both ways, to the right person;
- no 5xx, no simulator error.

It prints the run's figures: duration, texts relayed, relay latency p50/p99 (the texter's
webhook sent -> the agent's phone gets it, and back). Run with `-m load`.
"""

from __future__ import annotations

import collections
import json
import math
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from ivr import keys
from ivr.sim.people import Caller, Phone
from ivr.sim.records import SimMessage
from ivr.sim.texters import ENDED, JOINED, OFFER, TAGGED, AgentTextPhone, Conversation, Texter
from ivr.sim.twilio import SimCall, TwilioSim
from ivr.store import connect
from tests.routing.loadkit import Cluster

SERVICE = "+15005550006"
AGENTS, TEXTERS, CALLERS, CAPACITY = 10, 100, 40, 3
AGENT_PHONE = "+150055503{:02d}"
TEXTER_PHONE = "+1415556{:04d}"
CALLER_PHONE = "+1555400{:04d}"
MAX_WAIT = 25  # real seconds a quiet texter waits in line before it counts as abandoned

QUEUES = f"""
support:
  skills: [support]
  strategy: longest-idle
  ring_timeout: 6
  max_wait: {MAX_WAIT}
  wrap_up: 0
  max_missed: 0
  chat: true
  chat_capacity: {CAPACITY}
"""
VOICE = f"""
numbers: ["{SERVICE}", "*"]
channels: [voice]
start: line
steps:
  line:
    queue: support
    overflow: sorry
  sorry:
    hangup: "Sorry, nobody can take your call right now."
"""
# Only a first text asking for an agent enters the line: a texter's late message (sent
# as the agent ended the conversation) gets the flow's answer, never a second conversation.
TEXT = f"""
numbers: ["{SERVICE}", "*"]
channels: [sms]
start: first
steps:
  first:
    branch:
      - {{if: "'agent' in (input or '') | lower", goto: line}}
    else: bye
  line:
    queue: support
    overflow: nobody
  nobody:
    hangup: "Nobody can answer texts right now."
  bye:
    hangup: "Text AGENT to talk to someone."
"""

TOKEN = re.compile(r"\[(t\d{3}):(\d+)\]")  # a texter's message: [t017:3]
REPLY = re.compile(r"\[(a\d{2})\.(\d+)\]")  # an agent's reply, its phone's 7th: [a04.7]
JOINED_TEXT = "has joined the conversation"
ENDED_TEXT = "This conversation has ended"
SYSTEM_TO_TEXTER = ("An agent will be with you shortly", "in line for an agent", JOINED_TEXT,
                    ENDED_TEXT, "unsubscribed", "opted out", "Text AGENT to talk")


def write_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "queues.yaml").write_text(QUEUES)
    (path / "main.yaml").write_text(VOICE)
    (path / "text.yaml").write_text(TEXT)
    (path / "agents.yaml").write_text("".join(
        f'agent{i:02d}:\n  name: Agent {i}\n  phone: "{AGENT_PHONE.format(i)}"\n'
        f"  skills: {{support: 3}}\n" for i in range(AGENTS)))
    return path


def silent(msg: SimMessage) -> bool:
    """The app took a text without a word back: relayed into a conversation."""
    return msg.status == 200 and not msg.replies


def untagged(body: str) -> str:
    found = TAGGED.match(body)
    return found.group(2) if found else body


# --- the people ---------------------------------------------------------------------


class LoadTexter:
    """A texter: asks for an agent, then chats (a message while waiting, then one for each
    reply the agent sends), goes quiet, or texts STOP at a random moment."""

    def __init__(self, sim: TwilioSim, i: int, rng: random.Random) -> None:
        self.sim = sim
        self.tag = f"t{i:03d}"
        channel = "whatsapp:" if rng.random() < 0.1 else ""
        self.address = channel + TEXTER_PHONE.format(i)
        self.kind = rng.choices(["chatty", "stopper", "quiet"], [70, 15, 15])[0]
        self.wants = rng.randint(2, 5)  # messages after the first
        self.pauses = [rng.uniform(30, 200) for _ in range(8)]  # simulated seconds
        self.stop_after = rng.uniform(100, 2500)
        self.picture = rng.random() < 0.3
        self.person = Texter(sim, self.address, channel + SERVICE, on_text=self.got)
        self.said = 0
        self.closed = False  # ended for them: told so, or they said STOP
        self.lock = threading.Lock()

    def begin(self) -> None:
        self.person.send(f"AGENT please [{self.tag}:0]")
        if self.kind == "stopper":
            self.sim.after(self.stop_after, self.stop)
        if self.kind == "chatty":
            self.sim.after(self.pauses[0], self.say)

    def say(self) -> None:
        with self.lock:
            if self.closed or self.said >= self.wants:
                return
            self.said += 1
            k = self.said
        media = [(f"https://img.test/{self.tag}-{k}.jpg", "image/jpeg")] \
            if self.picture and k == 1 else []
        self.person.send(f"[{self.tag}:{k}] and another thing", media)

    def stop(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.person.send("STOP")

    def got(self, _texter: Texter, msg: SimMessage) -> None:
        if ENDED_TEXT in msg.body:
            with self.lock:
                self.closed = True
        elif msg.via == "rest" and REPLY.search(msg.body) and self.kind == "chatty":
            self.sim.after(self.pauses[min(self.said + 1, len(self.pauses) - 1)], self.say)


def reply_words(agent: str) -> Any:
    """An agent's replies, numbered per phone so each is told apart wherever it lands (the
    phone cannot know the texter: every text to it masks them alike, "+1 415…")."""
    count = iter(range(1, 1_000_000))

    def words(_conv: Conversation) -> str:
        return f"[{agent}.{next(count)}] sure, noted"
    return words


def pictures(conv: Conversation) -> list[tuple[str, str]]:
    """Every third reply of a conversation carries a picture (an MMS to relay)."""
    k = len(conv.sent) + 1
    return [(f"https://img.test/agent-{id(conv)}-{k}.png", "image/png")] if k % 3 == 0 else []


# --- what the record says ---------------------------------------------------------------


@dataclass
class Seen:
    """One texter's conversation as the simulator saw it."""

    tag: str
    address: str
    sent: list[SimMessage]
    got: list[SimMessage]
    entered: bool = False
    answered: bool = False
    stop: SimMessage | None = None
    chat: list[SimMessage] = field(default_factory=list)  # taken into the conversation

    @property
    def outcome(self) -> str:
        if not self.entered:
            return "overflowed" if any("Nobody can answer" in r for r in self.sent[0].replies) \
                else "none"
        return "answered" if self.answered else "abandoned"


def seen_by_texters(texts: list[SimMessage], texters: list[tuple[str, str]],
                    agent_phones: set[str]) -> dict[str, Seen]:
    """Per texter (tag, address): what they sent and got, and how it went for them."""
    relayed_tags = {m2.group(1) for m in texts if m.to in agent_phones and m.via == "rest"
                    and not OFFER.search(m.body) for m2 in [TOKEN.search(m.body)] if m2}
    out: dict[str, Seen] = {}
    for tag, address in texters:
        sent = [m for m in texts if m.via == "inbound" and m.from_ == address]
        got = [m for m in texts if m.via != "inbound" and m.to == address]
        s = Seen(tag, address, sent, got)
        first = sent[0]
        s.entered = any("line" in r or "shortly" in r for r in first.replies)
        s.answered = any(JOINED_TEXT in m.body for m in got) or tag in relayed_tags
        s.stop = next((m for m in sent if m.body == "STOP"), None)
        s.chat = [first] + [m for m in sent[1:] if m.body != "STOP" and silent(m)]
        out[tag] = s
    return out


def check_texter_to_agent(texts: list[SimMessage], seen: dict[str, Seen],
                          agent_phones: set[str]) -> list[str]:
    """Each message a texter sent into an answered conversation reached one agent's phone
    exactly once, in order, with its picture; the first one in the offer that agent took.
    Nothing of an unanswered conversation reached anyone but in offers."""
    problems = []
    relays: dict[str, list[SimMessage]] = collections.defaultdict(list)
    offers: dict[str, list[SimMessage]] = collections.defaultdict(list)
    for m in texts:
        if m.to not in agent_phones or m.via != "rest":
            continue
        found = TOKEN.search(m.body)
        if found is None:
            continue
        (offers if OFFER.search(m.body) else relays)[found.group(1)].append(m)
    for tag, s in seen.items():
        mine = relays.get(tag, [])
        if not s.answered:
            if mine:
                problems.append(f"{tag} never answered, yet relayed: {[m.body for m in mine]}")
            continue
        phones = {m.to for m in mine}
        if len(phones) > 1:
            problems.append(f"{tag} relayed to several agents: {phones}")
        expected = [(m.body, m.media) for m in s.chat[1:]]
        got = [(untagged(m.body), m.media) for m in mine]
        if got != expected:
            problems.append(f"{tag}: sent {expected}, the agent got {got}")
        phone = next(iter(phones), None)
        if phone is not None and not any(m.to == phone for m in offers.get(tag, [])):
            problems.append(f"{tag}: {phone} was relayed the texts without an offer")
    return problems


def check_agent_to_texter(texts: list[SimMessage], seen: dict[str, Seen],
                          agent_phones: set[str]) -> list[str]:
    """Each reply an agent's phone sent that the app took silently reached one texter
    exactly once, each texter got theirs in the order sent; a reply the app refused
    reached nobody; texters got nothing else but the service's own words."""
    problems = []
    sent: dict[str, SimMessage] = {}
    refused: set[str] = set()
    pictures: list[str] = []
    for m in texts:
        if m.via == "inbound" and m.from_ in agent_phones and REPLY.search(m.body):
            if silent(m):
                sent[untagged(m.body)] = m
            else:
                refused.add(untagged(m.body))
    delivered = collections.Counter(m.body for s in seen.values() for m in s.got
                                    if m.via == "rest" and REPLY.search(m.body))
    for s in seen.values():
        for m in s.got:
            if m.body in sent and m.media != sent[m.body].media:
                pictures.append(f"{m.body}: sent {sent[m.body].media}, got {m.media}")
    if pictures:
        problems.append(f"replies' pictures changed: {pictures[:10]}")
    lost = [b for b in sent if delivered[b] == 0]
    doubled = [b for b, n in delivered.items() if n > 1]
    if lost or doubled:
        problems.append(f"agents' replies lost {lost[:10]}, delivered twice {doubled[:10]}")
    if set(delivered) & refused:
        problems.append(f"replies the app refused were delivered: {set(delivered) & refused}")
    if set(delivered) - set(sent) - refused:
        problems.append(f"replies nobody sent: {set(delivered) - set(sent) - refused}")
    for s in seen.values():
        replies = [m.body for m in s.got if m.via == "rest" and REPLY.search(m.body)]
        in_order = sorted(replies, key=lambda b: sent[b].seq if b in sent else 0)
        if replies != in_order:
            problems.append(f"{s.tag}: got replies {replies}, sent in the order {in_order}")
        others = [m.body for m in s.got if not REPLY.search(m.body)
                  and not any(w in m.body for w in SYSTEM_TO_TEXTER)]
        if others:
            problems.append(f"{s.tag} ({s.address}) got unexpected texts: {others}")
    return problems


@dataclass
class Stint:
    """One conversation on an agent's phone, from the text that joined it (`#N You're
    texting with…`, no #N: #1) to the one that ended it, read from the record alone."""

    phone: str
    n: int
    joined: SimMessage
    accept: SimMessage | None  # the `A` whose webhook texted `joined`
    relayed: list[str] = field(default_factory=list)  # the texters whose words came
    replies: list[SimMessage] = field(default_factory=list)  # taken silently
    done: SimMessage | None = None  # the agent's DONE, taken silently
    ended: SimMessage | None = None


def stints_of(texts: list[SimMessage], phone: str) -> list[Stint]:
    mine = [m for m in texts if (m.to == phone and m.via != "inbound")
            or (m.from_ == phone and m.via == "inbound")]
    accepts = [m for m in mine if m.via == "inbound" and m.body == "A"]
    current: dict[int, Stint] = {}
    out: list[Stint] = []
    for m in mine:
        tagged = TAGGED.match(m.body)
        n, text = (int(tagged.group(1)), tagged.group(2)) if tagged else (1, m.body)
        if m.via == "inbound":
            stint = current.get(n)
            if stint is None or not silent(m) or not tagged:
                continue  # A, D, ON, or a reply to nothing
            if text.upper() == "DONE":
                stint.done = stint.done or m
            else:
                stint.replies.append(m)
        elif JOINED.search(text):
            accept = next((a for a in accepts
                           if a.at <= m.at <= (a.done_at or math.inf)), None)
            current[n] = Stint(phone, n, m, accept)
            out.append(current[n])
        elif ENDED.search(text):
            ended = current.pop(n, None)
            if ended is not None:
                ended.ended = m
        elif m.via == "rest" and not OFFER.search(m.body):
            found = TOKEN.search(m.body)
            if found and n in current:
                current[n].relayed.append(found.group(1))
    return out


def texter_of(stint: Stint, seen: dict[str, Seen]) -> set[str]:
    """Who the conversation was with, as far as the record says: whose words were relayed
    in it, and who got the agent's replies."""
    replies = {untagged(m.body) for m in stint.replies}
    got = {s.tag for s in seen.values() for m in s.got if m.body in replies}
    return set(stint.relayed) | got


def check_stints(stints: list[Stint], seen: dict[str, Seen]) -> list[str]:
    """Each conversation on a phone is with one texter, the same both ways, and it was
    joined by an `A` and ended."""
    problems = []
    for st in stints:
        who = texter_of(st, seen)
        if len(who) > 1:
            problems.append(f"{st.phone} #{st.n} (joined at {st.joined.seq}) mixes {who}")
        if st.accept is None:
            problems.append(f"{st.phone} #{st.n} joined at {st.joined.seq} without an A")
        if st.ended is None:
            problems.append(f"{st.phone} #{st.n} joined at {st.joined.seq} never ended")
    return problems


def open_spans(stints: list[Stint], seen: dict[str, Seen]) -> list[tuple[float, float, str]]:
    """When each conversation of a phone was certainly open (active or wrapping up): from
    the answer to the `A` that took it to the start of the text that ended it (the agent's
    DONE, or the texter's STOP); one never ended is open to the end (inf)."""
    spans = []
    stops = [x.stop for x in seen.values() if x.stop is not None]
    for st in stints:
        if st.accept is None or st.accept.done_at is None:
            continue
        ends = [st.done.at] if st.done is not None else []
        for tag in texter_of(st, seen):
            stop = seen[tag].stop if tag in seen else None
            if stop is not None and stop.at > st.accept.at:
                ends.append(stop.at)
        if st.ended is not None and "opted out" in st.ended.body:
            # the texter's STOP texted it from its webhook: whoever's STOP was being
            # answered then (the earliest such STOP is a safe bound, when it was not known
            # who it was: a texter who never spoke, nor got a reply)
            ends += [stop.at for stop in stops
                     if stop.at <= st.ended.at <= (stop.done_at or math.inf)]
        spans.append((st.accept.done_at, min(ends) if ends else math.inf,
                      f"#{st.n}@{st.joined.seq}"))
    return spans


def most_at_once(spans: list[tuple[float, float, str]]) -> tuple[int, list[str]]:
    """The most conversations open at one moment, and which (an end at the very moment
    another starts does not overlap it)."""
    points = sorted([(s, 1, tag) for s, _, tag in spans] + [(e, -1, tag) for _, e, tag in spans],
                    key=lambda p: (p[0], p[1]))
    best: tuple[int, list[str]] = (0, [])
    now = 0
    open_: set[str] = set()
    for _, step, tag in points:
        now += step
        (open_.add if step > 0 else open_.discard)(tag)
        if now > best[0]:
            best = (now, sorted(open_))
    return best


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def latencies(texts: list[SimMessage], seen: dict[str, Seen],
              agent_phones: set[str]) -> tuple[list[float], list[float]]:
    """Seconds from a texter's webhook to the agent's phone getting it (messages sent once
    the conversation was answered), and from an agent's reply to the texter getting it."""
    to_agent, to_texter = [], []
    sent_at: dict[str, float] = {}
    joined_at: dict[str, float] = {}
    for s in seen.values():
        for m in s.chat[1:]:
            sent_at[m.body] = m.at
        joined = [m.at for m in s.got if JOINED_TEXT in m.body]
        if joined:
            joined_at[s.tag] = joined[0]
    replies: dict[str, float] = {}
    for m in texts:
        if m.via == "inbound" and m.from_ in agent_phones and REPLY.search(m.body):
            replies[untagged(m.body)] = m.at
    for m in texts:
        if m.via != "rest":
            continue
        if m.to in agent_phones and not OFFER.search(m.body):
            body = untagged(m.body)
            found = TOKEN.search(body)
            if found and body in sent_at and sent_at[body] > joined_at.get(found.group(1),
                                                                             math.inf):
                to_agent.append(m.at - sent_at[body])
        elif m.body in replies:
            to_texter.append(m.at - replies[m.body])
    return to_agent, to_texter


def stop_agrees(chat: dict[str, Any], stop: SimMessage | None) -> bool:
    """The server says the texter's STOP ended it (`stopped`) only if it ended while the
    STOP's webhook was being answered; and says not when it ended before that answer (a
    STOP crossing the agent's DONE may come second). Times in ms, a few ms of slack."""
    ended = chat.get("ended") or 0
    answered = (stop.done_at or math.inf) * 1000 + 5 if stop is not None else math.inf
    if chat.get("stopped"):
        return stop is not None and stop.at * 1000 - 5 <= ended <= answered
    return stop is None or ended <= answered


def stale_offers(check: redis.Redis, texts: list[SimMessage], tags: dict[str, str]) -> int:
    """Offers whose text reached the agent's phone only after the offer was over (taken,
    declined, expired, withdrawn), by the routing's own event times: a figure, since
    texts of different decisions race to a phone (each decision texts after it is made)."""
    chats = {c["id"]: c for c in server_chats(check)}
    events = [e for _id, e in check.xrange(keys.acd("events"))
              if e.get("type") in ("chat_offer", "chat_miss", "chat_connect", "chat_end")]
    offer_texts: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for m in texts:
        found = TOKEN.search(m.body) if m.via == "rest" and OFFER.search(m.body) else None
        if found:
            offer_texts[(m.to, found.group(1))].append(m.at * 1000)
    stale = 0
    for i, e in enumerate(events):
        if e["type"] != "chat_offer" or e["chat"] not in chats:
            continue
        over = next((int(f["at"]) for f in events[i + 1:] if f["chat"] == e["chat"]), None)
        phone = AGENT_PHONE.format(int(e["agent"].removeprefix("agent")))
        tag = tags.get(chats[e["chat"]]["from"], "")
        texted = next((at for at in offer_texts[(phone, tag)] if at >= int(e["at"])), None)
        if over is not None and texted is not None and texted > over:
            stale += 1
    return stale


# --- the run -------------------------------------------------------------------------


def agents_on(sim: TwilioSim, seed: int) -> dict[str, AgentTextPhone]:
    lock = threading.Lock()
    rng = random.Random(seed)
    phones = {}
    for i in range(AGENTS):
        number = AGENT_PHONE.format(i)
        sim.phones[number] = Phone(inputs=["1"], ring_delay=rng.uniform(1, 4),
                                   hangup_after=rng.uniform(200, 900))
        phone = AgentTextPhone(sim, number, SERVICE, rng=random.Random(seed * 100 + i),
                               lock=lock, weights=(70, 15, 15), replies=(1, 3),
                               think=(30.0, 150.0), idle_done=400.0,
                               reply_text=reply_words(f"a{i:02d}"), reply_media=pictures)
        assert "available" in phone.send("ON").replies[0]
        phones[number] = phone
    return phones


def place_callers(sim: TwilioSim, rng: random.Random) -> list[SimCall]:
    calls = []
    for i in range(CALLERS):
        patient = rng.random() < 0.8
        person = Caller(talk_for=rng.uniform(200, 900),
                        hangup_after=None if patient else rng.uniform(300, 2000))
        calls.append(sim.place_call(CALLER_PHONE.format(i), SERVICE, person))
        time.sleep(rng.uniform(0.05, 0.4))
    return calls


def all_over(check: redis.Redis) -> bool:
    """No conversation open or waiting on the server."""
    return check.hlen(keys.acd("chatof")) == 0 and check.zcard(keys.acd("chatwait")) == 0


def server_chats(check: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in check.hgetall(keys.acd("chats")).values()]


@pytest.mark.load
@pytest.mark.timeout(900)
def test_100_texters_and_40_callers_on_10_agents(redis_url: str, r: redis.Redis,
                                                 tmp_path: Path) -> None:
    began = time.monotonic()
    seed = 11
    rng = random.Random(seed)
    callflows = write_folder(tmp_path / "callflows")
    cluster = Cluster(redis_url, callflows, workers=4, log=tmp_path / "gunicorn.log")
    sim = cluster.sim
    check = connect(redis_url)
    try:
        phones = agents_on(sim, seed)
        agent_phones = set(phones)
        texters = [LoadTexter(sim, i, random.Random(seed * 1000 + i)) for i in range(TEXTERS)]
        callers: list[SimCall] = []
        calling = threading.Thread(target=lambda: callers.extend(place_callers(sim, rng)),
                                   daemon=True)
        calling.start()
        starters = []
        for t in texters:
            th = threading.Thread(target=t.begin, daemon=True)
            th.start()
            starters.append(th)
            time.sleep(rng.uniform(0.02, 0.2))
        for th in starters:
            th.join(30)
        calling.join(60)
        deadline = time.monotonic() + 240
        while not all_over(check) and time.monotonic() < deadline:
            time.sleep(0.5)
        for call in callers:
            call.wait(120)
        assert sim.texts_settled(60)
        elapsed = time.monotonic() - began
        texts = sim.texts
        log = tmp_path / "texts.log"  # every text carried, for a failure's post-mortem
        log.write_text("".join(
            f"{m.seq:5} {m.at:.3f} {m.via:7} {m.from_:>26} -> {m.to:<26} {m.body!r}"
            f"{' ' + str(m.media) if m.media else ''}"
            f"{f' [{m.status} {m.replies}]' if m.via == 'inbound' else ''}\n" for m in texts))
        left_open = [c for c in server_chats(check) if c["state"] in ("waiting", "offered",
                                                                      "active")]
        assert left_open == [], left_open

        # 0 5xx; the simulator saw nothing wrong (bad TwiML, a handler's failure)
        assert [(e.url, e.status) for e in sim.record.exchanges if e.status >= 500] == []
        assert sim.errors == []

        seen = seen_by_texters(texts, [(t.tag, t.address) for t in texters], agent_phones)
        # 1. capacity: never more than 3 conversations open at once on a phone; one call
        busiest: collections.Counter[int] = collections.Counter()
        stints: list[Stint] = []
        for number in phones:
            mine = stints_of(texts, number)
            stints += mine
            most, which = most_at_once(open_spans(mine, seen))
            assert most <= CAPACITY, (number, which, f"(every text: {log})")
            busiest[most] += 1
            assert sim.record.overlapping_offers(number) == [], number

        # 2. every conversation ended one way, and the server says the same one
        chats = server_chats(check)
        by_texter: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for c in chats:
            by_texter[c["from"]].append(c)
        disagree: dict[str, Any] = {}
        for s in seen.values():
            mine = by_texter.get(s.address, [])
            if not s.entered:
                if mine or s.outcome != "overflowed":
                    disagree[s.tag] = (s.outcome, mine)
                continue
            if len(mine) != 1 or mine[0]["outcome"] != s.outcome:
                disagree[s.tag] = (s.outcome, [(c["id"], c["outcome"], c["state"])
                                                      for c in mine])
                continue
            if not stop_agrees(mine[0], s.stop):
                disagree[s.tag] = ("stopped" if s.stop else "not stopped", mine[0])
        assert disagree == {}, disagree
        ends = collections.Counter(e.get("chat") for _, e in check.xrange(keys.acd("events"))
                                   if e.get("type") == "chat_end")
        assert {c["id"]: ends.get(c["id"], 0) for c in chats} == {c["id"]: 1 for c in chats}

        # 3. every message delivered once and in order, both ways, to the right person
        problems = check_texter_to_agent(texts, seen, agent_phones)
        problems += check_agent_to_texter(texts, seen, agent_phones)
        problems += check_stints(stints, seen)
        assert problems == [], "\n".join([f"(every text: {log})", *problems[:30]])

        # every caller's call ended; the agents took calls beside their conversations
        assert all(c.leg.done.is_set() for c in callers)

        # --- figures -------------------------------------------------------------------
        outcomes = collections.Counter(s.outcome for s in seen.values())
        kinds = collections.Counter(t.kind for t in texters)
        to_agent, to_texter = latencies(texts, seen, agent_phones)
        relayed = len(to_agent) + len(to_texter)
        offers = collections.Counter(choice for p in phones.values() for _, choice in p.offers)
        connected = sum(1 for c in callers if any(b.kind == "conference"
                                                  for b in c.record.bridges))
        late = stale_offers(check, texts, {t.address: t.tag for t in texters})
        print(f"\nchat load: {elapsed:.0f} s; {len(texts)} texts carried; texters {dict(kinds)}"
              f" -> {dict(outcomes)}; offers {dict(offers)}; callers connected "
              f"{connected}/{len(callers)}; agents by most conversations at once "
              f"{dict(sorted(busiest.items()))}; offers texted after they were over {late}")
        print(f"  relayed {relayed} texts after joining: texter->agent n={len(to_agent)} p50 "
              f"{percentile(to_agent, 50) * 1000:.0f} ms p99 "
              f"{percentile(to_agent, 99) * 1000:.0f} ms; agent->texter n={len(to_texter)} "
              f"p50 {percentile(to_texter, 50) * 1000:.0f} ms p99 "
              f"{percentile(to_texter, 99) * 1000:.0f} ms; mean "
              f"{statistics.mean(to_agent + to_texter) * 1000:.0f} ms")
    finally:
        check.close()
        cluster.stop()


# --- the checks can fail ---------------------------------------------------------------

T1, T2, PHONE = TEXTER_PHONE.format(1), TEXTER_PHONE.format(2), AGENT_PHONE.format(0)


def conversation() -> list[SimMessage]:
    """One answered conversation as the simulator would record it (and a second texter
    still waiting)."""
    rows = [
        ("inbound", T1, SERVICE, "AGENT please [t001:0]", ["An agent will be with you shortly."]),
        ("inbound", T2, SERVICE, "AGENT please [t002:0]", ["You're number 1 in line for an "
                                                           "agent."]),
        ("rest", SERVICE, PHONE, 'New text from +1 415… (support): "AGENT please [t001:0]" '
                                 "Reply A to accept, D to decline.", []),
        ("inbound", PHONE, SERVICE, "A", []),
        ("rest", SERVICE, T1, "Agent has joined the conversation.", []),
        ("rest", SERVICE, PHONE, "You're texting with +1 415… (support).", []),
        ("inbound", T1, SERVICE, "[t001:1] one", []),
        ("rest", SERVICE, PHONE, "[t001:1] one", []),
        ("inbound", PHONE, SERVICE, "#1 [a00.1] sure", []),
        ("rest", SERVICE, T1, "[a00.1] sure", []),
        ("inbound", T1, SERVICE, "[t001:2] two", []),
        ("rest", SERVICE, PHONE, "[t001:2] two", []),
        ("inbound", PHONE, SERVICE, "#1 [a00.2] sure", []),
        ("rest", SERVICE, T1, "[a00.2] sure", []),
        ("inbound", PHONE, SERVICE, "#1 DONE", []),
        ("rest", SERVICE, T1, "This conversation has ended. Thank you for texting us.", []),
        ("rest", SERVICE, PHONE, "Conversation with +1 415… ended. You are wrapping up.", []),
    ]
    out = [SimMessage(sid=f"SM{i}", from_=f, to=t, body=b, via=via, seq=i, at=float(i),
                      status=200 if via == "inbound" else None, replies=list(replies))
           for i, (via, f, t, b, replies) in enumerate(rows, 1)]
    for m in out:
        if m.via == "inbound":
            m.done_at = m.at + 2.5  # the webhook's answer came after what it texted
    return out


def problems_in(texts: list[SimMessage]) -> list[str]:
    seen = seen_by_texters(texts, [("t001", T1), ("t002", T2)], {PHONE})
    return check_texter_to_agent(texts, seen, {PHONE}) + \
        check_agent_to_texter(texts, seen, {PHONE}) + check_stints(stints_of(texts, PHONE), seen)


def test_the_delivery_checks_see_lost_doubled_reordered_and_misdelivered_texts() -> None:
    texts = conversation()
    assert problems_in(texts) == []
    seen = seen_by_texters(texts, [("t001", T1), ("t002", T2)], {PHONE})
    assert (seen["t001"].outcome, seen["t002"].outcome) == ("answered", "abandoned")
    (stint,) = stints_of(texts, PHONE)
    assert stint.accept is not None and stint.accept.body == "A" and stint.relayed == [
        "t001", "t001"] and len(stint.replies) == 2 and stint.done is not None
    assert open_spans([stint], seen) == [(6.5, 15.0, "#1@6")]

    def edited(change: Any) -> list[str]:
        copy = [SimMessage(**vars(m)) for m in texts]
        change(copy)
        return problems_in(copy)

    def body(ms: list[SimMessage], text: str) -> SimMessage:
        return next(m for m in ms if m.body == text and m.via == "rest")

    assert any("the agent got" in p for p in edited(
        lambda ms: ms.remove(body(ms, "[t001:2] two"))))
    assert any("lost ['[a00.1] sure']" in p for p in edited(
        lambda ms: ms.remove(body(ms, "[a00.1] sure"))))
    assert any("delivered twice ['[a00.1] sure']" in p for p in edited(
        lambda ms: ms.append(SimMessage(**vars(body(ms, "[a00.1] sure"))))))

    def swap(ms: list[SimMessage], a_text: str, b_text: str) -> None:
        a, b = ms.index(body(ms, a_text)), ms.index(body(ms, b_text))
        ms[a], ms[b] = ms[b], ms[a]
    assert any("the agent got" in p for p in edited(
        lambda ms: swap(ms, "[t001:1] one", "[t001:2] two")))
    assert any("sent in the order" in p for p in edited(
        lambda ms: swap(ms, "[a00.1] sure", "[a00.2] sure")))

    def elsewhere(ms: list[SimMessage]) -> None:
        body(ms, "[a00.2] sure").to = T2
    assert any("mixes {'t001', 't002'}" in p or "mixes {'t002', 't001'}" in p
               for p in edited(elsewhere))

    def picture_lost(ms: list[SimMessage]) -> None:
        next(m for m in ms if m.body == "#1 [a00.1] sure").media = ["https://img.test/x.png"]
    assert any("pictures changed" in p for p in edited(picture_lost))

    def refused_but_sent(ms: list[SimMessage]) -> None:
        next(m for m in ms if m.body == "#1 [a00.2] sure").replies = ["Sorry"]
    assert any("refused were delivered" in p for p in edited(refused_but_sent))

    def waiting_relayed(ms: list[SimMessage]) -> None:
        ms.append(SimMessage(sid="SMx", from_=SERVICE, to=PHONE, body="#2 [t002:1] hi",
                             via="rest", seq=99, at=99.0))
    assert any(p.startswith("t002") for p in edited(waiting_relayed))
    assert any("never ended" in p for p in edited(
        lambda ms: ms.remove(body(ms, "Conversation with +1 415… ended. You are wrapping up."))))


def test_the_capacity_check_counts_conversations_open_at_once() -> None:
    spans = [(0.0, 10.0, "a"), (1.0, 5.0, "b"), (2.0, 3.0, "c"), (3.0, 4.0, "d")]
    assert most_at_once(spans) == (3, ["a", "b", "c"])
    assert most_at_once([*spans, (2.5, 6.0, "e")]) == (4, ["a", "b", "c", "e"])


def test_a_conversation_ended_by_a_silent_texters_stop_ends_at_that_stop() -> None:
    """Nothing was relayed and no reply sent: only the STOP being answered when the agent
    was told tells who it was; the span ends at that STOP, not never."""
    def text(seq: int, via: str, f: str, t: str, body: str, done: float | None = None,
             replies: list[str] | None = None) -> SimMessage:
        return SimMessage(sid=f"SM{seq}", from_=f, to=t, body=body, via=via, seq=seq,
                          at=float(seq), status=200 if via == "inbound" else None,
                          replies=replies or [], done_at=done)
    texts = [
        text(1, "inbound", T2, SERVICE, "AGENT please [t002:0]", 1.5, ["An agent will be with "
                                                                       "you shortly."]),
        text(2, "rest", SERVICE, PHONE, 'New text from +1 415… (support): "AGENT please '
                                        '[t002:0]" Reply A to accept, D to decline.'),
        text(3, "inbound", PHONE, SERVICE, "A", 4.5),
        text(4, "rest", SERVICE, PHONE, "You're texting with +1 415… (support)."),
        text(5, "inbound", T2, SERVICE, "STOP", 6.5, ["You have been unsubscribed."]),
        text(6, "rest", SERVICE, PHONE, "+1 415… opted out; the conversation has ended."),
    ]
    seen = seen_by_texters(texts, [("t002", T2)], {PHONE})
    (stint,) = stints_of(texts, PHONE)
    assert stint.ended is not None and texter_of(stint, seen) == set()
    assert open_spans([stint], seen) == [(4.5, 5.0, "#1@4")]


def test_the_stop_check_allows_a_done_that_crossed_the_stop() -> None:
    stop = SimMessage(sid="SM1", from_=T1, to=SERVICE, body="STOP", via="inbound", at=10.0,
                      done_at=10.5)
    assert stop_agrees({"ended": 10_200, "stopped": True}, stop)
    assert stop_agrees({"ended": 10_200}, stop)  # the agent's DONE was decided first
    assert stop_agrees({"ended": 9_000}, stop)  # over before they said STOP
    assert not stop_agrees({"ended": 9_000, "stopped": True}, stop)
    assert not stop_agrees({"ended": 12_000}, stop)  # the STOP did not end it
    assert not stop_agrees({"ended": 10_200, "stopped": True}, None)
    assert stop_agrees({"ended": 10_200}, None)
