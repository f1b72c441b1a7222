"""An athlete's (or an event's) lineage tree as a page fragment, from ``crowdlog lineage``.

The walk and the text layout are the command's own (``streams.tools.lineage_view``): the page
shows the very tree the command prints, each event id made a link to its event page and each
retracted event's line marked, so the two can never disagree about what descends from what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Engine

from streams.tools.lineage_view import SqlLineageSource, render_text, resolve, walk

EVENT_ID = re.compile(r"\b[0-9a-f]{32}\b")


@dataclass(frozen=True)
class Tree:
    html: Markup
    events: int
    retracted: int


def linked(text: str) -> Markup:
    """The tree's text, escaped, with each event id linking to its page and retracted lines
    marked.

    >>> str(linked("● RecordReceived " + "a" * 32 + " <x>"))  # doctest: +ELLIPSIS
    '<span>● RecordReceived <a href="/events/aaa...aaa">aaa...aaa</a> &lt;x&gt;</span>'
    """
    lines = []
    for line in text.splitlines():
        body = EVENT_ID.sub(lambda m: f'<a href="/events/{m[0]}">{m[0]}</a>', str(escape(line)))
        css = ' class="retracted"' if "RETRACTED" in line else ""
        lines.append(f"<span{css}>{body}</span>")
    return Markup("\n".join(lines))


def lineage_tree(engine: Engine, ident: str) -> Tree:
    """The whole tree of ``ident`` (an event, or every event of an entity), ancestors and
    descendants to any depth."""
    with engine.connect() as connection:
        source = SqlLineageSource(connection)
        view = walk(source, resolve(source, ident))
    return Tree(linked(render_text(view)), len(view.graph.nodes), len(view.retractions))
