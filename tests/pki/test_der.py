"""pinctl's small DER reader and writer, judged by openssl's parser and by known encodings.

Pins hash bytes found by position in certificates, and spare keys are written with
hand-made DER: a length one octet off, or an OID arc read with the wrong base, is a
wrong pin or a file no other tool reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.pki import der
from tests.support.judges import openssl

OCTET_STRING = 0x04


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, "0400"),
        (127, "047f"),
        (128, "048180"),  # 0x80 alone would be BER's indefinite length, which DER forbids
        (255, "0481ff"),
        (256, "04820100"),
        (65_536, "0483010000"),
    ],
)
def test_lengths_are_written_in_the_shortest_form(tmp_path: Path, size: int, header: str) -> None:
    """The short form up to 127 octets, then the long form in as few octets as the length
    needs; openssl parses each element back with the same length."""
    element = der.encode(OCTET_STRING, b"\x01" * size)
    assert element[: len(header) // 2].hex() == header
    assert der.tlv(element, 0) == (OCTET_STRING, len(header) // 2, len(element))
    path = tmp_path / "element.der"
    path.write_bytes(element)
    parsed = openssl("asn1parse", "-inform", "DER", "-in", str(path)).decode()
    assert f"hl={len(header) // 2} l={size:4d} prim: OCTET STRING" in parsed


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_a_long_form_length_of_up_to_four_octets_is_read(count: int) -> None:
    """Four length octets (an element of up to 4 GiB) are the most pinctl reads."""
    element = bytes([OCTET_STRING, 0x80 | count]) + (5).to_bytes(count, "big") + b"hello"
    assert der.tlv(element, 0) == (OCTET_STRING, 2 + count, 2 + count + 5)


def test_length_octets_that_end_the_data_exactly_are_read() -> None:
    """The last length octet may be the data's last byte (an empty value); the twin, one
    octet short of what the header promises, is "cut-length" below."""
    assert der.tlv(b"\x04\x81\x00", 0) == (OCTET_STRING, 3, 3)
    assert der.tlv(b"\x30\x04\x04\x82\x00\x00", 2) == (OCTET_STRING, 6, 6)


@pytest.mark.parametrize(
    "element",
    [
        b"\x04\x85\x00\x00\x00\x00\x05hello",  # five length octets
        b"\x04\x80hello\x00\x00",  # BER's indefinite length
        b"\x04\x80" + b"x" * 128,  # the same, with 128 bytes after it: still no length
        b"\x04\x82\x00",  # length octets cut short
        b"\x04\x06hello",  # a value cut short
        b"\x04",  # no length at all
    ],
    ids=["five-octets", "indefinite", "indefinite-128", "cut-length", "cut-value", "tag-only"],
)
def test_lengths_der_does_not_allow_or_data_cannot_hold_are_refused(element: bytes) -> None:
    """Five length octets, the indefinite form, or fewer bytes than the header promises."""
    with pytest.raises(ValueError, match=r"short|bad length"):
        der.tlv(element, 0)


@pytest.mark.parametrize(
    ("value", "dotted"),
    [("2a864886f70d010101", "1.2.840.113549.1.1.1"), ("551d11", "2.5.29.17")],
)
def test_oids_read_in_dotted_form(value: str, dotted: str) -> None:
    """The first two arcs come out of one number (40 * first + second), as X.690 says."""
    assert der.oid_text(bytes.fromhex(value)) == dotted


@pytest.mark.parametrize(
    ("value", "dotted"),
    [("28", "1.0"), ("8837", "2.999"), ("27", "0.39"), ("50", "2.0"), ("2b0600", "1.3.6.0")],
)
def test_oids_no_one_named_read_as_openssl_prints_them(
    tmp_path: Path, value: str, dotted: str
) -> None:
    """At the edges of the first number (39, 40, 80, and past 80, where the first arc is 2
    and the second takes the rest), pinctl's dotted form is openssl's."""
    assert der.oid_text(bytes.fromhex(value)) == dotted
    path = tmp_path / "oid.der"
    path.write_bytes(der.encode(0x06, bytes.fromhex(value)))
    parsed = openssl("asn1parse", "-inform", "DER", "-in", str(path)).decode()
    assert parsed.rstrip().endswith(f":{dotted}")


@pytest.mark.parametrize("value", ["", "2a86", "80"], ids=["empty", "unfinished", "only-more"])
def test_an_oid_whose_last_arc_is_unfinished_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="bad OID"):
        der.oid_text(bytes.fromhex(value))


def _tbs(*fields: bytes) -> bytes:
    return der.encode(der.SEQUENCE, b"".join(fields))


SERIAL = der.encode(0x02, b"\x07")
ALGORITHM = der.encode(der.SEQUENCE, der.encode(0x06, bytes.fromhex("2a8648ce3d040302")))
NAME = der.encode(der.SEQUENCE, b"")
UTC = der.encode(0x17, b"491231235959Z")
GENERALIZED = der.encode(0x18, b"20500101000000Z")


def test_validity_is_read_as_stated_with_utc_years_widened() -> None:
    """UTCTime's two-digit year 49 is 2049 and 50 is 1950 (RFC 5280 4.1.2.5.1);
    GeneralizedTime is kept."""
    tbs = _tbs(SERIAL, ALGORITHM, NAME, der.encode(der.SEQUENCE, UTC + GENERALIZED))
    assert der.validity_text(tbs) == ("20491231235959Z", "20500101000000Z")
    fifty = der.encode(0x17, b"500101000000Z")
    tbs = _tbs(SERIAL, ALGORITHM, NAME, der.encode(der.SEQUENCE, fifty + UTC))
    assert der.validity_text(tbs) == ("19500101000000Z", "20491231235959Z")


def test_a_validity_without_two_times_is_refused() -> None:
    """The twin: one time where RFC 5280 has notBefore and notAfter."""
    tbs = _tbs(SERIAL, ALGORITHM, NAME, der.encode(der.SEQUENCE, UTC))
    with pytest.raises(ValueError, match="not a Validity"):
        der.validity_text(tbs)


def test_a_tbs_that_is_not_a_sequence_is_refused() -> None:
    """Positions are only counted inside a SEQUENCE: a SET of the same fields is refused."""
    fields = SERIAL + ALGORITHM + NAME + der.encode(der.SEQUENCE, UTC + GENERALIZED)
    assert der.validity_text(der.encode(der.SEQUENCE, fields))
    with pytest.raises(ValueError, match="not a SEQUENCE"):
        der.validity_text(der.encode(0x31, fields))


@pytest.mark.parametrize(("size", "shown"), [(160, 160), (161, 160), (400, 160), (20, 20)])
def test_a_reason_is_cut_to_160_characters(size: int, shown: int) -> None:
    """A library's reason goes into a one-line error: at most 160 characters of its first
    line, without a dangling space; a shorter one whole."""
    reason = der.plain_reason(ValueError(("word " * 100)[:size] + "\nsecond line"))
    assert reason == ("word " * 100)[:shown].rstrip()


@pytest.mark.parametrize(
    ("element", "reason"),
    [(b"\x04\x82\x01", "bad length"), (b"\x04\x05\x00", "short")],
    ids=["length-octets-cut", "value-cut"],
)
def test_what_is_cut_short_is_said(element: bytes, reason: str) -> None:
    """The reason names which part is missing (it reaches messages such as a trusted
    certificate's "unreadable certificate (bad length)"): the length octets, or the value."""
    with pytest.raises(ValueError, match=f"^{reason}$"):
        der.tlv(element, 0)
