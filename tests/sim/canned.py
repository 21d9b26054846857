"""Constants and helpers shared by the simulator tests."""

from __future__ import annotations

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "sim-test-token"


def resp(*verbs: str) -> str:
    """A TwiML document from verb strings (tests write XML by hand to test the parser)."""
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"
