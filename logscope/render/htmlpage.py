"""htmlpage: the report as one self-contained HTML page (no network: charts are inline PNG data).

Jinja2 with autoescape on renders ``logscope/templates/report.html.j2``; every value passes
:func:`report.term_safe` first (control characters and ANSI escapes become visible ``\\xNN``) and
is then HTML-escaped. A Content-Security-Policy meta tag allows no script at all, as a second
line of defence. The CSS is responsive (tables scroll sideways, images shrink) for phones.
"""
from __future__ import annotations

from pathlib import Path

import jinja2

from .. import __version__, report
from .blocks import evidence_text, layout, period_text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _finalize(v):
    return report.term_safe(v) if isinstance(v, str) else ("" if v is None else v)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def html(doc: dict) -> str:
    blocks = layout(doc)
    anchors = [(b[2], b[1].split(":")[0].split(" [")[0]) for b in blocks if b[0] == "h2"]
    return _env().get_template("report.html.j2").render(
        title=f"logscope report: {period_text(doc)}",
        blocks=blocks,
        anchors=anchors,
        charts=_charts(doc),
        version=__version__,
        schema=doc["schema"],
        built_s=doc.get("timings", {}).get("total", ""),
        evidence_text=evidence_text,
    )


def _charts(doc: dict) -> dict:
    from .charts import draw_all  # matplotlib costs ~1 s to import: only when HTML is rendered

    return draw_all(doc)
