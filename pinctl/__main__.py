"""The `pinctl` command and `python -m pinctl`: where a run begins, before any import.

Start-up imports click and pinctl's command layer, a tenth of a second in which Ctrl-C
would otherwise end in a traceback from whichever module was loading. So the first
thing in place is a handler: an interrupt before `pinctl.cli.main` has its own boundary
ends as one there does, with one line and exit 130 (143 for SIGTERM, once pinctl's handler
for it is in place). Nothing here imports more than `sys`.
"""

import sys


def main() -> None:
    """Run pinctl; `pinctl.cli.main` exits with the command's code."""
    try:
        from pinctl.cli import main as run

        run()
    except KeyboardInterrupt as exc:  # before or after the boundary in `run`, never inside
        # SIGTERM's exception (pinctl.cli.Terminated) exists only once pinctl.cli is loaded.
        terminated = type(exc).__name__ == "Terminated"
        sys.stderr.write(f"pinctl: error: {'terminated' if terminated else 'interrupted'}\n")
        sys.exit(143 if terminated else 130)


if __name__ == "__main__":
    main()
