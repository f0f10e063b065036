"""verify's revocation step against real CRLs and a real OCSP responder on 127.0.0.1.

Every outcome of SPEC.md section 7 comes from a real scenario (an openssl-made PKI, CRLs
from `openssl ca -gencrl`, responses from cryptography's builder, served over HTTP on
loopback), each beside its twin that passes or fails the other way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.x509 import ocsp

from tests.support.revocation import HANG, OcspPolicy, s_server
from tests.support.revocation_world import World, make_world
from tests.support.servers import pem_context, tls_server

pytestmark = pytest.mark.skipif(
    subprocess.run(["openssl", "version"], capture_output=True, check=False).returncode != 0,
    reason="the openssl CLI is needed to make the test PKI",
)


@pytest.fixture(scope="module")
def world_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with make_world(tmp_path_factory.mktemp("revocation")) as made:
        yield made


@pytest.fixture
def world(world_once: World) -> World:
    world_once.reset()
    return world_once


# --- CRLs -----------------------------------------------------------------------------


def test_a_good_certificate_passes_by_its_crl(world: World) -> None:
    """A leaf its CRL does not list passes, and the JSON says which list proved it."""
    checked = world.verify("crl-good", "--revocation", "hard")
    assert (checked.code, checked.status) == (0, "pass")
    leaf, inter = checked.certs
    assert (leaf["status"], leaf["source"], leaf["url"]) == (
        "good",
        "crl",
        world.server.url("/inter.crl"),
    )
    assert (inter["status"], inter["source"]) == ("good", "crl")
    assert checked.host["revocation"]["status"] == "good"
    assert leaf["next_update"] is not None
    assert leaf["error"] is None
    check = next(c for c in checked.host["checks"] if c["check"] == "revocation")
    assert (check["result"], check["reason"]) == ("pass", "2 of 2 not revoked (crl)")


def test_a_revoked_leaf_fails_even_though_its_pin_matches(world: World) -> None:
    """Twin: the leaf its CRL lists fails as revoked (exit 1) with when and why."""
    checked = world.verify("crl-bad")
    assert (checked.code, checked.status) == (1, "revoked")
    leaf = checked.certs[0]
    assert (leaf["status"], leaf["reason"]) == ("revoked", "keyCompromise")
    assert leaf["revoked_at"] is not None
    assert "certificate 0 (CN=crl-bad) is revoked" in checked.host["error"]
    assert ("pins", "pass") in [(c["check"], c["result"]) for c in checked.host["checks"]]


def test_a_revoked_intermediate_fails_the_host(world: World) -> None:
    """The intermediate is checked too: its issuer's CRL listing it fails the host."""
    world.server.serve_file("/root.crl", world.crls["root-revoked"])
    checked = world.verify("crl-good")
    assert (checked.code, checked.status) == (1, "revoked")
    inter = checked.certs[1]
    assert (inter["status"], inter["reason"]) == ("revoked", "cACompromise")


@pytest.mark.parametrize(
    ("crl", "words"),
    [
        ("stale", "stale: its next update was due"),
        ("impostor", "signed by another key"),
    ],
)
def test_an_unproven_crl_is_no_answer(world: World, crl: str, words: str) -> None:
    """A stale CRL or one signed by another key proves nothing: a warning under soft,
    revocation-unavailable (exit 3) under hard; never a pass of the check."""
    world.server.serve_file("/inter.crl", world.crls[crl])
    soft = world.verify("crl-bad")
    assert (soft.code, soft.status) == (0, "pass"), "soft: a warning, not a failure"
    assert any(words in w for w in soft.host["warnings"])
    hard = world.verify("crl-bad", "--revocation", "hard")
    assert (hard.code, hard.status) == (3, "revocation-unavailable")
    assert words in hard.host["error"]
    assert world.server.url("/inter.crl") in hard.host["error"]
    assert hard.certs[0]["status"] == "unavailable"


def test_strict_fails_the_soft_warning(world: World) -> None:
    """Under --strict the soft warning of an unanswered certificate fails the host; its
    twin with a fresh CRL passes --strict."""
    assert world.verify("crl-good", "--strict").code == 0
    world.server.serve_file("/inter.crl", world.crls["stale"])
    checked = world.verify("crl-good", "--strict")
    assert checked.code == 1
    assert "revocation unchecked" in checked.host["error"]


