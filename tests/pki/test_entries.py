"""One file, one verdict, whatever `-o` is: refused in every format, or shown in every format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519

from tests.support import malformed
from tests.support.judges import openssl

FORMATS = ("pins", "json", "table")


@pytest.mark.parametrize("form", ["der", "pem"])
@pytest.mark.parametrize("name", ["subject", "issuer"])
def test_an_undecodable_name_is_refused_in_every_output_format(
    tmp_path: Path, run: Any, form: str, name: str
) -> None:
    """A subject, or an issuer, of invalid UTF-8 is exit 2 for `-o pins` exactly as for json
    and the table."""
    der = malformed.undecodable_subject() if name == "subject" else malformed.undecodable_issuer()
    path = tmp_path / f"c.{form}"
    path.write_bytes(der if form == "der" else malformed.pem(der))
    for output in FORMATS:
        result = run(["pin", "-o", output, str(path)])
        assert result.exit_code == 2, output
        assert result.stdout == ""
        assert result.stderr.startswith(f"pinctl: error: {path}")
        assert "cannot be decoded" in result.stderr
        assert "ParseError" not in result.stderr


def test_a_year_zero_date_is_shown_in_every_output_format(tmp_path: Path, run: Any) -> None:
    """notAfter 0000-01-01 is a date (openssl prints it), shown as such, in all formats."""
    path = tmp_path / "y0.der"
    path.write_bytes(malformed.year_zero())
    assert b"notAfter=Jan  1 00:00:00 0 GMT" in openssl(
        "x509", "-inform", "der", "-in", str(path), "-noout", "-enddate"
    )
    results = {output: run(["pin", "-o", output, str(path)]) for output in FORMATS}
    assert all(r.exit_code == 0 for r in results.values()), results
    entry = json.loads(results["json"].stdout)["sources"][0]["entries"][0]
    assert entry["not_after"] == "0000-01-01T00:00:00Z"
    assert entry["not_before"].endswith("Z")
    assert "to 0000-01-01 00:00:00 UTC (expired " in results["table"].stdout
    assert results["pins"].stdout == entry["spki"]["sha256"] + "\n"


@pytest.mark.parametrize(
    ("stated", "shown", "ordinal"),
    [
        (b"00000101000000Z", "0000-01-01 00:00:00", -365),
        (b"00000229120000Z", "0000-02-29 12:00:00", -365 + 59),  # year 0 is a leap year
        (b"00001231235959Z", "0000-12-31 23:59:59", 0),  # the day before 0001-01-01
    ],
)
def test_a_year_zero_date_counts_its_days_like_the_calendar(
    tmp_path: Path, run: Any, stated: bytes, shown: str, ordinal: int
) -> None:
    """Year 0000 of the proleptic Gregorian calendar (366 days) ends the day before
    0001-01-01: the days since are counted from the date stated, February 29 included."""
    import datetime

    path = tmp_path / "y0.der"
    path.write_bytes(malformed.year_zero(stated))
    table = run(["pin", str(path)]).stdout
    today = datetime.datetime.now(datetime.timezone.utc).date().toordinal()
    assert f"to {shown} UTC (expired {today - ordinal} days ago)" in table


def test_an_ordinary_date_beside_year_zero_is_unchanged(tmp_path: Path, run: Any) -> None:
    """The twin: notBefore of the same file keeps its ordinary ISO form and days count."""
    path = tmp_path / "y0.der"
    path.write_bytes(malformed.year_zero())
    entry = json.loads(run(["pin", "-o", "json", str(path)]).stdout)["sources"][0]["entries"][0]
    assert not entry["not_before"].startswith("0000")


@pytest.mark.parametrize(
    ("extra", "san"),
    [
        ((), []),
        (("-addext", "subjectAltName=DNS:a.test"), ["DNS:a.test"]),
        (
            ("-addext", "subjectAltName=URI:https://a.test/,email:ops@a.test,IP:::1,"
             "dirName:dir_sect,RID:1.2.3.4,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@a.test",
             "-config", "{config}"),
            ["URI:https://a.test/", "email:ops@a.test", "IP:::1", "DirName:O=Ops,CN=dir.a.test",
             "Registered ID:1.2.3.4", "othername:<unsupported>"],
        ),
    ],
    ids=["none", "dns", "every-other-kind"],
)  # fmt: skip
def test_a_certificate_lists_its_names_and_a_key_has_none_to_list(
    tmp_path: Path, run: Any, extra: tuple[str, ...], san: list[str]
) -> None:
    """In JSON a certificate's `san` is a list, empty when it names no subjectAltName, each
    name with OpenSSL's prefix (an otherName, which pinctl does not decode, said so); a
    bare key's is null: it is not that the key has no names, a key cannot have any."""
    key, cert, config = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "openssl.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\n[dn]\n[dir_sect]\nCN = dir.a.test\nO = Ops\n"
    )
    extra = tuple(arg.format(config=config) for arg in extra)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-subj", "/CN=a.test", *extra, "-out", str(cert))  # fmt: skip
    shown = json.loads(run(["pin", "-o", "json", str(cert), str(key)]).stdout)["sources"]
    assert [source["entries"][0]["san"] for source in shown] == [san, None]


def test_a_subject_alt_name_cryptography_cannot_decode_is_shown_as_such(
    tmp_path: Path, run: Any
) -> None:
    """A subjectAltName holding an x400Address (which cryptography does not decode) is
    neither dropped nor fatal: the certificate pins, and its names read `<undecodable>`."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtensionOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    x400 = x509.UnrecognizedExtension(
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x04\xa3\x02\x30\x00"
    )
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x400, critical=False).sign(key, hashes.SHA256())
    )  # fmt: skip
    path = tmp_path / "x400.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    shown = run(["pin", "-o", "json", str(path)])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["sources"][0]["entries"][0]["san"] == ["<undecodable>"]
    assert "san       <undecodable>\n" in run(["pin", str(path)]).stdout


@pytest.mark.parametrize(
    ("make", "kind", "bits"),
    [
        (ed25519.Ed25519PrivateKey.generate, "ed25519", 256),
        (ed448.Ed448PrivateKey.generate, "ed448", 456),
        (x25519.X25519PrivateKey.generate, "x25519", 256),
        (x448.X448PrivateKey.generate, "x448", 448),
    ],
    ids=["ed25519", "ed448", "x25519", "x448"],
)
def test_a_curve_key_reports_its_own_length(
    tmp_path: Path, run: Any, make: Callable[[], Any], kind: str, bits: int
) -> None:
    """Keys of the RFC 8032 and RFC 7748 curves have no key_size to ask for: the JSON
    gives the length of the key itself, never 0."""
    path = tmp_path / "key.pem"
    public = make().public_key()
    path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    result = run(["pin", "-o", "json", str(path)])
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)["sources"][0]["entries"][0]
    assert entry["key"] == {"type": kind, "bits": bits}
