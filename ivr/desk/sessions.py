"""Desk sign-in links and sessions in Redis (ivr/keys.py, "desk").

- A sign-in link's token (texted by `DESK`) is 32 random URL-safe characters. Redis
  holds only its SHA-256: `desk_link` (the agent, 10 minutes; spent with GETDEL, so two
  taps at once open one session) and `desk_link_seen` ("issued", then "used"; a day),
  which tells a spent or expired link apart from one that was never issued.
- A session id (the cookie) is 43 random characters; Redis holds `desk_session` under
  its SHA-256 with the agent and the session's CSRF token, for 12 hours.
- Logs name a token by its first PREFIX_CHARS characters at most.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import redis

from ivr import keys

LINK_SECONDS = 10 * 60
LINK_SEEN_SECONDS = 24 * 3600
SESSION_SECONDS = 12 * 3600
PREFIX_CHARS = 6

LinkVerdict = Literal["ok", "used", "expired", "unknown"]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def prefix(secret: str) -> str:
    """What a log line may show of a secret."""
    return secret[:PREFIX_CHARS] + "…"


# --- texted sign-in links ------------------------------------------------------------------


def issue_link(store: redis.Redis, agent_id: str) -> str:
    """A new one-time sign-in token for `agent_id` (the caller builds the URL)."""
    token = secrets.token_urlsafe(24)
    h = digest(token)
    pipe = store.pipeline(transaction=True)
    pipe.set(keys.desk_link(h), agent_id, ex=LINK_SECONDS)
    pipe.set(keys.desk_link_seen(h), "issued", ex=LINK_SEEN_SECONDS)
    pipe.execute()
    return token


def _verdict(seen: str | None) -> LinkVerdict:
    if seen == "used":
        return "used"
    if seen is not None:
        return "expired"
    return "unknown"


def peek_link(store: redis.Redis, token: str) -> tuple[LinkVerdict, str | None]:
    """Is this token good now (without spending it)? ("ok", agent) or (why not, None)."""
    h = digest(token)
    pipe = store.pipeline(transaction=False)
    pipe.get(keys.desk_link(h))
    pipe.get(keys.desk_link_seen(h))
    agent, seen = pipe.execute()
    if agent is not None:
        return "ok", str(agent)
    return _verdict(str(seen) if seen is not None else None), None


def spend_link(store: redis.Redis, token: str) -> tuple[LinkVerdict, str | None]:
    """Spend the token: ("ok", agent) exactly once; later (why not, None)."""
    h = digest(token)
    agent = store.getdel(keys.desk_link(h))
    if agent is not None:
        store.set(keys.desk_link_seen(h), "used", ex=LINK_SEEN_SECONDS)
        return "ok", str(agent)
    seen = store.get(keys.desk_link_seen(h))
    return _verdict(str(seen) if seen is not None else None), None


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    agent: str
    csrf: str
    key_hash: str  # SHA-256 of the session id

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(
            (given or "").encode("utf-8", "surrogatepass"), self.csrf.encode())


def open_session(store: redis.Redis, agent_id: str) -> tuple[str, Session]:
    """A new session for `agent_id`: (the cookie's session id, the session)."""
    sid = secrets.token_urlsafe(32)
    session = Session(agent=agent_id, csrf=secrets.token_urlsafe(32), key_hash=digest(sid))
    key = keys.desk_session(session.key_hash)
    pipe = store.pipeline(transaction=True)
    pipe.hset(key, mapping={"agent": agent_id, "csrf": session.csrf,
                            "created": str(time.time())})
    pipe.expire(key, SESSION_SECONDS)
    pipe.execute()
    return sid, session


def load_session(store: redis.Redis, sid: str) -> Session | None:
    if not sid or len(sid) > 200:
        return None
    h = digest(sid)
    fields = store.hgetall(keys.desk_session(h))
    agent, csrf = fields.get("agent"), fields.get("csrf")
    if not agent or not csrf:
        return None
    return Session(agent=str(agent), csrf=str(csrf), key_hash=h)


def close_session(store: redis.Redis, session: Session) -> None:
    store.delete(keys.desk_session(session.key_hash))
