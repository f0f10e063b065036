"""Chains that trap a naive walk up the issuers: an issuer loop, served to fetch and verify.

Both run as child processes with a time limit, so a pinctl that loops fails the test
instead of hanging the suite; the verdict is the user's, not just "it returned".
"""

from __future__ import annotations

import json
from pathlib import Path

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from pinctl.pki.validation import validate
from tests.support.cli import run_process
from tests.support.pki import NOW, issue, issuer_loop, key_pem, path_bomb, pem
from tests.support.servers import pem_context, tls_server

LOOP_REASON = "unable to find the issuer of CN=Loop B (CN=Loop A)"


def test_an_issuer_loop_is_untrusted_with_its_reason() -> None:
    """Two intermediates naming each other: no root at the end, and validation says so."""
    chain, _ = issuer_loop("example.test")
    root = issue("Root")[0]
    verdict = validate(chain, "example.test", [root], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, True)
    assert verdict.validation.error is not None
    assert verdict.validation.error.startswith(LOOP_REASON)


def test_the_twin_chain_without_the_loop_is_trusted() -> None:
    """The failing twin: the same shape with a real root above A validates."""
    root = issue("Loop B")
    a = issue("Loop A", root)
    leaf, _ = issue("leaf", a, sans=["example.test"])
    verdict = validate([leaf, a[0]], "example.test", [root[0]], NOW)
    assert verdict.validation == verdict.validation.__class__(True, True, None)


def test_fetch_and_verify_of_a_served_issuer_loop(tmp_path: Path) -> None:
    """A live server sends [leaf, A, B] with A and B issuing each other: fetch shows the
    chain and why it is untrusted (exit 0, it only inspects); verify fails the host (exit 1,
    untrusted), and neither outlasts its timeout."""
    chain, key = issuer_loop()
    root = tmp_path / "root.pem"
    root.write_bytes(pem([issue("Root")[0]]))
    leaf_pin = str(compute(spki_der(chain[0].public_key())))
    pins = tmp_path / "pins.toml"
    with tls_server(pem_context(pem(chain), key_pem(key))) as server:
        pins.write_text(
            f'version = 1\n[defaults]\nca_file = "{root}"\n[[hosts]]\nhost = "localhost"\n'
            f'port = {server.port}\npins = [{{ pin = "{leaf_pin}" }}]\n'
        )
        fetched = run_process(
            ["fetch", f"localhost:{server.port}", "--ca-file", str(root), "-o", "json"], timeout=30
        )
        verified = run_process(
            ["verify", "--pin-file", str(pins), "-o", "json", "--timeout", "5"], timeout=30
        )
    assert fetched.exit_code == 0, fetched.stderr
    source = json.loads(fetched.stdout)["sources"][0]
    assert source["error"] is None
    assert (source["validation"]["trusted"], source["validation"]["hostname_match"]) == (
        False,
        True,
    )
    assert source["validation"]["error"].startswith(LOOP_REASON)
    subjects = [e["subject"] for e in source["entries"]]
    assert subjects == ["CN=leaf", "CN=Loop A", "CN=Loop B"]
    assert verified.exit_code == 1, verified.stderr
    entry = json.loads(verified.stdout)["hosts"][0]
    assert (entry["status"], entry["ok"]) == ("untrusted", False)
    assert entry["error"].startswith(LOOP_REASON)


def test_verify_of_a_served_path_building_bomb(tmp_path: Path) -> None:
    """6 CAs at each of 7 levels, each able to issue all 6 below it (6**7 paths, no root):
    verify judges the host untrusted, naming the missing issuer, not a timeout."""
    chain, key = path_bomb(6, 7)
    root = tmp_path / "root.pem"
    root.write_bytes(pem([issue("Root")[0]]))
    leaf_pin = str(compute(spki_der(chain[0].public_key())))
    pins = tmp_path / "pins.toml"
    with tls_server(pem_context(pem(chain), key_pem(key))) as server:
        pins.write_text(
            f'version = 1\n[defaults]\nca_file = "{root}"\n[[hosts]]\nhost = "localhost"\n'
            f'port = {server.port}\npins = [{{ pin = "{leaf_pin}" }}]\n'
        )
        verified = run_process(
            ["verify", "--pin-file", str(pins), "-o", "json", "--timeout", "5"], timeout=30
        )
    assert verified.exit_code == 1, verified.stderr
    entry = json.loads(verified.stdout)["hosts"][0]
    assert (entry["status"], entry["ok"]) == ("untrusted", False)
    assert entry["error"].startswith("unable to find the issuer of CN=Level 6 (CN=Level 7)")
