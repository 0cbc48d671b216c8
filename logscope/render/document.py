"""document: build the complete report as one JSON-serialisable dict, schema ``logscope.report/1``.

Sources: the store manifest and row counts (coverage, reconciliation), :mod:`logscope.traffic`, and the insight
modules ``logscope.insights.{rbl,rejects,forged,tune}`` through their ``analyze(con, since=,
until=, main_cf=)`` functions. A module that is not installed gives a section with status
``unavailable``; one that fails gives status ``error`` (and the report still renders).

Top-level keys (docs in the README, "Nightly reports"):

    schema        "logscope.report/1"
    generated     ISO 8601 UTC time the report was built
    period        {since, until, first, last}: the requested bounds (null = open) and the span of
                  data found in them, all UTC
    config        main.cf path given, or null
    attention     {min_severity, count, worst}: findings at or above min_severity (exit code 1)
    findings      every finding of every section, most severe first; each is a Finding dict
                  (severity, title, evidence, examples, action, code, subject) plus "section"
    store         {path, lines, events, unparsed, coverage, unparsed_reasons[], reconciliation_ok,
                  span{first,last}, hosts[]}: events/unparsed/hosts in the period, lines and
                  reconciliation for the whole store
    traffic       logscope.traffic.summary(): totals, per_day, per_hour, hour_of_day, top, problems
    sections      [{id, title, status, worst, findings[], tables[{id, title, columns, rows}],
                  error, data}], problems first; data is the module's own document
                  (logscope.rbl/1, logscope.rejects/1, logscope.forged/1, logscope.tune/1)
    charts        {rejects_over_time, rbl_zones, connection_rate}: the data each chart draws
    errors        [{section, error}]: sections that failed (the report still renders; the
                  commands exit 2 after writing it)
    timings       seconds spent per part (for the benchmark; not stable)
"""
from __future__ import annotations

import datetime as dt
import importlib
import ipaddress
import math
import os
import re
import time
from typing import Any, Callable

from .. import postconf, queries, traffic
from ..insights import SEVERITIES, inside
from ..store import Store

SCHEMA = "logscope.report/1"
SECTION_ORDER = ("rbl", "rejects", "forged", "tune")
TITLES = {
    "rbl": "DNS blocklists: health and effectiveness",
    "rejects": "Rejects by restriction",
    "forged": "Forged senders",
    "tune": "Connection limits",
}
# bucket widths for the rejects chart: the first that gives at most MAX_BUCKETS buckets
BUCKETS_S = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 72


def iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v.astimezone(dt.timezone.utc) if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _jsonable(v: Any) -> Any:
    """Deep copy with datetimes as text, tuples as lists, NaN as None, other objects as str."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, (dt.datetime, dt.date)):
        return iso(v)
    if hasattr(v, "to_dict"):
        return _jsonable(v.to_dict())
    try:
        return int(v) if float(v).is_integer() else float(v)
    except (TypeError, ValueError):
        return str(v)


def rank(severity: str | None) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def seconds(value: str | None, default: int = 60) -> int:
    """A Postfix time value (``60s``, ``1m``, ``1h``; no unit = seconds) in seconds."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", value or "")
    if not m:
        return default
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


def attention(doc: dict, min_severity: str = "warning") -> list[dict]:
    """The findings at or above ``min_severity``: what makes ``nightly`` exit 1."""
    return [f for f in doc["findings"] if rank(f.get("severity")) >= rank(min_severity)]


# -- sections -----------------------------------------------------------------------------------
def _table(tid: str, title: str, columns: list[str], rows: list[dict], limit: int | None = None) -> dict:
    rows = rows[:limit] if limit else rows
    return {"id": tid, "title": title, "columns": columns, "rows": [[_jsonable(r.get(c)) for c in columns] for r in rows]}


def _tables_rbl(d: dict) -> list[dict]:
    zones = sorted(d.get("zones") or [], key=lambda z: (-rank(z.get("severity")), -(z.get("rejects") or 0)))
    for z in zones:
        z.setdefault("lookup_failures", (z.get("lookup_errors") or 0) + (z.get("lookup_timeouts") or 0))
    out = [_table("zones", "Zones (problems first)", ["zone", "status", "rejects", "clients", "share", "only_this_zone", "hit_rate",
                                                      "lookup_failures"], zones)]
    if d.get("overlap"):
        out.append(_table("overlap", "Overlap between zones", list(d["overlap"][0].keys())[:6], d["overlap"], 10))
    if d.get("fix"):
        out.append({"id": "fix", "title": "Fix (main.cf given)", "columns": ["command"], "rows": [[c] for c in d["fix"]]})
    return out


