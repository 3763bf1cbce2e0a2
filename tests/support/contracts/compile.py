"""Compile the test contracts with the pinned solcjs and write build/<Name>.json ({"abi": [...], "bytecode": "0x..."}).

Run from anywhere: `.venv/bin/python tests/support/contracts/compile.py`. solcjs comes from package-lock.json
(`scripts/setup.sh test` installs it); set SOLCJS to use another binary.

The bytecode ends in solc's CBOR metadata, which holds a hash of the metadata JSON: compiler version, settings,
and each source's *unit name* and content hash. solcjs is always run inside this folder with bare file names, so
the unit names (and with them the bytecode) are the same on every machine and checkout path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BUILD = HERE / "build"
SOLCJS = Path(os.environ.get("SOLCJS", ROOT / "node_modules" / ".bin" / "solcjs"))
SOLC_VERSION = "0.8.26"
CONTRACTS = ("TestToken", "Forwarder")  # each in <Name>.sol, contract named like its file


class SolcMissing(RuntimeError):
    """solcjs is not installed where compile.py looks for it."""


def compile_contracts(out_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Compile every contract with `solcjs --bin --abi --optimize`; returns {name: {"abi", "bytecode"}}."""
    if not (SOLCJS.is_file() and os.access(SOLCJS, os.X_OK)):
        raise SolcMissing(
            f"solcjs not found at {SOLCJS}: run `scripts/setup.sh test` (npm ci installs solc {SOLC_VERSION}) "
            "or set SOLCJS"
        )
    version = subprocess.run([str(SOLCJS), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if not version.startswith(SOLC_VERSION + "+"):
        raise RuntimeError(f"solcjs {version} found, the committed artifacts need {SOLC_VERSION}")
    with tempfile.TemporaryDirectory(prefix="coinvoice-solc-") as tmp:
        sources = [f"{name}.sol" for name in CONTRACTS]
        result = subprocess.run(
            [str(SOLCJS), "--bin", "--abi", "--optimize", "-o", tmp, *sources],
            cwd=HERE,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"solcjs failed ({result.returncode}):\n{result.stderr}{result.stdout}")
        built = {}
        for name in CONTRACTS:
            stem = Path(tmp) / f"{name}_sol_{name}"  # solcjs names outputs <unit name>_<contract>
            built[name] = {
                "abi": json.loads(stem.with_suffix(".abi").read_text()),
                "bytecode": "0x" + stem.with_suffix(".bin").read_text().strip(),
            }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, artifact in built.items():
            (out_dir / f"{name}.json").write_text(render(artifact))
    return built


def render(artifact: dict[str, Any]) -> str:
    """The committed file's exact text for an artifact."""
    return json.dumps({"abi": artifact["abi"], "bytecode": artifact["bytecode"]}, indent=2) + "\n"


def strip_metadata(bytecode: str) -> str:
    """Bytecode without solc's trailing CBOR metadata (its length is the last two bytes)."""
    code = bytecode.removeprefix("0x")
    length = int(code[-4:], 16)
    return code[: -(length + 2) * 2]


def main() -> int:
    built = compile_contracts(BUILD)
    for name, artifact in built.items():
        print(f"{BUILD / name}.json: {len(artifact['bytecode']) // 2 - 1} bytes of init code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
