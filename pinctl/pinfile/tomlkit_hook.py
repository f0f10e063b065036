"""The one place pinctl relies on tomlkit's internals: where each parsed value starts and ends.

Messages name the line of the value at fault and edits cut the text at a value's exact
span, yet tomlkit's public items keep no positions (and their `as_string()` may respell
what was parsed). A subclass of its parser records ``Parser._idx`` around each call of
the private ``Parser._parse_value``. Those two names are what a tomlkit release can break;
`tests/pinfile/test_tomlkit_hook.py` fails naming this module when one does, and
pyproject.toml bounds tomlkit to the versions that test has passed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pinctl.errors import PinFileError

if TYPE_CHECKING:
    from tomlkit.items import Item
    from tomlkit.toml_document import TOMLDocument

HOOKED = ("_parse_value", "_idx")
"""The private names of `tomlkit.parser.Parser` used below."""

Spans = dict[int, tuple[int, int, "Item"]]
"""``id(item)`` to (start, end, item); holding the item keeps the ids unique."""


def missing_names() -> list[str]:
    """The hooked names this tomlkit's parser lacks; empty when the hook can work."""
    from tomlkit.parser import Parser

    return [name for name in HOOKED if not hasattr(Parser, name)]


def parse_recording(text: str) -> tuple[TOMLDocument, Spans]:
    """Parse `text` with tomlkit, recording the text offsets of every value it parses.

    Raises what tomlkit raises (`tomlkit.exceptions.ParseError` and its relatives)."""
    from tomlkit.parser import Parser

    missing = missing_names()
    if missing:
        import tomlkit

        raise PinFileError(
            f"tomlkit {tomlkit.__version__} lacks Parser.{', Parser.'.join(missing)}, which "
            "pinctl.pinfile.tomlkit_hook relies on; install a tomlkit pinctl supports "
            "(pip install 'tomlkit>=0.12.4,<0.16')"
        )
    spans: Spans = {}

    class RecordingParser(Parser):
        def _parse_value(self) -> Item:
            start = self._idx
            item = super()._parse_value()
            spans[id(item)] = (start, self._idx, item)
            return item

    return RecordingParser(text).parse(), spans