def test_the_certificates_own_shard_answers(world: World) -> None:
    """A partitioned CRL whose distribution point is the certificate's own counts."""
    checked = world.verify("shard", "--revocation", "hard")
    assert (checked.code, checked.certs[0]["status"]) == (0, "good")


def test_another_shard_is_no_answer(world: World) -> None:
    """Twin: the shard at the right URL that says it is another partition proves nothing."""
    world.server.serve_file("/shard-1.crl", world.crls["shard-2"])
    checked = world.verify("shard", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert "partition" in checked.text
    assert "shard-2.crl" in checked.text


@pytest.mark.parametrize("crl", ["inter", "crl-bad", "stale", "impostor", "shard-2"])
def test_openssl_verify_crl_check_agrees(world: World, crl: str) -> None:
    """For each CRL scenario `openssl verify -crl_check` reaches pinctl's verdict."""
    leaf = {"inter": "crl-good", "crl-bad": "crl-bad", "shard-2": "shard"}.get(crl, "crl-good")
    served = world.crls["inter" if crl == "crl-bad" else crl]
    path = "/shard-1.crl" if leaf == "shard" else "/inter.crl"
    world.server.serve_file(path, served)
    ours = world.verify(leaf, "--revocation", "hard").code == 0
    chosen = world.leaves[leaf]
    done = subprocess.run(
        ["openssl", "verify", "-crl_check", "-CAfile", str(world.pki.root.cert_path),
         "-untrusted", str(world.pki.inter.cert_path), "-CRLfile", str(served),
         str(chosen.cert_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode == 0) is ours, done.stdout + done.stderr


# --- OCSP -----------------------------------------------------------------------------


def test_a_good_certificate_passes_by_ocsp(world: World) -> None:
    """A leaf naming only an OCSP responder is proven good by it (GET, nonce echoed)."""
    checked = world.verify("ocsp-good", "--revocation", "hard")
    assert (checked.code, checked.certs[0]["source"], checked.certs[0]["status"]) == (
        0,
        "ocsp",
        "good",
    )
    assert world.server.requests["/ocsp"] == 1


def test_a_revoked_certificate_fails_by_ocsp(world: World) -> None:
    """Twin: the responder saying revoked fails the host."""
    checked = world.verify("ocsp-bad")
    assert (checked.code, checked.status) == (1, "revoked")
    assert checked.certs[0]["reason"] == "keyCompromise"
    assert "(keyCompromise) per ocsp" in checked.host["error"]


def test_a_revocation_without_a_reason_names_none(world: World) -> None:
    """The reason is optional in an OCSP answer: without one the message gives the time and
    the source, and no "(None)"."""
    world.ocsp = world.ocsp.but(reason=None)
    world.ocsp.revoked.add(world.leaves["ocsp-bad"].cert.serial_number)
    checked = world.verify("ocsp-bad")
    assert (checked.code, checked.status) == (1, "revoked")
    assert checked.certs[0]["reason"] is None
    assert re.search(r"is revoked at \S+Z per ocsp", checked.host["error"]), checked.host["error"]


def test_unknown_is_no_answer(world: World) -> None:
    """An OCSP `unknown` is no answer: status unknown, a warning under soft, exit 3 under hard."""
    world.ocsp.unknown.add(world.leaves["ocsp-good"].cert.serial_number)
    soft = world.verify("ocsp-good")
    assert soft.code == 0
    assert soft.certs[0]["status"] == "unknown"
    assert any("unknown to its responders" in w for w in soft.host["warnings"])
    hard = world.verify("ocsp-good", "--revocation", "hard")
    assert (hard.code, hard.status) == (3, "revocation-unavailable")


def test_the_crl_is_asked_first_and_ocsp_after_it(world: World) -> None:
    """A leaf with both sources is answered by its CRL; when that 404s, by OCSP."""
    first = world.verify("both-good", "--revocation", "hard")
    assert first.certs[0]["source"] == "crl"
    assert world.server.requests["/ocsp"] == 0
    world.server.routes.pop("/inter.crl")
    second = world.verify("both-bad", "--revocation", "hard")
    assert (second.code, second.certs[0]["source"]) == (1, "ocsp")
    assert "HTTP 404" in second.certs[0]["error"]


def _delegate(world: World, **kwargs: bool) -> OcspPolicy:
    return world.ocsp.but(signer=world.pki.responder("responder", **kwargs), delegate=True)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"next_update": dt.timedelta(minutes=-5)}, "stale"),
        ({"this_update": dt.timedelta(hours=1)}, "in the future"),
        ({"wrong_serial": True}, "CertID"),
        ({"nonce": "wrong"}, "another nonce"),
        ({"status": ocsp.OCSPResponseStatus.TRY_LATER}, "tryLater"),
        ({"status": ocsp.OCSPResponseStatus.UNAUTHORIZED}, "unauthorized"),
    ],
)
def test_an_unproven_ocsp_response_is_no_answer(
    world: World, change: dict[str, object], words: str
) -> None:
    """Stale, future-dated, about another certificate, with another nonce, or an unsigned
    error: no answer, so under hard the host could not be checked (never a pass)."""
    world.ocsp = world.ocsp.but(**change)
    checked = world.verify("ocsp-bad", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert words in checked.text


def test_a_response_without_a_nonce_is_accepted(world: World) -> None:
    """Most responders ignore nonces: a response with none still proves revoked."""
    world.ocsp = world.ocsp.but(nonce="none")
    assert world.verify("ocsp-bad").status == "revoked"


def test_a_delegated_responder_with_the_eku_is_believed(world: World) -> None:
    """A responder certificate the issuer signed, with OCSPSigning, valid now, counts."""
    world.ocsp = _delegate(world)
    assert world.verify("ocsp-bad").status == "revoked"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"eku": False}, "OCSPSigning"), ({"past": True}, "not valid now")],
)
def test_a_delegated_responder_without_the_eku_or_expired_is_not(
    world: World, kwargs: dict[str, bool], words: str
) -> None:
    """Twin: without the EKU, or expired, its 'revoked' (or 'good') proves nothing."""
    world.ocsp = _delegate(world, **kwargs)
    checked = world.verify("ocsp-bad", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert words in checked.text


def test_a_response_whose_signature_fails_is_not_believed(world: World) -> None:
    """A response whose signature does not verify with the issuer's key is refused."""
    world.ocsp = world.ocsp.but(tamper=True)
    checked = world.verify("ocsp-good", "--revocation", "hard")
    assert checked.code == 3
    assert "signature" in checked.text


@pytest.mark.parametrize("tamper", [False, True])
def test_openssl_ocsp_agrees_with_the_test_responder(world: World, tamper: bool) -> None:
    """The responder the tests trust is correct by `openssl ocsp`'s reading too, and its
    tampered twin fails openssl's check as it fails pinctl's."""
    world.ocsp = world.ocsp.but(tamper=tamper)
    leaf = world.leaves["ocsp-bad"]
    done = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(world.pki.inter.cert_path), "-cert",
         str(leaf.cert_path), "-url", world.server.url("/ocsp"), "-CAfile",
         str(world.pki.root.cert_path), "-verify_other", str(world.pki.inter.cert_path)],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert ("Response verify OK" in output) is not tamper, output
    assert ": revoked" in output, "openssl prints the status, verified or not"


