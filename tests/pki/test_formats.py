"""`pinctl pin`: every input type and key type, cross-checked against the openssl CLI."""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias, TypedDict

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from pinctl.errors import PinctlError
from pinctl.pki.formats import read_source
from tests.support.cli import Run
from tests.support.judges import openssl, openssl_key_pin, openssl_pin

PASSPHRASE = b"correct horse battery staple"

SigningKey: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

KEY_FACTORIES: dict[str, Callable[[], SigningKey]] = {
    "rsa-2048": lambda: rsa.generate_private_key(65537, 2048),
    "rsa-4096": lambda: rsa.generate_private_key(65537, 4096),
    "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ec-p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ed448": ed448.Ed448PrivateKey.generate,
}


def _self_signed(key: SigningKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    algorithm = (
        None
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else (hashes.SHA256())
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .sign(key, algorithm)
    )


def _csr(key: SigningKey) -> x509.CertificateSigningRequest:
    algorithm = (
        None
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else (hashes.SHA256())
    )
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr.example")]))
        .sign(key, algorithm)
    )


class Material(TypedDict):
    """One key type's files on disk and the pins openssl computes for them."""

    dir: Path
    files: list[str]
    spki: dict[str, str]
    cert: str
    has_cert: set[str]


@pytest.fixture(scope="module", params=list(KEY_FACTORIES))
def material(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Material:
    """One key type written in every format `pin` reads, plus openssl's expected pins."""
    key = KEY_FACTORIES[request.param]()
    cert = _self_signed(key, f"{request.param}.example")
    d = tmp_path_factory.mktemp(request.param)
    enc = serialization.Encoding
    priv = serialization.PrivateFormat
    pub = serialization.PublicFormat
    crypt = serialization.BestAvailableEncryption(PASSPHRASE)
    none = serialization.NoEncryption()
    files: dict[str, bytes] = {
        "cert.pem": cert.public_bytes(enc.PEM),
        "cert.der": cert.public_bytes(enc.DER),
        "cert.p7b": pkcs7.serialize_certificates([cert], enc.PEM),
        "cert.p7b.der": pkcs7.serialize_certificates([cert], enc.DER),
        "pub.pem": key.public_key().public_bytes(enc.PEM, pub.SubjectPublicKeyInfo),
        "pub.der": key.public_key().public_bytes(enc.DER, pub.SubjectPublicKeyInfo),
        "pkcs8.pem": key.private_bytes(enc.PEM, priv.PKCS8, none),
        "pkcs8.der": key.private_bytes(enc.DER, priv.PKCS8, none),
        "pkcs8-enc.pem": key.private_bytes(enc.PEM, priv.PKCS8, crypt),
        "pkcs8-enc.der": key.private_bytes(enc.DER, priv.PKCS8, crypt),
        "csr.pem": _csr(key).public_bytes(enc.PEM),
        "csr.der": _csr(key).public_bytes(enc.DER),
        "bundle.p12": pkcs12.serialize_key_and_certificates(b"k", key, cert, None, crypt),
    }
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        files["trad.pem"] = key.private_bytes(enc.PEM, priv.TraditionalOpenSSL, none)
        files["trad.der"] = key.private_bytes(enc.DER, priv.TraditionalOpenSSL, none)
        files["trad-enc.pem"] = key.private_bytes(enc.PEM, priv.TraditionalOpenSSL, crypt)
    if isinstance(key, rsa.RSAPrivateKey):
        files["pkcs1-pub.pem"] = key.public_key().public_bytes(enc.PEM, pub.PKCS1)
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "pass.txt").write_bytes(PASSPHRASE + b"\n")
    cert_path = str(d / "cert.pem")
    spki = openssl(
        "pkey",
        "-pubin",
        "-outform",
        "der",
        data=openssl("x509", "-in", cert_path, "-pubkey", "-noout"),
    )
    cert_der = openssl("x509", "-in", cert_path, "-outform", "der")
    return {
        "dir": d,
        "files": sorted(files),
        "spki": {alg: openssl_pin(spki, alg) for alg in ("sha256", "sha384", "sha512")},
        "cert": openssl_pin(cert_der),
        "has_cert": {"cert.pem", "cert.der", "cert.p7b", "cert.p7b.der", "bundle.p12"},
    }


