"""The schema declared once: it matches the model, and it is what reader, writer and list use."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pinctl.pinfile import schema
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pinfile.reader import loads
from pinctl.pinfile.writer import dumps
from tests.support.pinfiles import COMMENTED

MODELS: dict[schema.Scope, type] = {
    "top": PinFile,
    "defaults": Defaults,
    "host": HostEntry,
    "pin": PinEntry,
}
NOT_IN_THE_FILE = {"path", "line"}
"""Model fields pinctl knows but the file does not spell: where it is, and on which line."""


def _default(field: dataclasses.Field[Any]) -> object:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def drift(scope: schema.Scope, model: type) -> list[str]:
    """Every way the schema's rows for `scope` and the model's fields disagree."""
    fields = {f.name: f for f in dataclasses.fields(model) if f.name not in NOT_IN_THE_FILE}
    keys = {k.name: k for k in schema.keys(scope)}
    problems = [f"{name}: in the model, not the schema" for name in fields.keys() - keys.keys()]
    problems += [f"{name}: in the schema, not the model" for name in keys.keys() - fields.keys()]
    if list(fields) != [k for k in keys if k in fields]:
        problems.append(f"order: model {list(fields)}, schema {list(keys)}")
    for name in fields.keys() & keys.keys():
        key, field = keys[name], fields[name]
        expected = _default(field)
        if not key.nested and not key.required and key.default != expected:
            problems.append(f"{name}: schema default {key.default!r}, model {expected!r}")
    return problems


@pytest.mark.parametrize("scope", list(MODELS))
def test_the_schema_matches_the_model(scope: schema.Scope) -> None:
    """Each scope's keys are the model's fields, in the same order, with the same defaults."""
    assert drift(scope, MODELS[scope]) == []


def test_drift_is_found() -> None:
    """Failing twin: a model field the schema lacks, or another default, is reported."""
    grown = dataclasses.make_dataclass(
        "Grown", [("warn_days", int, dataclasses.field(default=7)), ("retired", bool, False)]
    )
    problems = drift("defaults", grown)
    assert "retired: in the model, not the schema" in problems
    assert "warn_days: schema default 30, model 7" in problems
    assert "min_tls: in the schema, not the model" in problems


def test_each_key_is_declared_once_per_scope() -> None:
    """A second row for one key of one scope would be dead code; there is none."""
    rows = [(k.scope, k.name) for k in schema.KEYS]
    assert len(rows) == len(set(rows))


def test_what_add_may_set_comes_from_the_schema() -> None:
    """`add` may set exactly the host keys the schema marks editable, never host or port."""
    assert tuple(k.name for k in schema.keys("host") if k.editable) == schema.EDITABLE_FIELDS
    assert {"host", "port", "pins"}.isdisjoint(schema.EDITABLE_FIELDS)
    assert "verify_chain" in schema.EDITABLE_FIELDS


@pytest.mark.parametrize("scope", ["defaults", "host", "pin"])
def test_the_reader_allows_exactly_the_schema_keys(scope: schema.Scope) -> None:
    """The message for an unknown key lists the schema's keys for that table, in order."""
    tables = {
        "defaults": "version = 1\n[defaults]\nbogus = 1\n",
        "host": 'version = 1\n[[hosts]]\nhost = "a.test"\nbogus = 1\n',
        "pin": 'version = 1\n[[hosts]]\nhost = "a.test"\npins = [{ bogus = 1 }]\n',
    }
    with pytest.raises(Exception, match="allowed: ") as caught:
        loads(tables[scope])
    assert str(caught.value).endswith("allowed: " + ", ".join(schema.names(scope)))


def test_the_writer_leaves_out_what_equals_the_schema_default() -> None:
    """A host of defaults is written as host and pins only; a changed key is written."""
    plain = dumps(PinFile(Path("pins.toml"), hosts=(HostEntry("a.test"),)))
    assert plain == 'version = 1\n\n[[hosts]]\nhost = "a.test"\npins = []\n'
    changed = dumps(PinFile(Path("pins.toml"), hosts=(HostEntry("a.test", verify_chain=False),)))
    assert "verify_chain = false\n" in changed


def test_list_json_and_export_json_show_the_same_keys(run: Any, tmp_path: Path) -> None:
    """`list -o json` (from the schema) and `export --format json` agree on every key."""
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED.replace("# ca_file", "ca_file"))
    listed = json.loads(run(["list", "-o", "json", "--pin-file", str(path)]).stdout)
    exported = json.loads(run(["export", "--format", "json", "--pin-file", str(path)]).stdout)
    assert listed["defaults"] == exported["defaults"]
    assert listed["defaults"]["ca_file"] == "certs/internal-root.pem"
    for shown, plain in zip(listed["hosts"], exported["hosts"], strict=True):
        assert {k: v for k, v in shown.items() if k in plain and k != "pins"} == {
            k: v for k, v in plain.items() if k != "pins"
        }
        for pin, plain_pin in zip(shown["pins"], plain["pins"], strict=True):
            assert {k: pin[k] for k in plain_pin} == plain_pin


@pytest.mark.parametrize(
    ("written", "shown"),
    [("certs/root.pem", "certs/root.pem"), ("../elsewhere/root.pem", "../elsewhere/root.pem"),
     ("/etc/ssl/root.pem", "/etc/ssl/root.pem")],
    ids=["beside", "up-a-directory", "absolute"],
)  # fmt: skip
def test_list_json_shows_paths_as_the_pin_file_writes_them(
    run: Any, tmp_path: Path, written: str, shown: str
) -> None:
    """A ca_file is shown as the pin file writes it: relative to the pin file (up a
    directory too), or absolute, not as this machine's resolved path."""
    home = tmp_path / "conf"
    home.mkdir()
    path = home / "pins.toml"
    path.write_text(f'version = 1\n[defaults]\nca_file = "{written}"\n')
    listed = json.loads(run(["list", "-o", "json", "--pin-file", str(path)]).stdout)
    assert listed["defaults"]["ca_file"] == shown


@pytest.mark.parametrize(
    "value", ["10.0.0.5", "b.test:1", "b.test:65535", "[::1]:443", "[2001:db8::5]"]
)
def test_connect_to_takes_an_address_with_any_port_in_range(value: str) -> None:
    """The twins of the connect_to refusals (port 0, 65536 and 99999, see MALFORMED): an
    address or name, with a port from 1 to 65535, loads as written."""
    pins = loads(f'version = 1\n[[hosts]]\nhost = "a.test"\nconnect_to = "{value}"\npins = []\n')
    assert pins.hosts[0].connect_to == value
