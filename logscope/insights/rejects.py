"""rejects - which restrictions refuse mail, and what in the configuration is wrong.

NAME
    logscope.insights.rejects - rejects and other access decisions by restriction class, stage,
    reply code and action, the access-table entries and header/body check rules that fired, top
    clients/senders/recipients/HELO names per class, reject_warning dry runs, a what-if for
    reject_unknown_client_hostname, and main.cf findings.

INPUT (events, via queries/rejects_*.sql)
    smtpd/postscreen kind decision (NOQUEUE|QID: reject|reject_warning|defer|hold|discard|...:),
    cleanup kind check (header_checks/body_checks) and milter, smtpd client= lines (accepted mail),
    and diagnostic "unknown smtpd restriction" warnings.

FINDINGS
    Log only:
      rejects.unknown_restriction  critical  smtpd warned "unknown smtpd restriction: X": every client
                                              reaching it gets 451 4.3.5 Server configuration error
      rejects.unknown_user_4xx     warning   unknown-recipient rejects answered 4xx: senders retry
                                              for days instead of bouncing (suggest 550)
      rejects.dry_run              notice    reject_warning lines: what warn_if_reject would refuse
      rejects.whatif_unknown_client info     clients without (forward-confirmed) rDNS that had mail
                                              accepted: reject_unknown_client_hostname would refuse them
    With --main-cf:
      config.unknown_restriction   critical  a restriction word Postfix does not know (typo)
      config.removed_restriction   warning   check_relay_domains, reject_maps_rbl, permit_naked_ip_address
                                              (removed in Postfix 3.9: 451 Server configuration error)
      config.renamed_restriction   notice    old names that still work (reject_unknown_client ...)
      config.misspelled_parameter  warning   smtpd_sender_restriction & co: Postfix ignores them
      config.obsolete_parameter    notice    maps_rbl_domains, fallback_relay ...
      config.unknown_recipient_450 warning   unknown_local_recipient_reject_code = 450
      config.never_fired           info      a configured restriction with no decision in the period

OUTPUT
    A dict with "schema": "logscope.rejects/1" (docs/json-intel.md). :func:`render_text` and
    :func:`csv_rows` present it.
"""
from __future__ import annotations

import datetime as dt

from .. import queries, report
from . import Finding, by_severity, examples_of, minute, parse_when, postconf_edit
from . import _config
from .rbl import _rows, iso, render_findings

SCHEMA = "logscope.rejects/1"
NEVER_FIRED_MIN_CONNECTIONS = 100

# config word -> the restriction name the smtpd grammar gives its rejects
FIRE_NAME = {
    "reject_unlisted_recipient": "unknown_recipient",
    "reject_unknown_client": "reject_unknown_client_hostname",
    "reject_invalid_hostname": "reject_invalid_helo_hostname",
    "reject_non_fqdn_hostname": "reject_non_fqdn_helo_hostname",
    "reject_unknown_hostname": "reject_unknown_helo_hostname",
    "check_policy_service": "policy_service",
    "reject_authenticated_sender_login_mismatch": "reject_sender_login_mismatch",
    "reject_known_sender_login_mismatch": "reject_sender_login_mismatch",
    "reject_unauthenticated_sender_login_mismatch": "reject_sender_login_mismatch",
}
for _w in ("client", "helo", "sender", "recipient", "reverse_client_hostname"):
    for _k in ("a", "mx", "ns"):
        FIRE_NAME[f"check_{_w}_{_k}_access"] = f"check_{_w}_access"
# lists whose rejects carry their own stage (the others fire at RCPT with smtpd_delay_reject = yes)
LIST_STAGE = {"smtpd_end_of_data_restrictions": "END-OF-MESSAGE", "smtpd_data_restrictions": "DATA", "smtpd_etrn_restrictions": "ETRN"}
# restrictions whose silence is good news, never a reason to remove them
SAFETY = {"reject_unauth_destination", "defer_unauth_destination", "reject_unauth_pipelining"}