def test_every_format_gives_openssls_spki_pin(material: Material, run: Run) -> None:
    """Each file type of a key yields the SPKI pin the openssl pipeline computes."""
    d = material["dir"]
    for name in material["files"]:
        result = run(["pin", "-o", "json", "--passphrase-file", str(d / "pass.txt"), str(d / name)])
        assert result.exit_code == 0, (name, result.stderr)
        assert result.stderr == ""
        entries = json.loads(result.stdout)["sources"][0]["entries"]
        assert {e["spki"]["sha256"] for e in entries} == {material["spki"]["sha256"]}, name
        if name in material["has_cert"]:
            certs = [e for e in entries if e["kind"] == "certificate"]
            assert certs[0]["cert"]["sha256"] == material["cert"], name


def test_openssl_agrees_on_keys_and_csrs_directly(material: Material) -> None:
    """openssl run on the private key and the CSR themselves gives pinctl's pin."""
    d = material["dir"]
    from_key = openssl("pkey", "-in", str(d / "pkcs8.pem"), "-pubout", "-outform", "der")
    csr_pub = openssl("req", "-in", str(d / "csr.pem"), "-pubkey", "-noout")
    from_csr = openssl("pkey", "-pubin", "-outform", "der", data=csr_pub)
    for path, expected_der in ((d / "pkcs8.pem", from_key), (d / "csr.pem", from_csr)):
        entries = read_source(str(path), path.read_bytes())
        assert str(entries[0].spki["sha256"]) == openssl_pin(expected_der)


def test_an_openssl_trusted_certificate_pins_as_its_certificate(
    material: Material, run: Run, tmp_path: Path
) -> None:
    """`openssl x509 -trustout` writes BEGIN TRUSTED CERTIFICATE, the trust settings after
    the certificate: pin reads the certificate alone and gives openssl's SPKI pin."""
    cert = (material["dir"] / "cert.pem").read_bytes()
    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes(openssl("x509", "-trustout", "-addtrust", "serverAuth", data=cert))
    assert trusted.read_bytes().startswith(b"-----BEGIN TRUSTED CERTIFICATE-----")
    spki = openssl("x509", "-pubkey", "-noout", data=cert)
    expected = openssl_pin(openssl("pkey", "-pubin", "-outform", "der", data=spki))
    result = run(["pin", "-o", "pins", str(trusted)])
    assert (result.exit_code, result.stdout) == (0, f"{expected}\n"), result.stderr


def test_other_hashes_match_openssl(material: Material, run: Run) -> None:
    """--hash sha384/sha512 give openssl's digests of the same SubjectPublicKeyInfo."""
    path = str(material["dir"] / "cert.pem")
    result = run(
        ["pin", "-o", "pins", "--hash", "sha256", "--hash", "sha384", "--hash", "sha512", path]
    )
    assert result.exit_code == 0
    assert result.stdout.split() == [material["spki"][a] for a in ("sha256", "sha384", "sha512")]


def test_stdin_is_read_with_a_dash(material: Material, run: Run) -> None:
    """`pinctl pin -` reads the certificate from standard input."""
    data = (material["dir"] / "cert.der").read_bytes()
    result = run(["pin", "-o", "pins", "-"], input=data)
    assert result.exit_code == 0
    assert result.stdout == material["spki"]["sha256"] + "\n"


