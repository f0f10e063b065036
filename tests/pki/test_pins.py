"""Pin spellings: every accepted form reads back to the same digest, every bad one is named."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import PinFormatError
from pinctl.pki.pins import DIGEST_SIZES, PRODUCIBLE, Pin, compute, parse_pin

ALGS = st.sampled_from(PRODUCIBLE)


@st.composite
def pins(draw: st.DrawFn) -> Pin:
    alg = draw(ALGS)
    digest = draw(st.binary(min_size=DIGEST_SIZES[alg], max_size=DIGEST_SIZES[alg]))
    if len(set(digest)) == 1 or digest == hashlib.new(alg, b"").digest():
        digest = hashlib.new(alg, digest).digest()  # keep clear of the refused non-pins
    return Pin(alg, digest)


@given(pins())
def test_every_spelling_reads_back_to_the_same_pin(pin: Pin) -> None:
    """ALG/BASE64, curl's ALG//BASE64, HPKP, ALG/HEX, bare base64 and hex all give the same pin."""
    b64 = pin.base64
    spellings = [
        str(pin),
        f"{pin.alg}//{b64}",
        f'pin-{pin.alg}="{b64}"',
        f"  {pin}  ",
        b64,
        pin.digest.hex(),
        pin.digest.hex().upper(),
        f"{pin.alg}/{pin.digest.hex()}",
        f"{pin.alg.upper()}/{pin.digest.hex().upper()}",
        ":".join(f"{b:02X}" for b in pin.digest),
    ]
    for text in spellings:
        assert parse_pin(text) == pin, text
    assert str(parse_pin(str(pin))) == str(pin)


def test_a_base64_value_starting_with_slash_is_not_mistaken_for_curls_form() -> None:
    """sha256//AB... is curl's spelling, and also ours when the base64 starts with '/'."""
    pin = Pin("sha256", b"\xfc" + bytes(range(1, 32)))
    assert str(pin).startswith("sha256//")
    assert parse_pin(str(pin)) == pin
    assert parse_pin("sha256//" + pin.base64) == pin


def test_output_is_standard_padded_base64_like_openssl() -> None:
    """The written form is sha256/ plus 44 characters of standard, padded base64."""
    pin = compute(b"some SubjectPublicKeyInfo")
    expected = base64.b64encode(hashlib.sha256(b"some SubjectPublicKeyInfo").digest()).decode()
    assert str(pin) == f"sha256/{expected}"
    assert len(pin.base64) == 44
    assert pin.base64.endswith("=")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty pin"),
        ("md5/1B2M2Y8AsgTpgAmY7PhCfg==", "unknown hash algorithm 'md5'"),
        ("sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E", "not padded"),
        ("sha256/r_mIkG3eEpVdm-u_ko_cwxzOMo1bk4TyHIlByibiA5E=", "URL-safe"),
        ("sha256/r_mIkG3eEpVdm+u_ko_cwxzOMo1bk4TyHIlByibiA5E=", "URL-safe"),  # '_' alone
        ("sha256/r/mIkG3eEpVdm-u/ko/cwxzOMo1bk4TyHIlByibiA5E=", "URL-safe"),  # '-' alone
        ("sha256/" + base64.b64encode(bytes(range(1, 32))).decode(), "has 31 bytes, a sha256 pin"),
        ("sha384/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=", "a sha384 pin has 48"),
        ("sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5F=", "not canonical base64"),
        ("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "hash of empty input"),
        ("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "placeholder"),
        ("sha256/" + base64.b64encode(b"\xff" * 32).decode(), "placeholder"),
        ("hello world", "not base64 or hex"),
        ("sha256/" + "A" * 43 + "\u00e9", "not base64 or hex"),
        ('pin-sha256="r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="; max-age=60', "whole Public"),
        (
            'pin-sha256="r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="; '
            'pin-sha256="YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="',
            "whole Public",
        ),
        ("ab:cd:ef", "no known digest size"),
    ],
)
def test_bad_pins_are_refused_with_the_reason(text: str, words: str) -> None:
    """Each malformed or known non-pin value is an error that names it and says why."""
    with pytest.raises(PinFormatError) as caught:
        parse_pin(text)
    assert words in str(caught.value)
    if text.strip():
        assert text.strip()[:40] in str(caught.value)


@pytest.mark.parametrize(
    ("text", "shown"), [("z" * 100, "z" * 100), ("z" * 101, "z" * 97 + "...")], ids=["100", "101"]
)
def test_a_bad_pin_is_quoted_whole_up_to_100_characters(text: str, shown: str) -> None:
    """A mistyped pin is echoed in full; a pasted file is cut at 97 characters and an
    ellipsis, so the error stays one line."""
    with pytest.raises(PinFormatError) as caught:
        parse_pin(text)
    assert repr(shown) in str(caught.value)


def test_sha1_is_read_but_flagged_weak() -> None:
    """Old OkHttp files carry sha1 pins: they parse, and say they are weak."""
    pin = parse_pin("sha1/" + base64.b64encode(hashlib.sha1(b"k").digest()).decode())  # noqa: S324
    assert pin.alg == "sha1"
    assert pin.weak
    assert not compute(b"k").weak


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_the_clean_error(text: str) -> None:
    """Whatever a user pastes, the parser answers a pin or PinFormatError, nothing else."""
    try:
        pin = parse_pin(text)
    except PinFormatError:
        return
    assert parse_pin(str(pin)) == pin


B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@given(ALGS, st.data())
def test_the_written_form_reads_back_exactly_or_is_refused(alg: str, data: st.DataObject) -> None:
    """ALG/ + base64 of the right length (how pin files are written, read on every verify):
    accepted exactly when it is the canonical base64 of a real digest, and then unchanged."""
    size = 4 * ((DIGEST_SIZES[alg] + 2) // 3)
    value = data.draw(st.text(alphabet=B64_ALPHABET, min_size=size, max_size=size))
    text = f"{alg}/{value}"
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        digest = b""
    canonical = len(digest) == DIGEST_SIZES[alg] and base64.b64encode(digest).decode() == value
    real = canonical and len(set(digest)) > 1 and digest != hashlib.new(alg, b"").digest()
    try:
        pin = parse_pin(text)
    except PinFormatError:
        assert not real, text
        return
    assert real, text
    assert str(pin) == text
