"""The pin-file commands issue 15 changed: remove with several pins or --stale, backup-keygen
--host resolved like every command, add --from, and verify --at."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pinctl.pinfile.reader import load
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Invocation, Run
from tests.support.rotation import RotatingHost, pin_of

A, B, C = (str(compute(x)) for x in (b"key a", b"key b", b"key c"))


@pytest.fixture
def site() -> RotatingHost:
    host = RotatingHost()
    host.deploy()
    return host


def pins_toml(tmp_path: Path, port: int = 20143, *pins: str, extra: str = "") -> Path:
    body = "".join(f'  {{ pin = "{p}" }},\n' for p in pins)
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n{extra}\n# ours\n[[hosts]]\nhost = "localhost"\nport = {port}\n'
        f"pins = [\n{body}]\n"
    )
    return path


class TestRemove:
    def test_several_pins_go_at_once(self, run: Run, tmp_path: Path) -> None:
        """`remove --pin A --pin B` removes both, and C stays."""
        path = pins_toml(tmp_path, 20143, A, B, C)
        done = run(["remove", "localhost", "--pin", A, "--pin", B, "--pin-file", str(path)])
        assert done.exit_code == 0, done.stderr
        [host] = load(path).hosts
        assert [str(p.pin) for p in host.pins] == [C]
        assert "# ours" in path.read_text()

    def test_an_unknown_pin_among_them_changes_nothing(self, run: Run, tmp_path: Path) -> None:
        """The failing twin: one pin not pinned refuses the whole removal (exit 2)."""
        path = pins_toml(tmp_path, 20143, A, C)
        before = path.read_bytes()
        done = run(["remove", "localhost", "--pin", A, "--pin", B, "--pin-file", str(path)])
        assert done.exit_code == 2
        assert f"pin {B} is not pinned" in done.stderr
        assert path.read_bytes() == before

    def test_stale_pins(self, run: Run, tmp_path: Path, site: RotatingHost) -> None:
        """--stale shows and (without --dry-run) removes the pins plan calls stale."""
        assert site.leaf is not None
        root = site.write_root(tmp_path / "root.pem")
        live = pin_of(site.leaf)
        with site.serving() as server:
            path = pins_toml(
                tmp_path, server.port, live, A, extra=f'[defaults]\nca_file = "{root}"\n'
            )
            args = ["remove", "localhost", "--stale", "--pin-file", str(path)]
            dry = run([*args, "--dry-run"])
            assert dry.exit_code == 0, dry.stderr
            assert f"- localhost:{server.port} {A}" in dry.stdout
            assert len(load(path).hosts[0].pins) == 2
            done = run(args)
            assert done.exit_code == 0
            assert [str(p.pin) for p in load(path).hosts[0].pins] == [live]
            nothing = run(args)
            assert (nothing.exit_code, nothing.stdout) == (0, "")
            assert "no stale pins" in nothing.stderr

    def test_stale_and_pin_conflict(self, run: Run, tmp_path: Path) -> None:
        """--stale chooses its own pins: with --pin it is a usage error."""
        path = pins_toml(tmp_path, 20143, A)
        done = run(["remove", "localhost", "--stale", "--pin", A, "--pin-file", str(path)])
        assert done.exit_code == 2


class TestBackupKeygenHost:
    def _keygen(self, run: Run, tmp_path: Path, path: Path, host: str, *extra: str) -> Invocation:
        return run(
            [
                "backup-keygen", "--no-encrypt", "--count", "1", "--host", host,
                "--pin-file", str(path), "--out-dir", str(tmp_path / "keys"), *extra,
            ]
        )  # fmt: skip

    def test_host_without_port_names_the_one_entry(self, run: Run, tmp_path: Path) -> None:
        """`--host localhost` adds to the file's localhost:20143, never a second localhost."""
        path = pins_toml(tmp_path, 20143, A)
        done = self._keygen(run, tmp_path, path, "localhost")
        assert done.exit_code == 0, done.stderr
        [host] = load(path).hosts
        assert host.port == 20143
        assert [p.backup for p in host.pins] == [False, True]
        assert host.pins[1].note == "keys/backup-1.key.pem"

    def test_unknown_host_is_refused_before_any_key(self, run: Run, tmp_path: Path) -> None:
        """A mistyped host: exit 2 naming the hosts the file has, no key written."""
        path = pins_toml(tmp_path, 20143, A)
        before = path.read_bytes()
        done = self._keygen(run, tmp_path, path, "locahlost")
        assert done.exit_code == 2
        assert "it has localhost:20143" in done.stderr
        assert "--create-host" in done.stderr
        assert path.read_bytes() == before
        assert not (tmp_path / "keys").exists()

    def test_create_host(self, run: Run, tmp_path: Path) -> None:
        """The twin: --create-host adds the new host with the backup."""
        path = pins_toml(tmp_path, 20143, A)
        done = self._keygen(run, tmp_path, path, "new.example:8443", "--create-host")
        assert done.exit_code == 0, done.stderr
        assert [h.label for h in load(path).hosts] == ["localhost:20143", "new.example:8443"]


