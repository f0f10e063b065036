"""Keys whose SPKI cryptography would re-derive wrongly pin like `openssl pkey -pubout`.

Every expected pin here comes from openssl: the key's `pkey -pubout` DER, or its own
certificate's `x509 -pubkey`, hashed with `dgst -sha256 -binary` and base64.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.judges import openssl, openssl_pin


def _sh(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _entry(run: Any, path: Path) -> dict[str, Any]:
    result = run(["pin", "-o", "json", str(path)])
    assert result.exit_code == 0, result.stderr
    entry: dict[str, Any] = json.loads(result.stdout)["sources"][0]["entries"][0]
    return entry


def _key_pin(key: Path) -> str:
    return openssl_pin(openssl("pkey", "-in", str(key), "-pubout", "-outform", "der"))


def _cert_pin(key: Path, tmp_path: Path) -> str:
    cert = tmp_path / f"{key.stem}.crt"
    _sh("req", "-x509", "-new", "-key", str(key), "-subj", "/CN=k", "-days", "2", "-out", str(cert))
    pub = openssl("x509", "-in", str(cert), "-pubkey", "-noout")
    der = openssl("pkey", "-pubin", "-in", "/dev/stdin", "-outform", "der", data=pub)
    return openssl_pin(der)


@pytest.fixture(scope="module")
def pss_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An RSA-PSS key with restricted parameters, as openssl genpkey writes one."""
    key = tmp_path_factory.mktemp("pss") / "pss.pem"
    _sh(
        "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
        "-pkeyopt", "rsa_pss_keygen_md:sha256", "-out", str(key),
    )  # fmt: skip
    return key


@pytest.fixture(scope="module")
def explicit_ec_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A P-256 key whose curve is spelled out as explicit parameters (SEC1 PEM)."""
    key = tmp_path_factory.mktemp("ecx") / "ecx.pem"
    _sh("ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout",
        "-out", str(key))  # fmt: skip
    return key


@pytest.mark.parametrize("form", ["pem", "der"])
def test_rsa_pss_private_key_pins_like_openssl_and_its_certificate(
    pss_key: Path, tmp_path: Path, run: Any, form: str
) -> None:
    """An RSA-PSS private key pins to its PSS SPKI, as openssl and its certificate do."""
    path = tmp_path / f"key.{form}"
    _sh("pkey", "-in", str(pss_key), "-outform", form, "-out", str(path))
    expected = _key_pin(pss_key)
    assert _entry(run, path)["spki"]["sha256"] == expected
    assert _cert_pin(pss_key, tmp_path) == expected


def test_plain_rsa_private_key_pin_differs_from_the_pss_one(
    pss_key: Path, tmp_path: Path, run: Any
) -> None:
    """The failing twin: the same modulus as a plain RSA key has another SPKI, another pin."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pss_key.read_bytes(), None)
    plain = tmp_path / "plain.pem"
    plain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert b"BEGIN PRIVATE KEY" in plain.read_bytes()
    assert _entry(run, plain)["spki"]["sha256"] != _key_pin(pss_key)
    assert _entry(run, plain)["spki"]["sha256"] == _key_pin(plain)


@pytest.mark.parametrize(
    ("form", "args"),
    [
        ("sec1-pem", ["ec", "-outform", "pem"]),
        ("sec1-der", ["ec", "-outform", "der"]),
        ("pkcs8-pem", ["pkey", "-outform", "pem"]),
        ("pkcs8-der", ["pkey", "-outform", "der"]),
    ],
)
def test_explicit_curve_private_key_pins_like_openssl_and_its_certificate(
    explicit_ec_key: Path, tmp_path: Path, run: Any, form: str, args: list[str]
) -> None:
    """An explicit-curve EC key keeps its parameters in the pin, in every encoding, and has
    no second, re-encoded pin: only an RSA key without its NULL has one."""
    path = tmp_path / f"{form}.key"
    _sh(*args, "-in", str(explicit_ec_key), "-out", str(path))
    expected = _key_pin(explicit_ec_key)
    entry = _entry(run, path)
    assert entry["spki"]["sha256"] == expected
    assert "spki_reencoded" not in entry
    assert _cert_pin(explicit_ec_key, tmp_path) == expected


