"""Settings from the environment (docs/operations.md lists them), gathered in one place.

`create_app(config)` accepts a mapping that overrides any of them, which is how
tests point one app at one Redis database and one Twilio simulator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Config:
    redis_url: str | None = None
    data_dir: Path = Path(".ivr")
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    public_url: str | None = None
    callflows: Path = Path("callflows")
    recordings: Path = Path("recordings")
    admin_token: str | None = None
    retention_days: int = 90  # contact records, reports' raw data, chat and recordings
    # Not part of the user contract: knobs for tests and benchmarks.
    reload_interval: float = 1.0
    background: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dev_mode(self) -> bool:
        """Without an auth token there is nothing to check signatures with."""
        return not self.twilio_auth_token

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env.get("IVR_DATA_DIR") or ".ivr"),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_api_url=(env.get("TWILIO_API_URL") or "https://api.twilio.com").rstrip("/"),
            public_url=(env.get("IVR_PUBLIC_URL") or "").rstrip("/") or None,
            callflows=Path(env.get("IVR_CALLFLOWS") or "callflows"),
            recordings=Path(env.get("IVR_RECORDINGS") or "recordings"),
            admin_token=env.get("IVR_ADMIN_TOKEN") or None,
            retention_days=_positive_int(env.get("IVR_RETENTION_DAYS"), 90),
        )

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Config:
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        values: dict[str, Any] = {}
        extra = dict(self.extra)
        for key, value in overrides.items():
            if key in known:
                if key in ("data_dir", "callflows", "recordings") and value is not None:
                    value = Path(value)
                values[key] = value
            else:
                extra[key] = value
        values["extra"] = extra
        return replace(self, **values)


def _positive_int(raw: str | None, default: int) -> int:
    """A positive whole number from the environment; anything else keeps the default."""
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return value if value > 0 else default
