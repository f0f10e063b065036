"""`pin` over files nobody here wrote (cryptography-vectors), with openssl as the judge.

Every file of a fixed, sorted subset is pinned through the real CLI and by the openssl
pipeline (`x509 -pubkey` / `pkey -pubout` / `req -pubkey`, then sha256 and base64 of
the DER). Where the two disagree, or one refuses, the file must be in `EXCEPTIONS` with
the reason; an exception that no longer happens fails too, so the table stays true.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import pytest

vectors = pytest.importorskip("cryptography_vectors", reason="pip install -e '.[test]'")
ROOT = Path(vectors.__file__).parent
PASSPHRASE = "foobar"  # what the vectors' encrypted keys use
Kind = Literal["certificate", "public_key", "private_key", "csr"]
Outcome = Literal["pinctl refuses", "openssl refuses", "pins differ"]

DIRS = (
    "x509",
    "x509/custom",
    "x509/requests",
    "x509/ed25519",
    "x509/ed448",
    "asymmetric/DER_Serialization",
    "asymmetric/PEM_Serialization",
    "asymmetric/PKCS8",
    "asymmetric/Traditional_OpenSSL_Serialization",
    "asymmetric/public/PKCS1",
    "asymmetric/EC",
    "asymmetric/DH",
    "asymmetric/Ed25519",
    "asymmetric/Ed448",
    "asymmetric/X25519",
    "asymmetric/X448",
)
PKITS_EVERY = 40
"""Every 40th PKITS certificate: the suite is ~400 near-identical certificates."""
KEY_MATERIAL = {".pem", ".der", ".crt"}
"""The other files there are test-vector text (.txt, .rsp, .fax), not keys or certificates."""

_REFUSED_BY_CRYPTOGRAPHY = "cryptography refuses this malformed DER; openssl is lenient"
_INVALID_KEY = "an invalid key (bad version, scalar or point); cryptography checks, openssl not"
_UNSUPPORTED_CURVE = (
    "a private key on a curve cryptography lacks: refused by design (README), its "
    "public key is not checked against the private half"
)
_AS_CARRIED = (
    "pinctl hashes the SPKI bytes as carried (RFC 7469); openssl re-encodes the key "
    "(non-zero unused bits in the BIT STRING) and hashes other bytes"
)
_OPENSSL_CANNOT_DECODE = (
    "openssl cannot decode this key algorithm; pinctl pins the SPKI bytes as carried"
)
_WHOLE_FILE = (
    "a damaged or undecryptable block later in the file: pinctl refuses the whole "
    "file, openssl x509 reads only the first certificate"
)
_WRONG_LABEL = "the PEM label names another key type; cryptography refuses, openssl guesses"

EXCEPTIONS: dict[str, tuple[Outcome, str]] = {
    "x509/badasn1time.pem": ("pinctl refuses", _REFUSED_BY_CRYPTOGRAPHY + " (bad UTCTime)"),
    "x509/cryptography.io.chain_with_garbage.pem": ("pinctl refuses", _WHOLE_FILE),
    "x509/cryptography.io.with_garbage.pem": ("pinctl refuses", _WHOLE_FILE),
    "x509/cryptography.io.with_headers.pem": ("pinctl refuses", _WHOLE_FILE),
    "x509/e-trust.ru.der": ("openssl refuses", _OPENSSL_CANNOT_DECODE + " (GOST)"),
    "x509/custom/dsa_null_alg_params.pem": ("pinctl refuses", _REFUSED_BY_CRYPTOGRAPHY),
    "x509/custom/ecdsa_null_alg.pem": ("pinctl refuses", _REFUSED_BY_CRYPTOGRAPHY),
    "x509/custom/invalid_version.pem": ("pinctl refuses", _REFUSED_BY_CRYPTOGRAPHY),
    "x509/custom/unsupported_subject_public_key_info.pem": (
        "openssl refuses",
        _OPENSSL_CANNOT_DECODE,
    ),
    "x509/requests/bad-version.pem": ("pinctl refuses", _REFUSED_BY_CRYPTOGRAPHY),
    "x509/ed25519/ed25519-rfc8410.pem": (
        "pinctl refuses",
        _REFUSED_BY_CRYPTOGRAPHY + " (an explicitly encoded DEFAULT)",
    ),
    "asymmetric/DER_Serialization/dsa_public_key_invalid_bit_string.der": (
        "pins differ",
        _AS_CARRIED,
    ),
    "asymmetric/DER_Serialization/dsa_public_key_no_params.der": (
        "openssl refuses",
        "a DSA key without domain parameters: openssl cannot use it, the bytes are an SPKI",
    ),
    "asymmetric/Ed25519/ed25519-pub-non-zero-unused-bits.der": ("pins differ", _AS_CARRIED),
    "asymmetric/PEM_Serialization/ec_public_key_rsa_delimiter.pem": (
        "pinctl refuses",
        _WRONG_LABEL,
    ),
    "asymmetric/PKCS8/wrong-pem-delimiter-rsa.pem": ("pinctl refuses", _WRONG_LABEL),
    "asymmetric/public/PKCS1/dsa.pub.pem": (
        "pinctl refuses",
        "'DSA PUBLIC KEY' is an OpenSSL-only legacy label, not in SPEC's list",
    ),
    "asymmetric/DH/dhp.der": (
        "pinctl refuses",
        "DH parameters, not a key; openssl's decoder reads them as a key anyway",
    ),
    "asymmetric/PEM_Serialization/rsa-bad-1025-q-is-2.pem": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/PKCS8/ec-inconsistent-curve2.pem": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/PKCS8/ec-invalid-private-scalar.pem": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/PKCS8/ec-invalid-version.pem": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/PKCS8/invalid-version.der": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/Traditional_OpenSSL_Serialization/dsa-wrong-version.pem": (
        "pinctl refuses",
        _INVALID_KEY,
    ),
    "asymmetric/Traditional_OpenSSL_Serialization/rsa-wrong-version.pem": (
        "pinctl refuses",
        _INVALID_KEY,
    ),
    "asymmetric/EC/ec_private_key_non_zero_unused_bits.der": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/EC/truncated-private-key.der": ("pinctl refuses", _INVALID_KEY),
    "asymmetric/PKCS8/ec_oid_not_in_reg_private_2.pkcs8.pem": (
        "pinctl refuses",
        _UNSUPPORTED_CURVE,
    ),
    "asymmetric/PKCS8/nodompar_private.pkcs8.pem": ("pinctl refuses", _UNSUPPORTED_CURVE),
    "asymmetric/PKCS8/private.pem": ("pinctl refuses", _UNSUPPORTED_CURVE),
    "asymmetric/EC/explicit_parameters_wap_wsg_idm_ecid_wtls11_private_key.pem": (
        "pinctl refuses",
        _UNSUPPORTED_CURVE,
    ),
    "asymmetric/EC/secp128r1_private_key.pem": ("pinctl refuses", _UNSUPPORTED_CURVE),
    "asymmetric/EC/secp256k1-explicit-no-seed.pem": ("pinctl refuses", _UNSUPPORTED_CURVE),
}


def corpus() -> Iterator[Path]:
    for folder in DIRS:
        for path in sorted((ROOT / folder).iterdir()):
            if path.is_file() and path.suffix.lower() in KEY_MATERIAL:
                yield path
    yield from sorted((ROOT / "x509/PKITS_data/certs").iterdir())[::PKITS_EVERY]


_JUDGES: dict[Kind, tuple[str, ...]] = {
    "certificate": ("x509", "-pubkey", "-noout"),
    "public_key": ("pkey", "-pubin", "-pubout"),
    "private_key": ("pkey", "-pubout", "-passin", f"pass:{PASSPHRASE}"),
    "csr": ("req", "-pubkey", "-noout"),
}
_PEM_KINDS: dict[bytes, Kind] = {
    b"CERTIFICATE": "certificate",
    b"PUBLIC KEY": "public_key",
    b"RSA PUBLIC KEY": "public_key",
    b"DSA PUBLIC KEY": "public_key",
    b"CERTIFICATE REQUEST": "csr",
}


def _guess(data: bytes) -> list[Kind]:
    """Which openssl commands to ask about a file pinctl refused: by its label or outline."""
    from pinctl.pki.shapes import der_shape

    start = data.find(b"-----BEGIN ")
    if start >= 0:
        label = data[start + 11 : data.find(b"-----", start + 11)]
        first = _PEM_KINDS.get(label, "private_key" if b"PRIVATE" in label else "certificate")
        return list(dict.fromkeys([first, "certificate"]))
    shape = der_shape(data)
    if shape == "certificate":
        return ["certificate"]
    if shape == "csr":
        return ["csr"]
    return ["public_key", "private_key"]


def openssl_pin(path: Path, kinds: list[Kind]) -> str | None:
    """The openssl pipeline's pin of `path`, or None when openssl refuses it."""
    form = "PEM" if b"-----BEGIN " in path.read_bytes() else "DER"
    for kind in kinds:
        result = subprocess.run(
            ["openssl", *_JUDGES[kind], "-inform", form, "-in", str(path)],
            capture_output=True,
            check=False,
        )
        out = result.stdout
        if result.returncode or b"-----BEGIN PUBLIC KEY-----" not in out:
            continue
        pem = out[out.index(b"-----BEGIN PUBLIC KEY-----") :]
        body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
        digest = hashlib.sha256(base64.b64decode(body)).digest()
        return "sha256/" + base64.b64encode(digest).decode()
    return None