def _csr_and_key(tmp_path: Path) -> tuple[Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "next.example")]))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "next.csr"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path, str(compute(spki_der(key.public_key())))


class TestAddFrom:
    def test_levels_are_chosen_from_the_material(self, run: Run, tmp_path: Path) -> None:
        """A CSR is a leaf, a CA certificate an intermediate, a self-signed root a root."""
        ca = trustme.CA()
        child = ca.create_child_ca()
        csr, csr_pin = _csr_and_key(tmp_path)
        (tmp_path / "inter.pem").write_bytes(child.cert_pem.bytes())
        (tmp_path / "root.pem").write_bytes(ca.cert_pem.bytes())
        path = pins_toml(tmp_path, 20143, A)
        files = ["--from", str(csr), "--from", str(tmp_path / "inter.pem")]
        files += ["--from", str(tmp_path / "root.pem")]
        done = run(["add", "localhost", *files, "--pin-file", str(path)])
        assert done.exit_code == 0, done.stderr
        [host] = load(path).hosts
        assert [(p.level, p.note) for p in host.pins[1:]] == [
            ("leaf", "next.csr"),
            ("intermediate", "inter.pem"),
            ("root", "root.pem"),
        ]
        assert str(host.pins[1].pin) == csr_pin
        again = run(["add", "localhost", *files, "--pin-file", str(path)])
        assert again.exit_code == 0
        assert "unchanged" in again.stderr

    def test_encrypted_key_and_backup(self, run: Run, tmp_path: Path) -> None:
        """An encrypted private key with --passphrase-env, recorded as a backup."""
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hsm secret"),
        )
        (tmp_path / "next.key.pem").write_bytes(pem)
        path = pins_toml(tmp_path, 20143, A)
        args = ["add", "localhost", "--from", str(tmp_path / "next.key.pem"), "--backup"]
        done = run(
            [*args, "--passphrase-env", "HSM_PASS", "--pin-file", str(path)],
            env={"HSM_PASS": "hsm secret"},
        )
        assert done.exit_code == 0, done.stderr
        added = load(path).hosts[0].pins[1]
        assert (added.backup, str(added.pin)) == (True, str(compute(spki_der(key.public_key()))))
        assert "hsm secret" not in done.stdout + done.stderr + path.read_text()

    def test_a_file_without_a_key_is_refused(self, run: Run, tmp_path: Path) -> None:
        """A file that holds no certificate, key or CSR: exit 2, the pin file untouched."""
        (tmp_path / "notes.txt").write_text("the next key is in the safe\n")
        path = pins_toml(tmp_path, 20143, A)
        before = path.read_bytes()
        done = run(
            ["add", "localhost", "--from", str(tmp_path / "notes.txt"), "--pin-file", str(path)]
        )
        assert done.exit_code == 2
        assert "notes.txt" in done.stderr
        assert path.read_bytes() == before


class TestAt:
    def test_verify_at_judges_pin_expiry_then(
        self, run: Run, tmp_path: Path, site: RotatingHost
    ) -> None:
        """A pin that expires in 5 days holds today and fails --at a day after expiry."""
        assert site.leaf is not None
        root = site.write_root(tmp_path / "root.pem")
        chain = site.save_chain(tmp_path / "chain.pem")
        expires = date.today() + timedelta(days=5)
        path = tmp_path / "pins.toml"
        path.write_text(
            f'version = 1\n[defaults]\nca_file = "{root}"\n[[hosts]]\nhost = "localhost"\n'
            f'pins = [{{ pin = "{pin_of(site.leaf)}", expires = {expires} }}]\n'
        )
        args = ["verify", "--chain", str(chain), "--pin-file", str(path), "-o", "json"]
        assert run(args).exit_code == 0
        later = run([*args, "--at", (expires + timedelta(days=1)).isoformat()])
        assert later.exit_code == 1
        assert json.loads(later.stdout)["hosts"][0]["status"] == "pin-mismatch"
        bad = run([*args, "--at", "soon"])
        assert bad.exit_code == 2
        assert "ISO 8601" in bad.stderr
