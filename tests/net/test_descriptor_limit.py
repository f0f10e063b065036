"""A low descriptor limit (`ulimit -n`): hosts that get no socket could not be checked
(exit 3, a clear reason); none is failed, none is an internal error."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trustme

import pinctl
from tests.support.servers import closed_port, server_context, tls_server

HOSTS = 40

CHILD = textwrap.dedent(
    """
    import contextlib, io, json, os, resource, sys

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    from pinctl.cli import _run

    def run(args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = _run(args, False)
        return [code, out.getvalue(), err.getvalue()]

    args = sys.argv[1:]
    free = run(args)  # also imports every module the run needs while descriptors are free
    held = []
    with contextlib.suppress(OSError):
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    for _ in range(6):  # a few left: the pin file and the CA file, and some sockets
        os.close(held.pop())
    exhausted = run(args)
    for fd in held:
        os.close(fd)
    print(json.dumps({"free": free, "exhausted": exhausted}))
    """
)


def _pin(leaf: trustme.LeafCert) -> str:
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.mark.parametrize("dial", ["127.0.0.1", "localhost"])
def test_hosts_without_a_descriptor_could_not_be_checked(
    ca: trustme.CA, ca_pem: Path, tmp_path: Path, dial: str
) -> None:
    """With the descriptors all taken, a run of many hosts exits 3, each host that got no
    socket (or no pipe for its DNS lookup) `unreachable` with the limit named; with
    descriptors free the same run passes."""
    names = [f"h{i}.test" for i in range(HOSTS)]
    leaf = ca.issue_cert(*names)
    backup = "sha256/" + "n" * 42 + "o="
    pins = tmp_path / "pins.toml"
    with tls_server(server_context(leaf)) as server:
        lines = ["version = 1", "", "[defaults]", f"ca_file = '{ca_pem}'", ""]
        for name in names:
            lines += [
                "[[hosts]]",
                f"host = '{name}'",
                f"connect_to = '{dial}:{server.port}'",
                f"pins = [{{ pin = '{_pin(leaf)}' }}, {{ pin = '{backup}', backup = true }}]",
                "",
            ]
        pins.write_text("\n".join(lines))
        argv = ["verify", "--pin-file", str(pins), "-o", "json", "--timeout", "20"]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": "/usr/bin:/bin",
                "NO_PROXY": "*",
                "PYTHONPATH": str(Path(pinctl.__file__).parents[1]),
            },
        )
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout.splitlines()[-1])

    code, out, err = runs["free"]
    assert (code, err) == (0, "")
    assert {host["status"] for host in json.loads(out)["hosts"]} == {"pass"}

    code, out, err = runs["exhausted"]
    hosts = json.loads(out)["hosts"]
    statuses = {host["status"] for host in hosts}
    assert code == 3
    assert statuses <= {"pass", "unreachable"}
    assert "unreachable" in statuses
    assert "internal error" not in out + err
    remedy = "this process's limit of open files is reached; raise it (ulimit -n) or check "
    unreachable = {host["error"] for host in hosts if host["status"] == "unreachable"}
    if dial == "127.0.0.1":
        assert unreachable == {
            f"cannot open a socket to 127.0.0.1:{server.port}: {remedy}fewer hosts at once"
        }
    else:  # the resolver itself may find no descriptor left: it says so in its own words
        pipe = f"cannot open a pipe to resolve localhost: {remedy}fewer hosts at once"
        assert pipe in unreachable
        assert all(e == pipe or e.startswith("cannot resolve localhost") for e in unreachable)


@pytest.mark.parametrize(("concurrency", "capped"), [("1000000", True), ("2", False)])
def test_a_concurrency_the_limit_cannot_allow_is_capped_with_a_notice(
    run: Any, tmp_path: Path, concurrency: str, capped: bool
) -> None:
    """verify --concurrency above what the descriptor limit allows runs capped and says so on
    stderr, with the limit; a value within it is used silently."""
    from pinctl.net.pool import bound

    pins = tmp_path / "pins.toml"
    backup = "sha256/" + "n" * 42 + "o="
    pins.write_text(
        f"version = 1\n[[hosts]]\nhost = '127.0.0.1'\nport = {closed_port()}\n"
        f"pins = [{{ pin = '{backup}' }}]\n"
    )
    result = run(["verify", "--pin-file", str(pins), "--concurrency", concurrency, "-o", "json"])
    assert result.exit_code == 3
    limit = bound(int(concurrency))
    notice = (
        f"pinctl: warning: --concurrency {concurrency} is capped to {limit.checks}: the "
        f"descriptor limit (ulimit -n) is {limit.descriptors}; raise it to check more hosts "
        "at once\n"
    )
    assert (notice in result.stderr) is capped
    assert "warning" not in result.stderr or capped