def _loggable(word: str) -> bool:
    w = word.lower()
    return (w.startswith("reject_") or w.startswith("check_")) and w not in _config.RBL_RESTRICTIONS and w not in (
        "reject", "reject_maps_rbl", "check_relay_domains")


# the named queries analyze() runs
QUERIES = ("rejects_summary", "rejects_timeseries", "rejects_rules", "rejects_top", "rejects_dryrun",
           "rejects_whatif_unknown_client", "rejects_config_errors", "rejects_traffic")


def views() -> set[str]:
    """The views analyze() reads: for logscope.open(store, views=...)."""
    return queries.views_for(*QUERIES)


def analyze(con, *, since=None, until=None, main_cf=None, top: int = 5) -> dict:
    """Rejects by restriction, rules fired, top values, dry runs, what-if and findings."""
    p = {"since": since, "until": until}
    lo, hi = _config.inside_ranges(main_cf)
    near = (parse_when(since), parse_when(until))

    def q(name: str, **extra):
        def job(c):
            # over a period, from its lines and a day around it (queries.events_near): the view
            # client_mail looks up the queue ids refused later in their session among those only
            with queries.events_near(c, *near):
                return _rows(queries.run(c, name, **p, **extra))
        return job

    # independent queries, two at a time on cursors of con (longest first); each reads the views
    # with only the columns it needs, which costs less than materialising `rejects` for all of them
    got = queries.parallel(con, {
        "summary": q("rejects_summary"), "top": q("rejects_top", limit=top), "dry": q("rejects_dryrun"),
        "whatif": q("rejects_whatif_unknown_client", inside_lo=lo, inside_hi=hi), "rules": q("rejects_rules"),
        "hourly": q("rejects_timeseries", bucket="hour"), "daily": q("rejects_timeseries", bucket="day"),
        "cfg_errors": q("rejects_config_errors"), "traffic": q("rejects_traffic"),
    })
    dims: dict[str, list] = {}
    for r in got["summary"]:
        dims.setdefault(r["dimension"], []).append(r)
    total = (dims.get("total") or [{}])[0]
    hourly, daily, rules, tops, dry = got["hourly"], got["daily"], got["rules"], got["top"], got["dry"]
    whatif, cfg_errors, traffic = got["whatif"][0], got["cfg_errors"], got["traffic"][0]

    def clean(rows, keys):
        return [{k: iso(r.get(k)) for k in keys} for r in rows]

    common = ["events", "refused", "clients", "share", "first_ts", "last_ts", "example_source", "example_line_no"]
    top_by: dict[str, dict] = {}
    for t in tops:
        top_by.setdefault(t["restriction_class"], {}).setdefault(t["what"], []).append(
            {"value": t["value"], "events": t["events"], "refused": t["refused"]})

    findings = _log_findings(dims, dry, whatif, cfg_errors)
    fix = None
    if main_cf is not None:
        findings += _config_findings(main_cf, dims, cfg_errors, traffic)
        fix = _combined_fix(main_cf) or None
    findings = by_severity(findings)
    return {
        "schema": SCHEMA,
        "generated": iso(dt.datetime.now(dt.timezone.utc)),
        "period": {"since": iso(since), "until": iso(until), "first": iso(traffic.get("first_ts")), "last": iso(traffic.get("last_ts"))},
        "config": main_cf.path if main_cf is not None else None,
        "totals": {"events": total.get("events", 0), "refused": total.get("refused", 0), "clients": total.get("clients", 0),
                   "smtpd_connections": traffic.get("smtpd_connections", 0)},
        "by_restriction": clean(dims.get("restriction", []), ["restriction_class", "restriction", "action"] + common),
        "by_restriction_code": clean(dims.get("restriction_code", []), ["restriction_class", "restriction", "code", "dsn"] + common),
        "by_class": clean(dims.get("class", []), ["restriction_class"] + common),
        "by_stage": clean(dims.get("stage", []), ["stage"] + common),
        "by_code": clean(dims.get("code", []), ["code", "dsn"] + common),
        "by_action": clean(dims.get("action", []), ["action"] + common),
        "timeseries": {
            "hour": clean(hourly, ["bucket", "restriction_class", "events", "refused", "clients"]),
            "day": clean(daily, ["bucket", "restriction_class", "events", "refused", "clients"]),
        },
        "rules": clean(rules, ["restriction", "restriction_class", "action", "rule", "reply", "code", "dsn", "events", "clients",
                               "keys", "key_examples", "first_ts", "last_ts", "example_source", "example_line_no"]),
        "top": top_by,
        "dry_runs": clean(dry, ["restriction", "restriction_class", "rbl_zone", "events", "clients", "clients_with_accepted_mail",
                                "first_ts", "last_ts", "example_source", "example_line_no"]),
        "whatif_reject_unknown_client_hostname": {k: iso(v) for k, v in whatif.items()},
        "findings": [f.to_dict() for f in findings],
        "fix": fix,
    }