def test_mozilla_bundle_pins_in_order_without_warnings(run: Run) -> None:
    """The certifi bundle pins in one call, in file order, with no deprecation text."""
    bundle = Path(certifi.where())
    result = run(["pin", "-o", "pins", str(bundle)])
    assert result.exit_code == 0
    assert result.stderr == ""
    pins = result.stdout.splitlines()
    ders = [c.public_bytes(serialization.Encoding.DER) for c in _load_quietly(bundle.read_bytes())]
    assert len(pins) == len(ders) > 100
    # openssl on a sample, including every root whose serial number is not positive
    sample = {0, len(ders) // 2, len(ders) - 1} | _nonpositive_serials(ders)
    for i in sorted(sample):
        pem = openssl("x509", "-inform", "der", "-pubkey", "-noout", data=ders[i])
        assert pins[i] == openssl_pin(openssl("pkey", "-pubin", "-outform", "der", data=pem))


def _load_quietly(data: bytes) -> list[x509.Certificate]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificates(data)


def _nonpositive_serials(ders: list[bytes]) -> set[int]:
    found = set()
    for i, der in enumerate(ders):
        out = openssl("x509", "-inform", "der", "-noout", "-serial", data=der).decode()
        if out.strip() in ("serial=00", "serial=0") or out.startswith("serial=-"):
            found.add(i)
    return found


def test_mozilla_bundle_through_the_real_entry_point() -> None:
    """The installed console entry point pins the bundle with a plain, warning-free stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "pinctl", "pin", "-o", "pins", certifi.where()],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) > 100
    assert all(line.startswith("sha256/") and len(line) == 51 for line in lines)


def test_a_pem_bundle_keeps_file_order(tmp_path: Path, run: Run) -> None:
    """Several certificates in one PEM come out in the order written, text between them ignored."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    certs = [_self_signed(k, f"n{i}") for i, k in enumerate(keys)]
    text = b"".join(b"subject=junk\n" + c.public_bytes(serialization.Encoding.PEM) for c in certs)
    (tmp_path / "b.pem").write_bytes(text)
    result = run(["pin", "-o", "json", str(tmp_path / "b.pem")])
    subjects = [e["subject"] for e in json.loads(result.stdout)["sources"][0]["entries"]]
    assert subjects == ["CN=n0", "CN=n1", "CN=n2"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"\x8f\x01\xfe" * 300, "unrecognised binary data"),
        (b"hello, this is a README\n", "text file without PEM blocks"),
        (b"hello, this is a README\x7f\n", "unrecognised binary data"),  # DEL is no text
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "truncated PEM"),
        (b"-----BEGIN CERTIFICATE-----\nMIIBIjAN\n-----END CERTIFICATE-----\n", "damaged PEM"),
        (b"-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n", "'FOO BAR' is not supported"),
        (b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", ":1: damaged PEM block"),
        (
            b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
            ":1: damaged PEM block 'CERTIFICATE REQUEST' (DER short data)",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB*Ijan\n-----END CERTIFICATE-----\n",
            ":1: PEM body is not valid base64; was the file edited?",
        ),
        (
            bytes.fromhex("300f06092a864886f70d010702a0023000"),  # signedData with no content
            "damaged or unsupported DER PKCS#7 file (",
        ),
        (
            bytes.fromhex("300f3008a0030201020201013000030100"),  # a v3 TBS cut after the serial
            "damaged or unsupported DER certificate (",
        ),
        (
            bytes.fromhex("30050201033000"),  # PFX version 3, empty content, no MAC
            "is encrypted: a passphrase is needed",
        ),
        (b"0\x82\x01\x00garbage", "unrecognised binary data"),
        (
            b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
            "has no certificate, key or CSR (PEM blocks: EC PARAMETERS, X509 CRL)",
        ),
    ],
)
def test_bad_files_give_one_clean_line(
    tmp_path: Path, run: Run, content: bytes, expected: str
) -> None:
    """Malformed input is one `pinctl: error:` line naming the file, exit 2, no traceback."""
    path = tmp_path / "input.crt"
    path.write_bytes(content)
    result = run(["pin", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"pinctl: error: {path}")
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_clean_error(tmp_path: Path, run: Run) -> None:
    """A path that does not exist is named in the error, exit 2."""
    result = run(["pin", str(tmp_path / "nope.pem")])
    assert result.exit_code == 2
    assert "nope.pem" in result.stderr
    assert "No such file" in result.stderr


@pytest.mark.parametrize("wrong", [b"not the passphrase\n", b"\xff\xfenot the passphrase\n"])
def test_wrong_passphrase_is_refused(
    material: Material, tmp_path: Path, run: Run, wrong: bytes
) -> None:
    """An encrypted key with the wrong passphrase fails cleanly and prints nothing secret;
    one that is not even UTF-8 (no PKCS#12 MAC can be computed from it) is wrong too, never
    called right."""
    (tmp_path / "wrong.txt").write_bytes(wrong)
    for name in ("pkcs8-enc.pem", "pkcs8-enc.der", "bundle.p12"):
        result = run(
            ["pin", "--passphrase-file", str(tmp_path / "wrong.txt"), str(material["dir"] / name)]
        )
        assert result.exit_code == 2, name
        assert "wrong passphrase" in result.stderr
        assert "not the passphrase" not in result.stderr + result.stdout


LEGACY = "openssl pkey -provider legacy -provider default"


@pytest.mark.parametrize(
    ("make", "envelope", "command"),
    [
        (["pkcs8", "-topk8", "-v2", "camellia-256-cbc"], "PBES2 (PBKDF2, CAMELLIA-256-CBC)",
         "openssl pkey"),
        (["pkcs8", "-topk8", "-v2", "camellia-128-cbc", "-outform", "DER"],
         "PBES2 (PBKDF2, CAMELLIA-128-CBC)", "openssl pkey -inform DER"),
        (["ec", "-camellia256"], "PEM encryption CAMELLIA-256-CBC", "openssl pkey"),
        (["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC2-64", "-provider", "legacy", "-provider",
          "default"], "PBES1 pbeWithSHA1AndRC2-CBC", LEGACY),
    ],
    ids=["pkcs8-pem", "pkcs8-der", "legacy-pem", "pbes1-rc2"],
)  # fmt: skip
def test_a_cipher_cryptography_lacks_is_named_with_the_way_out(
    tmp_path: Path, run: Run, make: list[str], envelope: str, command: str
) -> None:
    """A key sealed with Camellia or RC2 (openssl writes it, cryptography cannot open it)
    is not called a wrong passphrase without a word: the error names the cipher and the
    openssl pipeline that pins it (with openssl's legacy provider for RC2), which, run,
    gives openssl's own pin of the key. The twins, the same key under AES-256-CBC as PKCS#8
    and as a legacy PEM, open with the passphrase and are a plain wrong one without."""
    import shlex

    plain = tmp_path / "plain.pem"
    openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(plain)
    )
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE.decode() + "\n")
    sealed = tmp_path / "sealed.key"
    openssl(*make, "-in", str(plain), "-passout", f"file:{secret}", "-out", str(sealed))
    refused = run(["pin", "-o", "pins", "--passphrase-file", str(secret), str(sealed)])
    command = f"{command} -in {shlex.quote(str(sealed))} -pubout"
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"pinctl: error: {sealed}: cannot decrypt it: wrong passphrase, or an encryption "
        f"pinctl does not read ({envelope}); if the passphrase is right, run "
        f"`{command} | pinctl pin -`\n"
    )
    public = subprocess.run(
        [*shlex.split(command), "-passin", f"file:{secret}"], capture_output=True, check=True
    ).stdout
    piped = run(["pin", "-o", "pins", "-"], input=public)
    assert piped.stdout == openssl_key_pin(str(plain)) + "\n"
    (tmp_path / "wrong.txt").write_text("not it\n")
    for twin_of in (["pkcs8", "-topk8", "-v2", "aes-256-cbc"], ["ec", "-aes256"]):
        twin = tmp_path / "aes.pem"
        openssl(*twin_of, "-in", str(plain), "-passout", f"file:{secret}", "-out", str(twin))
        opened = run(["pin", "-o", "pins", "--passphrase-file", str(secret), str(twin)])
        assert opened.stdout == piped.stdout
        wrong = run(["pin", "--passphrase-file", str(tmp_path / "wrong.txt"), str(twin)])
        assert wrong.stderr == (
            f"pinctl: error: {twin}: cannot decrypt it: wrong passphrase, or the file is damaged\n"
        )


