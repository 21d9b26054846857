"""Deployment as written in docs/operations.md and the repository: it must work as printed.

The systemd unit is checked by systemd itself; the container files are checked as far as
this machine can without a Docker engine (`.ci/run` runs `docker build` where one is).
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .procs import ROOT

OPERATIONS = ROOT / "docs" / "operations.md"
UNIT_PATH = "/etc/systemd/system/ivr.service"
ENV_PATH = "/etc/ivr/env"


def block(first_line: str) -> str:
    """The fenced code block of docs/operations.md that starts with `first_line`."""
    text = OPERATIONS.read_text()
    for found in re.finditer(r"```\w*\n(.*?)```", text, re.DOTALL):
        body = found.group(1)
        if body.startswith(first_line):
            return body
    raise AssertionError(f"no code block starting with {first_line!r} in {OPERATIONS}")


def no_trailing_comments(text: str) -> list[str]:
    """Lines where a # follows a value: systemd (and docker --env-file) keep it in the value."""
    return [line for line in text.splitlines()
            if not line.lstrip().startswith(("#", ";")) and re.search(r"\s[#;]", line)]


def test_the_unit_has_no_trailing_comments() -> None:
    assert no_trailing_comments(block(f"# {UNIT_PATH}")) == []


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    unit = block(f"# {UNIT_PATH}")
    # verify checks that ExecStart's program exists: point it at this environment's `ivr`.
    ivr = Path(sys.executable).parent / "ivr"
    assert "/srv/ivr/.venv/bin/ivr serve" in unit
    path = tmp_path / "ivr.service"
    path.write_text(unit.replace("/srv/ivr/.venv/bin/ivr", str(ivr)))
    done = subprocess.run([analyze, "verify", "--man=no", str(path)],
                          capture_output=True, text=True, timeout=60)
    # verify exits 0 on some parse errors ("..., ignoring"): its silence is the verdict.
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_the_environment_file_is_plain_key_value_lines() -> None:
    text = block(f"# {ENV_PATH}")
    assert no_trailing_comments(text) == []
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (ROOT / "README.md").read_text(), re.M))
    documented |= {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}  # one row of the README table
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=\S+", line), f"not KEY=value: {line!r}"
        assert line.split("=", 1)[0] in documented, f"undocumented variable: {line!r}"


def dockerfile_copies() -> list[str]:
    """The sources of the COPY instructions that come before the package is installed."""
    sources: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("RUN pip install"):
            return sources
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    raise AssertionError("the Dockerfile never runs pip install")


def test_the_image_copies_what_pip_install_needs() -> None:
    """What the Dockerfile copies before `pip install .` (and .dockerignore lets through) is
    what pyproject.toml builds from: itself, its readme, the package, and wsgi.py."""
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    copied = dockerfile_copies()
    for name in copied:
        assert (ROOT / name).exists(), name
        assert not any(fnmatch.fnmatch(name, pat) for pat in ignored), name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"], "wsgi.py"}
    needed |= {inc.rstrip("*") for inc in project["tool"]["setuptools"]["packages"]["find"][
        "include"]}
    assert needed <= set(copied), needed - set(copied)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["ivr", "serve", "--host", "0.0.0.0"' in dockerfile
    for folder in ("callflows", "recordings"):
        assert f"COPY {folder} ./{folder}" in dockerfile


def test_compose_runs_the_server_beside_a_redis_that_persists() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    redis, ivr = compose["services"]["redis"], compose["services"]["ivr"]
    command = [str(part) for part in redis["command"]]
    assert command[command.index("--appendonly") + 1] == "yes"
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose["volumes"]  # a named volume, not the container's
    assert ivr["build"] == "."
    assert ivr["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert ivr["depends_on"]["redis"]["condition"] == "service_healthy"
    assert ivr["command"][:2] == ["ivr", "serve"]
