"""verify's progress on a terminal (a real pty): done/total, time spent and the hosts still
pending while a host hangs; a spinner naming the pending host for a few hosts; and on
Ctrl-C the results already known, then exit 130."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.hosts import certs, spki
from tests.support.pty import watch_on_pty
from tests.support.servers import LoopbackServer, hostile_server, server_context, tls_server

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\r")
OTHER = "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1")


@pytest.fixture
def good(leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    with tls_server(server_context(leaf)) as server:
        yield server


@pytest.fixture
def hung() -> Iterator[LoopbackServer]:
    with hostile_server("silent") as server:
        yield server


def _pins(tmp: Path, ca_pem: Path, leaf: trustme.LeafCert, ports: list[int]) -> Path:
    pin = spki(certs(leaf.cert_chain_pems)[0])
    path = tmp / "pins.toml"
    body = "".join(
        f'[[hosts]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'pins = [{{ pin = "{pin}" }}, {{ pin = "{OTHER}", backup = true }}]\n'
        for port in ports
    )
    path.write_text(f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n{body}')
    return path


def _verify(path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pinctl", "verify", "--pin-file", str(path), *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**env, "TERM": "xterm", "COLUMNS": "160"}


def test_a_few_hosts_show_a_spinner_naming_the_hung_one(
    tmp_path: Path, ca_pem: Path, leaf: trustme.LeafCert, good: LoopbackServer, hung: LoopbackServer
) -> None:
    """With two hosts and one hanging, after a second stderr names it as pending, with
    done/total; then the run ends as it would have (exit 3, the timeout reported)."""
    path = _pins(tmp_path, ca_pem, leaf, [good.port, hung.port])
    screen, code = watch_on_pty(
        _verify(path, "--timeout", "4"), b"pending: ", env=_env(), timeout=60
    )
    text = _ANSI.sub(b"", screen).decode()
    assert code == 3
    assert re.search(rf"1/2\s+0:0\d\s+pending: 127\.0\.0\.1:{hung.port}", text), text
    assert f"127.0.0.1:{good.port}" not in text.split("pending:", 1)[1].split("\n", 1)[0]


def test_many_hosts_show_done_of_total_and_the_pending_hosts(
    tmp_path: Path, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """With eight hosts, two hanging: a bar with 6/8, the time spent, and the two pending
    hosts named (no time-left estimate)."""
    with contextlib.ExitStack() as stack:
        goods = [stack.enter_context(tls_server(server_context(leaf))) for _ in range(6)]
        hungs = [stack.enter_context(hostile_server("silent")) for _ in range(2)]
        path = _pins(tmp_path, ca_pem, leaf, [s.port for s in goods + hungs])
        screen, code = watch_on_pty(
            _verify(path, "--timeout", "4"), b"pending: ", env=_env(), timeout=60
        )
    text = _ANSI.sub(b"", screen).decode()
    assert code == 3
    hung_names = ", ".join(f"127.0.0.1:{s.port}" for s in hungs)
    assert re.search(rf"6/8\s+0:0\d\s+pending: {re.escape(hung_names)}", text), text


def test_ctrl_c_prints_the_results_known_and_exits_130(
    tmp_path: Path, ca_pem: Path, leaf: trustme.LeafCert, good: LoopbackServer, hung: LoopbackServer
) -> None:
    """Ctrl-C while a host hangs: the finished host's result and the count are shown, exit 130."""
    path = _pins(tmp_path, ca_pem, leaf, [good.port, hung.port])
    screen, code = watch_on_pty(
        _verify(path, "--timeout", "30"), b"1/2", then=b"\x03", env=_env(), timeout=60
    )
    text = _ANSI.sub(b"", screen).decode()
    assert code == 130
    assert re.search(rf"^ok\s+127\.0\.0\.1:{good.port}", text, re.MULTILINE), text
    assert "interrupted after 1 of 2 hosts: 1 host: 1 passed, 0 failed" in text
    assert "pinctl: error: interrupted" in text


@pytest.mark.parametrize("no_color", [False, True])
def test_the_bars_colour_follows_stderrs_terminal(
    tmp_path: Path,
    ca_pem: Path,
    leaf: trustme.LeafCert,
    good: LoopbackServer,
    hung: LoopbackServer,
    no_color: bool,
) -> None:
    """With stdout piped to a file and stderr on a terminal, the progress is coloured (and
    NO_COLOR turns it off); the JSON on stdout stays plain."""
    path = _pins(tmp_path, ca_pem, leaf, [good.port, hung.port])
    out = tmp_path / "out.json"
    command = " ".join(_verify(path, "--timeout", "3", "-o", "json")) + f" > {out}"
    env = {**_env(), **({"NO_COLOR": "1"} if no_color else {})}
    screen, code = watch_on_pty(["sh", "-c", f"exec {command}"], b"pending: ", env=env, timeout=60)
    assert code == 3
    coloured = re.search(rb"\x1b\[[0-9;]*3[0-9]m", screen) is not None
    assert coloured is not no_color
    assert b"\x1b" not in out.read_bytes()