def test_named_curve_twin_of_an_explicit_key_pins_differently(
    explicit_ec_key: Path, tmp_path: Path, run: Any
) -> None:
    """The failing twin: the same key on the named curve is another SPKI and another pin."""
    named = tmp_path / "named.pem"
    _sh("ec", "-in", str(explicit_ec_key), "-param_enc", "named_curve", "-out", str(named))
    assert _entry(run, named)["spki"]["sha256"] == _key_pin(named)
    assert _key_pin(named) != _key_pin(explicit_ec_key)


def test_ec_key_without_its_public_key_says_how_the_pin_was_derived(
    explicit_ec_key: Path, tmp_path: Path, run: Any
) -> None:
    """A SEC1 key stored without its public point still pins like openssl, and says so."""
    bare = tmp_path / "bare.pem"
    _sh("ec", "-in", str(explicit_ec_key), "-no_public", "-out", str(bare))
    assert len(bare.read_bytes()) < len(explicit_ec_key.read_bytes())
    entry = _entry(run, bare)
    assert entry["spki"]["sha256"] == _key_pin(explicit_ec_key)
    assert "computed from the private key" in entry["note"]
    assert "note" not in _entry(run, explicit_ec_key)
    shown = run(["pin", str(bare)])
    assert "computed from the private key" in shown.stdout
    with_point = run(["pin", str(explicit_ec_key)])
    assert "computed from the private key" not in with_point.stdout


