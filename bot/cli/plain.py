"""Upstream and stored text on the terminal: shown as plain text, never interpreted.

Incident summaries, versions, file names, registrar names, fault strings: servers the
bot does not control wrote them, and the store keeps them as they came. In a string
given to rich, `[/]` raises MarkupError, `[link=...]` becomes a hyperlink and `:name:` an
emoji; written raw, an ESC sequence acts on the terminal and a bidi override reorders
the line. So every such value reaches a console through `plain` (a rich Text, which
rich prints as it is) or `markup` (our own markup, each value escaped), and both write
hidden characters as escapes first (bot.plaintext). JSON output needs neither: it
escapes by itself.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from bot.plaintext import reveal

__all__ = ["markup", "plain"]


def plain(value: object, style: str = "", *, newlines: bool = False) -> Text:
    """`value` as text that prints exactly as it reads; `newlines` keeps line breaks."""
    return Text(reveal(str(value), newlines=newlines), style=style)


def markup(template: str, *values: object) -> Text:
    """Our own rich markup `template`, its `{}` fields filled with `values` as plain text
    (format specs such as `{:>8}` apply to the value's text)."""
    shown = (escape(reveal(str(value))) for value in values)
    return Text.from_markup(template.format(*shown), emoji=False)
