"""Report: render results for people (terminal text, Markdown, HTML) and machines (JSON, CSV).

Every string that came from a log is hostile: HELO names, addresses and reply
texts are chosen by whoever connects. :func:`term_safe` makes them inert on a
terminal (control characters and ANSI escapes become visible ``\\xNN``), and
rich ``Text`` objects are used so that ``[brackets]`` are never markup.
"""
from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

_RICH = {"Console": "rich.console", "Table": "rich.table", "Text": "rich.text"}


def __getattr__(name: str):
    """report.Text, report.Table, report.Console: rich is imported on first use (~60 ms that the
    JSON and CSV outputs never need)."""
    if name in _RICH:
        import importlib

        value = getattr(importlib.import_module(_RICH[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# said once wherever findings cite lines (their examples) as SOURCE:LINE
SHOW_HINT = "Lines are cited as SOURCE:LINE; logscope show SOURCE:LINE prints them from the log file."


def term_safe(value: Any) -> str:
    """A log-derived value as text that a terminal will only display."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), s)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, justify: dict | None = None) -> Table:
    """A rich table whose cells are plain, escaped text; wraps to fit 80 columns."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, title_justify="left", expand=False, show_edge=False, pad_edge=False)
    justify = justify or {}
    for c in columns:
        t.add_column(c, justify=justify.get(c, "left"), overflow="fold")
    for r in rows:
        t.add_row(*(Text(term_safe(_fmt(v))) for v in r))
    return t


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".")
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return v


def console(file=None, width: int | None = None) -> Console:
    """A console for reports: no markup or emoji interpretation of data, no highlighting."""
    from rich.console import Console

    return Console(file=file, width=width, highlight=False, markup=False, emoji=False, soft_wrap=False)


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n"


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with formula-looking cells neutralised (=, +, -, @ start a formula in spreadsheets)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_csv_cell(v) for v in r])
    return buf.getvalue()


def _csv_cell(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return "" if v is None else v


def render_ingest(out: Console, rep: dict) -> None:
    from rich.text import Text

    out.print(
        Text(
            f"read {rep['lines']:,} lines in {rep['elapsed_s']:.1f}s"
            + (f" ({rep['lines_per_s']:,} lines/s)" if rep.get("lines_per_s") else "")
            + f": {rep['events']:,} events, {rep['unparsed']:,} unparsed, {rep['skipped']:,} skipped (other programs)"
        )
    )
    rows = [(s["path"], s["state"], s["lines"], s["events"], s["unparsed"], s["skipped"]) for s in rep["sources"]]
    out.print(table(None, ["source", "state", "lines", "events", "unparsed", "skipped"], rows, justify=_NUMS))
    if rep["kinds"]:
        out.print(table("events by kind", ["kind", "events"], list(rep["kinds"].items()), justify=_NUMS))
    if rep["unparsed_reasons"]:
        out.print(table("unparsed by reason", ["reason", "lines"], list(rep["unparsed_reasons"].items()), justify=_NUMS))
    if rep.get("merged"):
        out.print(Text(render_merged(rep["merged"])))


def render_merged(m: dict) -> str:
    return f"merged {m['files_before']:,} files of {m['partitions']:,} day partition(s) into {m['files_after']:,} ({m['rows']:,} rows)"


_NUMS = {c: "right" for c in ("lines", "events", "unparsed", "skipped")}


def render_status(out: Console, st: dict) -> None:
    from rich.text import Text

    rec = st["reconciliation"]
    files = st.get("files") or {}
    out.print(Text(f"store {term_safe(st['store'])}: {st['commits']} commit(s), "
                   + ", ".join(f"{n:,} {ds} file(s)" for ds, n in files.items())))
    out.print(Text(f"span   {st['span']['first'] or '-'}  ..  {st['span']['last'] or '-'} (UTC)"))
    out.print(table("hosts", ["host", "events", "first", "last"], [(h["host"], h["events"], h["first"], h["last"]) for h in st["hosts"]], justify=_NUMS))
    out.print(
        table(
            "sources",
            ["id", "paths", "lines", "events", "unparsed", "skipped"],
            [(s["id"], "\n".join(s["paths"]), s["lines"], s["events"], s["unparsed"], s["skipped"]) for s in st["sources"]],
            justify=_NUMS,
        )
    )
    out.print(table("events by kind", ["daemon", "kind", "events"], [(k["daemon"], k["kind"], k["events"]) for k in st["kinds"]], justify=_NUMS))
    if st["unparsed"]:
        out.print(
            table(
                "unparsed lines by reason",
                ["reason", "lines", "example"],
                [(u["reason"], u["lines"], (u["example"]["raw"] or "")[:160]) for u in st["unparsed"]],
                justify=_NUMS,
            )
        )
    verdict = "ok" if rec["ok"] else "MISMATCH"
    out.print(
        Text(
            f"reconciliation: lines read {rec['lines_read']:,} = events {rec['events']:,} + unparsed {rec['unparsed']:,}"
            f" + skipped {rec['skipped']:,}: {verdict}"
        )
    )
