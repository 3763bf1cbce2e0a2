"""The committed contract artifacts (tests/support/contracts/build/*.json) are what the sources compile to."""

from __future__ import annotations

import json

import pytest

from tests.support.contracts import compile as contracts

#: solc's CBOR metadata ends with {"solc": <3 version bytes>} and the CBOR length (0x0033 = 51 bytes)
SOLC_0_8_26_TAIL = "64736f6c6343" + "00081a" + "0033"


def test_artifacts_have_abi_and_bytecode_from_solc_0_8_26() -> None:
    for name in contracts.CONTRACTS:
        artifact = json.loads((contracts.BUILD / f"{name}.json").read_text())
        assert sorted(artifact) == ["abi", "bytecode"]
        assert isinstance(artifact["abi"], list) and artifact["abi"]
        assert artifact["bytecode"].startswith("0x6080604052")
        assert artifact["bytecode"].endswith(SOLC_0_8_26_TAIL)
        assert len(contracts.strip_metadata(artifact["bytecode"])) < len(artifact["bytecode"]) - 2


def test_committed_artifacts_equal_a_fresh_compile() -> None:
    """Bytecode is compared whole, metadata included: solcjs runs in the contracts folder with bare file names,
    so the metadata hash (compiler, settings, source names and hashes) is the same on every machine. Any source
    change, even a comment, changes it: then run compile.py and commit build/ with the source."""
    try:
        built = contracts.compile_contracts()
    except contracts.SolcMissing as missing:  # scripts/setup.sh test installs solcjs: a missing one must be seen
        pytest.fail(str(missing), pytrace=False)
    for name, artifact in built.items():
        committed_text = (contracts.BUILD / f"{name}.json").read_text()
        committed = json.loads(committed_text)
        assert artifact["abi"] == committed["abi"], f"{name}: ABI changed; run compile.py"
        if artifact["bytecode"] != committed["bytecode"]:
            same_code = contracts.strip_metadata(artifact["bytecode"]) == contracts.strip_metadata(
                committed["bytecode"]
            )
            what = "only the metadata hash (a comment or whitespace change?)" if same_code else "the code"
            pytest.fail(f"{name}: {what} differs from build/{name}.json; run tests/support/contracts/compile.py")
        assert contracts.render(artifact) == committed_text
