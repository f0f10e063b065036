"""An RSA key without its NULL parameter has two pins, and each client gets the one it computes.

pinctl hashes the SPKI as the certificate carries it (RFC 7469), as curl and HPKP do;
OkHttp (and Android, iOS and TrustKit) hash their own re-encoding of the key, which puts
the NULL back. `add` records both, and each export writes the one its client computes.
The real OkHttp jar and curl judge the exported values on a live loopback server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinctl.pki.pins import compute
from tests.support.apps import OkHttp, curl, needs_curl, needs_okhttp
from tests.support.cli import Run
from tests.support.malformed import NullLessChain, pem, rsa_chain_without_null
from tests.support.servers import LoopbackServer, pem_context, tls_server


@pytest.fixture(scope="module")
def chain() -> NullLessChain:
    return rsa_chain_without_null("localhost")


@pytest.fixture(scope="module")
def server(chain: NullLessChain) -> Iterator[LoopbackServer]:
    with tls_server(pem_context(pem(chain.leaf), chain.key_pem)) as running:
        yield running


@pytest.fixture(scope="module")
def okhttp(tmp_path_factory: pytest.TempPathFactory) -> OkHttp:
    return OkHttp(tmp_path_factory.mktemp("okhttp-judge"))


@pytest.fixture
def added(run: Run, tmp_path: Path, chain: NullLessChain, server: LoopbackServer) -> Path:
    """The pin file `pinctl add` writes for the server, trusting the chain's own CA."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(chain.ca_pem)
    pins = tmp_path / "pins.toml"
    done = run(
        ["add", f"localhost:{server.port}", "--level", "leaf", "--ca-file", str(ca),
         "--pin-file", str(pins)]
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    return pins


CARRIED_PIN = re.compile(r'pin = "(sha256/[^"]+)"')
REENCODED_PIN = re.compile(r'reencoded = "(sha256/[^"]+)"')


def test_add_records_both_spellings_of_the_key(added: Path, chain: NullLessChain) -> None:
    text = added.read_text()
    assert CARRIED_PIN.findall(text) == [str(compute(chain.carried))]
    assert REENCODED_PIN.findall(text) == [str(compute(chain.canonical))]


def test_a_canonical_key_records_one_pin(run: Run, tmp_path: Path, ca: object) -> None:
    """The twin: a key with its NULL (every normal key) gets no `reencoded`."""
    import trustme

    from tests.support.servers import server_context

    assert isinstance(ca, trustme.CA)
    leaf = ca.issue_cert("localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    pins = tmp_path / "pins.toml"
    with tls_server(server_context(leaf)) as running:
        done = run(
            ["add", f"localhost:{running.port}", "--ca-file", str(ca_file),
             "--pin-file", str(pins)]
        )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert "reencoded" not in pins.read_text()


def test_each_export_writes_the_pin_its_client_computes(
    run: Run, added: Path, chain: NullLessChain
) -> None:
    carried, canonical = compute(chain.carried), compute(chain.canonical)
    text = added.read_text()  # HPKP wants a backup pin; a spare key's pin has one spelling
    added.write_text(
        text.replace("pins = [\n", f'pins = [\n  {{ pin = "{OTHER}", backup = true }},\n')
    )
    outputs = {}
    # (TrustKit refuses the single-label name localhost; its verdict is below.)
    for fmt in ("okhttp-kotlin", "android", "ios", "curl", "hpkp", "json"):
        done = run(["export", "--format", fmt, "--pin-file", str(added)])
        assert done.exit_code == 0, done.stderr
        outputs[fmt] = done.stdout
    for fmt in ("okhttp-kotlin", "android", "ios"):
        assert canonical.base64 in outputs[fmt], fmt
        assert carried.base64 not in outputs[fmt], fmt
    for fmt in ("curl", "hpkp"):
        assert carried.base64 in outputs[fmt], fmt
        assert canonical.base64 not in outputs[fmt], fmt
    [host] = json.loads(outputs["json"])["hosts"]
    assert host["pins"][1]["pin"] == str(carried)
    assert host["pins"][1]["reencoded"] == str(canonical)
    assert host["pins"][0]["reencoded"] is None


@needs_okhttp
@needs_curl
def test_the_real_clients_connect_with_their_exports_and_not_with_the_other_pin(
    run: Run, added: Path, chain: NullLessChain, server: LoopbackServer, okhttp: OkHttp
) -> None:
    url = f"https://localhost:{server.port}/"
    ca = added.parent / "ca.pem"
    java = run(["export", "--format", "okhttp-java", "--pin-file", str(added)]).stdout
    assert okhttp.judge(ca, url, java) == "connects"
    carried, canonical = compute(chain.carried), compute(chain.canonical)
    assert okhttp.judge(ca, url, java.replace(str(canonical), str(carried))) == "pin-failure"
    value = run(["export", "--format", "curl", "--pin-file", str(added)]).stdout
    assert curl(ca, url, value) == "connects"
    assert curl(ca, url, f"sha256//{canonical.base64}") == "pin-failure"


def test_verify_as_judges_each_client_by_its_spelling(
    run: Run, added: Path, chain: NullLessChain
) -> None:
    """With both spellings recorded every client accepts; with the carried pin alone (a
    pin file from before, or written by hand) OkHttp and the apps refuse, and curl does not."""
    judged = run(["verify", "--pin-file", str(added), "--as", "all", "-o", "json"])
    [host] = json.loads(judged.stdout)["hosts"]
    assert {n: v["verdict"] for n, v in host["clients"].items()} == {
        "okhttp": "accept",
        "curl": "accept",
        "android": "accept",
        "ios": "accept",
        "trustkit": "config-error",  # one pin and the name localhost: TrustKit refuses both
    }
    added.write_text(re.sub(r', reencoded = "[^"]+"', "", added.read_text()))
    judged = run(["verify", "--pin-file", str(added), "--as", "okhttp,curl", "-o", "json"])
    [host] = json.loads(judged.stdout)["hosts"]
    assert {n: v["verdict"] for n, v in host["clients"].items()} == {
        "okhttp": "reject",
        "curl": "accept",
    }
    assert judged.exit_code == 1


OTHER = compute(b"another key")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('reencoded = "sha256/short"', "reencoded: "),
        ("reencoded = 7", "reencoded must be a string"),
        (f'reencoded = "{compute(b"k", "sha384")}"', "must be a sha256 pin of the same spki key"),
        (f'kind = "cert", reencoded = "{OTHER}"', "of the same spki key"),
    ],
)
def test_a_bad_reencoded_value_is_a_one_line_error(
    run: Run, tmp_path: Path, written: str, message: str
) -> None:
    pins = tmp_path / "pins.toml"
    pins.write_text(
        f'version = 1\n[[hosts]]\nhost = "a.example"\npins = [\n'
        f'  {{ pin = "{compute(b"a key")}", {written} }},\n]\n'
    )
    done = run(["list", "--pin-file", str(pins)])
    assert done.exit_code == 2
    assert done.stderr.startswith(f"pinctl: error: {pins}:5: ")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
