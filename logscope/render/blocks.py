"""blocks: the report's layout, shared by the text, Markdown and HTML renderers.

:func:`layout` turns a ``logscope.report/1`` document into a flat list of blocks; each renderer
only knows how to draw a block, and escapes every string for its target itself. Cell values stay
raw (numbers are formatted here, strings are not touched).

Block kinds:
    ("h1", text) ("h2", text, anchor) ("h3", text) ("p", text) ("note", text)
    ("findings", [finding dicts], compact)   compact: title and fix only (the attention list)
    ("table", title, columns, rows, align)   align: list of "l"/"r"
    ("chart", chart_id, title)               HTML draws the chart; text and Markdown skip it
"""
from __future__ import annotations

from typing import Any

from .. import report

PCT_COLUMNS = {"share", "hit_rate", "coverage", "error_share", "good_share"}
NUM_RIGHT = (int, float)
MEASURE_LABELS = [
    ("received", "received"), ("delivered", "delivered"), ("forwarded", "forwarded"), ("deferred", "deferred (messages)"),
    ("deferrals", "deferrals"), ("bounced", "bounced"), ("expired", "expired"), ("rejected", "rejected"),
    ("rejected_pct", "rejected %"), ("reject_warnings", "reject warnings"), ("held", "held"), ("discarded", "discarded"),
    ("handoffs", "content-filter hand-offs (not counted as delivered)"), ("filtered", "kept or discarded by a content filter"),
    ("bytes_received", "bytes received"), ("bytes_delivered", "bytes delivered"), ("senders", "senders"),
    ("sending_hosts", "sending hosts"), ("sending_domains", "sending domains"), ("recipients", "recipients"),
    ("recipient_domains", "recipient domains"), ("connections", "smtpd connections"), ("clients", "distinct clients"),
    ("postscreen_connections", "postscreen connections"),
]
SERIES = ["received", "delivered", "deferred", "bounced", "rejected"]  # pflogsumm's per-day/per-hour columns


