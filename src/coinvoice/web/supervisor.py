"""`coinvoice serve --processes N`: a parent that runs N copies of the server and keeps them running.

Every child listens on the same host and port with SO_REUSEPORT (the kernel spreads new connections over them),
so there is nothing to coordinate between them but PostgreSQL. The parent only watches: a child that dies is
started again after a back-off that doubles while it keeps dying (reset once it has run a minute); SIGTERM or
SIGINT is passed on to every child, which finishes its in-flight requests and running job rounds, closes its pool
and exits 0; the parent then exits 0 too (1 if a child had to be killed or exited otherwise). /metrics answers for
all the children together, whichever of them serves the scrape.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
#: A child that ran this long is healthy: its next restart starts from FIRST_DELAY again.
HEALTHY_SECONDS = 60.0
#: How long a child may take to finish its requests and jobs after SIGTERM before it is killed.
STOP_SECONDS = 75.0
_PR_SET_PDEATHSIG = 1
#: prometheus-client's multiprocess directory: the children write their metric values there (memory-mapped files,
#: one per process) and whichever child answers /metrics adds them up (web/metrics.py: exposition). The parent
#: makes a fresh one for each run unless the operator names one (then its old files are removed at start).
METRICS_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the parent dies (even by kill -9), so no orphan keeps the port."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class Slot:
    """One of the N children: its current process, and when it may be started again."""

    number: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = FIRST_DELAY
    restart_at: float = 0.0
    restarts: int = field(default=0)


class Supervisor:
    def __init__(self, command: Sequence[str], count: int, what: str) -> None:
        self._command = list(command)
        self._slots = [Slot(n) for n in range(1, count + 1)]
        self._what = what
        self._stopping = False
        self._metrics_dir = ""

    def _start(self, slot: Slot) -> None:
        env = {**os.environ, "COINVOICE_PROCESS_NUMBER": str(slot.number), METRICS_DIR_VAR: self._metrics_dir}
        slot.process = subprocess.Popen(self._command, env=env, preexec_fn=_die_with_parent)
        slot.started = time.monotonic()
        log.info("%s process %d started (pid %d)", self._what, slot.number, slot.process.pid)

    def _stop(self, *_: object) -> None:
        self._stopping = True

    def run(self) -> int:
        """Start the children, restart the ones that die, and stop them all on SIGTERM/SIGINT."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        own_dir = METRICS_DIR_VAR not in os.environ
        self._metrics_dir = tempfile.mkdtemp(prefix="coinvoice-metrics-") if own_dir else os.environ[METRICS_DIR_VAR]
        for stale in Path(self._metrics_dir).glob("*.db"):  # an earlier run's counts would be added to ours
            stale.unlink()
        try:
            for slot in self._slots:
                self._start(slot)
            while not self._stopping:
                self._watch()
                time.sleep(0.1)
            return self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if own_dir:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.process is None:
                if now >= slot.restart_at:
                    slot.restarts += 1
                    self._start(slot)
                continue
            code = slot.process.poll()
            if code is None:
                continue
            if now - slot.started >= HEALTHY_SECONDS:
                slot.delay = FIRST_DELAY
            log.error(
                "%s process %d (pid %d) exited with %s; restarting in %.1f s",
                self._what,
                slot.number,
                slot.process.pid,
                f"signal {-code}" if code < 0 else f"code {code}",
                slot.delay,
            )
            slot.process = None
            slot.restart_at = now + slot.delay
            slot.delay = min(slot.delay * 2, MAX_DELAY)

    def _stop_all(self) -> int:
        running = [s.process for s in self._slots if s.process is not None and s.process.poll() is None]
        log.info("stopping %d %s process(es)", len(running), self._what)
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        clean = True
        for process in running:
            try:
                code = process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("%s process pid %d did not stop in %.0f s; killing it", self._what, process.pid, STOP_SECONDS)
                process.kill()
                process.wait()
                clean = False
                continue
            if code not in (0, -signal.SIGTERM):  # killed by our SIGTERM: still importing, nothing in flight
                log.error("%s process pid %d exited with code %d while stopping", self._what, process.pid, code)
                clean = False
        log.info("all %s processes stopped", self._what)
        return 0 if clean else 1


def child_command(role: str) -> list[str]:
    """The command line of one child: this interpreter serving ``role`` alone, on a shared port."""
    return [sys.executable, "-m", "coinvoice", "serve", "--role", role, "--processes", "1", "--child"]
