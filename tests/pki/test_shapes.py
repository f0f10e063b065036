"""Files pinctl cannot read are named for what they are: one line, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tests.support.judges import openssl, openssl_key_pin, openssl_pin
from tests.support.pki import self_signed

ED25519_OID, MADE_UP_OID = bytes.fromhex("06032b6570"), bytes.fromhex("06032a0304")
RSA_OID = bytes.fromhex("06092a864886f70d010101")


def _sh(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _refused(run: Any, path: Path, *words: str, args: tuple[str, ...] = ()) -> str:
    result = run(["pin", *args, str(path)])
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"pinctl: error: {path}")
    assert result.stderr.count("\n") == 1
    for word in words:
        assert word in result.stderr
    assert "internal error" not in result.stderr
    assert "ParseError" not in result.stderr
    return str(result.stderr)


@pytest.fixture(scope="module")
def sm2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SM2 key, an algorithm openssl has and cryptography does not."""
    key = tmp_path_factory.mktemp("sm2") / "sm2.pem"
    try:
        _sh("genpkey", "-algorithm", "SM2", "-out", str(key))
    except subprocess.CalledProcessError:
        pytest.skip("this openssl has no SM2")
    return key


@pytest.mark.parametrize("form", ["sec1", "pkcs8"])
def test_der_private_key_of_an_unsupported_curve_is_a_clean_error(
    sm2: Path, tmp_path: Path, run: Any, form: str
) -> None:
    """A DER SM2 key says which curve is unsupported, like its PEM form, with exit 2."""
    path = tmp_path / f"{form}.der"
    if form == "sec1":
        _sh("pkey", "-in", str(sm2), "-outform", "der", "-out", str(path))
    else:
        _sh("pkcs8", "-topk8", "-nocrypt", "-in", str(sm2), "-outform", "der", "-out", str(path))
    _refused(run, path, "DER private key on curve 1.2.156.10197.1.301 (")