def test_pins_of_the_cryptography_vectors_agree_with_openssl(run: Any) -> None:
    """Every vector pins as openssl pins it, or is a named, explained exception."""
    pinned: dict[str, tuple[Kind | None, str | None]] = {}
    paths = {str(path.relative_to(ROOT)): path for path in corpus()}
    assert len(paths) > 250
    for name, path in paths.items():
        result = run(["pin", "-o", "json", "--passphrase-env", "PINCTL_VECTORS", str(path)],
                     env={"PINCTL_VECTORS": PASSPHRASE})  # fmt: skip
        assert result.exit_code in (0, 2), (name, result.stderr)
        assert "internal error" not in result.stderr, name
        if result.exit_code:
            assert result.stderr.count("\n") == 1, name
            pinned[name] = (None, None)
            continue
        entry = json.loads(result.stdout)["sources"][0]["entries"][0]
        pinned[name] = (entry["kind"], entry["spki"]["sha256"])

    def judged(name: str) -> str | None:
        kind = pinned[name][0]
        return openssl_pin(paths[name], [kind] if kind else _guess(paths[name].read_bytes()))

    with ThreadPoolExecutor(max_workers=4) as pool:
        judges = dict(zip(pinned, pool.map(judged, pinned), strict=True))
    found: dict[str, Outcome] = {}
    for name, (_, ours) in pinned.items():
        theirs = judges[name]
        if ours == theirs:
            continue
        found[name] = (
            "pinctl refuses"
            if ours is None
            else "openssl refuses"
            if theirs is None
            else "pins differ"
        )
    expected = {name: outcome for name, (outcome, _) in EXCEPTIONS.items()}
    if _cryptography_major() < RECORDED_WITH:
        for name, outcome in OLDER_CRYPTOGRAPHY.items():
            if outcome is None:
                expected.pop(name, None)
            else:
                expected[name] = outcome
    assert found == expected
    agreed = sum(1 for name in pinned if name not in found and pinned[name][1] is not None)
    assert agreed > 200


RECORDED_WITH = 50
"""The cryptography major version `EXCEPTIONS` was recorded with."""
OLDER_CRYPTOGRAPHY: dict[str, Outcome | None] = {
    # cryptography 49 still loads this, and pinctl then agrees with openssl
    "asymmetric/DH/dhp.der": None,
    # loaded too, and pinned as carried (non-zero unused bits), where openssl re-encodes
    "asymmetric/EC/ec_private_key_non_zero_unused_bits.der": "pins differ",
}
"""How the CI's floor run (the lowest cryptography pyproject.toml allows) differs."""


def _cryptography_major() -> int:
    from importlib.metadata import version

    return int(version("cryptography").split(".")[0])
