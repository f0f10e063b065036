"""`pinctl plan` on real loopback hosts: every finding of SPEC.md section 10, each beside
its twin, the same host without the condition, which has no such finding."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Run
from tests.support.rotation import NOW, RotatingHost, pin_of
from tests.support.servers import LoopbackServer, closed_port

SPARE = str(compute(b"a backup key kept offline"))
"""A backup pin whose key no server presents."""


def write(tmp_path: Path, port: int, root: Path, *pins: str, defaults: str = "") -> Path:
    body = "".join(f"  {p},\n" for p in pins)
    text = (
        f'version = 1\n\n[defaults]\nca_file = "{root}"\n{defaults}\n'
        f'[[hosts]]\nhost = "localhost"\nport = {port}\npins = [\n{body}]\n'
    )
    path = tmp_path / "pins.toml"
    path.write_text(text)
    return path


def leaf(site: RotatingHost, **fields: Any) -> str:
    assert site.leaf is not None
    extra = "".join(
        f", {k} = {json.dumps(v) if isinstance(v, str) else v}" for k, v in fields.items()
    )
    return f'{{ pin = "{pin_of(site.leaf)}"{extra} }}'


def pin(value: str, **fields: Any) -> str:
    extra = "".join(
        f", {k} = {json.dumps(v) if isinstance(v, str) else v}" for k, v in fields.items()
    )
    return f'{{ pin = "{value}"{extra} }}'


def inter(site: RotatingHost) -> str:
    return f'{{ pin = "{pin_of(site.intermediate[0])}", level = "intermediate" }}'


SPARE_PIN = pin(SPARE, backup="true")


def plan(run: Run, path: Path, *args: str) -> tuple[int, dict[str, list[dict[str, Any]]], Any]:
    done = run(["plan", "--pin-file", str(path), "-o", "json", *args])
    assert done.stderr == "", done.stderr
    document = json.loads(done.stdout)
    [host] = document["hosts"]
    found: dict[str, list[dict[str, Any]]] = {}
    for item in host["findings"]:
        found.setdefault(item["finding"], []).append(item)
    assert document["exit_code"] == done.exit_code
    return done.exit_code, found, host


def fixed(raw: str) -> str:
    return raw.replace('"true"', "true").replace('"false"', "false")


class TestFindings:
    def test_clean_host_exits_0(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """Leaf and intermediate pinned, a spare backup: nothing to act on, exit 0."""
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
        code, found, host = plan(run, path)
        assert (code, found, host["status"]) == (0, {}, "pass")

    def test_no_backup(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """No backup = true pin off the live chain: no-backup, an action with its command."""
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site))
        code, found, _ = plan(run, path)
        assert code == 1
        [item] = found["no-backup"]
        assert item["severity"] == "action"
        assert item["command"].startswith(f"pinctl backup-keygen --host localhost:{server.port}")

    def test_backup_key_missing(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """A backup whose note names a key file that is gone, or holds another key, is
        found; the twin, whose file holds that very key, is not."""
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        keys = tmp_path / "keys"
        keys.mkdir()
        (keys / "b-1.pub.pem").write_bytes(public)
        right = str(compute(spki_der(key.public_key())))
        backups = [
            fixed(pin(right, backup="true", note="keys/b-1.pub.pem")),
            fixed(pin(SPARE, backup="true", note="keys/gone.key.pem")),
            fixed(pin(str(compute(b"x")), backup="true", note="keys/b-1.pub.pem")),
        ]
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site), *backups)
        code, found, _ = plan(run, path)
        assert code == 1
        messages = [f["message"] for f in found["backup-key-missing"]]
        assert len(messages) == 2
        assert "keys/gone.key.pem is missing" in messages[0]
        assert "holds another key" in messages[1]
        assert "no-backup" not in found  # the first backup is usable
        twin = write(tmp_path, server.port, root_pem, leaf(site), inter(site), backups[0])
        assert plan(run, twin)[:2] == (0, {})

    def test_an_encrypted_backup_key_is_judged_by_its_public_half(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """plan asks for no passphrase: an encrypted key file is judged by the NAME.pub.pem
        beside it, and without one it is present but not checkable, so no finding; the
        twin, a public half of another key, is found."""
        key = ec.generate_private_key(ec.SECP256R1())
        keys = tmp_path / "keys"
        keys.mkdir()
        sealed = serialization.BestAvailableEncryption(b"correct horse battery staple")
        (keys / "b-1.key.pem").write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, sealed)
        )
        backup = fixed(pin(str(compute(spki_der(key.public_key()))), backup="true",
                           note="keys/b-1.key.pem"))  # fmt: skip
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site), backup)
        assert plan(run, path)[:2] == (0, {})
        other = ec.generate_private_key(ec.SECP256R1()).public_key()
        (keys / "b-1.pub.pem").write_bytes(
            other.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        code, found, _ = plan(run, path)
        assert code == 1
        [item] = found["backup-key-missing"]
        assert "keys/b-1.key.pem holds another key" in item["message"]

    def test_backup_in_use(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """The server presenting a backup's key: backup-in-use, with the promote command."""
        assert site.leaf is not None
        path = write(
            tmp_path,
            server.port,
            root_pem,
            leaf(site, backup="true"),
            inter(site),
            fixed(SPARE_PIN),
        )
        path.write_text(fixed(path.read_text()))
        code, found, _ = plan(run, path)
        assert code == 1
        [item] = found["backup-in-use"]
        assert item["pins"] == item["certificates"] == [pin_of(site.leaf)]
        assert (
            item["command"] == f"pinctl promote localhost:{server.port} --pin {pin_of(site.leaf)}"
        )
        twin = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
        assert "backup-in-use" not in plan(run, twin)[1]

    def test_stale_pin_is_info(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """A pin of no served key that is no backup: stale-pin, info only, so exit 0."""
        old = str(compute(b"last year's key"))
        path = write(
            tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN), pin(old)
        )
        code, found, _ = plan(run, path)
        assert code == 0
        [item] = found["stale-pin"]
        assert (item["severity"], item["pins"]) == ("info", [old])
        assert item["command"] == f"pinctl remove localhost:{server.port} --pin {old}"
        twin = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
        assert "stale-pin" not in plan(run, twin)[1]

    def test_retired_in_use(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """A retired pin the server still presents: retired-in-use; absent, nothing."""
        retired = fixed(leaf(site, retired="true"))
        path = write(tmp_path, server.port, root_pem, retired, inter(site), fixed(SPARE_PIN))
        code, found, _ = plan(run, path)
        assert code == 1
        assert [f["severity"] for f in found["retired-in-use"]] == ["action"]
        gone = fixed(pin(str(compute(b"leaked key")), retired="true"))
        twin = write(
            tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN), gone
        )
        assert plan(run, twin)[:2] == (0, {})

    def test_leaf_only_has_a_deadline(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """Only the leaf pinned and no backup: leaf-only, due release_lead_days before the
        leaf expires; an intermediate pin beside it is the twin."""
        assert site.leaf is not None
        path = write(
            tmp_path, server.port, root_pem, leaf(site), defaults="release_lead_days = 20\n"
        )
        _, found, _ = plan(run, path)
        [item] = found["leaf-only"]
        expected = site.leaf.not_valid_after_utc.date() - timedelta(days=20)
        assert item["deadline"] == expected.isoformat()
        twin = write(tmp_path, server.port, root_pem, leaf(site), inter(site))
        assert "leaf-only" not in plan(run, twin)[1]

    def test_rotation_due(
        self, run: Run, tmp_path: Path, site: RotatingHost, root_pem: Path
    ) -> None:
        """A leaf older than rotate_days is due; a young one is not, until --at says later."""
        site.deploy(age_days=100)
        with site.serving() as server:
            path = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
            _, found, _ = plan(run, path)
            assert [f["finding"] for f in found["rotation-due"]] == ["rotation-due"]
        site.deploy(age_days=10, days_left=200)
        with site.serving() as server:
            path = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
            assert plan(run, path)[:2] == (0, {})
            later = (NOW + timedelta(days=85)).date().isoformat()
            code, found, _ = plan(run, path, "--at", later)
            assert code == 1
            assert "rotation-due" in found

    def test_pin_expiring(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """A pin expiring within warn_days (or before the leaf) is found with its date."""
        soon = (date.today() + timedelta(days=10)).isoformat()
        path = write(
            tmp_path,
            server.port,
            root_pem,
            leaf(site),
            inter(site).replace(" }", f", expires = {soon} }}"),
            fixed(SPARE_PIN),
        )
        _, found, _ = plan(run, path)
        [item] = found["pin-expiring"]
        assert item["deadline"] == soon
        twin = write(tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN))
        assert "pin-expiring" not in plan(run, twin)[1]

    def test_client_config(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """TrustKit with one pin would refuse to start: client-config; two pins, none."""
        one = write(tmp_path, server.port, root_pem, leaf(site))
        _, found, _ = plan(run, one, "--as", "trustkit")
        assert "TrustKit" in found["client-config"][0]["message"]
        assert "client-config" not in plan(run, one)[1]  # no client selected
        two = write(tmp_path, server.port, root_pem, leaf(site), fixed(SPARE_PIN))
        # (The live verdict still refuses `localhost` itself: TrustKit takes no single label.)
        [left] = plan(run, two, "--as", "trustkit")[1]["client-config"]
        assert "fewer than two pins" not in left["message"]
        assert left["message"].startswith("trustkit config-error: ")

    def test_client_config_from_the_pin_file_and_the_live_chain(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """The pin file's clients select as --as does, and a client verify --as would see
        refuse the live chain is a finding: a stale leaf pin beside a matching CA pin is
        curl's reject; the twin with the live leaf pinned has none."""
        stale = pin(str(compute(b"the leaf key before the rotation")))
        path = write(
            tmp_path, server.port, root_pem, stale, inter(site), fixed(SPARE_PIN),
            defaults='clients = ["curl"]',
        )  # fmt: skip
        _, found, _ = plan(run, path)
        [curl] = found["client-config"]
        assert curl["message"].startswith("curl reject: no leaf pin matches the served leaf")
        assert "pinctl verify --as curl" in curl["message"]
        assert "client-config" not in plan(run, path, "--as", "okhttp")[1]  # --as wins
        twin = write(
            tmp_path, server.port, root_pem, leaf(site), inter(site), fixed(SPARE_PIN),
            defaults='clients = ["curl"]',
        )  # fmt: skip
        assert "client-config" not in plan(run, twin)[1]


class TestRuns:
    def test_unreachable_host_exits_3(self, run: Run, tmp_path: Path, root_pem: Path) -> None:
        """A host that refuses the connection: status unreachable, exit 3 with no action."""
        path = write(
            tmp_path,
            closed_port(),
            root_pem,
            fixed(SPARE_PIN),
            fixed(pin(str(compute(b"another offline key")), backup="true")),
        )
        code, found, host = plan(run, path, "--timeout", "2")
        assert (code, host["status"]) == (3, "unreachable")
        assert found == {}

    def test_offline_chain(
        self, run: Run, tmp_path: Path, site: RotatingHost, root_pem: Path
    ) -> None:
        """--chain judges a saved chain without connecting; the same findings as live."""
        saved = site.save_chain(tmp_path / "chain.pem")
        path = write(tmp_path, closed_port(), root_pem, leaf(site, backup="true"), inter(site))
        path.write_text(fixed(path.read_text()))
        code, found, host = plan(run, path, "--chain", str(saved))
        assert (code, host["status"]) == (1, "pass")
        assert "backup-in-use" in found

    def test_table_names_the_fix(
        self, run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
    ) -> None:
        """The table shows each finding with the command to run."""
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site))
        done = run(["plan", "--pin-file", str(path)])
        assert done.exit_code == 1
        assert "action no-backup" in done.stdout.replace("  ", " ")
        assert f"$ pinctl backup-keygen --host localhost:{server.port}" in done.stdout

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["--at", "next tuesday"], "not an ISO 8601 date"),
            (["--as", "netscape"], "unknown client 'netscape'"),
            (["nothere.example"], "host 'nothere.example' is not in"),
        ],
    )
    def test_bad_input_exits_2(
        self, run: Run, tmp_path: Path, root_pem: Path, args: list[str], words: str
    ) -> None:
        """Bad --at, --as or HOST: one error line, exit 2, nothing contacted."""
        path = write(tmp_path, closed_port(), root_pem, fixed(SPARE_PIN))
        done = run(["plan", "--pin-file", str(path), *args])
        assert done.exit_code == 2
        assert words in done.stderr
        assert done.stderr.count("\n") == 1


