"""Hot reload of the call-flow folder, one registry per worker process.

A daemon thread polls the folder's file names, sizes and mtimes (cheap: one
`stat` per file) every `interval` seconds; on a change the whole folder is
checked again. A folder with any error is refused as a whole: the last good
version keeps serving and each problem is logged as FILE:LINE:COL. Calls that
started on an older version keep it (`version(v)`) until they end.

Why polling and not inotify (watchdog): it works the same on every OS, in
containers and on network mounts, costs a few stats a second, and needs no
extra thread per directory; a 1 s interval meets the 2 s pick-up promise.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from ivr.flows.checker import check_folder
from ivr.flows.model import Callflows
from ivr.flows.yamlsrc import Problem

log = logging.getLogger("ivr.flows")

KEEP_VERSIONS = 8
REHASH_EVERY = 10  # polls between content hashes


def _digest(folder: Path) -> str:
    """A hash of the flow files' content: the safety net for coarse mtimes (see poll)."""
    h = hashlib.sha256()
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ""
    for p in entries:
        if p.suffix in (".yaml", ".yml"):
            try:
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
            except OSError:
                continue
    return h.hexdigest()


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when any flow file is edited, added, removed or renamed."""
    out = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ()
    for p in entries:
        if p.suffix not in (".yaml", ".yml"):
            continue
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


class FlowRegistry:
    """The current call flows of one folder, reloaded when the files change."""

    def __init__(self, folder: Path, *, interval: float = 1.0,
                 recordings: Path | None = None) -> None:
        self.folder = Path(folder)
        self.interval = interval
        self.recordings = recordings
        self._lock = threading.Lock()  # guards the versions and current
        self._reload_lock = threading.Lock()  # one reload at a time, so none undoes a newer one
        self._versions: OrderedDict[str, Callflows] = OrderedDict()
        self._current = Callflows(flows={})
        self._problems: list[Problem] = []
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._digest = ""
        self._polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reload()

    @property
    def current(self) -> Callflows:
        """The version new calls start on (an empty one when nothing valid was ever loaded)."""
        return self._current

    @property
    def problems(self) -> list[Problem]:
        """The problems of the last refused attempt (empty after a good load)."""
        return list(self._problems)

    def version(self, v: str) -> Callflows | None:
        """A recent version by its hash, for calls that started on it."""
        with self._lock:
            return self._versions.get(v)

    def versions(self) -> list[str]:
        with self._lock:
            return list(self._versions)

    def reload(self) -> bool:
        """Check the folder now; True when what is on disk is being served."""
        with self._reload_lock:
            return self._reload()

    def _reload(self) -> bool:
        signature = _signature(self.folder)
        self._digest = _digest(self.folder)
        callflows, problems = check_folder(self.folder, recordings=self.recordings)
        with self._lock:
            self._signature = signature
            if callflows is None:
                self._problems = problems
                errors = [p for p in problems if p.is_error]
                log.error("call flows in %s refused (%d error%s); still serving version %s",
                          self.folder, len(errors), "" if len(errors) == 1 else "s",
                          self._current.version or "(none)")
                for p in problems:
                    (log.error if p.is_error else log.warning)("%s", p)
                return False
            self._problems = []
            if callflows.version == self._current.version:
                return True
            for p in problems:
                log.warning("%s", p)
            self._versions[callflows.version] = callflows
            self._versions.move_to_end(callflows.version)
            while len(self._versions) > KEEP_VERSIONS:
                self._versions.popitem(last=False)
            self._current = callflows
        log.info("call flows version %s loaded from %s: %d flows", callflows.version,
                 self.folder, len(callflows.flows))
        return True

    def poll(self) -> bool:
        """Reload if the files changed since the last look; True when a reload happened.

        Names, sizes and mtimes catch every edit on local disks; every REHASH_EVERY
        polls the content is hashed too, for file systems whose mtimes are coarse
        (an edit of the same size within the same tick would otherwise go unseen).
        """
        self._polls += 1
        changed = _signature(self.folder) != self._signature
        if not changed and self._polls % REHASH_EVERY == 0:
            changed = _digest(self.folder) != self._digest
        if not changed:
            return False
        self.reload()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any surprise; the next poll retries
                log.exception("reloading call flows from %s failed", self.folder)

    def start(self) -> None:
        """Watch the folder from a daemon thread (one per worker process)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ivr-flows-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