def _log_findings(dims, dry, whatif, cfg_errors) -> list[Finding]:
    out = []
    for e in cfg_errors:
        guess = _config.suggest(e["restriction"])
        out.append(Finding(
            "critical",
            f"smtpd does not know the restriction \"{e['restriction']}\": {e['warnings']} time(s) it answered "
            f"451 4.3.5 Server configuration error" + (f" (did you mean {guess}?)" if guess else ""),
            {"restriction": e["restriction"], "warnings": e["warnings"], "server_errors": e["server_errors"],
             "suggestion": guess, "first": iso(e["first_ts"]), "last": iso(e["last_ts"])},
            examples_of([(e["example_source"], e["example_line_no"])]),
            f"find it with: postconf -n | grep -n -F '{e['restriction']}'; postconf -P | grep -F '{e['restriction']}' — then "
            + (f"replace it with {guess}" if guess else "remove it") + " (postconf -e '<parameter> = <fixed list>') and postfix reload",
            code="rejects.unknown_restriction", subject=e["restriction"]))
    soft_unknown = [r for r in dims.get("restriction_code", []) if r["restriction"] == "unknown_recipient" and r["code"] and 400 <= r["code"] < 500]
    if soft_unknown:
        n = sum(r["events"] for r in soft_unknown)
        r0 = soft_unknown[0]
        out.append(Finding(
            "warning",
            f"{n} unknown-recipient rejects were answered with a temporary {r0['code']}: senders retry for days instead of bouncing",
            {"rejects": n, "codes": sorted({r["code"] for r in soft_unknown}), "clients": sum(r["clients"] for r in soft_unknown)},
            examples_of([(r0["example_source"], r0["example_line_no"])]),
            postconf_edit("unknown_local_recipient_reject_code", "550") + " && postfix reload"
            "   # also check soft_bounce = no and the *_recipient_maps reject codes",
            code="rejects.unknown_user_4xx", subject="unknown_local_recipient_reject_code"))
    for d in dry:
        name = d["restriction"] + (f" {d['rbl_zone']}" if d["rbl_zone"] else "")
        risky = d["clients_with_accepted_mail"] or 0
        out.append(Finding(
            "notice",
            f"warn_if_reject dry run: {name} would have rejected {d['events']} time(s), {d['clients']} client(s)"
            + (f"; {risky} of them otherwise had mail accepted or authenticated" if risky else "; none of them otherwise had mail accepted"),
            {k: iso(d[k]) for k in ("restriction", "rbl_zone", "events", "clients", "clients_with_accepted_mail", "first_ts", "last_ts")},
            examples_of([(d["example_source"], d["example_line_no"])]),
            None if risky else f"safe to enforce: remove the warn_if_reject in front of {name} (postconf -e '<parameter> = <list without it>')",
            code="rejects.dry_run", subject=name))
    if whatif.get("clients"):
        out.append(Finding(
            "info",
            f"what-if reject_unknown_client_hostname: it would have refused {whatif['clients']} client(s) "
            f"({whatif['share']:.0%} of clients with accepted mail), {int(whatif['messages'])} accepted message(s); "
            f"{whatif['authenticated_clients']} of them authenticated",
            {k: iso(v) for k, v in whatif.items()}, (), None,
            code="rejects.whatif_unknown_client", subject="reject_unknown_client_hostname"))
    return out