def test_a_hung_host_costs_its_timeout_only(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """A silent server is a timeout (status timeout), while the host beside it is planned
    in the same run: hosts share verify's pool, each with its own deadline."""
    from tests.support.servers import hostile_server

    with hostile_server("silent") as hung:
        path = write(tmp_path, server.port, root_pem, leaf(site), inter(site))
        path.write_text(
            path.read_text()
            + f'\n[[hosts]]\nhost = "127.0.0.1"\nport = {hung.port}\n'
            + f"pins = [{fixed(SPARE_PIN)}]\n"
        )
        done = run(["plan", "--pin-file", str(path), "-o", "json", "--timeout", "0.5"])
    document = json.loads(done.stdout)
    statuses = {h["port"]: h["status"] for h in document["hosts"]}
    assert statuses == {server.port: "pass", hung.port: "timeout"}
    assert done.exit_code == 1  # the reached host has an action; 1 wins over 3


def test_verify_names_a_backup_match(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """verify labels a match on a backup as such and warns to promote it; the twin, a
    plain leaf pin, is labelled (leaf) without that warning."""
    backup = write(tmp_path, server.port, root_pem, fixed(leaf(site, backup="true")))
    done = run(["verify", "--pin-file", str(backup)])
    assert done.exit_code == 0
    assert "(leaf, backup)" in done.stdout
    assert "no longer a backup" in done.stdout
    plain = write(tmp_path, server.port, root_pem, leaf(site), fixed(SPARE_PIN))
    twin = run(["verify", "--pin-file", str(plain)])
    assert "(leaf)" in twin.stdout
    assert "no longer a backup" not in twin.stdout


def test_backup_keygen_key_files_are_checked(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """An encrypted key from backup-keygen is judged by its .pub.pem, with no passphrase:
    present, the plan is clean; deleted, it is backup-key-missing (and no usable backup)."""
    path = write(tmp_path, server.port, root_pem, leaf(site), inter(site))
    secret = tmp_path / "pass.txt"
    secret.write_text("a passphrase\n")
    made = run(
        [
            "backup-keygen", "--host", "localhost", "--count", "1", "--pin-file", str(path),
            "--out-dir", str(tmp_path / "keys"), "--passphrase-file", str(secret),
        ]
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert plan(run, path)[:2] == (0, {})
    (tmp_path / "keys" / "backup-1.key.pem").unlink()
    code, found, _ = plan(run, path)
    assert code == 1
    assert "keys/backup-1.key.pem is missing" in found["backup-key-missing"][0]["message"]
