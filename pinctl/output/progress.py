"""What verify shows on stderr while hosts are being checked.

Not an estimate of the time left (rich's estimate sat at "0:00:01" for a whole timeout
while hosts hung): what is known, done/total, the time spent, and which hosts are still
pending, since those are what a person watching a hang wants to see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pinctl.output.terminal import Sink, printable

if TYPE_CHECKING:
    from rich.live import Live

    from pinctl.verify.results import HostResult

SPINNER_DELAY = 1.0
"""A few hosts usually finish in well under a second; only a hang earns the spinner."""
SHOWN_PENDING = 3


class Display:
    """A live line on stderr, started at once (bar) or after `SPINNER_DELAY` (spinner)."""

    def __init__(self, sink: Sink, total: int, names: Sequence[str], *, bar: bool) -> None:
        self.sink = sink
        self.total = total
        self.pending = dict.fromkeys(names)
        self.done: list[HostResult] = []
        self.bar = bar
        self.started = time.monotonic()
        self._live: Live | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Display:
        if self.sink.err_tty and self.total:
            if self.bar:
                self._start()
            else:
                self._timer = threading.Timer(SPINNER_DELAY, self._start)
                self._timer.daemon = True
                self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._live is not None:
                self._live.stop()

    def tick(self, host: HostResult) -> None:
        self.done.append(host)
        self.pending.pop(host.label, None)

    def _start(self) -> None:
        from rich.live import Live

        with self._lock:
            if self._closed or len(self.done) >= self.total:
                return
            self._live = Live(
                get_renderable=self.render,
                console=self.sink.console(stderr=True),
                transient=True,
                refresh_per_second=8,
            )
            self._live.start()

    def render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        done, total = len(self.done), self.total
        elapsed = int(time.monotonic() - self.started)
        waiting = [printable(name) for name in self.pending][: SHOWN_PENDING + 1]
        more = len(self.pending) - SHOWN_PENDING
        named = ", ".join(waiting[:SHOWN_PENDING]) + (f" (+{more} more)" if more > 0 else "")
        row: list[Any] = [Spinner("dots", style="cyan")]
        if self.bar:
            row.append(ProgressBar(total=total, completed=done, width=24))
        row.append(Text(f"{done}/{total}  {elapsed // 60}:{elapsed % 60:02d}", style="bold"))
        row.append(Text(f"pending: {named}" if named else "", style="dim"))
        grid = Table.grid(padding=(0, 1))
        for _ in row:
            grid.add_column(no_wrap=True)
        grid.add_row(*row)
        return grid
