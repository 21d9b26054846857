"""`redis+sentinel://` URLs: what is read from them, and clear refusals.

No server is needed: these run in the default (fast) suite.
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from ivr.sentinel import FailoverRetry, SentinelUrl, SentinelUrlError
from ivr.store import connect


def test_one_sentinel_service_and_default_db() -> None:
    url = SentinelUrl.parse("redis+sentinel://10.0.0.7:26379/mymaster")
    assert url.sentinels == (("10.0.0.7", 26379),)
    assert url.service == "mymaster"
    assert url.db == 0
    assert url.username is None and url.password is None


def test_several_sentinels_password_and_db() -> None:
    url = SentinelUrl.parse("redis+sentinel://:s3cret@s1:26379,s2:26380,10.0.0.9:5000/ivr/3")
    assert url.sentinels == (("s1", 26379), ("s2", 26380), ("10.0.0.9", 5000))
    assert (url.service, url.db, url.username, url.password) == ("ivr", 3, None, "s3cret")


def test_password_is_percent_decoded_and_may_hold_any_character() -> None:
    url = SentinelUrl.parse("redis+sentinel://:p%40ss%3Aw%2Frd%25@h:1/svc")
    assert url.password == "p@ss:w/rd%"


def test_acl_user_and_password() -> None:
    url = SentinelUrl.parse("redis+sentinel://ivr:pw@h:1/svc")
    assert (url.username, url.password) == ("ivr", "pw")


def test_port_defaults_to_sentinels_own_and_ipv6_in_brackets() -> None:
    url = SentinelUrl.parse("REDIS+SENTINEL://sentinel-a,[::1]:26390,[fe80::2]/svc/")
    assert url.sentinels == (("sentinel-a", 26379), ("::1", 26390), ("fe80::2", 26379))
    assert url.service == "svc"


def test_redacted_form_never_shows_the_password() -> None:
    url = SentinelUrl.parse("redis+sentinel://:topsecret@h1:1,[::1]:2/svc/2")
    assert url.redacted() == "redis+sentinel://:***@h1:1,[::1]:2/svc/2"
    assert "topsecret" not in repr(url.redacted())


@pytest.mark.parametrize(("url", "why"), [
    ("redis+sentinel://h:26379", "service name is missing"),
    ("redis+sentinel://h:26379/", "service name is missing"),
    ("redis+sentinel:///svc", "Sentinel address is empty"),
    ("redis+sentinel://h1:1,,h2:2/svc", "Sentinel address is empty"),
    ("redis+sentinel://h:port/svc", "bad port in 'h:port'"),
    ("redis+sentinel://h:0/svc", "bad port"),
    ("redis+sentinel://h:70000/svc", "bad port"),
    ("redis+sentinel://:1/svc", "has no host"),
    ("redis+sentinel://::1:26379/svc", "IPv6 address in brackets"),
    ("redis+sentinel://[::1/svc", "bad IPv6 address"),
    ("redis+sentinel://h:1/svc/zero", "database must be a number"),
    ("redis+sentinel://h:1/svc/0/extra", "path is /SERVICE or /SERVICE/DB"),
    ("redis+sentinel://h:1/svc?db=2", "no query string"),
    ("redis+sentinel://secret@h:1/svc", "password after a colon"),
    ("redis+sentinel://:@h:1/svc", "password is empty"),
    ("rediss+sentinel://h:1/svc", "TLS to the Sentinels and the primary is not supported"),
    ("redis-sentinel://h:1/svc", "scheme must be redis+sentinel://"),
])
def test_refusals_say_what_is_wrong_and_show_the_form(url: str, why: str) -> None:
    with pytest.raises(SentinelUrlError) as caught:
        SentinelUrl.parse(url)
    message = str(caught.value)
    assert why in message
    assert "redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]" in message


def test_refusal_hides_the_password() -> None:
    with pytest.raises(SentinelUrlError) as caught:
        SentinelUrl.parse("redis+sentinel://:hunter2@h:1/svc/x")
    assert "hunter2" not in str(caught.value)
    assert "***@h:1" in str(caught.value)


def test_store_connect_dispatches_to_sentinel_with_its_usual_options() -> None:
    """Same short timeouts and decode_responses as any other URL; nothing is contacted yet."""
    client = connect("redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/svc/4")
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "svc"
    kw = pool.connection_kwargs
    assert kw["decode_responses"] is True
    assert kw["socket_timeout"] == 3.0
    assert kw["socket_connect_timeout"] == 2.0
    assert kw["db"] == 4 and kw["password"] == "pw"
    assert isinstance(kw["retry"], FailoverRetry)


def test_store_connect_refuses_a_bad_sentinel_url_clearly() -> None:
    with pytest.raises(SentinelUrlError, match="service name is missing"):
        connect("redis+sentinel://127.0.0.1:26379")


def test_plain_urls_are_untouched() -> None:
    client = connect("redis://127.0.0.1:1/0")
    assert not isinstance(client.connection_pool, SentinelConnectionPool)
    assert not isinstance(client.connection_pool.connection_kwargs.get("retry"), FailoverRetry)


def test_without_any_sentinel_a_command_fails_once_the_budget_is_spent() -> None:
    """Nothing listens on these ports: retried with backoff, then a ConnectionError."""
    client = connect("redis+sentinel://127.0.0.1:1,127.0.0.1:2/svc", retry=FailoverRetry(0.6))
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError, match="No master found for 'svc'"):
        client.ping()
    assert 0.5 <= time.monotonic() - started < 2.0


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.seen: list[tuple[Exception, int]] = []

    def do(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise redis.ConnectionError(f"down #{self.calls}")
        return "ok"

    def fail(self, error: Exception, count: int) -> None:
        self.seen.append((error, count))


def test_failover_retry_backs_off_exponentially_until_it_succeeds() -> None:
    flaky = Flaky(failures=4)
    started = time.monotonic()
    retry = FailoverRetry(5.0, base=0.01, cap=0.05)
    assert retry.call_with_retry(flaky.do, flaky.fail, with_failure_count=True) == "ok"
    elapsed = time.monotonic() - started
    assert flaky.calls == 5
    assert [count for _, count in flaky.seen] == [1, 2, 3, 4]
    # pauses 0.02, 0.04, 0.05 (cap), 0.05
    assert 0.15 <= elapsed < 1.0


def test_failover_retry_gives_up_at_its_budget_with_the_last_error() -> None:
    flaky = Flaky(failures=10_000)
    errors: list[Exception] = []
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError) as caught:
        FailoverRetry(0.5, base=0.01, cap=0.1).call_with_retry(flaky.do, errors.append)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed <= 0.6
    assert caught.value is errors[-1]


def test_failover_retry_does_not_retry_other_errors() -> None:
    calls = []

    def do() -> None:
        calls.append(1)
        raise redis.ResponseError("WRONGTYPE")

    with pytest.raises(redis.ResponseError):
        FailoverRetry(1.0).call_with_retry(do, lambda error: None)
    assert calls == [1]
