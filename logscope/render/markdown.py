"""markdown: the report as Markdown (GitHub flavour), every log-derived string escaped.

Escaping: control characters become visible ``\\xNN`` (report.term_safe), ``& < >`` become HTML
entities (Markdown passes raw HTML through), and the punctuation that opens emphasis, code, links,
images, strike-through or a table cell (\\ ` * _ [ ] | ~) is backslash-escaped, so a HELO name
cannot do any of that. Log text never starts a line, so line-start markers (#, -, +, >) stay.
"""
from __future__ import annotations

import re

from .. import report
from .blocks import CHART_COLUMNS, cell, chart_summary, evidence_text, layout

_MD = re.compile(r"([\\`*_\[\]|~])")


def esc(value) -> str:
    s = report.term_safe(value)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD.sub(r"\\\1", s)
    return s.replace("\r", " ").replace("\n", " ")


def _table(title: str, cols: list[str], rows: list[list], align: list[str]) -> list[str]:
    out = [f"**{esc(title)}**", "", "| " + " | ".join(esc(c.replace("_", " ")) for c in cols) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(esc(v) for v in r) + " |" for r in rows]
    return out + [""]


def _findings(items: list[dict], compact: bool = False) -> list[str]:
    out = []
    for f in items:
        out.append(f"- **{esc(f.get('severity'))}** ({esc(f.get('section', ''))}) {esc(f.get('title', ''))}")
        if f.get("action"):
            act = report.term_safe(f["action"]).replace("`", "'").replace("\n", " ")
            out.append(f"  - fix: `{act}`")
        if compact:
            continue
        ev = evidence_text(f.get("evidence") or {})
        if ev:
            out.append(f"  - evidence: {esc(ev)}")
        ex = f.get("examples") or []
        if ex:
            out.append("  - lines: " + esc(", ".join(f"{e['source']}:{e['line_no']}" for e in ex[:5])))
    return out + [""]


def markdown(doc: dict) -> str:
    lines: list[str] = []
    for blk in layout(doc):
        kind = blk[0]
        if kind == "h1":
            lines += [f"# {esc(blk[1])}", ""]
        elif kind == "h2":
            lines += [f"## {esc(blk[1])}", ""]
        elif kind == "h3":
            lines += [f"### {esc(blk[1])}", ""]
        elif kind == "p":
            lines += [esc(blk[1]), ""]
        elif kind == "note":
            lines += [f"_{esc(blk[1])}_", ""]
        elif kind == "findings":
            lines += _findings(blk[1], blk[2])
        elif kind == "table":
            lines += _table(*blk[1:])
        elif kind == "chart":
            _, cid, title = blk
            rows = chart_summary(doc, cid)
            if rows:
                cols = CHART_COLUMNS[cid]
                lines += _table(title, cols, [[cell(c, v) for c, v in zip(cols, r)] for r in rows], ["l"] + ["r"] * (len(cols) - 1))
    return "\n".join(lines).rstrip() + "\n"
