"""Man-in-the-middle scenarios judged by real clients: OkHttp's CertificatePinner and curl.

The client trusts the genuine CA and the attacker's (a MITM whose root is installed, the
case pinning exists for). Each scenario is one live server; pinctl's verify, OkHttp and
curl judge it with the same roots and pins, and pinctl must agree with OkHttp (its rule);
curl pins the leaf's key only, and where that differs it is asserted as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import trustme

from tests.support.cli import Run
from tests.support.judges import OKHTTP_JARS, curl_connects, okhttp_connects, okhttp_judge
from tests.support.pinfiles import spki_pin
from tests.support.servers import pem_context, tls_server
from tests.support.tools import missing, needs

pytestmark = needs("javac", "java", "curl")

CONNECTED, PINNING_FAILED = "CONNECTED", "PINNING FAILED"
WRONG = "sha256/" + "Zm9v" * 10 + "Zm8="


@dataclass(frozen=True)
class Pki:
    genuine_root: trustme.CA
    genuine: trustme.LeafCert
    attacker: trustme.LeafCert
    roots: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = trustme.CA()
    genuine = root.create_child_ca().issue_cert("localhost")
    attacker_root = trustme.CA()
    roots = tmp_path_factory.mktemp("roots") / "roots.pem"
    roots.write_bytes(root.cert_pem.bytes() + attacker_root.cert_pem.bytes())
    return Pki(root, genuine, attacker_root.issue_cert("localhost"), roots)


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    if not all(Path(jar).is_file() for jar in OKHTTP_JARS):
        missing(f"OkHttp jars missing ({', '.join(OKHTTP_JARS)}): install libokhttp-java")
    return okhttp_judge(str(tmp_path_factory.mktemp("okhttp")))


def served(pki: Pki, scenario: str) -> tuple[bytes, bytes]:
    """(chain PEM, key PEM) the server of `scenario` presents."""
    leaf, intermediate = (blob.bytes() for blob in pki.genuine.cert_chain_pems)
    mitm = pki.attacker.cert_chain_pems[0].bytes()
    if scenario == "genuine":
        return leaf + intermediate, pki.genuine.private_key_pem.bytes()
    copies = {"mitm+leaf": leaf, "mitm+leaf+intermediate": leaf + intermediate}[scenario]
    return mitm + copies, pki.attacker.private_key_pem.bytes()


def pinctl_verdict(
    run: Run, tmp: Path, port: int, pins: list[tuple[str, date | None]], verify_chain: bool
) -> str:
    roots = tmp.parent / "roots.pem"
    lines = "".join(
        f'  {{ pin = "{p}"' + (f", expires = {e}" if e else "") + " },\n" for p, e in pins
    )
    chain_line = "" if verify_chain else "verify_chain = false\n"
    pin_file = tmp / "pins.toml"
    pin_file.write_text(
        f'version = 1\n[defaults]\nca_file = "{roots}"\n[[hosts]]\nhost = "localhost"\n'
        f"port = {port}\n{chain_line}pins = [\n{lines}]\n"
    )
    result = run(["verify", "--pin-file", str(pin_file), "-o", "json", "--retries", "0"])
    [host] = json.loads(result.stdout)["hosts"]
    assert result.exit_code == (0 if host["ok"] else 1), result.stderr
    return (
        CONNECTED
        if host["ok"]
        else PINNING_FAILED
        if host["status"] == "pin-mismatch"
        else host["status"]
    )


TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)

Pinned = list[tuple[str, date | None]]

# scenario, the pins as (which certificate, expires), OkHttp's verdict, curl's verdict
CASES: list[tuple[str, Pinned, str, str]] = [
    ("mitm+leaf", [("leaf", None)], PINNING_FAILED, PINNING_FAILED),
    ("mitm+leaf+intermediate", [("intermediate", None)], PINNING_FAILED, PINNING_FAILED),
    (
        "mitm+leaf+intermediate",
        [("leaf", None), ("intermediate", None)],
        PINNING_FAILED,
        PINNING_FAILED,
    ),
    ("genuine", [("leaf", None)], CONNECTED, CONNECTED),
    # curl pins the leaf's key only: an intermediate or root pin is OkHttp's, not curl's.
    ("genuine", [("intermediate", None)], CONNECTED, PINNING_FAILED),
    # the anchor is never served: OkHttp's cleaned chain, like pinctl's path, includes it.
    ("genuine", [("root", None)], CONNECTED, PINNING_FAILED),
    # an expired pin is as if absent: the client keeps only the live ones.
    ("genuine", [("leaf", YESTERDAY), ("wrong", None)], PINNING_FAILED, PINNING_FAILED),
    ("genuine", [("leaf", YESTERDAY), ("intermediate", None)], CONNECTED, PINNING_FAILED),
]


def pin_of(pki: Pki, which: str) -> str:
    if which == "wrong":
        return WRONG
    if which == "root":
        return spki_pin(pki.genuine_root.cert_pem)
    return spki_pin(pki.genuine.cert_chain_pems[{"leaf": 0, "intermediate": 1}[which]])


@pytest.mark.parametrize(
    ("scenario", "pinned", "okhttp", "curl", "verify_chain"),
    [
        (*case, verify_chain)
        for case in CASES
        for verify_chain in (True, False)
        # verify_chain = false has no path, so no unserved anchor can count, by definition.
        if verify_chain or all(which != "root" for which, _ in case[1])
    ],
)
def test_pinctl_agrees_with_okhttp_and_curl(
    run: Run,
    pki: Pki,
    judge: list[str],
    tmp_path: Path,
    scenario: str,
    pinned: list[tuple[str, date | None]],
    okhttp: str,
    curl: str,
    verify_chain: bool,
) -> None:
    pins = [(pin_of(pki, which), expires) for which, expires in pinned]
    live = [pin for pin, expires in pins if expires is None or expires >= TODAY]
    chain, key = served(pki, scenario)
    work = tmp_path / "case"
    work.mkdir()
    (tmp_path / "roots.pem").write_bytes(pki.roots.read_bytes())
    with tls_server(pem_context(chain, key)) as server:
        ours = pinctl_verdict(run, work, server.port, pins, verify_chain)
        theirs = okhttp_connects(judge, str(pki.roots), server.port, live)
        curls = curl_connects(str(pki.roots), server.port, live)
    assert theirs == okhttp
    assert curls == curl
    assert ours == okhttp