def _config_findings(cf, dims, cfg_errors, traffic) -> list[Finding]:
    out = []
    logged = {e["restriction"]: e for e in cfg_errors}
    for pr in _config.param_problems(cf):
        if pr["problem"] == "misspelled":
            right = pr["replacement"]
            val = cf.params[pr["parameter"]]
            exists = right in cf.params
            out.append(Finding(
                "warning",
                f"{pr['parameter']} (line {pr['line']}) is not a Postfix parameter: it is ignored, so {right} "
                + ("is set elsewhere and this line has no effect" if exists else "keeps its default"),
                {**pr, "value": val}, (),
                f"postconf -X {pr['parameter']}" + ("" if exists else " && " + postconf_edit(right, val)) + " && postfix reload",
                code="config.misspelled_parameter", subject=pr["parameter"]))
        else:
            out.append(Finding(
                "notice", f"{pr['parameter']} (line {pr['line']}) is obsolete; use {pr['replacement']}", pr, (),
                f"postconf -X {pr['parameter']}   # then set {pr['replacement']}",
                code="config.obsolete_parameter", subject=pr["parameter"]))
    for rp in _config.restriction_problems(cf):
        w, prm = rp["word"], rp["parameter"]
        if rp["problem"] == "unknown":
            guess = rp["replacement"]
            seen = logged.get(w)
            out.append(Finding(
                "critical",
                f"{prm} (line {rp['line']}) names \"{w}\", which is no Postfix restriction: smtpd answers 451 4.3.5 "
                f"Server configuration error to every client that reaches it" + (f" (did you mean {guess}?)" if guess else ""),
                {**rp, "logged_warnings": seen["warnings"] if seen else 0}, (),
                (_config.replace_word(cf, prm, w, guess) or "") + " && postfix reload",
                code="config.unknown_restriction", subject=w))
        elif rp["problem"] == "removed":
            repl = None
            if w.lower() == "check_relay_domains":
                repl = "reject_unauth_destination"
            elif w.lower() == "reject_maps_rbl":
                zones = _config.words(cf.params.get("maps_rbl_domains"))
                repl = ", ".join(f"reject_rbl_client {z}" for z in zones) or None
            out.append(Finding(
                "warning",
                f"{prm} (line {rp['line']}) uses {w}, deprecated for 20 years and removed in Postfix 3.9 (there it "
                f"answers 451 4.3.5 Server configuration error); use {rp['replacement']}",
                rp, (), (_config.replace_word(cf, prm, w, repl) or "") + " && postfix reload",
                code="config.removed_restriction", subject=w))
        else:
            out.append(Finding(
                "notice", f"{prm} (line {rp['line']}) uses the old name {w}; the current name is {rp['replacement']}",
                rp, (), (_config.replace_word(cf, prm, w, rp["replacement"]) or "") + " && postfix reload"
                if " " not in rp["replacement"] else None,
                code="config.renamed_restriction", subject=w))
    code = (cf.get("unknown_local_recipient_reject_code") or "550").strip()
    if code.startswith("4"):
        n = sum(r["events"] for r in dims.get("restriction", []) if r["restriction"] == "unknown_recipient")
        out.append(Finding(
            "warning",
            f"unknown_local_recipient_reject_code = {code}: mail to non-existent local users is deferred, not bounced "
            f"({n} unknown-recipient reject(s) in the period)",
            {"parameter": "unknown_local_recipient_reject_code", "value": code, "line": cf.lines.get("unknown_local_recipient_reject_code"),
             "unknown_recipient_rejects": n}, (),
            postconf_edit("unknown_local_recipient_reject_code", "550") + " && postfix reload",
            code="config.unknown_recipient_450", subject="unknown_local_recipient_reject_code"))
    # configured restrictions that never fired
    if (traffic.get("smtpd_connections") or 0) >= NEVER_FIRED_MIN_CONNECTIONS:
        fired = {(r["restriction"], r["stage"]) for r in _rows_stage(dims)}
        names = {r["restriction"] for r in dims.get("restriction", [])}
        for prm, ws in _config.restriction_lists(cf).items():
            if prm == "postscreen_dnsbl_sites":
                continue
            for it in _config.items(ws):
                w = it[0].lower()
                if not _loggable(w) or w in _config.REMOVED:
                    continue
                name = FIRE_NAME.get(w, w)
                stage = LIST_STAGE.get(prm)
                hit = any(n == name and s == stage for n, s in fired) if stage else name in names
                if hit:
                    continue
                out.append(Finding(
                    "info",
                    f"{' '.join(it)} in {prm} never fired ({traffic['smtpd_connections']:,} connections)"
                    + (" — good news for a safety net" if w in SAFETY else ""),
                    {"parameter": prm, "restriction": " ".join(it), "line": cf.lines.get(prm), "logged_as": name,
                     "connections": traffic["smtpd_connections"]}, (), None,
                    code="config.never_fired", subject=" ".join(it)))
    return out


