"""pinctl against the real daemons users pin: postfix, dovecot, slapd, vsftpd, prosody,
PostgreSQL and MariaDB, each started here on a loopback port with a test certificate.

The judge is the openssl pipeline users run today: pinctl's pin for each server equals
what ``openssl s_client -starttls PROTO`` fetched, hashed by openssl.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pinctl.pki.pins import compute
from tests.support import daemons
from tests.support.cli import Run
from tests.support.judges import openssl_starttls_pin


@pytest.fixture(scope="session")
def daemon_cert(tmp_path_factory: pytest.TempPathFactory) -> daemons.Certificate:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "mail.test")
    folder = tmp_path_factory.mktemp("daemon-pki")
    files = daemons.Certificate(folder / "cert.pem", folder / "key.pem", folder / "ca.pem")
    leaf.cert_chain_pems[0].write_to_path(str(files.cert))
    leaf.private_key_pem.write_to_path(str(files.key))
    ca.cert_pem.write_to_path(str(files.ca))
    return files


_FOLDERS: list[Path] = []


def _work(factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder right under /tmp that the daemon's own user can reach (pytest's are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=f"pinctl-{name}-"))
    folder.chmod(0o755)
    _FOLDERS.append(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _remove_folders() -> Iterator[None]:
    yield
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postfix(
    tmp_path_factory: pytest.TempPathFactory, daemon_cert: daemons.Certificate
) -> Iterator[daemons.Served]:
    with daemons.postfix(_work(tmp_path_factory, "postfix"), daemon_cert) as served:
        yield served


@pytest.fixture(scope="session")
def dovecot(
    tmp_path_factory: pytest.TempPathFactory, daemon_cert: daemons.Certificate
) -> Iterator[tuple[daemons.Served, daemons.Served]]:
    with daemons.dovecot(_work(tmp_path_factory, "dovecot"), daemon_cert) as served:
        yield served


@pytest.fixture(scope="session")
def postgres(
    tmp_path_factory: pytest.TempPathFactory, daemon_cert: daemons.Certificate
) -> Iterator[daemons.Served]:
    with daemons.postgres(_work(tmp_path_factory, "postgres"), daemon_cert) as served:
        yield served


SERVERS = ["smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "xmpp-server", "postgres", "mysql"]


@pytest.fixture(scope="session", params=SERVERS)
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    daemon_cert: daemons.Certificate,
) -> daemons.Served:
    """Each protocol's daemon; those with two protocols are started once for both."""
    protocol: str = request.param
    if protocol == "smtp":
        served: daemons.Served = request.getfixturevalue("postfix")
        return served
    if protocol in ("imap", "pop3"):
        both: tuple[daemons.Served, daemons.Served] = request.getfixturevalue("dovecot")
        return both[0] if protocol == "imap" else both[1]
    if protocol == "postgres":
        served = request.getfixturevalue("postgres")
        return served  # noqa: RET504  # typed: getfixturevalue returns Any
    if protocol.startswith("xmpp"):
        pair: tuple[daemons.Served, daemons.Served] = request.getfixturevalue("prosody")
        return pair[0] if protocol == "xmpp" else pair[1]
    starters = {"ftp": daemons.vsftpd, "ldap": daemons.slapd, "mysql": daemons.mariadb}
    context = starters[protocol](_work(tmp_path_factory, protocol), daemon_cert)
    served = context.__enter__()
    request.addfinalizer(lambda: context.__exit__(None, None, None))  # noqa: PT021  # one of three
    return served


@pytest.fixture(scope="session")
def prosody(
    tmp_path_factory: pytest.TempPathFactory, daemon_cert: daemons.Certificate
) -> Iterator[tuple[daemons.Served, daemons.Served]]:
    with daemons.prosody(_work(tmp_path_factory, "prosody"), daemon_cert) as served:
        yield served


def test_pins_equal_the_openssl_pipeline(run: Run, served: daemons.Served) -> None:
    """fetch --starttls PROTO pins the daemon's key exactly as openssl's pipeline does, and
    the chain validates for the name."""
    result = run(
        ["fetch", "-o", "json", "--ca-file", str(served.ca), "--starttls", served.protocol,
         f"{served.name}:{served.port}"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (source,) = json.loads(result.stdout)["sources"]
    assert source["validation"]["trusted"]
    assert source["validation"]["hostname_match"]
    assert source["starttls"]["protocol"] == served.protocol
    assert source["entries"][0]["spki"]["sha256"] == openssl_starttls_pin(
        served.protocol, served.port, served.name
    )


def test_the_wrong_dialogue_fails_closed(run: Run, served: daemons.Served) -> None:
    """The twin: speaking another protocol's dialogue to the daemon never yields a pin."""
    other = "postgres" if served.protocol != "postgres" else "smtp"
    result = run(
        ["fetch", "-o", "pins", "--timeout", "3", "--starttls", other,
         f"{served.name}:{served.port}"]
    )  # fmt: skip
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: ")


def test_verify_over_real_smtp_imap_and_postgres(
    run: Run,
    tmp_path: Path,
    postfix: daemons.Served,
    dovecot: tuple[daemons.Served, daemons.Served],
    postgres: daemons.Served,
) -> None:
    """A pin file of real SMTP, IMAP and PostgreSQL servers passes; the same file with
    another pin for one host fails that host (exit 1)."""
    pin = openssl_starttls_pin("smtp", postfix.port)
    hosts = [postfix, dovecot[0], postgres]
    text = f'version = 1\n[defaults]\nca_file = "{postfix.ca}"\n'
    for served in hosts:
        text += (
            f'[[hosts]]\nhost = "localhost"\nport = {served.port}\nstarttls = "{served.protocol}"\n'
            f'pins = [{{ pin = "{pin}" }}, {{ pin = "{compute(b"spare")}", backup = true }}]\n'
        )
    pins = tmp_path / "pins.toml"
    pins.write_text(text)
    passed = run(["verify", "--pin-file", str(pins), "-o", "json"])
    assert passed.exit_code == 0, passed.stdout
    assert [h["status"] for h in json.loads(passed.stdout)["hosts"]] == ["pass"] * 3
    pins.write_text(text.replace(pin, str(compute(b"not this key")), 1))
    failed = run(["verify", "--pin-file", str(pins), "-o", "json"])
    assert failed.exit_code == 1
    statuses = [h["status"] for h in json.loads(failed.stdout)["hosts"]]
    assert statuses == ["pin-mismatch", "pass", "pass"]
