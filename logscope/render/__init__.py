"""render: the complete report, built once as a document and rendered for each target.

    doc = logscope.render.build(store, since=..., until=..., main_cf=...)   # "logscope.report/1"
    logscope.render.text(doc, console)          # terminal (rich), log strings made inert
    logscope.render.markdown(doc) -> str        # Markdown, log strings escaped
    logscope.render.html(doc) -> str            # self-contained HTML with matplotlib charts
    logscope.render.prometheus(doc) -> str      # node_exporter textfile

The document is JSON-serialisable; every renderer reads only the document, so what the JSON
says and what a person sees cannot disagree.
"""
from __future__ import annotations

import threading

from .document import SCHEMA, attention, build
from .htmlpage import html
from .markdown import markdown
from .prometheus import prometheus
from .text import text

__all__ = ["SCHEMA", "attention", "build", "html", "markdown", "preload_charts", "prometheus", "text"]


def preload_charts() -> threading.Thread:
    """Import matplotlib and draw one tiny chart in a background thread, while :func:`build` runs
    its queries (DuckDB releases the GIL): about a second that would otherwise come after them.
    Join the thread before :func:`html`."""
    def warm() -> None:
        from . import charts

        charts.warm_up()

    t = threading.Thread(target=warm, name="logscope-charts", daemon=True)
    t.start()
    return t
