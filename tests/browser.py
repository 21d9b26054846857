"""What the browser tests share: Debian's Chromium (never a browser that a tool downloads,
which fails on machines without internet), driven by Playwright; a test module that needs
them is skipped, saying why, when either is missing. Screenshots go to artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import waiting

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def playwright_or_skip() -> Any:
    """Playwright's sync API; skips the calling test module when it or Chromium is missing
    (call it at module level)."""
    api = pytest.importorskip("playwright.sync_api",
                              reason="the playwright package is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                    "(.ci/run installs it)", allow_module_level=True)
    return api


def launch(playwright: Any) -> Any:
    """Headless Chromium from Debian's package."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
        args=LAUNCH_ARGS)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for one test (skipped, saying why, when it cannot run)."""
    api = playwright_or_skip()
    with api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield browser
        finally:
            browser.close()


def wait_until(what: str, pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`tests.waiting.wait_until`, what is awaited named first (as the desk tests read)."""
    return waiting.wait_until(pred, timeout, what=what)
