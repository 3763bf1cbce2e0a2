"""The Node verification example in docs/webhooks.md, run with node against signatures the gateway makes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from coinvoice.webhooks.signing import signature_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def node_example() -> str:
    blocks = re.findall(r"```js\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_node_example_is_about_twenty_lines():
    assert len(node_example().strip().splitlines()) <= 20


def test_the_node_example_verifies_what_the_gateway_signs(tmp_path):
    if shutil.which("node") is None:  # scripts/setup.sh test installs it; a missing one must be seen
        pytest.fail("node is not installed (scripts/setup.sh test installs nodejs)", pytrace=False)
    (tmp_path / "verify.js").write_text(node_example())
    body = json.dumps({"eventId": "e-1", "type": "invoice.done", "invoice": {"name": "Café ☕"}}).encode()
    now = int(time.time())
    cases = {
        "good": (body, signature_headers(body, ["sk_new", "sk_old"], "e-1", now), ["sk_old"]),
        "tampered": (body + b" ", signature_headers(body, ["sk_new"], "e-1", now), ["sk_new"]),
        "wrong key": (body, signature_headers(body, ["sk_new"], "e-1", now), ["sk_other"]),
        "replayed": (body, signature_headers(body, ["sk_new"], "e-1", now - 3600), ["sk_new"]),
    }
    script = ["const { verifyCoinvoice } = require('./verify.js');", "const out = {};"]
    for name, (raw, headers, keys) in cases.items():
        lower = {k.lower(): v for k, v in headers.items()}
        script.append(
            f"out[{json.dumps(name)}] = verifyCoinvoice(Buffer.from({json.dumps(raw.hex())}, 'hex'), "
            f"{json.dumps(lower)}, {json.dumps(keys)});"
        )
    script.append("console.log(JSON.stringify(out));")
    (tmp_path / "run.js").write_text("\n".join(script))
    result = subprocess.run(["node", "run.js"], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(result.stdout) == {"good": True, "tampered": False, "wrong key": False, "replayed": False}