def cell(col: str, v: Any) -> str:
    """A value as display text (not yet escaped)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and col in PCT_COLUMNS:
        return f"{100 * v:.1f}%"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) < 1e15 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, list):
        return ", ".join(cell(col, x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={cell(k, x)}" for k, x in v.items())
    return str(v)


def _align(rows: list[list], n: int) -> list[str]:
    out = []
    for i in range(n):
        vals = [r[i] for r in rows if r[i] is not None]
        out.append("r" if vals and all(isinstance(v, NUM_RIGHT) and not isinstance(v, bool) for v in vals) else "l")
    return out


def table(title: str, columns: list[str], rows: list[list]) -> tuple:
    return ("table", title, columns, [[cell(c, v) for c, v in zip(columns, r)] for r in rows], _align(rows, len(columns)))


def _sender(s: str) -> str:
    return {"": "<> (null sender)", "<>": "<> (null sender)", "?": "(not logged)"}.get(s, s)


def evidence_text(ev: dict, width: int = 80) -> str:
    """Scalar evidence as k=v pairs; nested values are left to the JSON report."""
    parts = []
    for k, v in ev.items():
        if isinstance(v, (dict,)) or (isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v)):
            continue
        t = cell(k, v)
        parts.append(f"{k}={t[:width]}{'…' if len(t) > width else ''}")
    return "; ".join(parts[:8])


def _short(ts: str | None) -> str:
    return (ts or "").replace("T", " ").replace("+00:00", "")[:19]


def period_text(doc: dict) -> str:
    p = doc["period"]
    lo = _short(p["since"]) or _short(p["first"]) or "-"
    hi = _short(p["until"]) or _short(p["last"]) or "-"
    return f"{lo} .. {hi} UTC"


def layout(doc: dict) -> list[tuple]:
    b: list[tuple] = [("h1", f"logscope report: {period_text(doc)}")]
    st, tr = doc["store"], doc["traffic"]
    att = doc["attention"]
    b.append(("p", f"Generated {_short(doc['generated'])} UTC from {st['path']}"
              + (f" with {doc['config']}" if doc.get("config") else " (no main.cf given: configuration checks skipped)") + "."))

    # attention first
    if att["count"]:
        b.append(("h2", f"Needs attention: {att['count']} finding(s), worst {att['worst']}", "attention"))
        b.append(("findings", [f for f in doc["findings"] if _rank(f) >= _rank({"severity": att["min_severity"]})], True))
    else:
        b.append(("h2", "Nothing needs attention", "attention"))
        b.append(("p", f"No finding of severity {att['min_severity']} or higher."))

    # store
    b.append(("h2", "The store", "store"))
    cov = st["coverage"]
    b.append(("p", f"{st['events']:,} events and {st['unparsed']:,} unparsed lines in the period"
              + (f" (coverage {100 * cov:.2f}%)" if cov is not None else "")
              + (f" from {len(st['hosts'])} host(s): {', '.join(st['hosts'][:8])}" if st["hosts"] else "")
              + f". The store holds {st['lines']:,} lines read in all; lines read = events + unparsed + skipped: "
              + ("yes" if st["reconciliation_ok"] else "NO (run logscope status)") + "."))
    if st["unparsed_reasons"]:
        b.append(table("Unparsed lines by reason", ["reason", "lines", "example"],
                       [[u["reason"], u["lines"], (u["example"].get("raw") or "")[:200]] for u in st["unparsed_reasons"]]))

    # traffic
    t = tr["totals"]
    b.append(("h2", "Traffic", "traffic"))
    b.append(("note", "A message that passes a content filter is counted once: the hand-off to the filter is not a delivery, "
                      "and the re-injected copy is not received again."))
    b.append(table("Grand totals", ["measure", "count"], [[label, t.get(k, 0)] for k, label in MEASURE_LABELS]))
    if tr["per_day"]:
        b.append(table("Per day (UTC)", ["day"] + SERIES, [[(r["bucket"] or "")[:10]] + [r.get(s) for s in SERIES] for r in tr["per_day"]]))
    if tr["per_hour"]:
        rows = tr["per_hour"] if len(tr["per_hour"]) <= 48 else None
        if rows is not None:
            b.append(table("Per hour (UTC)", ["hour"] + SERIES, [[_short(r["bucket"])[5:13] + "h"] + [r.get(s) for s in SERIES] for r in rows]))
        else:
            b.append(table("Per hour of day (UTC, summed over the period)", ["hour"] + SERIES,
                           [[f"{r['hour']:02d}:00"] + [r.get(s) for s in SERIES] for r in tr["hour_of_day"]]))
    top = tr["top"]
    if top.get("sender"):
        b.append(table("Senders by messages received", ["sender", "messages", "bytes"],
                       [[_sender(r["key"]), r["messages"], r["bytes"]] for r in top["sender"]]))
    if top.get("recipient"):
        b.append(table("Recipients by messages delivered", ["recipient", "delivered", "bytes", "deferred", "bounced"],
                       [[r["key"], r["messages"], r["bytes"], r["deferred"], r["bounced"]] for r in top["recipient"]]))
    if top.get("recipient_domain"):
        b.append(table("Recipient domains", ["domain", "delivered", "bytes", "deferred", "bounced", "avg delay s", "max delay s"],
                       [[r["key"], r["messages"], r["bytes"], r["deferred"], r["bounced"], r["avg_delay_s"], r["max_delay_s"]]
                        for r in top["recipient_domain"]]))
    if top.get("sender_domain"):
        b.append(table("Sender domains", ["domain", "messages", "bytes"], [[_sender(r["key"]), r["messages"], r["bytes"]] for r in top["sender_domain"]]))
    if top.get("client"):
        b.append(table("SMTP clients", ["client", "host", "connections", "messages", "rejected"],
                       [[r["key"], r["detail"], r["connections"], r["messages"], r["rejected"]] for r in top["client"]]))
    names = {"deferred": "Deferral reasons", "bounced": "Bounce reasons", "rejected": "Reject replies", "warning": "Warnings",
             "error": "Errors", "fatal": "Fatal errors", "panic": "Panics"}
    for k in ("fatal", "panic", "error", "bounced", "deferred", "rejected", "warning"):
        rows = tr["problems"].get(k)
        if rows:
            b.append(table(names[k], ["via", "reason", "events", "example"],
                           [[r["via"], r["reason"], r["events"], f"{r['example_source']}:{r['example_line_no']}"] for r in rows]))

    # charts
    b.append(("h2", "Charts", "charts"))
    b.append(("chart", "rejects_over_time", "Refused mail over time, by restriction class"))
    b.append(("chart", "rbl_zones", "Rejects and lookup failures per DNS blocklist zone"))
    b.append(("chart", "connection_rate", "Clients by peak connection rate, with the limits"))

    # insight sections, problems first
    for s in doc["sections"]:
        worst = f" [{s['worst']}]" if s["worst"] in ("warning", "critical") else ""
        b.append(("h2", s["title"] + worst, s["id"]))
        if s["status"] != "ok":
            b.append(("note", f"section {s['status']}: {s['error']}"))
            continue
        if s["findings"]:
            b.append(("findings", s["findings"], False))
        else:
            b.append(("p", "No findings."))
        for tb in s["tables"]:
            b.append(table(tb["title"], tb["columns"], tb["rows"]))
    if any(f.get("examples") for f in doc["findings"]):
        b.append(("note", report.SHOW_HINT))
    return b


def _rank(f: dict) -> int:
    from .document import rank

    return rank(f.get("severity"))


def chart_summary(doc: dict, chart_id: str) -> list[list]:
    """A chart's data as small table rows (for text/Markdown and as the HTML fallback)."""
    c = doc["charts"][chart_id]
    if chart_id == "rejects_over_time":
        return [[cls, sum(v)] for cls, v in c["series"].items()]
    if chart_id == "rbl_zones":
        return [[z["zone"], z["status"], z["rejects"], z["lookup_failures"]] for z in c["zones"]]
    return [[h["peak_rate"], h["clients_with_mail"], h["clients_without_mail"]] for h in c["histogram"]]


CHART_COLUMNS = {
    "rejects_over_time": ["restriction class", "refused"],
    "rbl_zones": ["zone", "status", "rejects", "lookup failures"],
    "connection_rate": ["peak connections per unit", "clients with accepted mail", "other clients"],
}
