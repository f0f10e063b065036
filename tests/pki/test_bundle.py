"""One reader for files of certificates: trust roots and saved chains, refused safely when wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from pinctl.errors import InputError
from pinctl.pki import bundle
from pinctl.pki.bundle import read_certificates

REMEDY = "it must be a PEM bundle of trusted roots"


def test_a_pem_bundle_reads_in_file_order(tmp_path: Path, ca: trustme.CA) -> None:
    """Every certificate of a bundle comes back, in the order written, keys and CRLs skipped."""
    other = trustme.CA()
    path = tmp_path / "roots.pem"
    key = other.private_key_pem.bytes()
    path.write_bytes(ca.cert_pem.bytes() + key + other.cert_pem.bytes())
    found = read_certificates(path, what="--ca-file", remedy=REMEDY)
    expected = [x509.load_pem_x509_certificate(c.cert_pem.bytes()) for c in (ca, other)]
    assert list(found) == expected


def test_lax_boundary_lines_are_accepted(tmp_path: Path, ca: trustme.CA) -> None:
    """Trailing blanks after the boundary lines, as some published intermediates have, read fine."""
    text = ca.cert_pem.bytes().replace(b"-----\n", b"----- \n")
    assert len(bundle.parse_certificates(text, "x", REMEDY)) == 1


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    """A FIFO as --ca-file is refused before a byte is read (no hang), a directory likewise."""
    path = tmp_path / "roots"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    with pytest.raises(InputError, match=r"is a (FIFO|directory).*not a regular file"):
        read_certificates(path, what="--ca-file", remedy=REMEDY)


def test_an_oversized_bundle_is_refused(tmp_path: Path) -> None:
    """A mistaken path (a disk image, /dev/urandom's like) is refused one byte past the
    32 MiB the README documents (a sparse file: nothing is written, or read)."""
    path = tmp_path / "huge.pem"
    with path.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024 + 1)
    with pytest.raises(InputError, match="is larger than 32 MiB"):
        read_certificates(path, what="--ca-file", remedy=REMEDY)


def test_a_bundle_at_the_cap_is_read(
    tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing twin: exactly at the cap the file is read (padding after the certificate)."""
    monkeypatch.setattr(bundle, "MAX_BUNDLE", 64 * 1024)
    data = ca.cert_pem.bytes()
    path = tmp_path / "roots.pem"
    path.write_bytes(data + b"\n" * (bundle.MAX_BUNDLE - len(data)))
    assert len(read_certificates(path, what="--ca-file", remedy=REMEDY)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "holds no certificates; it must be"),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "x holds no certificates; it must be",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            r"x:1: unreadable certificate \(DER unexpected tag\)$",
        ),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n", "truncated PEM"),
        (
            b"\x30\x03\x02\x01\x00",
            r"unreadable DER certificate \(DER unexpected tag in tbs_cert\)$",
        ),
    ],
)
def test_damaged_bundles_name_the_file_and_line(data: bytes, message: str) -> None:
    """Empty, damaged, truncated and broken DER bundles, and one of PEM blocks none of which
    is a certificate (a key given as --ca-file), are one clean error naming the file, the
    parser's complaint in words (never its Rust debug text)."""
    with pytest.raises(InputError, match=message):
        bundle.parse_certificates(data, "x", REMEDY)


def test_the_one_call_reader_and_the_block_reader_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real trust store (certifi's) reads the same through cryptography's one-call reader
    and through the block-by-block reader that names lines."""
    import certifi

    data = Path(certifi.where()).read_bytes()
    fast = bundle.parse_certificates(data, "certifi", REMEDY)
    monkeypatch.setattr(bundle, "_whole_bundle", lambda data: None)
    assert bundle.parse_certificates(data, "certifi", REMEDY) == fast
    assert len(fast) > 100


def test_a_bundle_with_anything_else_takes_the_block_reader(ca: trustme.CA) -> None:
    """Failing twin: a key beside the certificate, or a lax boundary line, is not read by
    the one-call reader (it would skip or refuse them); the block reader handles both."""
    key = ca.private_key_pem.bytes()
    lax = ca.cert_pem.bytes().replace(b"-----\n", b"----- \n")
    assert bundle._whole_bundle(ca.cert_pem.bytes() + key) is None
    assert bundle._whole_bundle(lax) is None
    assert bundle._whole_bundle(ca.cert_pem.bytes()) is not None


def _serial_zero(ca: trustme.CA) -> bytes:
    """The CA's certificate re-encoded with serial number 0: signed no longer, but a
    certificate as some real roots are (RFC 5280 forbids it; cryptography warns)."""
    from cryptography.hazmat.primitives import serialization

    from pinctl.pki.der import SEQUENCE, elements, encode

    der = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(
        serialization.Encoding.DER
    )
    tbs, algorithm, signature = (whole for _, whole, _ in elements(der))
    version, _serial, *rest = (whole for _, whole, _ in elements(tbs))
    zero = encode(SEQUENCE, b"".join([version, encode(0x02, b"\x00"), *rest]))
    return encode(SEQUENCE, zero + algorithm + signature)


@pytest.mark.parametrize("form", ["der", "pem", "pem with a key"])
def test_a_root_with_serial_zero_is_read_without_a_warning(ca: trustme.CA, form: str) -> None:
    """Such roots sit in real trust stores: the anchor is read, and cryptography's warning
    does not reach the user's terminal, whichever reader takes the file."""
    import base64
    import warnings

    der = _serial_zero(ca)
    pem = (
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    )
    data = {"der": der, "pem": pem, "pem with a key": pem + ca.private_key_pem.bytes()}[form]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        (root,) = bundle.parse_certificates(data, "roots.pem", REMEDY)
    assert [str(w.message) for w in shown] == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert root.serial_number == 0


def test_an_openssl_trusted_certificate_is_read_as_its_certificate(
    tmp_path: Path, ca: trustme.CA
) -> None:
    """`openssl x509 -trustout` (BEGIN TRUSTED CERTIFICATE, trust settings after the
    certificate) in a bundle beside a plain one: both anchors read, the trusted one as
    the very certificate, not refused for the trust settings that follow it."""
    from tests.support.judges import openssl

    plain = ca.cert_pem.bytes()
    other = trustme.CA().cert_pem.bytes()
    trusted = openssl("x509", "-trustout", "-addtrust", "serverAuth", data=other)
    assert trusted.startswith(b"-----BEGIN TRUSTED CERTIFICATE-----")
    path = tmp_path / "roots.pem"
    path.write_bytes(plain + trusted)
    found = read_certificates(path, what="--ca-file", remedy=REMEDY)
    assert found == (
        x509.load_pem_x509_certificate(plain),
        x509.load_pem_x509_certificate(other),
    )


def test_a_stray_character_in_a_certificates_base64_is_refused_with_its_line(
    ca: trustme.CA,
) -> None:
    """A '!' in the middle of a certificate's base64 is damage, refused with the block's
    line, not skipped over as a lax decoder would; the twin, the same bytes unharmed, reads."""
    pem = ca.cert_pem.bytes()
    lines = pem.split(b"\n")
    lines[2] = lines[2][:10] + b"!" + lines[2][10:]
    with pytest.raises(InputError, match=r"^x:3: unreadable certificate \(Only base64 data"):
        bundle.parse_certificates(b"# roots\n\n" + b"\n".join(lines), "x", REMEDY)
    assert len(bundle.parse_certificates(b"# roots\n\n" + pem, "x", REMEDY)) == 1