def _replacement(cf, rp: dict) -> str | None:
    """What replaces a problem word: the suggestion, the modern name, or nothing (removal)."""
    w = rp["word"].lower()
    if rp["problem"] == "unknown":
        return rp["replacement"]
    if rp["problem"] == "renamed":
        return rp["replacement"] if " " not in rp["replacement"] else rp["word"]
    if w == "check_relay_domains":
        return "reject_unauth_destination"
    if w == "reject_maps_rbl":
        return ", ".join(f"reject_rbl_client {z}" for z in _config.words(cf.params.get("maps_rbl_domains"))) or None
    return None


def _combined_fix(cf) -> list[str]:
    """Every configuration edit at once, one command per parameter (the per-finding edits each
    start from the file as it is, so they must not be chained)."""
    out = []
    for pr in _config.param_problems(cf):
        if pr["problem"] == "misspelled":
            out.append(f"postconf -X {pr['parameter']}")
            if pr["replacement"] not in cf.params:
                out.append(postconf_edit(pr["replacement"], _fixed_list(cf, pr["parameter"])))
    per_param: dict[str, bool] = {}
    for rp in _config.restriction_problems(cf):
        per_param[rp["parameter"]] = True
    misspelled = {pr["parameter"] for pr in _config.param_problems(cf) if pr["problem"] == "misspelled"}
    for prm in per_param:
        if prm not in misspelled:
            out.append(postconf_edit(prm, _fixed_list(cf, prm)))
    if (cf.get("unknown_local_recipient_reject_code") or "550").strip().startswith("4"):
        out.append(postconf_edit("unknown_local_recipient_reject_code", "550"))
    return out + ["postfix reload"] if out else []


def _fixed_list(cf, prm: str) -> str:
    fixes = {rp["word"]: _replacement(cf, rp) for rp in _config.restriction_problems(cf) if rp["parameter"] == prm}
    out = []
    for it in _config.items(_config.words(cf.params.get(prm))):
        if it[0] in fixes:
            if fixes[it[0]]:
                out.append(" ".join([fixes[it[0]]] + it[1:]))
            continue
        out.append(" ".join(it))
    return ", ".join(out)


def _rows_stage(dims) -> list[dict]:
    """(restriction, stage) pairs that fired."""
    return dims.get("restriction_stage", [])


# ---- presentation -------------------------------------------------------------------------

_NUM = {c: "right" for c in ("events", "refused", "clients", "share", "rejects", "messages")}


def _pct(x) -> str:
    return "" if x is None else f"{x:.0%}"