@pytest.mark.parametrize("form", ["pem", "encrypted-pem", "encrypted-der"])
def test_a_private_key_of_an_unsupported_curve_names_it_and_the_way_to_pin_it(
    sm2: Path, tmp_path: Path, run: Any, form: str
) -> None:
    """An SM2 private key, as PEM or encrypted (PEM or DER), is no "damaged PEM block": the
    refusal names its curve and the openssl command that prints its public key, and that
    command's output, piped to pinctl, pins as openssl does. The twin: a P-256 key in the
    same form pins."""
    path, good, p256 = tmp_path / f"sm2.{form}", tmp_path / f"p256.{form}", tmp_path / "p256"
    _sh("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(p256))
    for key, source in ((path, sm2), (good, p256)):
        if form == "pem":
            _sh("pkey", "-in", str(source), "-out", str(key))
            continue
        outform = "DER" if form.endswith("der") else "PEM"
        _sh("pkcs8", "-topk8", "-in", str(source), "-v2", "aes-256-cbc", "-passout", "pass:pw",
            "-outform", outform, "-out", str(key))  # fmt: skip
    secret = tmp_path / "pass.txt"
    secret.write_text("pw\n")
    args = () if form == "pem" else ("--passphrase-file", str(secret))
    inform = "-inform DER " if form.endswith("der") else ""
    where = str(path) if form.endswith("der") else f"{path}:1"
    message = _refused(run, path, args=args)
    assert message == (
        f"pinctl: error: {where}: cannot read this private key on curve 1.2.156.10197.1.301 "
        "(Curve 1.2.156.10197.1.301 is not supported); pinctl reads RSA, EC on named curves, "
        f"Ed25519, Ed448, DSA and DH keys; to pin it, run `openssl pkey {inform}-in {path} "
        "-pubout | pinctl pin -`\n"
    )
    public = subprocess.run(
        ["openssl", "pkey", *inform.split(), "-in", str(path), "-passin", "pass:pw", "-pubout"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    pinned = run(["pin", "-o", "pins", "-"], input=public)
    assert (pinned.exit_code, pinned.stdout) == (0, openssl_key_pin(str(sm2)) + "\n")
    assert run(["pin", "-o", "pins", *args, str(good)]).stdout == openssl_key_pin(str(p256)) + "\n"


def _der(tag: int, *children: bytes) -> bytes:
    from pinctl.pki.der import encode

    return encode(tag, b"".join(children))


_INT, _NULL = _der(0x02, b"\x01"), _der(0x05)
_PBES2 = _der(0x04, bytes.fromhex("2a864886f70d01050d"))  # PBES2's OID bytes, as an OCTET STRING


@pytest.mark.parametrize(
    ("outline", "words"),
    [
        (_der(0x30, _INT, _INT, _INT), "unrecognised binary data"),
        (_der(0x30, *[_NULL] * 5), "unrecognised binary data"),
        (_der(0x30, *[_INT] * 5), "DER private key of an unknown algorithm (the key data "
         "cannot be decoded: DER unexpected tag); pinctl reads RSA"),
        (_der(0x30, *[_INT] * 5, _der(0x04, b"x")), "DER private key of an unknown algorithm"),
        (_der(0x30, _INT, _der(0x04, b"x" * 32)), "DER private key of an unknown algorithm"),
        (_der(0x30, _der(0x30), _der(0x04, b"x")), "unrecognised binary data"),
        (_der(0x30, _der(0x30, _PBES2), _der(0x04, b"x")), "unrecognised binary data"),
        (_der(0x30, _der(0x30, _der(0xA0, _INT), _INT), _der(0x30), _der(0x03, b"\x00")),
         "damaged or unsupported DER certificate ("),
        (_der(0x30, _der(0x30, _NULL, _INT), _der(0x30), _der(0x03, b"\x00")),
         "unrecognised binary data"),
        (_der(0x30, _der(0x30, _INT, _der(0x30)), _der(0x30), _der(0x03, b"\x00")),
         "damaged or unsupported DER CSR ("),
        (_der(0x30, _der(0x30, _INT, *[_der(0x30)] * 5), _der(0x30), _der(0x03, b"\x00")),
         "damaged or unsupported DER certificate ("),
        (_der(0x30, _der(0x30), _der(0x03, b"\x00")), "damaged or unsupported DER public key ("),
        (_der(0x30, _der(0x02, b"\xff"), _INT), "damaged or unsupported DER public key ("),
    ],
    ids=["3-integers", "5-nulls", "5-integers", "damaged-6th", "sec1-without-curve",
         "empty-algorithm", "pbes2-oid", "cut-certificate", "signed-no-certificate", "cut-csr",
         "six-fields-of-a-v1-certificate", "spki-without-algorithm", "pkcs1-negative-modulus"],
)  # fmt: skip
def test_an_outline_is_named_only_when_it_is_that_outline(
    tmp_path: Path, run: Any, outline: bytes, words: str
) -> None:
    """Only a row of five INTEGERs or more is a PKCS#1 or DSA key (one whose sixth
    element is damaged is a damaged key, as is a SEC1 key without its curve, whose
    algorithm is unknown); three, or five of something else, are no key;
    an algorithm that is empty or whose first element is not an OID (though its bytes
    spell PBES2) is no encrypted key either. A signed outline whose content starts with a
    version [0] (or with the six fields of a v1 certificate, which has no version) is a
    certificate cut short, one that starts with an INTEGER a CSR, and one
    with neither is nothing pinctl knows; an algorithm and a BIT STRING, or two INTEGERs
    (here a negative modulus, which no cryptography version loads), are a public key."""
    path = tmp_path / "outline.der"
    path.write_bytes(outline)
    _refused(run, path, words)


def test_der_private_key_of_a_made_up_algorithm_is_a_clean_error(tmp_path: Path, run: Any) -> None:
    """A PKCS#8 key naming an unknown algorithm OID is refused naming that OID."""
    key = ed25519.Ed25519PrivateKey.generate()
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    good, bad = tmp_path / "good.der", tmp_path / "bad.der"
    good.write_bytes(der)
    bad.write_bytes(der.replace(ED25519_OID, MADE_UP_OID))
    _refused(run, bad, "cannot read this DER private key of algorithm 1.2.3.4 (")
    assert run(["pin", str(good)]).exit_code == 0  # the twin: the real OID reads
    # With attributes after the key ([0], as NSS and Java write them) it is still one.
    from pinctl.pki.der import elements, encode

    parts = b"".join(whole for _, whole, _ in elements(bad.read_bytes()))
    bad.write_bytes(encode(0x30, parts + encode(0xA0, b"")))
    _refused(run, bad, "cannot read this DER private key of algorithm 1.2.3.4 (")


@pytest.mark.parametrize(
    ("alg_id", "named", "reason"),
    [
        (ED25519_OID, "of type ed25519", "(OpenSSL refused it)"),
        (RSA_OID + _NULL, "of type rsa", "(the key data cannot be decoded: DER unexpected tag)"),
    ],
    ids=["ed25519", "rsa-with-its-null"],
)
def test_a_damaged_key_of_a_known_algorithm_names_it(
    tmp_path: Path, run: Any, alg_id: bytes, named: str, reason: str
) -> None:
    """An Ed25519 or RSA PKCS#8 key whose private key is one byte: OpenSSL refuses it, and
    the error names the algorithm (RSA's NULL parameter is no curve) and says so, not
    cryptography's advice on bug reports."""
    from pinctl.pki.der import encode

    inner = encode(0x04, encode(0x04, b"\x01"))
    der = encode(0x30, encode(0x02, b"\x00") + encode(0x30, alg_id) + inner)
    path = tmp_path / "short.der"
    path.write_bytes(der)
    message = _refused(run, path, f"cannot read this DER private key {named} {reason}")
    assert "commonly encountered" not in message


def test_a_der_public_key_with_bytes_after_it_is_refused(tmp_path: Path, run: Any) -> None:
    """Two stray bytes after a DER SubjectPublicKeyInfo make it no key at all: refused,
    never pinned with the bytes hashed in. The twin without them is openssl's pin."""
    from tests.support.judges import openssl_pin

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good, bad = tmp_path / "good.der", tmp_path / "bad.der"
    good.write_bytes(der)
    bad.write_bytes(der + b"\x00\x00")
    _refused(run, bad, "is unrecognised binary data")
    assert run(["pin", "-o", "pins", str(good)]).stdout == openssl_pin(der) + "\n"


def test_der_csr_with_an_unsupported_key_is_a_clean_error(
    sm2: Path, tmp_path: Path, run: Any
) -> None:
    """A DER CSR for an SM2 key is refused as a CSR, as its PEM form is."""
    pem, der = tmp_path / "sm2.csr", tmp_path / "sm2.csr.der"
    _sh("req", "-new", "-key", str(sm2), "-subj", "/CN=sm2", "-out", str(pem))
    _sh("req", "-in", str(pem), "-outform", "der", "-out", str(der))
    _refused(run, der, "CSR", "1.2.156.10197.1.301")
    _refused(run, pem, "CERTIFICATE REQUEST")


def test_der_csr_with_a_damaged_key_is_a_clean_error(tmp_path: Path, run: Any) -> None:
    """A DER CSR whose EC point is not on the curve is refused; the intact CSR pins."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr")]))
        .sign(key, hashes.SHA256())
    )
    der = csr.public_bytes(serialization.Encoding.DER)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    good, bad = tmp_path / "good.der", tmp_path / "bad.der"
    good.write_bytes(der)
    bad.write_bytes(der.replace(point, point[:-1] + bytes([point[-1] ^ 1])))
    _refused(run, bad, "CSR")
    ok = run(["pin", "-o", "pins", str(good)])
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ok.stdout == openssl_pin(spki) + "\n"


def test_damaged_der_certificate_is_explained_like_the_pem_one(tmp_path: Path, run: Any) -> None:
    """A DER certificate cryptography cannot parse is a damaged certificate, not "binary data"."""
    der = self_signed("damaged.test").public_bytes(serialization.Encoding.DER)
    serial_at = der.index(b"\xa0\x03\x02\x01\x02") + 5
    broken = der[:serial_at] + b"\x05" + der[serial_at + 1 :]  # serial INTEGER tag made NULL
    path = tmp_path / "c.der"
    path.write_bytes(broken)
    message = _refused(run, path, "DER certificate")
    assert "unrecognised binary data" not in message
    pem = tmp_path / "c.pem"
    pem.write_bytes(openssl("x509", "-inform", "der", "-in", "/dev/stdin", data=der))
    assert run(["pin", str(pem)]).exit_code == 0


def _version_1(der: bytes, *, serial_tag: int = 0x02) -> bytes:
    """`der` as an X.509 v1 certificate: no [0] version and no extensions, the six fields
    v1 has (re-signed by no one: only its outline matters here)."""
    from pinctl.pki.der import SEQUENCE, elements, encode

    tbs, algorithm, signature = (whole for _, whole, _ in elements(der))
    fields = [(tag, whole, value) for tag, whole, value in elements(tbs) if tag < 0xA0]
    assert len(fields) == 6
    serial = encode(serial_tag, fields[0][2])
    body = serial + b"".join(whole for _, whole, _ in fields[1:])
    return encode(SEQUENCE, encode(SEQUENCE, body) + algorithm + signature)


def test_a_version_1_certificate_is_pinned_as_openssl_pins_it(tmp_path: Path, run: Any) -> None:
    """X.509 v1 (no version field, six fields in all) is still a certificate."""
    path = tmp_path / "v1.der"
    path.write_bytes(_version_1(self_signed("v1.test").public_bytes(serialization.Encoding.DER)))
    key = openssl("x509", "-inform", "der", "-in", str(path), "-pubkey", "-noout")
    spki = openssl("pkey", "-pubin", "-outform", "der", data=key)
    result = run(["pin", "-o", "pins", str(path)])
    assert (result.exit_code, result.stdout) == (0, openssl_pin(spki) + "\n")


def test_a_damaged_version_1_certificate_is_named_a_certificate(tmp_path: Path, run: Any) -> None:
    """The twin: with its serial's tag damaged, the six fields still say certificate."""
    der = self_signed("v1.test").public_bytes(serialization.Encoding.DER)
    path = tmp_path / "v1.der"
    path.write_bytes(_version_1(der, serial_tag=0x05))
    assert "unrecognised binary data" not in _refused(run, path, "DER certificate")


def test_pkcs12_that_cannot_be_read_is_not_called_a_wrong_passphrase(
    sm2: Path, tmp_path: Path, run: Any
) -> None:
    """With the right passphrase an unreadable PKCS#12 says so; a wrong one is still wrong."""
    cert = tmp_path / "sm2.crt"
    _sh("req", "-x509", "-new", "-key", str(sm2), "-subj", "/CN=sm2", "-days", "2",
        "-out", str(cert))  # fmt: skip
    right, wrong = tmp_path / "right.txt", tmp_path / "wrong.txt"
    right.write_text("correct horse\n")
    wrong.write_text("battery staple\n")
    p12 = tmp_path / "sm2.p12"
    _sh("pkcs12", "-export", "-in", str(cert), "-inkey", str(sm2), "-passout",
        f"file:{right}", "-out", str(p12))  # fmt: skip
    message = _refused(run, p12, "passphrase is right", args=("--passphrase-file", str(right)))
    assert "wrong passphrase" not in message
    _refused(run, p12, "wrong passphrase", args=("--passphrase-file", str(wrong)))


def _openssl_p12(tmp_path: Path, *mac: str) -> bytes:
    """A PKCS#12 file of an EC key and its certificate, as openssl writes it with `mac`."""
    key, cert, p12 = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "b.p12"
    _sh("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-subj", "/CN=mac", "-days", "2", "-out", str(cert))  # fmt: skip
    _sh("pkcs12", "-export", "-in", str(cert), "-inkey", str(key), *mac,
        "-passout", "pass:correct horse", "-out", str(p12))  # fmt: skip
    return p12.read_bytes()


@pytest.mark.parametrize("mac", ["sha1", "sha256", "sha512"])
def test_the_pkcs12_mac_tells_the_right_passphrase_from_a_wrong_one(
    tmp_path: Path, mac: str
) -> None:
    """The MAC of a file openssl made, with each MAC hash it writes, is checked over the
    authSafe's contents: the right passphrase opens it, a wrong one does not, and a file
    whose MAC was cut off is no verdict at all."""
    from pinctl.pki.pkcs12 import mac_verdict

    data = _openssl_p12(tmp_path, "-macalg", mac)
    assert mac_verdict(data, b"correct horse") == "right"
    assert mac_verdict(data, b"battery staple") == "wrong"
    macless = data[: len(data) - len(data) // 8]
    assert mac_verdict(macless, b"correct horse") == "unknown"


@pytest.mark.parametrize(
    ("mac", "verdict"),
    [
        (["-nomaciter"], "right"),
        (["-macalg", "md5"], "unknown"),
        (["-iter", "1000000"], "right"),
        (["-iter", "1000001"], "unknown"),
        (["-nomac"], "unknown"),
    ],
    ids=["one-iteration", "md5", "a-million", "over-a-million", "no-mac"],
)
def test_an_unusual_pkcs12_mac_is_checked_or_left_unknown(
    tmp_path: Path, mac: list[str], verdict: str
) -> None:
    """A MAC of one iteration is still a MAC; one of a hash pinctl does not use (MD5), or
    of more than a million iterations (a passphrase check must not become a CPU trap), is
    no verdict, as is no MAC at all, and cryptography's own answer decides."""
    from pinctl.pki.pkcs12 import mac_verdict

    assert mac_verdict(_openssl_p12(tmp_path, *mac), b"correct horse") == verdict


def test_a_needed_passphrase_names_the_file(tmp_path: Path, run: Any) -> None:
    """Off a terminal with no passphrase source, the error says which file is encrypted."""
    key = tmp_path / "enc.pem"
    _sh("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-aes-256-cbc", "-pass", "pass:secret", "-out", str(key))  # fmt: skip
    _refused(run, key, "is encrypted", "a passphrase is needed", "--passphrase-file")


def _with_algorithm(*elements_of_it: bytes) -> bytes:
    """An EC public key's SubjectPublicKeyInfo with its AlgorithmIdentifier replaced."""
    from pinctl.pki.der import SEQUENCE, elements, encode

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _, bits = (whole for _, whole, _ in elements(spki))
    return encode(SEQUENCE, encode(SEQUENCE, b"".join(elements_of_it)) + bits)


@pytest.mark.parametrize(
    "algorithm",
    [
        (bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06082a8648ce3d030107"), b"\x05\x00"),
        (b"\x05\x00",),
    ],
    ids=["three-elements", "no-oid"],
)
@pytest.mark.parametrize("form", ["der", "pem"])
def test_a_public_key_whose_algorithm_is_no_identifier_is_not_pinned(
    tmp_path: Path, run: Any, algorithm: tuple[bytes, ...], form: str
) -> None:
    """An AlgorithmIdentifier of three elements, or without its OID, is refused (exit 2),
    not pinned from its bytes as a key of an algorithm cryptography lacks would be."""
    import base64

    der = _with_algorithm(*algorithm)
    path = tmp_path / f"key.{form}"
    if form == "der":
        path.write_bytes(der)
    else:
        body = base64.encodebytes(der)
        path.write_bytes(b"-----BEGIN PUBLIC KEY-----\n" + body + b"-----END PUBLIC KEY-----\n")
    _refused(run, path, "public key" if form == "der" else "PUBLIC KEY")


def test_the_same_key_with_its_own_algorithm_is_pinned(tmp_path: Path, run: Any) -> None:
    """The twin: the EC identifier of two elements (OID, curve) pins as openssl does."""
    der = _with_algorithm(
        bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06082a8648ce3d030107")
    )
    path = tmp_path / "key.der"
    path.write_bytes(der)
    result = run(["pin", "-o", "pins", str(path)])
    assert (result.exit_code, result.stdout) == (0, openssl_pin(der) + "\n")


@pytest.mark.parametrize("last", [0x03, 0x04], ids=["bit-string", "octet-string"])
def test_only_an_algorithm_and_a_bit_string_is_pinned_as_an_unknown_key(
    tmp_path: Path, run: Any, last: int
) -> None:
    """An SPKI of an algorithm no one knows (1.2.3.4) is pinned by its bytes, as openssl
    hashes them; the same outline ending in an OCTET STRING instead of the key's BIT STRING
    is no key at all, and is refused rather than pinned."""
    data = _der(0x30, _der(0x30, MADE_UP_OID), _der(last, b"\x00key bits"))
    path = tmp_path / "unknown.der"
    path.write_bytes(data)
    if last == 0x03:
        result = run(["pin", "-o", "pins", str(path)])
        assert (result.exit_code, result.stdout) == (0, openssl_pin(data) + "\n")
    else:
        _refused(run, path, "unrecognised binary data")
