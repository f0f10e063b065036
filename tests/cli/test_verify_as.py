"""`pinctl verify --as CLIENT`: which apps would break, end to end on a loopback server.

The server presents a leaf and its intermediate under a trustme root; the host is named
api.example.com and dialled at 127.0.0.1 (connect_to), as a fleet behind a balancer is.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Run
from tests.support.servers import LoopbackServer, server_context, tls_server

NAME = "api.example.com"
SPARE = str(compute(b"a spare key no server here has"))


@pytest.fixture(scope="module")
def intermediate(ca: trustme.CA) -> trustme.CA:
    return ca.create_child_ca()


@pytest.fixture(scope="module")
def leaf(intermediate: trustme.CA) -> trustme.LeafCert:
    return intermediate.issue_cert(NAME)


@pytest.fixture(scope="module")
def server(leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    with tls_server(server_context(leaf)) as running:
        yield running


def spki(blob: trustme.Blob) -> str:
    return str(compute(spki_der(x509.load_pem_x509_certificate(blob.bytes()).public_key())))


def write(
    tmp_path: Path,
    ca_pem: Path,
    port: int,
    pins: list[str],
    *,
    defaults: str = "",
    host: str = "",
    name: str = NAME,
) -> Path:
    body = "".join(f"  {p},\n" for p in pins)
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n{defaults}\n'
        f'[[hosts]]\nhost = "{name}"\nconnect_to = "127.0.0.1:{port}"\n{host}'
        f"pins = [\n{body}]\n"
    )
    return path


def leaf_pin(leaf: trustme.LeafCert) -> str:
    return f'{{ pin = "{spki(leaf.cert_chain_pems[0])}", level = "leaf" }}'


def inter_pin(intermediate: trustme.CA) -> str:
    return f'{{ pin = "{spki(intermediate.cert_pem)}", level = "intermediate" }}'


OLD_LEAF = f'{{ pin = "{SPARE}", level = "leaf", note = "the key before the rotation" }}'
SPARE_BACKUP = f'{{ pin = "{compute(b"backup")}", backup = true }}'


def host_json(stdout: str) -> dict[str, Any]:
    [host] = json.loads(stdout)["hosts"]
    result: dict[str, Any] = host
    return result


# -- choosing clients ---------------------------------------------------------------------


def test_an_unknown_client_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    """A misspelt client exits 2 with one line listing the clients, before any file is read."""
    result = run(["verify", "--pin-file", str(tmp_path / "absent.toml"), "--as", "okhttp,ios9"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "pinctl: error: --as: unknown client 'ios9'; the clients are okhttp, curl, android, "
        "ios, trustkit (or all)\n"
    )


def test_the_leaf_rotated_under_the_same_ca_breaks_curl_and_ios(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    intermediate: trustme.CA,
) -> None:
    """The issue's story: pinctl's rule passes on the intermediate pin, while the apps that
    pin the leaf refuse; the host is client-reject, exit 1, and the table names them."""
    pins = write(tmp_path, ca_pem, server.port, [OLD_LEAF, inter_pin(intermediate), SPARE_BACKUP])
    result = run(["verify", "--pin-file", str(pins), "--as", "all"])
    assert result.exit_code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"FAIL  {NAME}:443  client-reject: curl reject: ")
    assert (
        "      clients: okhttp ok, curl REJECT (no leaf pin matches the served leaf), android ok, "
        "ios REJECT (no leaf pin matches the served leaf), trustkit ok"
    ) in lines
    assert "curl and iOS would refuse" not in result.stdout  # the verdicts say it already


def test_judged_as_exactly_curl_and_ios_the_verdicts_alone_say_it(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    intermediate: trustme.CA,
) -> None:
    """`--as curl,ios`, the two clients that pin the leaf and no more: their REJECTs say
    it, and the default warning that would name them is not repeated."""
    pins = write(tmp_path, ca_pem, server.port, [OLD_LEAF, inter_pin(intermediate), SPARE_BACKUP])
    result = run(["verify", "--pin-file", str(pins), "--as", "curl,ios"])
    assert result.exit_code == 1, result.stdout
    assert (
        "      clients: curl REJECT (no leaf pin matches the served leaf), "
        "ios REJECT (no leaf pin matches the served leaf)"
    ) in result.stdout.splitlines()
    assert "would refuse" not in result.stdout


def test_the_same_host_with_its_leaf_pinned_passes_as_every_client(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    leaf: trustme.LeafCert,
    intermediate: trustme.CA,
) -> None:
    """Failing twin: with the served leaf's key pinned, every app connects: exit 0."""
    pins = write(
        tmp_path, ca_pem, server.port, [leaf_pin(leaf), inter_pin(intermediate), SPARE_BACKUP]
    )
    result = run(["verify", "--pin-file", str(pins), "--as", "okhttp,curl", "--as", "all"])
    assert result.exit_code == 0, result.stdout
    assert (
        "      clients: okhttp ok, curl ok, android ok, ios ok, trustkit ok"
        in result.stdout.splitlines()
    )