def test_passphrase_from_environment(material: Material, run: Run) -> None:
    """--passphrase-env names a variable; its value decrypts and never reaches output."""
    result = run(
        [
            "pin",
            "-o",
            "pins",
            "--passphrase-env",
            "KEYPASS",
            str(material["dir"] / "pkcs8-enc.pem"),
        ],
        env={"KEYPASS": PASSPHRASE.decode()},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == material["spki"]["sha256"] + "\n"
    assert PASSPHRASE.decode() not in result.stdout + result.stderr


def test_a_passphrase_in_the_environment_is_taken_as_its_bytes(tmp_path: Path, run: Run) -> None:
    """A variable's value is used byte for byte, as openssl's `-passin env:` does: a
    Latin-1 passphrase, which is no UTF-8, opens the key it sealed, and the key's pin is
    openssl's."""
    import os

    secret = b"caf\xe9 cr\xe8me br\xfbl\xe9e"
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "latin1.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret),
        )
    )
    value = os.fsdecode(secret)  # how os.environ holds bytes that are no UTF-8
    result = run(["pin", "-o", "pins", "--passphrase-env", "KEYPASS", str(path)],
                 env={"KEYPASS": value})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    argv = ["openssl", "pkey", "-in", str(path), "-passin", "env:KEYPASS", "-pubout"]
    judged = subprocess.run(
        [*argv, "-outform", "der"],
        env={**os.environb, b"KEYPASS": secret},
        capture_output=True,
        check=True,
    )
    assert result.stdout == openssl_pin(judged.stdout) + "\n"


