"""Bad CT input: malformed SCT lists, lists that are not v3, keys that do not parse, SCTs of
unknown versions or algorithms. Each is a warning or an error naming what is wrong, never
a traceback."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinctl.ct import loglist
from pinctl.ct.report import evaluate
from pinctl.ct.sct import SctListError, parse_list
from pinctl.errors import InputError
from tests.support.ct import NOW, MintCa, MintLog, Stamp, log_list, sct_list


@pytest.fixture(scope="module")
def ca() -> MintCa:
    return MintCa()


@pytest.fixture(scope="module")
def log() -> MintLog:
    return MintLog("A 2026", "Operator A")


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_bytes_parse_or_raise_the_clean_error(data: bytes) -> None:
    """Whatever bytes stand where an SCT list should be, parsing ends in SCTs or SctListError."""
    with contextlib.suppress(SctListError):
        parse_list(data, "embedded")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\x00", "cut short"),
        (b"\x00\x09\x00\x03abc", "says 9 bytes but holds 5"),
        (b"\x00\x02\x00\x00", "SCT 1 is empty"),
        (b"\x00\x04\x00\x02\x00\x01", "SCT 1 is cut short"),
    ],
)
def test_a_malformed_embedded_list_is_a_warning(
    ca: MintCa, log: MintLog, tmp_path: Path, raw: bytes, words: str
) -> None:
    """A leaf whose SCT extension holds a broken list: a warning naming it, no SCTs."""
    leaf, _ = ca.leaf(raw_list=raw)
    listed = loglist.load(log_list([log], tmp_path / "l.json"))
    report = evaluate(leaf, ca.cert, None, listed, NOW)
    assert report.scts == ()
    assert any("embedded SCT list is malformed" in w and words in w for w in report.warnings)
    assert report.chrome.compliant is False


def test_an_sct_of_an_unknown_version_is_skipped_by_name(
    ca: MintCa, log: MintLog, tmp_path: Path
) -> None:
    """A v2 SCT beside a v1 one: the v1 one is judged, the other named in a warning."""
    other = MintLog("B", "Operator B")
    leaf, _ = ca.leaf([Stamp(log), Stamp(other, version=1)])
    listed = loglist.load(log_list([log, other], tmp_path / "l.json"))
    report = evaluate(leaf, ca.cert, None, listed, NOW)
    assert [s.signature for s in report.scts] == ["valid"]
    assert "embedded SCT 2 has version 1, not v1; it is ignored" in report.warnings


def test_an_sct_with_an_unknown_hash_algorithm_is_invalid(
    ca: MintCa, log: MintLog, tmp_path: Path
) -> None:
    """An SCT claiming SHA-384 (not allowed by RFC 6962) is invalid, with a warning naming it."""
    leaf, _ = ca.leaf([Stamp(log, hash_alg=5)])
    listed = loglist.load(log_list([log], tmp_path / "l.json"))
    report = evaluate(leaf, ca.cert, None, listed, NOW)
    assert [s.signature for s in report.scts] == ["invalid"]
    assert any("SCT 1 from A 2026 uses hash 5" in w for w in report.warnings)


def test_a_log_list_that_is_not_json(tmp_path: Path) -> None:
    """The error names the file and says what to do."""
    path = tmp_path / "list.json"
    path.write_text("<html>not found</html>")
    with pytest.raises(InputError, match=r"CT log list .*list.json is not JSON .*download"):
        loglist.load(path)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"logs": []},
        {"operators": [{"name": "x", "id": 0}]},  # v1: operators beside a flat logs array
        {"operators": "x"},
    ],
)
def test_a_log_list_that_is_not_v3(tmp_path: Path, document: object) -> None:
    """JSON of another shape (a v1 list, an array) is refused, naming the file."""
    path = tmp_path / "list.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"is not a v3 log list"):
        loglist.load(path)


def test_a_missing_log_list(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"does not exist"):
        loglist.load(tmp_path / "nope.json")


def test_a_log_whose_key_does_not_parse_is_left_out_by_name(log: MintLog, tmp_path: Path) -> None:
    """One bad entry does not refuse the list: the others are read, the bad one is named."""
    path = log_list([log], tmp_path / "l.json")
    document = json.loads(path.read_text())
    document["operators"][0]["logs"].append(
        {"description": "Broken log", "log_id": "AAAA" * 10 + "AAA=", "key": "AAAA"}
    )
    document["operators"][0]["logs"].append({"description": "No id"})
    path.write_text(json.dumps(document))
    listed = loglist.load(path)
    assert list(listed.logs) == [log.log_id]
    assert any("'Broken log' has a key that does not parse" in w for w in listed.warnings)
    assert any("'No id' has no base64 log_id and key" in w for w in listed.warnings)


def test_a_bad_timestamp_is_a_warning(log: MintLog, tmp_path: Path) -> None:
    path = log_list([log], tmp_path / "l.json", log_list_timestamp="yesterday")
    listed = loglist.load(path)
    assert listed.timestamp is None
    assert any("'yesterday' is not a time" in w for w in listed.warnings)


def test_sct_list_of_many(ca: MintCa, log: MintLog) -> None:
    """The list encoder and parser agree on lengths over 255 bytes (two-byte prefixes)."""
    body = sct_list([b"\x00" + b"x" * 300])
    with pytest.raises(SctListError, match="cut short"):
        parse_list(body, "ocsp")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["operators", "logs", "tiled_logs", "name", "log_id", "key", "state"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(_JSON)
@settings(max_examples=200, deadline=None)
def test_any_json_reads_as_a_list_or_the_clean_error(document: object) -> None:
    """Whatever JSON a file holds, reading it gives a list or an InputError, nothing else."""
    with contextlib.suppress(InputError):
        loglist.parse(json.dumps(document).encode(), Path("list.json"))
