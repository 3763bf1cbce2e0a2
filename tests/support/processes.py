"""The gateway as real processes (`coinvoice serve ...`) on 127.0.0.1, for the multi-process, outage and crash
tests and the soak bench: start, wait until it answers, find its children, read its log, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class GatewayProcess:
    """`coinvoice serve --role ROLE --processes N` with its own port and log file."""

    def __init__(self, env: dict[str, str], log_path: Path, role: str = "all", processes: int = 1) -> None:
        self.port = int(env.get("COINVOICE_PORT") or free_port())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COINVOICE_")}
        self.env.update(env, COINVOICE_HOST="127.0.0.1", COINVOICE_PORT=str(self.port), PYTHONUNBUFFERED="1")
        self.role = role
        self.processes = processes
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where the latest start's lines begin in the log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        args = ["serve", "--role", self.role, "--processes", str(self.processes)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "coinvoice", *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def children(self) -> list[int]:
        return children_of(self.pid) if self.processes > 1 else [self.pid]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _latest_log(self) -> bytes:
        return self.log_path.read_bytes()[self._log_start :] if self.log_path.exists() else b""

    async def wait_ready(self, seconds: float = 60.0, path: str = "/healthz") -> None:
        """Until ``path`` answers 200 and every child of the latest start is listening."""
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"gateway exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
                try:
                    async with session.get(self.base + path) as r:
                        up = r.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    up = False
                if up and self._latest_log().count(b"listening on") >= self.processes:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"gateway not ready in {seconds} s:\n{self.log_text()[-3000:]}")
                await asyncio.sleep(0.1)

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    async def stop(self, seconds: float = 60.0) -> int:
        """SIGTERM and the exit code (killed after ``seconds``)."""
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + seconds
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"gateway did not stop in {seconds} s:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.05)
        return process.returncode


class ProcessApi(Api):
    """The tests' Api client (tests/conftest.py) pointed at a gateway process instead of a TestServer."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base.rstrip("/")
        self.session = session
        self.check_answers = True  # as Api: every JSON success answer must match /api/openapi.json