# --- faults of the fetch --------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ((404, {"Content-Type": "text/html"}, b"gone"), "HTTP 404"),
        ((200, {"Content-Type": "application/pkix-crl"}, b"\x30\x03garbage"), "not a CRL"),
        ((200, {"Content-Type": "application/pkix-crl"}, b""), "empty"),
        ((200, {"Content-Type": "text/html"}, b"<html>login</html>"), "text/html"),
        ((302, {"Location": "/inter.crl"}, b""), "more than 3 redirects"),
        ((302, {"Location": "ftp://127.0.0.1/x.crl"}, b""), "not an http:// URL"),
    ],
)
def test_a_broken_crl_source_names_the_url_and_fault(
    world: World, route: tuple[int, dict[str, str], bytes], words: str
) -> None:
    """404, garbage, empty, an HTML page, a redirect loop, a redirect off HTTP: the host
    gets revocation-unavailable under hard, the message names the URL and the fault."""
    world.server.serve("/inter.crl", *route)
    checked = world.verify("crl-good", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert words in checked.text
    assert "/inter.crl" in checked.text
    assert "Traceback" not in checked.result.stderr


def test_an_oversized_crl_is_refused(world: World) -> None:
    """A CRL over --crl-max-bytes is refused while it is read; under the cap it counts."""
    small = world.verify("crl-bad", "--crl-max-bytes", "200", "--revocation", "hard")
    assert small.code == 3
    assert "over the cap of 200" in small.text
    assert world.verify("crl-bad", "--crl-max-bytes", "100000").status == "revoked"


def test_a_hung_responder_costs_one_timeout(world: World) -> None:
    """A CRL server that never answers ends in a timeout, and the OCSP responder after it
    is then not waited for a second timeout: the host is revocation-unavailable."""
    world.server.routes["/inter.crl"] = HANG
    checked = world.verify("both-good", "--revocation", "hard", "--timeout", "1")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert "timed out after 1 s" in checked.text
    assert checked.host["tls"] is not None, "the handshake had its own timeout"


def test_a_hung_responder_is_a_warning_under_soft(world: World) -> None:
    """Twin: under soft the same hang is a warning and the host passes on its pins."""
    world.server.routes["/inter.crl"] = HANG
    checked = world.verify("crl-good", "--timeout", "1")
    assert (checked.code, checked.status) == (0, "pass")
    assert any("timed out" in w for w in checked.host["warnings"])


def test_an_ldap_distribution_point_is_skipped_and_named(world: World) -> None:
    """An ldap:// CRL URL is not fetched; the result names it (hard: unavailable)."""
    checked = world.verify("ldap", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert "ldap://127.0.0.1/cn=crl: skipped" in checked.text


# --- modes and must-staple ------------------------------------------------------------


@pytest.mark.parametrize(("mode", "code"), [("soft", 0), ("hard", 0), ("require", 3), ("off", 0)])
def test_a_certificate_naming_no_source(world: World, mode: str, code: int) -> None:
    """No CRL, no OCSP: silently no-source under soft and hard, unavailable under require."""
    checked = world.verify("none", "--revocation", mode)
    assert checked.code == code
    if mode == "off":
        assert checked.host["revocation"] == {"mode": "off", "status": "not-checked", "certs": []}
        return
    assert checked.certs[0]["status"] == "no-source"
    assert checked.host["warnings"] == []


def test_the_pin_file_sets_the_mode_and_the_option_overrides_it(world: World) -> None:
    """`revocation = "require"` in [defaults] applies; --revocation soft overrides it."""
    extra = 'revocation = "require"\n'
    assert world.verify("none", extra=extra).code == 3
    assert world.verify("none", "--revocation", "soft", extra=extra).code == 0


def test_off_does_not_fetch(world: World) -> None:
    """--revocation off asks no source, so a revoked leaf passes on its pins."""
    checked = world.verify("crl-bad", "--revocation", "off")
    assert checked.code == 0
    assert sum(world.server.requests.values()) == 0


def test_must_staple_without_a_staple_is_unavailable_even_under_soft(world: World) -> None:
    """A must-staple leaf whose server stapled nothing is revocation-unavailable (exit 3)."""
    checked = world.verify("must-staple")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert "must-staple" in checked.host["error"]
    assert world.verify("must-staple", "--revocation", "off").code == 0


# --- one fetch per URL, the cache, offline CRLs ---------------------------------------


def test_one_fetch_per_crl_url_however_many_hosts(world: World, tmp_path: Path) -> None:
    """Three hosts sharing an issuer cost one fetch of its CRL and one of the root's."""
    from tests.support.servers import pem_context, tls_server

    leaf = world.leaves["crl-good"]
    from pinctl.pki.der import certificate_spki
    from pinctl.pki.pins import compute

    pin = compute(certificate_spki(leaf.cert))
    context = pem_context(leaf.chain_pem(), leaf.key_path.read_bytes())
    with tls_server(context) as a, tls_server(context) as b, tls_server(context) as c:
        hosts = "".join(
            f'[[hosts]]\nhost = "localhost"\nport = {s.port}\npins = [{{ pin = "{pin}" }}]\n'
            for s in (a, b, c)
        )
        path = tmp_path / "pins.toml"
        path.write_text(f'version = 1\n[defaults]\nca_file = "{world.pki.root.cert_path}"\n{hosts}')
        from tests.support.cli import invoke
        from tests.support.revocation_world import NO_PROXY_ENV

        result = invoke(
            ["verify", "--pin-file", str(path), "--revocation", "hard"], env=NO_PROXY_ENV
        )
    assert result.exit_code == 0, result.stdout
    assert (world.server.requests["/inter.crl"], world.server.requests["/root.crl"]) == (1, 1)


def test_the_cache_keeps_verified_answers_only(world: World, tmp_path: Path) -> None:
    """With --cache-dir a second run fetches nothing; a failed answer is never kept."""
    cache = tmp_path / "cache"
    world.server.serve_file("/inter.crl", world.crls["stale"])
    assert world.verify("crl-good", "--cache-dir", str(cache), "--revocation", "hard").code == 3
    assert len(list(cache.iterdir())) == 1, "the root's good CRL is kept, the stale one not"
    world.reset()
    assert world.verify("crl-bad", "--cache-dir", str(cache)).status == "revoked"
    assert dict(world.server.requests) == {"/inter.crl": 1}, "the root's CRL came from the cache"
    world.server.routes.clear()  # the sources are gone: only the cache can answer
    world.server.requests.clear()
    again = world.verify("crl-bad", "--cache-dir", str(cache), "--revocation", "hard")
    assert again.status == "revoked"
    assert sum(world.server.requests.values()) == 0, "nothing fetched the third time"
    assert not list(cache.glob(".*")), "no temporary file left behind"


def test_crl_files_answer_offline_with_a_saved_chain(world: World, tmp_path: Path) -> None:
    """--chain with --crl and hard: an offline CI run; revoked fails, good passes."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    world.server.routes.clear()
    for name, code in (("crl-good", 0), ("crl-bad", 1)):
        leaf = world.leaves[name]
        saved = tmp_path / f"{name}.pem"
        saved.write_bytes(leaf.chain_pem())
        pins = world.pin_file(leaf, 443)
        result = invoke(
            ["verify", "--pin-file", str(pins), "--chain", str(saved), "--revocation", "hard",
             "--crl", str(world.crls["inter"]), "--crl", str(world.crls["root"])],
            env=NO_PROXY_ENV,
        )  # fmt: skip
        assert result.exit_code == code, result.stdout
    assert sum(world.server.requests.values()) == 0


@pytest.mark.parametrize("revocation", ["soft", "off"])
def test_a_bad_crl_file_is_a_usage_error(world: World, tmp_path: Path, revocation: str) -> None:
    """--crl naming garbage exits 2 with one line naming the file, before any host; also
    when the pin file turns revocation off: a file given is read, never silently skipped."""
    from tests.support.cli import invoke

    junk = tmp_path / "junk.crl"
    junk.write_bytes(b"not a crl")
    pins = world.pin_file(world.leaves["crl-good"], 443, f'revocation = "{revocation}"\n')
    result = invoke(["verify", "--pin-file", str(pins), "--crl", str(junk)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: --crl {junk}:")
    assert result.stderr.count("\n") == 1


def test_a_good_crl_file_with_revocation_off_checks_nothing(world: World) -> None:
    """The twin: a sound --crl with revocation off is read, and the host is not checked."""
    checked = world.verify(
        "crl-bad", "--crl", str(world.crls["inter"]), extra='revocation = "off"\n'
    )
    assert (checked.code, checked.status) == (0, "pass")
    assert checked.host["revocation"]["status"] == "not-checked"
    assert sum(world.server.requests.values()) == 0


@pytest.mark.parametrize("mode", ["off", "soft"])
def test_a_malformed_http_proxy_matters_only_when_revocation_is_checked(
    world: World, mode: str
) -> None:
    """http_proxy serves only revocation fetches (http:// URLs): with revocation off a
    malformed one is never read and verify passes; with revocation on, verify refuses it
    before dialling anything (exit 2)."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    leaf = world.leaves["crl-good"]
    context = pem_context(leaf.chain_pem(), leaf.key_path.read_bytes())
    with tls_server(context) as tls:
        pins = world.pin_file(leaf, tls.port, extra=f'revocation = "{mode}"\n')
        env = {**NO_PROXY_ENV, "http_proxy": "gopher://proxy.test:70"}
        result = invoke(["verify", "--pin-file", str(pins)], env=env)
    if mode == "off":
        assert result.exit_code == 0, result.stderr
    else:
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr.startswith("pinctl: error: http_proxy")
    assert sum(world.server.requests.values()) == 0


# --- stapled responses (openssl s_server -status_file) --------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("tls", ["tls1_3", "tls1_2"])
def test_a_must_staple_leaf_with_its_staple_passes(world: World, tmp_path: Path, tls: str) -> None:
    """Twin of must-staple without a staple: with a valid staple (TLS 1.3 and 1.2) the host
    passes, proven by the staple alone, and nothing is fetched."""
    staple = world.staple("must-staple", tmp_path / "staple.der")
    port = _free_port()
    with s_server(world.leaves["must-staple"], staple, tls, port):
        checked = world.verify("must-staple", "--revocation", "hard", port=port)
    assert (checked.code, checked.status) == (0, "pass")
    assert (checked.certs[0]["source"], checked.certs[0]["status"]) == ("ocsp-stapled", "good")
    assert world.server.requests["/ocsp"] == 0


@pytest.mark.parametrize("tls", ["tls1_3", "tls1_2"])
def test_a_stapled_revoked_answer_fails_the_host(world: World, tmp_path: Path, tls: str) -> None:
    """A server stapling its own revocation fails verify as revoked."""
    world.ocsp.revoked.add(world.leaves["staple-only"].cert.serial_number)
    staple = world.staple("staple-only", tmp_path / "staple.der")
    port = _free_port()
    with s_server(world.leaves["staple-only"], staple, tls, port):
        checked = world.verify("staple-only", port=port)
    assert (checked.code, checked.status) == (1, "revoked")
    assert checked.certs[0]["source"] == "ocsp-stapled"


def test_a_stale_staple_is_no_answer_for_must_staple(world: World, tmp_path: Path) -> None:
    """A stale staple is not a valid one: must-staple is then revocation-unavailable."""
    world.ocsp = world.ocsp.but(next_update=dt.timedelta(minutes=-5))
    staple = world.staple("must-staple", tmp_path / "staple.der")
    port = _free_port()
    with s_server(world.leaves["must-staple"], staple, "tls1_3", port):
        checked = world.verify("must-staple", port=port)
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert "stale" in checked.text
    leaf = checked.certs[0]  # the leaf, position 0, is the one without an answer
    assert (leaf["position"], leaf["status"]) == (0, "unavailable")


def test_fetch_shows_a_staple_that_fails_its_checks_as_unavailable(
    world: World, tmp_path: Path
) -> None:
    """Twin of a good staple in fetch: a stale one is shown as unavailable, with why, not
    as good and not as none; and fetch, which is no check, still exits 0."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    world.ocsp = world.ocsp.but(next_update=dt.timedelta(minutes=-5))
    staple = world.staple("must-staple", tmp_path / "staple.der")
    port = _free_port()
    root = str(world.pki.root.cert_path)
    with s_server(world.leaves["must-staple"], staple, "tls1_3", port):
        shown = invoke(["fetch", f"127.0.0.1:{port}", "--ca-file", root], env=NO_PROXY_ENV)
        asked = invoke(
            ["fetch", f"127.0.0.1:{port}", "--ca-file", root, "-o", "json"], env=NO_PROXY_ENV
        )
    assert shown.exit_code == 0, shown.stderr
    [line] = [x for x in shown.stdout.splitlines() if "stapled OCSP" in x]
    assert line.strip().startswith("stapled OCSP: unavailable: ")
    assert "stale" in line
    [source] = json.loads(asked.stdout)["sources"]
    stapled = source["stapled_ocsp"]
    assert (stapled["status"], stapled["this_update"]) == ("unavailable", None)
    assert "stale" in stapled["error"]


def test_a_staple_for_a_leaf_right_under_the_root_is_shown_and_counts(
    world: World, tmp_path: Path
) -> None:
    """A two-certificate path (leaf, root) has an issuer for its staple as well: fetch shows
    what the staple proves, and verify passes on it alone, as for a longer chain."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    staple = world.staple("under-root", tmp_path / "staple.der")
    port = _free_port()
    root = str(world.pki.root.cert_path)
    with s_server(world.leaves["under-root"], staple, "tls1_3", port):
        shown = invoke(["fetch", f"127.0.0.1:{port}", "--ca-file", root], env=NO_PROXY_ENV)
        checked = world.verify("under-root", "--revocation", "hard", port=port)
    assert shown.exit_code == 0, shown.stderr
    assert "stapled OCSP: good via ocsp-stapled" in shown.stdout
    assert (checked.code, checked.status) == (0, "pass")
    assert (checked.certs[0]["source"], checked.certs[0]["status"]) == ("ocsp-stapled", "good")


def test_fetch_shows_the_staple_always_and_revocation_when_asked(
    world: World, tmp_path: Path
) -> None:
    """fetch asks for a staple and shows what it proves; --revocation adds a line per
    certificate; without a staple it says none."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    staple = world.staple("must-staple", tmp_path / "staple.der")
    port = _free_port()
    root = str(world.pki.root.cert_path)
    with s_server(world.leaves["must-staple"], staple, "tls1_3", port):
        plain = invoke(["fetch", f"127.0.0.1:{port}", "--ca-file", root], env=NO_PROXY_ENV)
        asked = invoke(
            ["fetch", f"127.0.0.1:{port}", "--ca-file", root, "--revocation", "soft", "-o", "json"],
            env=NO_PROXY_ENV,
        )
    assert plain.exit_code == 0
    assert "stapled OCSP: good via ocsp-stapled" in plain.stdout
    assert "revocation [" not in plain.stdout, "fetch's revocation is off by default"
    [source] = json.loads(asked.stdout)["sources"]
    assert source["stapled_ocsp"]["status"] == "good"
    assert [c["source"] for c in source["revocation"]["certs"]] == ["ocsp-stapled", "crl"]
    crl_leaf = world.leaves["crl-bad"]
    context = pem_context(crl_leaf.chain_pem(), crl_leaf.key_path.read_bytes())
    with tls_server(context) as server:
        shown = invoke(
            ["fetch", f"127.0.0.1:{server.port}", "--ca-file", root, "--revocation", "soft"],
            env=NO_PROXY_ENV,
        )
    assert "stapled OCSP: none" in shown.stdout
    assert "revocation [0]: revoked at" in shown.stdout
    assert "(keyCompromise) via crl" in shown.stdout
    assert shown.exit_code == 0, "fetch reports what it found; it is not a check"


def test_junit_names_the_revoked_host(world: World, tmp_path: Path) -> None:
    """The JUnit report carries the revoked host as a failure of type revoked."""
    report = tmp_path / "junit.xml"
    checked = world.verify("crl-bad", "--junit-xml", str(report))
    assert checked.code == 1
    text = report.read_text()
    assert 'type="revoked"' in text
    assert "CN=crl-bad" in text


def test_a_revoked_certificate_behind_an_http_proxy(world: World) -> None:
    """Through an HTTP proxy (--proxy): the handshake by CONNECT, the CRL by a plain
    proxied GET; the revoked leaf still fails, and the proxy saw both."""
    from tests.support.proxy import connect_proxy

    with connect_proxy() as (url, log):
        bad = world.verify("crl-bad", "--proxy", url)
        good = world.verify("crl-good", "--proxy", url, "--revocation", "hard")
    assert (bad.code, bad.status) == (1, "revoked")
    assert (good.code, good.status) == (0, "pass")
    assert any(r.startswith("CONNECT ") for r in log.requests)
    assert any(r.startswith(f"GET {world.server.url('/inter.crl')} ") for r in log.requests)


def test_no_proxy_exempts_the_revocation_server(world: World) -> None:
    """http_proxy from the environment is used for fetches unless NO_PROXY names the host."""
    from tests.support.cli import invoke
    from tests.support.proxy import connect_proxy
    from tests.support.revocation_world import NO_PROXY_ENV

    leaf = world.leaves["crl-bad"]
    context = pem_context(leaf.chain_pem(), leaf.key_path.read_bytes())
    with connect_proxy() as (url, log), tls_server(context) as tls:
        pins = world.pin_file(leaf, tls.port)
        for no_proxy in ("", "127.0.0.1"):
            env = NO_PROXY_ENV | {"http_proxy": url, "NO_PROXY": no_proxy}
            result = invoke(["verify", "--pin-file", str(pins)], env=env)
            assert result.exit_code == 1, result.stdout
    proxied = [r for r in log.requests if r.startswith("GET http://")]
    assert len(proxied) == 2, "the first run's two CRLs went by the proxy, the second's not"


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ((200, {"Content-Type": "application/ocsp-response"}, b"\x30\x05junk"), "not an OCSP"),
        ((200, {"Content-Type": "text/html"}, b"<html>"), "not application/ocsp-response"),
        ((500, {"Content-Type": "text/plain"}, b"oops"), "HTTP 500"),
    ],
)
def test_a_broken_ocsp_responder_names_the_url_and_fault(
    world: World, route: tuple[int, dict[str, str], bytes], words: str
) -> None:
    """Garbage, the wrong content type or a server error from the responder: no answer,
    named with its URL; hard makes it exit 3."""
    world.server.serve("/ocsp", *route)
    checked = world.verify("ocsp-bad", "--revocation", "hard")
    assert (checked.code, checked.status) == (3, "revocation-unavailable")
    assert words in checked.text
    assert f"OCSP {world.server.url('/ocsp')}: " in checked.text


def test_a_hung_ocsp_responder_costs_one_timeout(world: World) -> None:
    """A responder that never answers ends in a timeout; the intermediate's own sources
    are then not asked (the host's revocation time is spent), and it says so."""
    world.server.routes["/ocsp"] = HANG
    checked = world.verify("ocsp-good", "--revocation", "hard", "--timeout", "1")
    assert checked.code == 3
    assert "timed out after 1 s" in checked.certs[0]["error"]
    assert "not asked" in checked.certs[1]["error"]


def test_two_runs_may_share_a_cache_directory(world: World, tmp_path: Path) -> None:
    """Two verify processes started together on one --cache-dir both get the right answer
    and leave whole files that a third run uses without fetching."""
    import os
    import sys

    from tests.support.revocation_world import NO_PROXY_ENV

    cache = tmp_path / "cache"
    leaf = world.leaves["crl-bad"]
    context = pem_context(leaf.chain_pem(), leaf.key_path.read_bytes())
    with tls_server(context) as tls:
        pins = world.pin_file(leaf, tls.port)
        argv = [sys.executable, "-m", "pinctl", "verify", "--pin-file", str(pins),
                "--cache-dir", str(cache)]  # fmt: skip
        env = os.environ | NO_PROXY_ENV
        runs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE) for _ in range(2)]
        codes = [run.wait(timeout=60) for run in runs]
        for run in runs:
            assert run.stdout is not None
            run.stdout.close()
        assert codes == [1, 1]
        world.server.routes.clear()
        world.server.requests.clear()
        third = world.verify("crl-bad", "--cache-dir", str(cache), "--revocation", "hard")
    assert third.status == "revoked"
    assert sum(world.server.requests.values()) == 0
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["crl", "crl"]


def test_a_bad_revocation_value_in_the_pin_file_names_the_line(world: World) -> None:
    """`revocation = "strict"` is an error naming the line and the allowed values (exit 2)."""
    from tests.support.cli import invoke

    pins = world.pin_file(world.leaves["crl-good"], 443, extra='revocation = "strict"\n')
    result = invoke(["verify", "--pin-file", str(pins)])
    assert result.exit_code == 2
    assert ':5: revocation must be one of "off", "soft", "hard", "require"' in result.stderr


def test_the_text_report_says_what_was_revoked_when_and_by_which_list(world: World) -> None:
    """The person on call reads the revoked certificate, the reason and the CRL in one line;
    a soft warning names the URL and the fault."""
    from tests.support.cli import invoke
    from tests.support.revocation_world import NO_PROXY_ENV

    leaf = world.leaves["crl-bad"]
    context = pem_context(leaf.chain_pem(), leaf.key_path.read_bytes())
    with tls_server(context) as tls:
        result = invoke(
            ["verify", "--pin-file", str(world.pin_file(leaf, tls.port))], env=NO_PROXY_ENV
        )
    [line] = [x for x in result.stdout.splitlines() if x.startswith("FAIL")]
    assert "revoked: certificate 0 (CN=crl-bad) is revoked at " in line
    assert f"(keyCompromise) per crl {world.server.url('/inter.crl')}" in line
    world.server.serve("/inter.crl", 404, {"Content-Type": "text/html"}, b"gone")
    good = world.leaves["crl-good"]
    context = pem_context(good.chain_pem(), good.key_path.read_bytes())
    with tls_server(context) as tls:
        result = invoke(
            ["verify", "--pin-file", str(world.pin_file(good, tls.port))], env=NO_PROXY_ENV
        )
    assert result.exit_code == 0
    url = world.server.url("/inter.crl")
    warning = "warning: revocation unchecked: certificate 0 (CN=crl-good): no source answered"
    assert f"{warning}: CRL {url}: HTTP 404" in result.stdout


# --- metrics ------------------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "values"), [("crl-bad", [1.0, 0.0]), ("crl-good", [0.0, 0.0])])
def test_the_metrics_give_each_certificates_revocation_status(
    world: World, tmp_path: Path, leaf: str, values: list[float]
) -> None:
    """pinctl_revocation_status per position (1 revoked, 0 good), as the JSON of the run says."""
    from prometheus_client.parser import text_string_to_metric_families

    textfile = tmp_path / "pinctl.prom"
    checked = world.verify(leaf, "--revocation", "hard", "--textfile", str(textfile))
    [family] = [
        f
        for f in text_string_to_metric_families(textfile.read_text())
        if f.name == "pinctl_revocation_status"
    ]
    got = sorted((int(s.labels["position"]), s.value) for s in family.samples)
    assert got == list(enumerate(values))
    assert [c["status"] for c in checked.certs] == [("revoked" if v else "good") for v in values]
