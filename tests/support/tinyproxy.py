"""Real daemons from Debian on loopback, as users run them: tinyproxy as an HTTP CONNECT proxy.

Each listens on 127.0.0.1 only, on a free port, with its own configuration and log in a
temporary directory, and is stopped (by its own process id) when the context exits.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tools import require


@dataclass
class Proxy:
    url: str
    log: Path

    def requests(self) -> list[str]:
        """Each request line tinyproxy logged (``CONNECT localhost:8443 HTTP/1.1``)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line.split("): ", 1)[1] for line in lines if "]: Request (file descriptor" in line]

    def connects(self) -> list[str]:
        return [r.split(" ")[1] for r in self.requests() if r.startswith("CONNECT ")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def tinyproxy(*, connect_ports: tuple[int, ...] = ()) -> Iterator[Proxy]:
    """tinyproxy on 127.0.0.1, allowing CONNECT to any port, or only to `connect_ports`."""
    require("tinyproxy")
    with tempfile.TemporaryDirectory(prefix="pinctl-tinyproxy-") as tmp:
        port, log = _free_port(), Path(tmp) / "tinyproxy.log"
        conf = Path(tmp) / "tinyproxy.conf"
        conf.write_text(
            f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nAllow 127.0.0.1\n"
            f'LogLevel Connect\nLogFile "{log}"\nDisableViaHeader Yes\n'
            + "".join(f"ConnectPort {p}\n" for p in connect_ports)
        )
        daemon = subprocess.Popen(
            ["tinyproxy", "-d", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 10
            while not _listening(port):
                if daemon.poll() is not None or time.monotonic() > deadline:
                    stderr = daemon.stderr.read().decode() if daemon.stderr else ""
                    pytest.fail(f"tinyproxy did not start on 127.0.0.1:{port}: {stderr}")
                time.sleep(0.05)
            yield Proxy(f"http://127.0.0.1:{port}", log)
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            if daemon.stderr:
                daemon.stderr.close()
