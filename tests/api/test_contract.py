"""The API contract as a test: scripts/contract.py starts a real gateway on a fresh PostgreSQL database and runs
schemathesis against its /api/openapi.json. Any server error or non-conforming answer fails this test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "contract.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "0 server errors" in output, output[-20000:]
    assert "Operations:" in output and "selected" in output, output[-5000:]