def _tables_rejects(d: dict) -> list[dict]:
    out = [
        _table("by_class", "By restriction class", ["restriction_class", "events", "refused", "clients", "share"], d.get("by_class") or []),
        _table("by_restriction", "By restriction and action", ["restriction_class", "restriction", "action", "events", "refused", "clients"],
               d.get("by_restriction") or [], 15),
        _table("by_stage", "By SMTP stage", ["stage", "events", "refused", "clients"], d.get("by_stage") or []),
        _table("rules", "Access-table entries and header/body rules that fired", ["restriction", "rule", "events", "clients"],
               d.get("rules") or [], 10),
    ]
    if d.get("dry_runs"):
        out.append(_table("dry_runs", "reject_warning dry runs", ["restriction", "rbl_zone", "events", "clients", "clients_with_accepted_mail"],
                          d["dry_runs"]))
    return [t for t in out if t["rows"]]


def _tables_tune(d: dict) -> list[dict]:
    recs = d.get("recommendations") or []
    out = [_table("recommendations", "Recommended limits", ["parameter", "current", "legitimate_peak", "abusive_peak", "recommended", "verdict"], recs)]
    cmds = [r.get("postconf") for r in recs if r.get("postconf") and r.get("verdict") not in ("keep", None)]
    if cmds:
        out.append({"id": "postconf", "title": "Changes", "columns": ["command"], "rows": [[c] for c in cmds]})
    if d.get("exception_candidates"):
        ec = d["exception_candidates"]
        rows = ec if isinstance(ec, list) else [ec]
        rows = [r if isinstance(r, dict) else {"client_ip": r} for r in rows]
        out.append(_table("exceptions", "Candidates for smtpd_client_event_limit_exceptions", list(rows[0].keys())[:5], rows, 10))
    clients = sorted(d.get("clients") or [], key=lambda c: -(c.get("peak_connection_rate") or 0))
    out.append(_table("clients", "Busiest clients", ["client_ip", "client_host", "class", "sessions", "accepted", "peak_concurrency",
                                                     "peak_connection_rate", "refused_sessions"], clients, 10))
    return [t for t in out if t["rows"]]


def _tables_forged(d: dict) -> list[dict]:
    pats = sorted(d.get("patterns") or [], key=lambda p: (-rank(p.get("severity")), -(p.get("hits") or 0)))
    out = [_table("patterns", "Forgery patterns (problems first)", ["title", "status", "hits", "rejected", "accepted", "clients"], pats)]
    ours = d.get("ours") or {}
    if ours:
        rows = [{"what": k, "values": ours.get(k)} for k in ("domains", "hostnames", "addresses", "mynetworks") if ours.get(k)]
        title = "What counts as ours" + (" (inferred from the log: give --main-cf for the real values)" if ours.get("inferred") else "")
        out.append(_table("ours", title, ["what", "values"], rows))
    return [t for t in out if t["rows"]]


TABLES: dict[str, Callable[[dict], list[dict]]] = {
    "rbl": _tables_rbl, "rejects": _tables_rejects, "tune": _tables_tune, "forged": _tables_forged,
}


def _section(sid: str, con, since, until, cf) -> dict:
    sec = {"id": sid, "title": TITLES[sid], "status": "ok", "worst": None, "findings": [], "tables": [], "error": None, "data": None}
    try:
        mod = importlib.import_module(f"logscope.insights.{sid}")
    except ModuleNotFoundError as exc:
        if exc.name != f"logscope.insights.{sid}":
            raise
        sec.update(status="unavailable", error=f"logscope.insights.{sid} is not installed")
        return sec
    try:
        data = _jsonable(mod.analyze(con, since=since, until=until, main_cf=cf))
        sec["data"] = data
        sec["findings"] = [dict(f, section=sid) for f in data.get("findings") or []]
        sec["tables"] = TABLES[sid](data)
    except Exception as exc:  # a broken section must not take the whole report down
        sec.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return sec
    sec["worst"] = max((f.get("severity") for f in sec["findings"]), key=rank, default=None)
    return sec


# -- charts -------------------------------------------------------------------------------------
def _rejects_over_time(con, since, until, first, last) -> dict:
    span = (last - first).total_seconds() if first and last else 0
    bucket_s = next((b for b in BUCKETS_S if span / b <= MAX_BUCKETS), BUCKETS_S[-1])
    rows = queries.run(con, "report_rejects_timeseries", bucket_s=bucket_s, since=since, until=until).fetchall()
    buckets = sorted({r[0] for r in rows})
    index = {b: i for i, b in enumerate(buckets)}
    series: dict[str, list[int]] = {}
    for b, cls, n, _ in rows:
        series.setdefault(cls or "other", [0] * len(buckets))[index[b]] = int(n)
    order = sorted(series, key=lambda c: -sum(series[c]))
    return {"bucket_s": bucket_s, "buckets": [iso(b) for b in buckets], "series": {c: series[c] for c in order}}


