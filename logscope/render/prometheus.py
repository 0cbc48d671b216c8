"""prometheus: the report's numbers as a node_exporter textfile (text exposition format 0.0.4).

Metrics (labels are log-derived text: backslash, double quote and newline are escaped as the
format requires, control characters made visible):

    logscope_rejects{restriction_class, restriction}   refused decisions in the period
    logscope_rbl_rejects{zone}                         rejects naming the zone
    logscope_rbl_lookup_failures{zone}                 lookup errors and timeouts
    logscope_rbl_healthy{zone, status}                 1 = ok, 0 = dead, lists_everything, error_codes,
                                                       defunct or silent
    logscope_traffic{measure}                          received, delivered, deferred, bounced ...
    logscope_findings{severity}                        findings per severity
    logscope_attention                                 1 when findings need attention (exit code 1)
    logscope_unparsed_lines, logscope_events           coverage of the period
    logscope_report_timestamp_seconds                  when the report was built
    logscope_report_period_end_seconds                 end of the period covered
"""
from __future__ import annotations

import datetime as dt

from .. import report
from .document import SECTION_ORDER  # noqa: F401  (documentation: sections the metrics come from)

HEALTHY = {"ok"}


def _label(v) -> str:
    s = report.term_safe("" if v is None else v)
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _ts(v: str | None) -> float | None:
    return dt.datetime.fromisoformat(v).timestamp() if v else None


def prometheus(doc: dict) -> str:
    out: list[str] = []

    def metric(name: str, help_: str, samples: list[tuple[dict, float]], kind: str = "gauge") -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            out.append(f"{name}{{{lab}}} {float(value):g}" if lab else f"{name} {float(value):g}")

    secs = {s["id"]: s for s in doc["sections"]}
    rej = (secs.get("rejects") or {}).get("data") or {}
    metric("logscope_rejects", "Refused decisions in the report period, per restriction.",
           [({"restriction_class": r.get("restriction_class"), "restriction": r.get("restriction")}, r.get("refused") or 0)
            for r in rej.get("by_restriction") or [] if r.get("action") in (None, "reject", "defer", "milter-reject", "proxy-reject")
            or (r.get("refused") or 0) > 0])
    zones = ((secs.get("rbl") or {}).get("data") or {}).get("zones") or []
    metric("logscope_rbl_rejects", "Rejects naming the DNS blocklist zone in the report period.",
           [({"zone": z.get("zone")}, z.get("rejects") or 0) for z in zones])
    metric("logscope_rbl_lookup_failures", "DNS blocklist lookup errors and timeouts in the report period.",
           [({"zone": z.get("zone")}, (z.get("lookup_errors") or 0) + (z.get("lookup_timeouts") or 0)) for z in zones])
    metric("logscope_rbl_healthy", "1 when the blocklist zone looks healthy, 0 when dead, listing everything, answering error codes, defunct or silent.",
           [({"zone": z.get("zone"), "status": z.get("status")}, 1 if z.get("status") in HEALTHY else 0) for z in zones])
    t = doc["traffic"]["totals"]
    metric("logscope_traffic", "Messages in the report period by measure (content-filter loop counted once).",
           [({"measure": k}, t.get(k) or 0) for k in ("received", "delivered", "forwarded", "deferred", "deferrals", "bounced", "expired",
                                                      "rejected", "reject_warnings", "held", "discarded")])
    sev: dict[str, int] = {"info": 0, "notice": 0, "warning": 0, "critical": 0}
    for f in doc["findings"]:
        sev[f.get("severity")] = sev.get(f.get("severity"), 0) + 1
    metric("logscope_findings", "Findings in the report by severity.", [({"severity": k}, v) for k, v in sev.items()])
    metric("logscope_attention", "1 when findings need attention (logscope nightly exits 1).", [({}, 1 if doc["attention"]["count"] else 0)])
    metric("logscope_events", "Understood log lines in the report period.", [({}, doc["store"]["events"])])
    metric("logscope_unparsed_lines", "Log lines in the report period that were not understood.", [({}, doc["store"]["unparsed"])])
    metric("logscope_report_timestamp_seconds", "Unix time the report was built.", [({}, _ts(doc["generated"]) or 0)])
    end = _ts(doc["period"]["until"]) or _ts(doc["period"]["last"])
    if end:
        metric("logscope_report_period_end_seconds", "Unix time of the end of the report period.", [({}, end)])
    return "\n".join(out) + "\n"