def test_der_pkcs1_rsa_public_key_gives_the_spki_pin(tmp_path: Path, run: Any) -> None:
    """A DER RSAPublicKey (PKCS#1) pins to the RSA SPKI wrapping, not to the PKCS#1 bytes."""
    key = tmp_path / "rsa.pem"
    _sh("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    pkcs1 = tmp_path / "pub.der"
    _sh("rsa", "-in", str(key), "-RSAPublicKey_out", "-outform", "DER", "-out", str(pkcs1))
    pin = _entry(run, pkcs1)["spki"]["sha256"]
    assert pin == _key_pin(key)
    assert pin != openssl_pin(pkcs1.read_bytes())  # what pinctl wrongly gave before


@pytest.mark.parametrize(
    ("name", "make", "shown"),
    [
        ("binary curve", ["ecparam", "-name", "sect283k1"], "ec (1.3.132.0.16)"),
        (
            "explicit secp256k1",
            ["ecparam", "-name", "secp256k1", "-param_enc", "explicit"],
            "ec (explicit parameters)",
        ),
    ],
)
def test_public_key_cryptography_cannot_load_is_pinned_from_its_spki(
    tmp_path: Path, run: Any, name: str, make: list[str], shown: str
) -> None:
    """A PUBLIC KEY file on a curve cryptography lacks is pinned from its bytes, PEM or DER."""
    key = tmp_path / "k.pem"
    _sh(*make, "-genkey", "-noout", "-out", str(key))
    for form in ("pem", "der"):
        pub = tmp_path / f"pub.{form}"
        _sh("pkey", "-in", str(key), "-pubout", "-outform", form, "-out", str(pub))
        entry = _entry(run, pub)
        assert entry["spki"]["sha256"] == _key_pin(key), (name, form)
        assert entry["key"]["bits"] == 0
        assert shown in run(["pin", str(pub)]).stdout


def test_damaged_spki_of_an_unknown_curve_is_still_refused(tmp_path: Path, run: Any) -> None:
    """The failing twin: bytes that are no SPKI at all stay an error, not a pin."""
    key = tmp_path / "k.pem"
    _sh("ecparam", "-name", "sect283k1", "-genkey", "-noout", "-out", str(key))
    der = openssl("pkey", "-in", str(key), "-pubout", "-outform", "der")
    cut = tmp_path / "cut.der"
    cut.write_bytes(der[:-5])
    result = run(["pin", str(cut)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: {cut}")
    body = base64.encodebytes(der[:-5]).decode()
    pem = tmp_path / "cut.pem"
    pem.write_text(f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n")
    assert run(["pin", str(pem)]).exit_code == 2


def test_dh_keys_show_their_real_size(tmp_path: Path, run: Any) -> None:
    """A DH public key shows its group's size in bits, not 0, and pins like openssl."""
    params = tmp_path / "dh.params"
    _sh("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_paramgen_prime_len:1024",
        "-out", str(params))  # fmt: skip
    key = tmp_path / "dh.pem"
    _sh("genpkey", "-paramfile", str(params), "-out", str(key))
    pub = tmp_path / "dhpub.pem"
    _sh("pkey", "-in", str(key), "-pubout", "-out", str(pub))
    for path in (key, pub):
        entry = _entry(run, path)
        assert entry["key"] == {"type": "dh", "bits": 1024}
        assert entry["spki"]["sha256"] == _key_pin(key)


def _without_null(tmp_path: Path) -> tuple[Path, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.malformed import rsa_spki_without_null

    spki = (
        rsa.generate_private_key(65537, 2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path = tmp_path / "nonull.der"
    path.write_bytes(rsa_spki_without_null(spki))
    return path, spki


def test_rsa_spki_without_null_shows_both_pins(tmp_path: Path, run: Any) -> None:
    """Without its NULL parameter an RSA key has two pins: as carried, and as openssl makes it."""
    path, canonical = _without_null(tmp_path)
    entry = _entry(run, path)
    assert entry["spki"]["sha256"] == openssl_pin(path.read_bytes())  # RFC 7469: as carried
    judged = openssl("pkey", "-pubin", "-inform", "der", "-in", str(path), "-outform", "der")
    assert judged == canonical
    assert entry["spki_reencoded"] == {"sha256": openssl_pin(judged)}
    text = run(["pin", str(path)]).stdout
    assert f"spki*     {openssl_pin(judged)}  (re-encoded" in text
    assert "OkHttp, Android, iOS and TrustKit compute; curl and HPKP take the spki pin" in text


def test_a_certificate_with_an_rsa_spki_without_null_shows_both_pins(
    tmp_path: Path, run: Any
) -> None:
    """A certificate's NULL-less RSA key shows the openssl pipeline's pin beside its own."""
    from tests.support.malformed import pem, rsa_leaf_without_null

    path = tmp_path / "c.pem"
    path.write_bytes(pem(rsa_leaf_without_null("nonull.test")))
    pub = openssl("x509", "-in", str(path), "-pubkey", "-noout")
    judged = openssl_pin(openssl("pkey", "-pubin", "-outform", "der", data=pub))
    entry = _entry(run, path)
    assert entry["spki_reencoded"] == {"sha256": judged}
    assert entry["spki"]["sha256"] != judged


def test_an_rsa_spki_with_its_null_has_one_pin(tmp_path: Path, run: Any) -> None:
    """The twin: the canonical encoding has no second pin, and no extra JSON field."""
    path, canonical = _without_null(tmp_path)
    path.write_bytes(canonical)
    entry = _entry(run, path)
    assert "spki_reencoded" not in entry
    assert entry["spki"]["sha256"] == openssl_pin(canonical)
    assert "spki*" not in run(["pin", str(path)]).stdout


PASSPHRASE = "correct horse battery staple"


@pytest.mark.parametrize(
    ("which", "args"),
    [
        ("pss", ["pkcs8", "-topk8", "-v2", "aes-256-cbc"]),
        ("pss", ["pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512",
                 "-outform", "der"]),
        ("ecx", ["pkcs8", "-topk8", "-v2", "aes-192-cbc"]),
        ("ecx", ["ec", "-aes256"]),
    ],
)  # fmt: skip
def test_encrypted_pss_and_explicit_curve_keys_pin_like_openssl(
    pss_key: Path,
    explicit_ec_key: Path,
    tmp_path: Path,
    run: Any,
    which: str,
    args: list[str],
) -> None:
    """Encrypted as openssl encrypts them (PBES2 or DEK-Info), the keys keep their own SPKI."""
    source = pss_key if which == "pss" else explicit_ec_key
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    sealed = tmp_path / "sealed.key"
    _sh(*args, "-in", str(source), "-passout", f"file:{secret}", "-out", str(sealed))
    result = run(["pin", "-o", "pins", "--passphrase-file", str(secret), str(sealed)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == _key_pin(source) + "\n"
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n")
    refused = run(["pin", "--passphrase-file", str(wrong), str(sealed)])
    assert refused.exit_code == 2  # the twin: a wrong passphrase opens nothing
    assert "wrong passphrase" in refused.stderr
