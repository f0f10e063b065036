"""Ctrl-C and SIGTERM that Python dropped, found again while the pool waits or once the
command is done.

Python raises a signal's exception wherever the main thread is at the time. When that is
a finalizer (a weakref callback such as the ones importlib keeps on its module locks, an
object's `__del__`, a generator closed by garbage collection), the exception cannot
propagate: it is printed as "Exception ignored in ..." and dropped. A pool waiting in
poll() on a silent server would then wait out its whole timeout after Ctrl-C, and a
pool that was computing would finish and exit as if nothing had been asked of it.

The C part of every Python signal handler writes the signal's number to the wakeup
descriptor (`signal.set_wakeup_fd`) whatever becomes of the Python part. The pool polls
that descriptor with its sockets; a stop signal read there after its handler has had its
chance to raise was dropped, so it is raised again, by the same handler, where the pool is.
A signal that reaches a helper thread (a DNS lookup) also wakes the poll this way, instead
of leaving the main thread asleep in it.

The dropped exception itself goes to `sys.unraisablehook`, which would print it, traceback
and all, before pinctl's one line. `keep_dropped` makes that hook keep it instead, so that
a stop dropped outside the pool (while a command imports, say) is raised by the boundary
once the command returns (`raise_dropped`), and one the pool raised again is not.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import signal as _signal
else:  # the same functions, without the enum wrappers `signal` builds at every start
    import _signal

_STOPS = frozenset({_signal.SIGINT, _signal.SIGTERM})
_dropped: list[KeyboardInterrupt] = []


def keep_dropped() -> None:
    """Have a stop that Python drops in a finalizer kept for `raise_dropped`, not printed;
    everything else unraisable still goes to the hook that was there."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _dropped[:] = [unraisable.exc_value]
        else:
            previous(unraisable)

    sys.unraisablehook = hook


def raise_dropped() -> None:
    """Raise the stop Python dropped, if one was and nothing has raised it again since."""
    if _dropped:
        raise _dropped.pop()


class Wakeup:
    """The wakeup descriptor, while a pool runs: `fd` to poll, `check` when it is readable.

    Outside the main thread (where Python refuses a wakeup descriptor), where the process
    already has one (an embedding event loop), or with no descriptor left for its pipe,
    `fd` is None and nothing changes.
    """

    def __init__(self) -> None:
        self.fd: int | None = None
        self._write: int | None = None

    def __enter__(self) -> Wakeup:
        try:
            read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # out of descriptors: the checks will say so; this is only a guard
            return self
        try:
            previous = _signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            previous = None
        if previous == -1:
            self.fd, self._write = read, write
            return self
        if previous is not None:  # someone else's: give it back untouched
            _signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if self.fd is None or self._write is None:
            return
        _signal.set_wakeup_fd(-1)
        try:
            if kind is None:  # otherwise an exception, maybe the signal's own, is on its way
                self.check()  # one dropped while the pool was ending counts too
        finally:
            os.close(self.fd)
            os.close(self._write)
            self.fd = self._write = None

    def check(self) -> None:
        """Raise again the first stop signal the descriptor holds: its exception was lost."""
        if self.fd is None:
            return
        try:
            seen = os.read(self.fd, 512)
        except BlockingIOError:
            return
        for signum in seen:
            if signum in _STOPS and callable(_signal.getsignal(signum)):
                _dropped.clear()  # raised again here, so not once more at the boundary
                _signal.raise_signal(signum)  # its handler raises here, as it would have
