"""What the browser tests share: Debian's Chromium (never a browser that a tool downloads,
which fails on machines without internet), driven by Playwright; a test module that needs
them is skipped, saying why, when either is missing. Screenshots go to artifacts/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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