def test_without_as_a_ca_pass_over_a_stale_leaf_pin_is_a_warning(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    intermediate: trustme.CA,
) -> None:
    """SPEC.md §5's default warning names the clients that would refuse; --strict fails it."""
    pins = write(tmp_path, ca_pem, server.port, [OLD_LEAF, inter_pin(intermediate)])
    result = run(["verify", "--pin-file", str(pins), "-o", "json"])
    assert result.exit_code == 0
    host = host_json(result.stdout)
    assert host["clients"] is None
    [warning] = [w for w in host["warnings"] if "leaf pins" in w]
    assert warning.startswith("leaf pins exist but none matches the served leaf, while the ")
    assert "curl and iOS would refuse the server (pinctl verify --as curl,ios)" in warning
    strict = run(["verify", "--pin-file", str(pins), "--strict"])
    assert strict.exit_code == 1


def test_no_warning_when_the_leaf_pin_matches(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    leaf: trustme.LeafCert,
    intermediate: trustme.CA,
) -> None:
    """Failing twin: a current leaf pin beside the CA pin gives no such warning."""
    pins = write(tmp_path, ca_pem, server.port, [leaf_pin(leaf), inter_pin(intermediate)])
    host = host_json(run(["verify", "--pin-file", str(pins), "-o", "json"]).stdout)
    assert not [w for w in host["warnings"] if "leaf pins" in w]


def test_the_pin_file_chooses_clients_and_as_overrides_it(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    intermediate: trustme.CA,
) -> None:
    """[defaults] clients applies to every host, a host's own list wins, --as wins over both;
    JSON `clients` holds exactly the selected clients."""
    pins = [OLD_LEAF, inter_pin(intermediate), SPARE_BACKUP]
    defaults = write(tmp_path, ca_pem, server.port, pins, defaults='clients = ["okhttp"]\n')
    host = host_json(run(["verify", "--pin-file", str(defaults), "-o", "json"]).stdout)
    assert host["clients"] == {
        "okhttp": {"verdict": "accept", "matched_pin": spki(intermediate.cert_pem), "reason": None}
    }
    assert host["status"] == "pass"
    own = write(
        tmp_path,
        ca_pem,
        server.port,
        pins,
        defaults='clients = ["okhttp"]\n',
        host='clients = ["ios"]\n',
    )
    result = run(["verify", "--pin-file", str(own), "-o", "json"])
    host = host_json(result.stdout)
    assert host["clients"] == {
        "ios": {
            "verdict": "reject",
            "matched_pin": None,
            "reason": "no leaf pin matches the served leaf",
        }
    }
    assert (host["status"], result.exit_code) == ("client-reject", 1)
    assert {"check": "clients", "result": "fail", "reason": host["error"]} in host["checks"]
    overridden = run(["verify", "--pin-file", str(own), "--as", "android", "-o", "json"])
    assert set(host_json(overridden.stdout)["clients"]) == {"android"}
    assert overridden.exit_code == 0


def test_a_host_no_export_can_serve_is_not_pinned_for_every_client(
    run: Run, tmp_path: Path, ca_pem: Path, server: LoopbackServer, leaf: trustme.LeafCert
) -> None:
    """Cert pins only: pinctl's rule passes, no client export holds a pin: not-pinned, a
    warning each (no traceback), and a failure under --strict."""
    cert_pin = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    digest = compute(cert_pin.public_bytes(Encoding.DER))
    pins = write(tmp_path, ca_pem, server.port, [f'{{ pin = "{digest}", kind = "cert" }}'])
    result = run(["verify", "--pin-file", str(pins), "--as", "all", "-o", "json"])
    assert result.exit_code == 0, result.stdout
    host = host_json(result.stdout)
    assert {v["verdict"] for v in host["clients"].values()} == {"not-pinned"}
    assert sum(w.split(" ")[1] == "not-pinned:" for w in host["warnings"]) == 5
    assert run(["verify", "--pin-file", str(pins), "--as", "curl", "--strict"]).exit_code == 1


def test_an_android_pin_set_expiring_today_is_accept_expired(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    server: LoopbackServer,
    leaf: trustme.LeafCert,
) -> None:
    """Android stops enforcing on the expiration date itself, while the pin still counts for
    pinctl through its last day: accept-expired, a warning that pinning is off."""
    today = datetime.now(timezone.utc).date().isoformat()
    pins = write(
        tmp_path,
        ca_pem,
        server.port,
        [leaf_pin(leaf).replace("}", f", expires = {today} }}"), SPARE_BACKUP],
    )
    result = run(["verify", "--pin-file", str(pins), "--as", "android,okhttp", "-o", "json"])
    host = host_json(result.stdout)
    assert host["clients"]["android"]["verdict"] == "accept-expired"
    assert host["clients"]["okhttp"]["verdict"] == "accept"
    assert any(
        w.startswith("android accept-expired: the pin-set expired on") for w in host["warnings"]
    )
    assert result.exit_code == 0