def _rbl_zones(sections: dict) -> dict:
    data = (sections.get("rbl") or {}).get("data") or {}
    zones = [
        {"zone": z.get("zone"), "status": z.get("status"), "severity": z.get("severity"), "rejects": z.get("rejects") or 0,
         "lookup_failures": (z.get("lookup_errors") or 0) + (z.get("lookup_timeouts") or 0)}
        for z in data.get("zones") or []
    ]
    return {"zones": sorted(zones, key=lambda z: (-z["rejects"], -z["lookup_failures"], z["zone"] or ""))}


_HOST_ONLY = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]


def _internal(ips: list[str], nets: list, exempt: set) -> set[str]:
    """The addresses of ``ips`` in mynetworks (main.cf given), else the host itself (127.0.0.1,
    ::1: mynetworks_style = host), or classed exempt by the tune section."""
    return set(exempt) | set(inside(ips, nets or _HOST_ONLY))


def _rate_unit(cf) -> int:
    return seconds(cf.get("anvil_rate_time_unit") if cf is not None else None)


def _connection_rate(rows: list, cf, sections: dict) -> dict:
    """The chart's histogram from query report_connection_rates' ``rows``."""
    unit = _rate_unit(cf)
    nets = cf.mynetworks() if cf is not None else []
    tune = (sections.get("tune") or {}).get("data") or {}
    exempt = {c.get("client_ip") for c in tune.get("clients") or [] if c.get("class") == "exempt"}
    internal = _internal([r[0] for r in rows], nets, exempt)
    hist: dict[int, list[int]] = {}
    for ip, _host, _n, peak, _refused, accepted in rows:
        if ip in internal:
            continue  # mynetworks (or loopback): exempt from the limits by default
        h = hist.setdefault(int(peak), [0, 0])
        h[0 if accepted else 1] += 1
    configured = None
    if cf is not None:
        v = cf.get("smtpd_client_connection_rate_limit")
        configured = int(v) if v and v.isdigit() else None
    recommended = None
    for r in tune.get("recommendations") or []:
        if r.get("metric") == "connection_rate":
            recommended = r.get("recommended")
            configured = r.get("current", configured)
    return {
        "unit_s": unit,
        "histogram": [{"peak_rate": k, "clients_with_mail": v[0], "clients_without_mail": v[1]} for k, v in sorted(hist.items())],
        "configured_limit": configured or None,
        "recommended_limit": recommended,
    }


# -- store ----------------------------------------------------------------------------------------
def _store(store: Store, con, since, until) -> dict:
    """Coverage in the period, and the store's reconciliation (lines read = events + unparsed +
    skipped) from the manifest and Parquet row counts, without a full status() scan."""
    manifest = store.manifest()
    srcs = manifest["sources"].values()
    lines = sum(s["lines"] for s in srcs)
    skipped = sum(s["skipped"] for s in srcs)
    all_events = con.sql("select count(*) from events").fetchall()[0][0]
    all_unparsed = con.sql("select count(*) from unparsed").fetchall()[0][0]
    p = {"since": since, "until": until}
    where = "($since is null or ts >= $since) and ($until is null or ts < $until)"
    n_ev, first, last, hosts = con.sql(
        f"select count(*), min(ts), max(ts), list(distinct host order by host) from events where {where}", params=p).fetchall()[0]
    reasons = con.sql(
        f"select reason, count(*) n, arg_min(source, line_no), min(line_no), any_value(raw) from unparsed where {where} or ts is null "
        "group by reason order by n desc limit 10", params=p).fetchall()
    n_un = sum(r[1] for r in reasons)
    return {
        "path": str(store.path),
        "lines": lines,
        "events": n_ev,
        "unparsed": n_un,
        "coverage": round(n_ev / (n_ev + n_un), 4) if n_ev + n_un else None,
        "unparsed_reasons": [{"reason": r, "lines": n, "example": {"source": s, "line_no": ln, "raw": raw}} for r, n, s, ln, raw in reasons],
        "reconciliation_ok": lines == all_events + all_unparsed + skipped,
        "span": {"first": iso(first), "last": iso(last)},
        "hosts": [h for h in (hosts or []) if h is not None],
    }


