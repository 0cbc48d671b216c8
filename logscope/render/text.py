"""text: the report on a terminal (rich), every log-derived string made inert by report.term_safe."""
from __future__ import annotations

from rich.console import Console
from rich.text import Text

from .. import report
from .blocks import CHART_COLUMNS, cell, chart_summary, evidence_text, layout

_STYLE = {"critical": "bold red", "warning": "yellow", "notice": "cyan", "info": "dim"}


def _t(s, style: str | None = None) -> Text:
    return Text(report.term_safe(s), style=style or "")


def findings(out: Console, items: list[dict], compact: bool = False) -> None:
    for f in items:
        line = Text()
        line.append(f"[{f.get('severity')}] ", style=_STYLE.get(f.get("severity"), ""))
        line.append(report.term_safe(f"{f.get('section', '')}: {f.get('title', '')}"))
        out.print(line)
        if f.get("action"):
            out.print(_t(f"    fix: {f['action']}"))
        if compact:
            continue
        ev = evidence_text(f.get("evidence") or {})
        if ev:
            out.print(_t("    evidence: " + ev))
        ex = f.get("examples") or []
        if ex:
            out.print(_t("    lines: " + ", ".join(f"{e['source']}:{e['line_no']}" for e in ex[:5])))


def text(doc: dict, out: Console | None = None) -> None:
    """Print the report to ``out`` (default: a report console on stdout)."""
    out = out or report.console()
    for blk in layout(doc):
        kind = blk[0]
        if kind == "h1":
            out.print(_t(blk[1], "bold"))
        elif kind == "h2":
            out.print()
            out.print(_t(blk[1].upper(), "bold"))
        elif kind == "h3":
            out.print(_t(blk[1], "bold"))
        elif kind in ("p", "note"):
            out.print(_t(blk[1], "dim" if kind == "note" else None))
        elif kind == "findings":
            findings(out, blk[1], blk[2])
        elif kind == "table":
            _, title, cols, rows, align = blk
            heads = [c.replace("_", " ") for c in cols]
            just = {h: ("right" if a == "r" else "left") for h, a in zip(heads, align)}
            out.print(report.table(title, heads, rows, justify=just))
        elif kind == "chart":
            _, cid, title = blk
            rows = chart_summary(doc, cid)
            if rows:
                cols = CHART_COLUMNS[cid]
                just = {c: ("left" if i == 0 or c == "status" else "right") for i, c in enumerate(cols)}
                out.print(report.table(title, cols, [[cell(c, v) for c, v in zip(cols, r)] for r in rows], justify=just))
