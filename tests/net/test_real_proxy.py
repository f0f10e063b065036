"""--proxy, HTTPS_PROXY and NO_PROXY through a real proxy from Debian: tinyproxy on loopback.

The in-test proxy (tests/support/proxy.py) checks what pinctl sends; these check that a
proxy users really run understands it, and that its refusal reads well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.cli import Run
from tests.support.pinfiles import ANOTHER_KEY, host, spki_pin, write_pins
from tests.support.servers import LoopbackServer, server_context, tls_server
from tests.support.tinyproxy import tinyproxy

PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[LoopbackServer]:
    with tls_server(server_context(ca.issue_cert("localhost", "127.0.0.1"))) as srv:
        yield srv


def test_fetch_through_tinyproxy(run: Run, server: LoopbackServer, ca_pem: Path) -> None:
    """--proxy: tinyproxy tunnels the handshake; the chain validates as it does direct."""
    with tinyproxy() as proxy:
        result = run(
            ["fetch", f"localhost:{server.port}", "--proxy", proxy.url, "--ca-file", str(ca_pem),
             "-o", "json"]
        )  # fmt: skip
        connects = proxy.connects()
    assert result.exit_code == 0, result.stderr
    (source,) = json.loads(result.stdout)["sources"]
    assert source["validation"] == {"trusted": True, "hostname_match": True, "error": None}
    assert connects == [f"localhost:{server.port}"]


def test_verify_through_https_proxy(
    run: Run, server: LoopbackServer, ca: trustme.CA, ca_pem: Path, tmp_path: Path
) -> None:
    """HTTPS_PROXY: verify's hosts go through tinyproxy and pass."""
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    with tls_server(server_context(leaf)) as srv, tinyproxy() as proxy:
        pins = write_pins(
            tmp_path / "pins.toml",
            host("127.0.0.1", srv.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=ca_pem,
        )
        result = run(["verify", "--pin-file", str(pins)], env={"HTTPS_PROXY": proxy.url})
        connects = proxy.connects()
    assert result.exit_code == 0, result.stdout + result.stderr
    assert connects == [f"127.0.0.1:{srv.port}"]


@pytest.mark.parametrize(("no_proxy", "proxied"), [("127.0.0.1", False), ("example.test", True)])
def test_no_proxy_exempts_only_matching_hosts(
    run: Run, server: LoopbackServer, no_proxy: str, proxied: bool
) -> None:
    """NO_PROXY naming the host goes direct (tinyproxy sees nothing); another name does not."""
    with tinyproxy() as proxy:
        env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy}
        result = run(["fetch", f"127.0.0.1:{server.port}", "-o", "pins"], env=env)
        connects = proxy.connects()
    assert result.exit_code == 0, result.stderr
    assert connects == ([f"127.0.0.1:{server.port}"] if proxied else [])


def test_a_proxy_refusing_the_port_is_unreachable(run: Run, server: LoopbackServer) -> None:
    """tinyproxy allowing CONNECT only to port 443 refuses ours: exit 3, its answer quoted."""
    with tinyproxy(connect_ports=(443,)) as proxy:
        result = run(["fetch", f"127.0.0.1:{server.port}", "--proxy", proxy.url])
    assert result.exit_code == 3
    assert result.stderr == (
        f"pinctl: error: 127.0.0.1:{server.port}: proxy {proxy.url.removeprefix('http://')} "
        f"refused CONNECT to 127.0.0.1:{server.port}: HTTP/1.1 403 Access violation\n"
    )
