"""Pin-failure reports as apps send them, built from the test PKI's certificates.

The fields are TrustKit's documented report (TSKPinFailureReport on iOS, the Android
library's PinningFailureReport, which adds `served-certificate-chain`) and RFC 7469
section 3's HPKP report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.support.hosts import spki
from tests.support.pki import NOW

SEEN_AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
"""When the apps saw the chains: now, inside the validity of every test certificate."""


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def known_pins(pins: Sequence[str]) -> list[str]:
    """TrustKit's and HPKP's spelling of the pins the client had: pin-sha256="BASE64"."""
    return [f'pin-sha256="{p.removeprefix("sha256/")}"' for p in pins]


def trustkit_ios(
    chain: Sequence[x509.Certificate],
    *,
    hostname: str = "api.test",
    app_version: str = "2.1.0",
    pins: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "app-bundle-id": "com.example.app",
        "app-version": app_version,
        "app-vendor-id": "599F9C00-92DC-4B5C-9464-7971F01F8370",
        "app-platform": "IOS",
        "app-platform-version": "17.4.1",
        "trustkit-version": "3.0.3",
        "hostname": hostname,
        "port": 443,
        "noted-hostname": hostname,
        "include-subdomains": False,
        "enforce-pinning": True,
        "validated-certificate-chain": [pem(c) for c in chain],
        "date-time": SEEN_AT,
        "known-pins": known_pins(pins),
        "validation-result": 1,
        **extra,
    }


def trustkit_android(
    chain: Sequence[x509.Certificate], *, app_version: str = "2.1.0", **extra: Any
) -> dict[str, Any]:
    report = trustkit_ios(chain, app_version=app_version, **extra)
    report["app-platform"] = "ANDROID"
    report["served-certificate-chain"] = report["validated-certificate-chain"]
    return report


def hpkp(
    chain: Sequence[x509.Certificate], *, hostname: str = "api.test", **extra: Any
) -> dict[str, Any]:
    return {
        "date-time": SEEN_AT,
        "hostname": hostname,
        "port": 443,
        "effective-expiration-date": "2027-01-01T00:00:00Z",
        "include-subdomains": False,
        "noted-hostname": hostname,
        "served-certificate-chain": [pem(c) for c in chain],
        "validated-certificate-chain": [pem(c) for c in chain],
        "known-pins": known_pins([str(spki(chain[-1]))]),
        **extra,
    }


def json_lines(reports: Sequence[object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in reports)