def _store_findings(s: dict, unparsed_share: float) -> list[dict]:
    out = []
    if not s["reconciliation_ok"]:
        out.append({"severity": "critical", "code": "store.reconcile", "subject": s["path"], "examples": [], "action": "logscope status",
                    "title": "the store does not reconcile: lines read differ from events + unparsed + skipped", "evidence": {}})
    total = s["events"] + s["unparsed"]
    if total and s["unparsed"] / total > unparsed_share:
        top = s["unparsed_reasons"][0]
        out.append({
            "severity": "warning", "code": "store.unparsed", "subject": top["reason"],
            "title": f"{s['unparsed']:,} of {total:,} lines in the period were not understood ({100 * s['unparsed'] / total:.1f}%)",
            "evidence": {"unparsed": s["unparsed"], "lines": total, "threshold": unparsed_share, "top_reason": top["reason"]},
            "examples": [top["example"] | {"raw": None}] if top["example"]["source"] else [],
            "action": "logscope status (unparsed lines by reason); report the lines upstream",
        })
    if total == 0:
        out.append({"severity": "notice", "code": "store.empty", "subject": None, "examples": [], "action": None, "evidence": {},
                    "title": "no log lines in the period: is Postfix logging, and is the ingest reading the right files?"})
    for f in out:
        f["section"] = "store"
        f["examples"] = [{"source": e["source"], "line_no": e["line_no"]} for e in f["examples"]]
    return out


# -- build ----------------------------------------------------------------------------------------
# The parts run two at a time, each on its own DuckDB cursor: a part's queries leave a core idle
# much of the time (single-threaded operators, Python between queries). Longest first.
WORKERS = 2
_LONGEST_FIRST = {"tune": 0, "forged": 1, "traffic": 2, "rejects": 3, "rbl": 4, "rate_rows": 5, "store": 6}


def build(
    store: Store | str | os.PathLike | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    main_cf: postconf.MainCf | str | os.PathLike | None = None,
    limit: int = 10,
    unparsed_share: float = 0.01,
    min_severity: str = "warning",
    sections: tuple[str, ...] = SECTION_ORDER,
) -> dict:
    """The report for [since, until) (UTC; None = open) as a ``logscope.report/1`` document."""
    store = store if isinstance(store, Store) else Store(store)
    cf = postconf.load(main_cf) if isinstance(main_cf, (str, os.PathLike)) else main_cf
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    con = queries.open(store, must_exist=True)
    timings["open"] = round(time.monotonic() - t0, 3)
    jobs: dict[str, Callable] = {sid: (lambda c, sid=sid: _section(sid, c, since, until, cf)) for sid in sections}
    jobs["traffic"] = lambda c: traffic.summary(c, since, until, limit=limit)
    jobs["store"] = lambda c: _store(store, c, since, until)
    jobs["rate_rows"] = lambda c: queries.run(c, "report_connection_rates", unit_s=_rate_unit(cf), since=since, until=until).fetchall()
    done = queries.parallel(con, dict(sorted(jobs.items(), key=lambda j: _LONGEST_FIRST.get(j[0], 99))), workers=WORKERS, timings=timings)
    st, tr = done.pop("store"), done.pop("traffic")
    rate_rows = done.pop("rate_rows")
    secs = done
    t = time.monotonic()
    first = dt.datetime.fromisoformat(st["span"]["first"]) if st["span"]["first"] else None
    last = dt.datetime.fromisoformat(st["span"]["last"]) if st["span"]["last"] else None
    charts = {
        "rejects_over_time": _rejects_over_time(con, since, until, first, last),
        "rbl_zones": _rbl_zones(secs),
        "connection_rate": _connection_rate(rate_rows, cf, secs),
    }
    timings["charts"] = round(time.monotonic() - t, 3)
    con.close()
    findings = _store_findings(st, unparsed_share)
    for s in secs.values():
        findings.extend(s["findings"])
    findings.sort(key=lambda f: -rank(f.get("severity")))  # stable: section order within a severity
    ordered = sorted(secs.values(), key=lambda s: (-rank(s["worst"]), SECTION_ORDER.index(s["id"]) if s["id"] in SECTION_ORDER else 99))
    att = [f for f in findings if rank(f.get("severity")) >= rank(min_severity)]
    timings["total"] = round(time.monotonic() - t0, 3)
    return {
        "schema": SCHEMA,
        "generated": iso(dt.datetime.now(dt.timezone.utc)),
        "period": {"since": iso(since), "until": iso(until), "first": st["span"]["first"], "last": st["span"]["last"]},
        "config": cf.path if cf is not None else None,
        "attention": {"min_severity": min_severity, "count": len(att), "worst": att[0]["severity"] if att else None},
        "findings": findings,
        "store": st,
        "traffic": tr,
        "sections": ordered,
        "charts": charts,
        "errors": [{"section": x["id"], "error": x["error"]} for x in ordered if x["status"] == "error"],
        "timings": timings,
    }
