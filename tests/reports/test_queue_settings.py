"""The reports' queue settings through the checker (with their locations) and the loader."""

from __future__ import annotations

from ivr.flows.checker import check_texts

MAIN = 'numbers: ["*"]\nsteps:\n  a:\n    queue: sales\n    overflow: b\n  b:\n    hangup: true\n'


def test_short_abandon_and_survey_by_text_are_checked_where_written() -> None:
    _, problems = check_texts({"main.yaml": MAIN, "queues.yaml": (
        "sales:\n  short_abandon: -1\n  survey_by_text: [1, 5]\n  short_abandn: 3\n")})
    errors = [str(p) for p in problems if p.is_error]
    assert "callflows/queues.yaml:2:18: 'short_abandon' must be at least 0, not -1" in errors
    assert "callflows/queues.yaml:3:19: 'survey_by_text' must be text, not a list" in errors
    assert any(e.startswith("callflows/queues.yaml:4:3:") and "short_abandon" in e
               for e in errors)  # did you mean


def test_loader_keeps_them_and_defaults() -> None:
    callflows, problems = check_texts({"main.yaml": MAIN, "queues.yaml": (
        "sales:\n  short_abandon: 8\n  survey_by_text: \"Rate us 1-5\"\nsupport: {}\n")})
    assert not [p for p in problems if p.is_error]
    assert callflows is not None
    sales, support = callflows.queues["sales"], callflows.queues["support"]
    assert (sales.short_abandon, sales.survey_by_text) == (8, "Rate us 1-5")
    assert (support.short_abandon, support.survey_by_text) == (5, None)