def render_text(out, doc: dict, *, rows: int = 25) -> None:
    per, tot = doc["period"], doc["totals"]
    out.print(report.Text(f"Rejects and access decisions, {minute(per['first']) or '-'} .. {minute(per['last']) or '-'} UTC"
                          + (f", config {report.term_safe(doc['config'])}" if doc["config"] else "")))
    out.print(report.Text(f"{tot['events']:,} decisions, {tot['refused']:,} refused mail, {tot['clients']:,} clients, "
                          f"{tot['smtpd_connections']:,} smtpd connections"))
    if not tot["events"]:
        render_findings(out, doc["findings"], "no findings")
        return
    out.print(report.table("by restriction", ["class", "restriction", "action", "events", "clients", "share"],
                           [(r["restriction_class"], r["restriction"], r["action"], r["events"], r["clients"], _pct(r["share"]))
                            for r in doc["by_restriction"][:rows]], justify=_NUM))
    out.print(report.table("by stage", ["stage", "events", "refused", "clients", "share"],
                           [(r["stage"] or "-", r["events"], r["refused"], r["clients"], _pct(r["share"])) for r in doc["by_stage"]],
                           justify=_NUM))
    out.print(report.table("by reply code", ["code", "dsn", "events", "clients", "share"],
                           [(r["code"] or "-", r["dsn"] or "-", r["events"], r["clients"], _pct(r["share"])) for r in doc["by_code"][:rows]],
                           justify=_NUM))
    out.print(report.table("by action", ["action", "events", "clients", "share"],
                           [(r["action"], r["events"], r["clients"], _pct(r["share"])) for r in doc["by_action"]], justify=_NUM))
    if doc["rules"]:
        out.print(report.table("access-table entries and header/body rules that fired",
                               ["restriction", "action", "rule", "events", "clients"],
                               [(r["restriction"], r["action"], r["rule"], r["events"], r["clients"]) for r in doc["rules"][:rows]],
                               justify=_NUM))
    if doc["top"]:
        trows = []
        for cls, whats in sorted(doc["top"].items()):
            for what in ("client", "sender", "recipient", "helo"):
                vals = whats.get(what)
                if vals:
                    trows.append((cls, what, ", ".join(f"{v['value']} ({v['events']})" for v in vals)))
        out.print(report.table("top values per class (events)", ["class", "what", "values"], trows))
    series = doc["timeseries"]["day"] if len({r["bucket"] for r in doc["timeseries"]["day"]}) > 2 else doc["timeseries"]["hour"]
    if series:
        agg: dict[str, dict] = {}
        for r in series:
            a = agg.setdefault(r["bucket"], {"events": 0, "refused": 0, "classes": []})
            a["events"] += r["events"]
            a["refused"] += r["refused"]
            a["classes"].append((r["events"], r["restriction_class"]))
        brows = [(minute(b), a["events"], a["refused"], ", ".join(f"{c} {n}" for n, c in sorted(a["classes"], reverse=True)[:3]))
                 for b, a in sorted(agg.items())][-48:]
        out.print(report.table("over time (UTC)", ["bucket", "events", "refused", "top classes"], brows, justify=_NUM))
    if doc["dry_runs"]:
        out.print(report.table("reject_warning dry runs", ["restriction", "zone", "events", "clients", "with accepted mail"],
                               [(d["restriction"], d["rbl_zone"] or "", d["events"], d["clients"], d["clients_with_accepted_mail"])
                                for d in doc["dry_runs"]], justify=_NUM))
    render_findings(out, doc["findings"], "no findings")
    if doc.get("fix"):
        out.print(report.Text("\nall configuration fixes at once:"))
        for cmd in doc["fix"]:
            out.print(report.Text("  " + report.term_safe(cmd)))


TABLES = ("restriction", "restriction_code", "class", "stage", "code", "action", "rules", "top", "hour", "day", "dry_runs")


def csv_rows(doc: dict, table: str = "restriction") -> tuple[list[str], list[list]]:
    if table in ("hour", "day"):
        rows = doc["timeseries"][table]
    elif table == "top":
        rows = [{"restriction_class": c, "what": w, "rank": i + 1, **v}
                for c, ws in doc["top"].items() for w, vs in ws.items() for i, v in enumerate(vs)]
    elif table in ("rules", "dry_runs"):
        rows = doc[table]
    else:
        rows = doc["by_" + table]
    cols = list(rows[0].keys()) if rows else []
    return cols, [[_cell(r.get(c)) for c in cols] for r in rows]


def _cell(v):
    """Lists become '; '-joined text in CSV."""
    return "; ".join("" if x is None else str(x) for x in v) if isinstance(v, (list, tuple)) else v