def test_encrypted_input_without_a_passphrase_source_fails(material: Material, run: Run) -> None:
    """Not on a terminal and no passphrase option: an error that says how to give one."""
    result = run(["pin", str(material["dir"] / "pkcs8-enc.pem")])
    assert result.exit_code == 2
    assert "passphrase" in result.stderr


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_no_bytes_make_the_reader_raise_anything_else(data: bytes) -> None:
    """Whatever the bytes, reading them succeeds or raises the clean error family."""
    with contextlib.suppress(PinctlError):
        read_source("fuzz", data, passphrase=lambda: b"x")


_der_prefix = st.sampled_from([b"0\x82", b"0\x81", b"0\x80", b"\x30\x03\x02\x01\x03", b"0"])
_pem_label = st.sampled_from(
    [
        "CERTIFICATE",
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PKCS7",
        "PUBLIC KEY",
        "CERTIFICATE REQUEST",
        "TRUSTED CERTIFICATE",
    ]
)


@settings(max_examples=300, deadline=None)
@given(_der_prefix, st.binary(max_size=600), _pem_label, st.booleans())
def test_structured_garbage_only_raises_clean_errors(
    prefix: bytes, body: bytes, label: str, as_pem: bool
) -> None:
    """DER-looking and PEM-wrapped junk reaches the parsers and still fails cleanly."""
    data = prefix + body
    if as_pem:
        b64 = base64.encodebytes(data).decode()
        data = f"-----BEGIN {label}-----\n{b64}-----END {label}-----\n".encode()
    with contextlib.suppress(PinctlError):
        read_source("fuzz", data, passphrase=lambda: b"x")


def test_pins_are_the_digest_of_the_subject_public_key_info(material: Material) -> None:
    """The pin is sha256 over the DER SPKI, the definition OkHttp and HPKP use."""
    pub_der = (material["dir"] / "pub.der").read_bytes()
    expected = "sha256/" + base64.b64encode(hashlib.sha256(pub_der).digest()).decode()
    assert expected == material["spki"]["sha256"]


def test_control_characters_in_subjects_are_escaped(tmp_path: Path, run: Run) -> None:
    """A subject with a newline and ESC cannot forge output lines or drive the terminal."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, "x\nvalidation: trusted, hostname matches\x1b[2J\u202e")
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = run(["pin", str(tmp_path / "c.pem")])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout
    assert not any(line.startswith("validation") for line in result.stdout.splitlines())
    assert "\\x0avalidation: trusted" in result.stdout


@pytest.mark.parametrize("extra", [0, 1], ids=["at-the-cap", "one-byte-over"])
def test_an_input_over_the_size_cap_is_refused_naming_the_cap(
    run: Run, tmp_path: Path, extra: int
) -> None:
    """`pin` reads up to 64 MiB: a certificate padded to exactly that is pinned; one byte
    more is refused with the cap and what pin reads, exit 2."""
    import trustme

    pem = trustme.CA().cert_pem.bytes()
    path = tmp_path / "big.pem"
    path.write_bytes(pem + b"\n" * (64 * 1024 * 1024 - len(pem) + extra))
    result = run(["pin", "-o", "pins", str(path)])
    if extra:
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr.startswith(f"pinctl: error: {path} is larger than 64 MiB; expected")
    else:
        assert (result.exit_code, result.stdout.count("sha256/")) == (0, 1), result.stderr


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"a b~\t\r\n" * 585 + b"a\x00", "a text file without PEM blocks"),
     (b"a" * 4095 + b"\x00", "unrecognised binary data"),
     (b"notes \x7f", "unrecognised binary data"), (b"notes \x1f", "unrecognised binary data")],
    ids=["nul-after-the-first-4-KiB", "nul-within-them", "delete", "unit-separator"],
)  # fmt: skip
def test_text_or_binary_is_judged_on_the_first_4_kib(
    run: Run, tmp_path: Path, data: bytes, what: str
) -> None:
    """What a file is said to be is judged on its first 4096 bytes: printable ASCII,
    spaces and line ends are text, so a NUL just past them leaves a file text, and one
    within them, or a DEL or another control character, makes it binary."""
    path = tmp_path / "notes.txt"
    path.write_bytes(data + b"a" * 100)
    result = run(["pin", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"pinctl: error: {path} is {what}; expected a certificate")
