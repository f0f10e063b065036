"""Running a child without the privilege to ignore file permissions, even when the suite
runs as root (CI does): a read-only directory is then refused as it is for any user."""

from __future__ import annotations

import os

from tests.support.tools import require

_DAC = "-dac_override,-dac_read_search,-fowner"


def unprivileged(argv: list[str]) -> list[str]:
    """`argv` as it would run for a user whom permissions bind.

    Not root: as it is. Root: under `setpriv`, without the capabilities by which root
    writes through permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER). Still
    uid 0, so the interpreter (often under root's 0700 home) stays runnable, which
    switching to nobody would not be.
    """
    if os.geteuid() != 0:
        return argv
    require("setpriv", why="to drop root's permission override for this test")
    return ["setpriv", "--bounding-set", _DAC, *argv]
