"""A rotating loopback host and a pin file that trusts its root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rotation import RotatingHost
from tests.support.servers import LoopbackServer


@pytest.fixture
def site() -> RotatingHost:
    host = RotatingHost()
    host.deploy()
    return host


@pytest.fixture
def server(site: RotatingHost) -> Iterator[LoopbackServer]:
    with site.serving() as running:
        yield running


@pytest.fixture
def root_pem(tmp_path: Path, site: RotatingHost) -> Path:
    return site.write_root(tmp_path / "root.pem")
