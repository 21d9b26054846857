"""Hot reload: a good change is served within 2 s; a broken one is refused and logged."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.flows.registry import KEEP_VERSIONS, REHASH_EVERY, FlowRegistry

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "callflows"
    shutil.copytree(FIXTURES / "base", target)
    return target


@pytest.fixture()
def registry(folder: Path) -> Iterator[FlowRegistry]:
    reg = FlowRegistry(folder, interval=0.2)
    reg.start()
    yield reg
    reg.stop()


def wait_for(predicate: object, timeout: float = 2.0) -> float:
    """Seconds until predicate() holds; fails the test after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def goodbye(reg: FlowRegistry) -> object:
    return reg.current.flows["main"].steps["goodbye"].value


def test_loads_at_once(registry: FlowRegistry) -> None:
    assert goodbye(registry) == "Goodbye."
    assert registry.problems == []
    assert registry.version(registry.current.version) is registry.current


def test_good_change_is_picked_up_within_two_seconds(registry: FlowRegistry,
                                                     folder: Path) -> None:
    old = registry.current.version
    edit(folder / "main.yaml", "Goodbye.", "See you soon.")
    wait_for(lambda: goodbye(registry) == "See you soon.")
    assert registry.current.version != old
    # calls that started on the old version keep it
    old_flows = registry.version(old)
    assert old_flows is not None
    assert old_flows.flows["main"].steps["goodbye"].value == "Goodbye."


def test_new_file_is_picked_up(registry: FlowRegistry, folder: Path) -> None:
    (folder / "extra.yaml").write_text("numbers: ['+15005550007']\nsteps:\n"
                                       "  hi:\n    hangup: 'Hi.'\n")
    wait_for(lambda: "extra" in registry.current.flows)


def test_broken_change_keeps_last_good(registry: FlowRegistry, folder: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.flows")
    good = registry.current.version
    edit(folder / "main.yaml", "    queue: sales", "    queue: sals")
    wait_for(lambda: registry.problems != [])
    assert registry.current.version == good
    assert goodbye(registry) == "Goodbye."
    expected = (f"{folder / 'main.yaml'}:19:12: unknown queue 'sals' (did you mean 'sales'?) "
                "(queues are in queues.yaml)")
    assert [str(p) for p in registry.problems] == [expected]
    # The watcher thread logs just after it publishes the problems.
    wait_for(lambda: any(r.levelno == logging.ERROR and r.getMessage() == expected
                         for r in caplog.records))
    # fixing it is picked up again
    edit(folder / "main.yaml", "    queue: sals", "    queue: sales")
    wait_for(lambda: registry.problems == [])
    assert registry.current.version == good


def test_nothing_valid_gives_empty_callflows(tmp_path: Path) -> None:
    folder = tmp_path / "callflows"
    folder.mkdir()
    (folder / "main.yaml").write_text("steps: [oops\n")
    reg = FlowRegistry(folder)
    assert reg.current.flows == {}
    assert reg.current.flow_for("+15005550006") is None
    assert reg.reload() is False
    assert [str(p) for p in reg.problems] == [
        f"{folder / 'main.yaml'}:2:1: YAML: expected ',' or ']', but got '<stream end>' "
        f"(a [ left open?)"]


def test_reload_is_synchronous_and_keeps_a_few_versions(folder: Path) -> None:
    reg = FlowRegistry(folder)
    first = reg.current.version
    for i in range(KEEP_VERSIONS + 2):
        edit(folder / "main.yaml", "Goodbye", f"Goodbye{i}")
        assert reg.reload() is True
        edit(folder / "main.yaml", f"Goodbye{i}", "Goodbye")
    assert reg.version(first) is None  # the oldest fell off
    assert len(reg.versions()) == KEEP_VERSIONS


def test_poll_only_reloads_on_change(folder: Path) -> None:
    reg = FlowRegistry(folder)
    assert reg.poll() is False
    edit(folder / "hours.yaml", "10:00-14:00", "10:00-15:00")
    assert reg.poll() is True
    assert reg.poll() is False


def test_default_interval_meets_the_two_second_promise(folder: Path) -> None:
    reg = FlowRegistry(folder)  # interval 1.0, as every worker runs it
    reg.start()
    try:
        time.sleep(0.3)
        edit(folder / "main.yaml", "Goodbye.", "Good night.")
        took = wait_for(lambda: goodbye(reg) == "Good night.", timeout=2.0)
        assert took < 2.0
    finally:
        reg.stop()


def test_same_size_edit_with_the_same_mtime_is_caught_by_the_content_hash(folder: Path) -> None:
    reg = FlowRegistry(folder)
    main = folder / "main.yaml"
    before = main.stat()
    edit(main, "Goodbye.", "Goodbye!")  # same size
    os.utime(main, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime
    assert [reg.poll() for _ in range(REHASH_EVERY - 1)] == [False] * (REHASH_EVERY - 1)
    assert reg.poll() is True
    assert goodbye(reg) == "Goodbye!"
