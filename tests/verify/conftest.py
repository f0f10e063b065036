"""The PKI the verify tests share: a root, an intermediate, and a served chain."""

from __future__ import annotations

import pytest
import trustme

from tests.support.hosts import ServedPki, certs


@pytest.fixture(scope="module")
def pki() -> ServedPki:
    """A root, an intermediate under it, and a leaf+intermediate chain as a server sends it."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    served = certs(intermediate.issue_cert("api.test").cert_chain_pems)
    assert len(served) == 2
    return root, intermediate, served
