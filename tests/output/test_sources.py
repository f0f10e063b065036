"""What fetch and pin say about a certificate's validity, in the words a person reads."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.cli import Run


def _cert_file(tmp_path: Path, not_after: datetime.datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "days.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=90))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (datetime.timedelta(days=-3, hours=-12), "expired 3 days ago"),
        (datetime.timedelta(days=-1, hours=-2), "expired 1 day ago"),
        (datetime.timedelta(hours=-5), "expired less than a day ago"),
        (datetime.timedelta(days=3, hours=12), "3 days left"),
    ],
)
def test_days_are_whole_days_elapsed(
    run: Run, tmp_path: Path, offset: datetime.timedelta, said: str
) -> None:
    """A certificate that expired 3 days and 12 hours ago expired "3 days ago", not 4."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    result = run(["pin", str(_cert_file(tmp_path, now + offset))])
    assert result.exit_code == 0, result.stderr
    assert f"({said})" in result.stdout
