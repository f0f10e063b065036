"""The PKI the verify tests share: a root, an intermediate, and a served chain."""

from __future__ import annotations

import pytest
import trustme
from cryptography import x509

from tests.support.hosts import certs


@pytest.fixture(scope="module")
def pki() -> tuple[trustme.CA, trustme.CA, tuple[x509.Certificate, ...]]:
    """A root, an intermediate under it, and a leaf+intermediate chain as a server sends it."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    served = certs(intermediate.issue_cert("api.test").cert_chain_pems)
    assert len(served) == 2
    return root, intermediate, served
