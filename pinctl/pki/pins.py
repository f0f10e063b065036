"""Pins: parse every common spelling, compute them, and write the one canonical form.

A pin is ``ALG/BASE64`` (OkHttp, HPKP): standard padded base64 of a digest. It is kept
as bytes so that two spellings of the same digest compare equal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

from pinctl.errors import PinFormatError

HashAlg = Literal["sha1", "sha256", "sha384", "sha512"]
PinKind = Literal["spki", "cert"]

DIGEST_SIZES: dict[str, int] = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}
PRODUCIBLE: tuple[HashAlg, ...] = ("sha256", "sha384", "sha512")
"""sha1 is read from old OkHttp files and flagged as weak, never produced."""
PIN_KINDS: tuple[PinKind, ...] = get_args(PinKind)

_B64_LEN = {alg: 4 * ((size + 2) // 3) for alg, size in DIGEST_SIZES.items()}
_ALG_BY_B64_LEN = {n: alg for alg, n in _B64_LEN.items()}
_ALG_BY_HEX_LEN = {2 * size: alg for alg, size in DIGEST_SIZES.items()}
_EMPTY_DIGESTS = {hashlib.new(alg, b"").digest() for alg in DIGEST_SIZES}

# Patterns, not compiled objects: `re` compiles them on first use, so commands that
# never parse a pin (pin, fetch) do not pay for it at start-up.
_B64_STD = r"[A-Za-z0-9+/]*={0,2}"
_HEX = r"[0-9A-Fa-f]+"
_HEX_COLONS = r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+"
_PREFIXED = r"(?s)(?P<alg>[A-Za-z0-9-]+)(?P<sep>//?)(?P<value>.*)"
_HPKP = r'(?s)pin-(?P<alg>[A-Za-z0-9]+)\s*=\s*"?(?P<value>[^"]*)"?\s*;?'


@dataclass(frozen=True, order=True)
class Pin:
    """A digest and the algorithm that made it; `str()` gives ``sha256/BASE64``."""

    alg: HashAlg
    digest: bytes

    def __str__(self) -> str:
        return f"{self.alg}/{self.base64}"

    @property
    def base64(self) -> str:
        return base64.b64encode(self.digest).decode("ascii")

    @property
    def weak(self) -> bool:
        """sha1 pins still match old OkHttp configurations but are collision-prone."""
        return self.alg == "sha1"

    @classmethod
    def parse(cls, text: str) -> Pin:
        """Read any spelling of SPEC.md section 1, or raise `PinFormatError` naming the value."""
        return parse_pin(text)


def compute(data: bytes, alg: HashAlg = "sha256") -> Pin:
    """Hash DER bytes (a SubjectPublicKeyInfo or a whole certificate) into a pin."""
    return Pin(alg, hashlib.new(alg, data).digest())


def parse_pin(text: str) -> Pin:
    canonical = _canonical(text)
    if canonical is not None:
        return canonical
    shown = _shown(text)
    value = text.strip()
    if not value:
        raise PinFormatError("empty pin: expected sha256/BASE64 (44 characters of base64)")
    alg: str | None = None
    if value.lower().count("pin-") > 1 or "max-age" in value.lower():
        raise PinFormatError(
            f"pin {shown} looks like a whole Public-Key-Pins header; give one pin at a time, "
            'e.g. pin-sha256="BASE64"'
        )
    hpkp = re.fullmatch(_HPKP, value)
    prefixed = re.fullmatch(_PREFIXED, value)
    if hpkp:
        alg, value = hpkp["alg"].lower(), hpkp["value"].strip()
    elif prefixed and prefixed["alg"].lower().replace("-", "") in _known_or_hashlike():
        alg, value = prefixed["alg"].lower().replace("-", ""), prefixed["value"].strip()
        if prefixed["sep"] == "//" and len("/" + value) == _B64_LEN.get(alg, -1):
            # "sha256//AB..." is curl's spelling, but also ours for base64 that starts with "/".
            value = "/" + value
    if alg is not None and alg not in DIGEST_SIZES:
        raise PinFormatError(
            f"pin {shown}: unknown hash algorithm {alg!r}; use sha256, sha384 or sha512"
        )
    digest, alg = _decode(value, alg, shown)
    pin = Pin(alg, digest)  # type: ignore[arg-type]  # alg is checked against DIGEST_SIZES
    _refuse_non_pins(pin, shown)
    return pin


def _canonical(text: str) -> Pin | None:
    """``sha256/BASE64`` exactly as pinctl writes it: verify reads hundreds, so they skip
    the patterns that tell the other spellings apart. Anything else is None."""
    alg, _, value = text.partition("/")
    if _B64_LEN.get(alg) != len(value) or not value.isascii():  # no slash: value is empty
        return None
    try:  # lenient: the re-encoding below refuses whatever it let through
        digest = base64.b64decode(value)
    except binascii.Error:
        return None
    if len(digest) != DIGEST_SIZES[alg] or base64.b64encode(digest).decode("ascii") != value:
        return None
    pin = Pin(alg, digest)  # type: ignore[arg-type]  # alg is a key of DIGEST_SIZES
    _refuse_non_pins(pin, _shown(text))
    return pin


def _known_or_hashlike() -> set[str]:
    """Words that, before a slash, mean "this is an algorithm" rather than base64 data."""
    return {*DIGEST_SIZES, "md5", "sha224", "sha3256", "sha3512", "blake2b", "blake2s"}


def _decode(value: str, alg: str | None, shown: str) -> tuple[bytes, str]:
    if re.fullmatch(_HEX_COLONS, value) or (
        re.fullmatch(_HEX, value)
        and len(value) in _ALG_BY_HEX_LEN
        and (alg is None or len(value) == 2 * DIGEST_SIZES[alg])
    ):
        raw = bytes.fromhex(value.replace(":", ""))
        guessed = alg or {n // 2: a for n, a in _ALG_BY_HEX_LEN.items()}.get(len(raw))
        if guessed is None:
            raise PinFormatError(
                f"pin {shown}: hex value has {len(raw)} bytes, which is no known digest size "
                "(sha256 has 32)"
            )
        return _check_size(raw, guessed, shown), guessed
    if "-" in value or "_" in value:
        raise PinFormatError(
            f"pin {shown}: uses URL-safe base64 ('-' or '_'); pins use standard base64 "
            "with '+' and '/'"
        )
    if not re.fullmatch(_B64_STD, value):
        raise PinFormatError(f"pin {shown}: not base64 or hex; expected sha256/BASE64")
    if len(value) % 4:
        raise PinFormatError(
            f"pin {shown}: base64 of length {len(value)} is not padded to a multiple of 4; "
            "was '=' padding dropped or the value truncated?"
        )
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PinFormatError(f"pin {shown}: invalid base64 ({exc})") from None
    if base64.b64encode(raw).decode("ascii") != value:
        # The last character carries bits that decoding drops: two spellings, one digest.
        # curl compares pins as text, so only the canonical one is accepted.
        raise PinFormatError(
            f"pin {shown}: not canonical base64 (its last character has stray low bits); "
            f"was it mistyped? The canonical spelling is {base64.b64encode(raw).decode()}"
        )
    if alg is None:
        alg = _ALG_BY_B64_LEN.get(len(value))
        if alg is None:
            raise PinFormatError(
                f"pin {shown}: {len(raw)} bytes is no known digest size; "
                "write it as sha256/BASE64 (a sha256 pin has 32 bytes, 44 base64 characters)"
            )
    return _check_size(raw, alg, shown), alg


def _check_size(raw: bytes, alg: str, shown: str) -> bytes:
    want = DIGEST_SIZES[alg]
    if len(raw) != want:
        raise PinFormatError(
            f"pin {shown} has {len(raw)} bytes, a {alg} pin has {want}; was it truncated "
            "or copied from another algorithm?"
        )
    return raw


def _refuse_non_pins(pin: Pin, shown: str) -> None:
    if pin.digest in _EMPTY_DIGESTS:
        raise PinFormatError(
            f"pin {shown} is the {pin.alg} hash of empty input, not of a key: the command "
            "that produced it read nothing (a failed openssl pipeline?)"
        )
    if len(set(pin.digest)) == 1:
        raise PinFormatError(
            f"pin {shown} is a placeholder (every byte is {pin.digest[0]:#04x}); "
            "replace it with a real pin from `pinctl fetch` or `pinctl pin`"
        )


def _shown(text: str) -> str:
    """Quote a user value for an error message without letting it flood the line."""
    text = text.strip()
    return repr(text if len(text) <= 100 else text[:97] + "...")
