"""`ivr check` applies the http step's run-time URL rule (the audit's SSRF URL is refused)."""

from __future__ import annotations

import pytest

from ivr.flows.checker import check_texts

QUEUES = "sales: {}\n"
HOURS = "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"


def flow(url: str) -> dict[str, str]:
    main = (
        'numbers: ["*"]\nhttp_hosts: [crm.acme-bikes.example]\nsteps:\n  a:\n'
        f"    http: '{url}'\n    method: PUT\n    json: {{name: mole}}\n    next: b\n"
        "    error: b\n  b:\n    hangup: true\n"
    )
    return {"main.yaml": main, "queues.yaml": QUEUES, "hours.yaml": HOURS}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8731\\@crm.acme-bikes.example/../api/agents/mole",
    "http://user@crm.acme-bikes.example/x",
    "http://127.0.0.1:8731#@crm.acme-bikes.example/",
])
def test_ambiguous_authority_is_refused_by_the_checker(url: str) -> None:
    callflows, problems = check_texts(flow(url))
    errors = [str(p) for p in problems if p.is_error]
    assert callflows is None
    assert len(errors) == 1 and errors[0].startswith("callflows/main.yaml:5:11: ")


def test_plain_allowed_url_passes_and_unlisted_host_gets_a_suggestion() -> None:
    callflows, problems = check_texts(flow("https://crm.acme-bikes.example/api/{{ input }}"))
    assert [p for p in problems if p.is_error] == []
    assert callflows is not None
    _, problems = check_texts(flow("https://crm.acme-bike.example/api"))
    assert [str(p) for p in problems if p.is_error] == [
        "callflows/main.yaml:5:11: host 'crm.acme-bike.example' is not in this flow's "
        "http_hosts (did you mean 'crm.acme-bikes.example'?)"]