# -- offline, JSON and JUnit --------------------------------------------------------------


def test_as_judges_a_saved_chain_and_writes_a_case_per_client(
    run: Run,
    tmp_path: Path,
    ca_pem: Path,
    leaf: trustme.LeafCert,
    intermediate: trustme.CA,
) -> None:
    """--chain FILE needs no server; --junit-xml has the host's case and one per client."""
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    pins = write(tmp_path, ca_pem, 9, [OLD_LEAF, inter_pin(intermediate), SPARE_BACKUP])
    report = tmp_path / "report.xml"
    offline = ["verify", "--pin-file", str(pins), "--chain", str(chain)]
    result = run([*offline, "--as", "curl,okhttp", "--junit-xml", str(report)])
    assert result.exit_code == 1
    assert "clients: curl REJECT (no leaf pin matches the served leaf), okhttp ok" in result.stdout
    cases = ET.parse(report).getroot().findall("testsuite/testcase")  # noqa: S314  # our own file
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("pinctl.verify.run", f"{NAME}:443"),
        ("pinctl.verify.clients", f"{NAME}:443 as curl"),
        ("pinctl.verify.clients", f"{NAME}:443 as okhttp"),
    ]
    failures = [c.find("failure") for c in cases]
    assert [f.get("type") if f is not None else None for f in failures] == [
        "client-reject",
        "client-reject",
        None,
    ]


def test_tab_completes_client_names_inside_a_comma_list() -> None:
    """`--as okhttp,i<TAB>` offers the names that continue the list; a wrong prefix none."""
    from click.shell_completion import BashComplete

    from pinctl.cli import cli

    def values(incomplete: str) -> list[str]:
        completer = BashComplete(cli, {}, "pinctl", "_PINCTL_COMPLETE")
        return [item.value for item in completer.get_completions(["verify", "--as"], incomplete)]

    assert values("okhttp,i") == ["okhttp,ios"]
    assert values("") == ["okhttp", "curl", "android", "ios", "trustkit", "all"]
    assert values("x") == []


def test_an_untrusted_chain_gets_no_client_verdicts(
    run: Run, tmp_path: Path, server: LoopbackServer, leaf: trustme.LeafCert
) -> None:
    """A chain that does not validate is judged by no client (a man in the middle chose
    it): the clients check is skipped, `clients` is null, and the host fails untrusted."""
    other_root = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other_root))
    pins = write(tmp_path, other_root, server.port, [leaf_pin(leaf), SPARE_BACKUP])
    result = run(["verify", "--pin-file", str(pins), "--as", "all", "-o", "json"])
    host = host_json(result.stdout)
    assert (host["status"], result.exit_code) == ("untrusted", 1)
    assert host["clients"] is None
    assert {"check": "clients", "result": "skipped"}.items() <= next(
        c for c in host["checks"] if c["check"] == "clients"
    ).items()


def test_an_unreached_host_gets_no_client_verdicts_and_never_exits_0(
    run: Run, tmp_path: Path, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """Nothing to judge: exit 3 as for any unreached host, with clients null."""
    from tests.support.servers import closed_port

    pins = write(tmp_path, ca_pem, closed_port(), [leaf_pin(leaf), SPARE_BACKUP])
    result = run(["verify", "--pin-file", str(pins), "--as", "all", "-o", "json"])
    assert result.exit_code == 3
    assert host_json(result.stdout)["clients"] is None


def test_under_strict_an_unpinned_client_fails_its_junit_case(
    run: Run, tmp_path: Path, ca_pem: Path, leaf: trustme.LeafCert, intermediate: trustme.CA
) -> None:
    """--strict turns not-pinned into a failure, in the exit code and in the client's case;
    without --strict the same case passes."""
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    spare_ca = f'{{ pin = "{compute(b"another CA")}", level = "root" }}'
    pins = write(tmp_path, ca_pem, 9, [inter_pin(intermediate), spare_ca])
    report = tmp_path / "report.xml"
    offline = ["verify", "--pin-file", str(pins), "--chain", str(chain), "--as", "curl"]

    def curl_failure(*extra: str) -> tuple[int, str | None]:
        result = run([*offline, "--junit-xml", str(report), *extra])
        case = ET.parse(report).getroot().find("testsuite/testcase[2]")  # noqa: S314
        assert case is not None
        assert case.get("name") == f"{NAME}:443 as curl"
        failure = case.find("failure")
        return result.exit_code, None if failure is None else failure.get("type")

    assert curl_failure() == (0, None)
    assert curl_failure("--strict") == (1, "client-not-pinned")
