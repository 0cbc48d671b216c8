"""rbl - what each DNS blocklist is worth, and whether it is broken.

NAME
    logscope.insights.rbl - blocklist effectiveness and health from smtpd, postscreen and
    dnsblog lines (queries/rbl_*.sql), optionally with the site's main.cf.

INPUT (events)
    smtpd    decision ... blocked using ZONE          rbl_hits (reject_rbl_client, reject_rhsbl_*)
             warning: <q>.ZONE: RBL lookup error      rbl_lookup_errors
             connect from ...                         rbl_population (who a zone was consulted for)
    postscreen  reject ... blocked using ZONE, DNSBL rank N, CONNECT, warning: dnsblog reply timeout
    dnsblog  addr IP listed by domain ZONE as A; lookup error for DNS query <q>.ZONE
    Postfix writes nothing when a lookup finds no listing, so lookups and "clients seen" are
    estimated from the connections of the process-hours that used the zone (view rbl_population).

HEALTH (one status per zone, first that applies; `statuses` lists all that apply)
    error_codes       dnsblog answered 127.255.255.x, or a reject's TXT says "open resolver",
                      "returnc", "query refused", "excessive number of queries" (Spamhaus refusing
                      the query: every client looks listed). Fix: a reply filter.
    lists_everything  any of: (a) >= EVERYTHING_MIN_SEEN (20) outside clients seen and it hit
                      >= EVERYTHING_HIT_RATE (98 %) of them; (b) >= EVERYTHING_MIN_GOOD (2) of the clients
                      it hit otherwise had mail accepted or authenticated, and they are
                      >= EVERYTHING_GOOD_SHARE (50 %) of its hits; (c) 3..19 clients seen, hit rate
                      >= 90 % and at least one good client hit; (d) a day with >= JUMP_MIN_SEEN (10)
                      clients and a hit rate >= JUMP_RATE (95 %) after a day below JUMP_LOW_RATE (50 %).
                      Fix: remove the zone.
    defunct           the zone (or a parent domain) is in logscope/data/defunct_dnsbls.json.
    dead              >= DEAD_MIN_ERRORS lookup errors/timeouts and they are >= DEAD_ERROR_SHARE of the
                      clients it was consulted for (or it never answered "listed" at all).
                      Postfix accepts the mail (fail-open); every lookup costs a DNS timeout.
    silent            configured (--main-cf) but no hit, listing or error in the period, over
                      >= SILENT_MIN_CONNECTIONS connections.
    ok                none of the above: the list answers and hits a minority of clients.

PERFORMANCE
    analyze() materialises the views it reads several times (PINNED) as TEMP tables on the
    connection it is given (logscope.insights.pin): later queries on that connection see the same
    rows, read once.

OUTPUT
    A dict with "schema": "logscope.rbl/1" (docs/json-intel.md): zones, overlap, postscreen,
    findings. :func:`render_text` and :func:`csv_rows` present it.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .. import queries, report
from . import Finding, by_severity, examples_of, minute, parse_when, pin
from . import _config

SCHEMA = "logscope.rbl/1"

DEAD_MIN_ERRORS = 3
DEAD_ERROR_SHARE = 0.5
# A good list on a spam-heavy MX can hit 80-90 % of the distinct clients it sees (the bots), so
# a hit rate alone must be near 100 %; hits on clients known to be good are the stronger signal.
EVERYTHING_HIT_RATE = 0.98
EVERYTHING_MIN_SEEN = 20
EVERYTHING_SMALL_HIT_RATE = 0.9  # (c): 3..19 clients seen, with a good client among the hits
EVERYTHING_MIN_SEEN_WITH_GOOD = 3
EVERYTHING_GOOD_SHARE = 0.5
EVERYTHING_MIN_GOOD = 2
JUMP_RATE = 0.95
JUMP_LOW_RATE = 0.5
JUMP_MIN_SEEN = 10
SILENT_MIN_CONNECTIONS = 100
FLAKY_ERROR_SHARE = 0.05  # lookup errors for >= 5 % of clients, not dead: a notice

# Reply filters that accept only real listings (Spamhaus return codes; 127.255.255.x are errors).
REPLY_FILTERS = {
    "zen.spamhaus.org": "127.0.0.[2..11]",
    "sbl-xbl.spamhaus.org": "127.0.0.[2..7]",
    "sbl.spamhaus.org": "127.0.0.[2..3]",
    "xbl.spamhaus.org": "127.0.0.[4..7]",
    "pbl.spamhaus.org": "127.0.0.[10..11]",
    "dbl.spamhaus.org": "127.0.1.[2..99]",
    "zrd.spamhaus.org": "127.0.2.[2..24]",
}
DEFAULT_FILTER = "127.0.0.[2..254]"

# views read by several rbl queries; materialised once per connection (logscope.insights.pin)
PINNED = ("rbl_zone_scope", "rbl_zone_index")
# the named queries analyze() runs
QUERIES = ("rbl_zones", "rbl_traffic")


def views() -> set[str]:
    """The views analyze() reads: for logscope.open(store, views=...)."""
    return queries.views_for(*QUERIES) | set(PINNED)

_PRECEDENCE = ("error_codes", "lists_everything", "defunct", "dead", "silent", "ok")
_SEVERITY = {"error_codes": "critical", "lists_everything": "critical", "defunct": "warning", "dead": "warning", "silent": "notice"}


@lru_cache(maxsize=1)
def defunct_list() -> dict:
    """The dated, sourced list of shut-down blocklists (package data)."""
    return json.loads(resources.files("logscope").joinpath("data/defunct_dnsbls.json").read_text(encoding="utf-8"))


def defunct_entry(zone: str) -> dict | None:
    z = zone.lower().rstrip(".")
    for e in defunct_list()["zones"]:
        if z == e["zone"] or z.endswith("." + e["zone"]):
            return e
    return None


def reply_filter_for(zone: str) -> str:
    z = zone.lower()
    for k, v in REPLY_FILTERS.items():
        if z == k or z.endswith("." + k):  # DQS zones: <key>.zen.dq.spamhaus.net stay generic
            return v
    if z.endswith(".zen.dq.spamhaus.net"):
        return REPLY_FILTERS["zen.spamhaus.org"]
    return DEFAULT_FILTER


def _rows(rel) -> list[dict]:
    cols = rel.columns
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v.astimezone(dt.timezone.utc) if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _ratio(a, b) -> float | None:
    return round(a / b, 4) if b else None


def _period(since, until, traffic) -> dict:
    return {"since": iso(since), "until": iso(until), "first": iso(traffic.get("first_ts")), "last": iso(traffic.get("last_ts"))}


def analyze(con, *, since=None, until=None, main_cf=None) -> dict:
    """Per-zone effectiveness and health, overlap, postscreen rank contribution, findings.

    ``con`` is a connection from :func:`logscope.open`; ``since``/``until`` are datetimes (or
    ISO strings) bounding the period, UTC; ``main_cf`` a :class:`logscope.postconf.MainCf` or None.
    """
    lo, hi = _config.inside_ranges(main_cf)
    p = {"since": since, "until": until}
    near = (parse_when(since), parse_when(until))
    def zones(c):  # on con: the pins are its temp tables
        # over a period: the zones each service consults, and the clients postscreen only ever
        # listed, are learned from the period and a week around it, not from the whole store
        with queries.events_near(c, *near, queries.INFER_MARGIN):
            pin(c, PINNED)
            return _rows(queries.run(c, "rbl_zones", inside_lo=lo, inside_hi=hi, **p))

    # one query gathers everything per zone (also what rbl_lookup_errors, rbl_overlap,
    # rbl_postscreen_rank and rbl_daily answer on their own), so the store is read once;
    # the traffic totals run beside the pins and it
    got = queries.parallel(con, {"zones": zones, "traffic": lambda c: _rows(queries.run(c, "rbl_traffic", **p))[0]},
                           on_con="zones")
    zrows, traffic = got["zones"], got["traffic"]

    sites = _config.sites(main_cf) if main_cf is not None else []
    by_zone_sites: dict[str, list] = {}
    for s in sites:
        by_zone_sites.setdefault(s.zone, []).append(s)
    threshold = int((main_cf.get("postscreen_dnsbl_threshold") or "1")) if main_cf is not None else None

    rows = {r["rbl_zone"]: r for r in zrows}
    for z in by_zone_sites:
        rows.setdefault(z, {"rbl_zone": z})
    overlap = _overlap(zrows)

    zones, findings = [], []
    for zone in sorted(rows, key=lambda z: (-(rows[z].get("rejects") or 0), -(rows[z].get("hits") or 0), z)):
        r = rows[zone]
        z = _assess(zone, r, r.get("daily") or [], r.get("error_breakdown") or [], by_zone_sites.get(zone, []), traffic, main_cf)
        z["postscreen"] = _rank(r, by_zone_sites.get(zone, []), threshold)
        zones.append(z)
        f = _finding(z)
        if f is not None:
            findings.append(f)
        elif (z["lookup_errors"] + z["lookup_timeouts"]) >= DEAD_MIN_ERRORS and (z["error_share"] or 0) >= FLAKY_ERROR_SHARE:
            findings.append(Finding(
                "notice",
                f"{zone}: lookups failed for {z['error_share']:.0%} of the clients it was consulted for "
                f"({z['lookup_errors'] + z['lookup_timeouts']:,} errors); each failure lets the client through and costs a DNS timeout",
                {"zone": zone, "lookup_errors": z["lookup_errors"], "lookup_timeouts": z["lookup_timeouts"],
                 "error_share": z["error_share"], "first_seen": z["first_seen"], "last_seen": z["last_seen"]},
                (), f"check the resolver Postfix uses (dig {zone} A; local caching resolver, not a public one); "
                    f"if the list itself fails, remove it (see logscope query rbl_lookup_errors -p since=...)",
                code="rbl.lookup_errors", subject=zone))
    findings.extend(_filter_advice(zones, main_cf))
    findings = by_severity(findings)
    fix = None
    if main_cf is not None:
        remove = {z["zone"] for z in zones if z["status"] in ("lists_everything", "defunct", "dead", "silent")}
        filters = {z["zone"]: reply_filter_for(z["zone"]) for z in zones if z["status"] == "error_codes"}
        edits = _config.combined_edits(main_cf, remove, filters)
        fix = edits + ["postfix reload"] if edits else None
    return {
        "schema": SCHEMA,
        "generated": iso(dt.datetime.now(dt.timezone.utc)),
        "period": _period(since, until, traffic),
        "config": main_cf.path if main_cf is not None else None,
        "traffic": {k: traffic[k] for k in ("smtpd_connections", "smtpd_clients", "postscreen_connections", "postscreen_clients")},
        "thresholds": {
            "dead_min_errors": DEAD_MIN_ERRORS, "dead_error_share": DEAD_ERROR_SHARE,
            "everything_hit_rate": EVERYTHING_HIT_RATE, "everything_min_seen": EVERYTHING_MIN_SEEN,
            "everything_small_hit_rate": EVERYTHING_SMALL_HIT_RATE, "jump_rate": JUMP_RATE, "jump_min_seen": JUMP_MIN_SEEN,
            "everything_good_share": EVERYTHING_GOOD_SHARE, "everything_min_good": EVERYTHING_MIN_GOOD,
            "silent_min_connections": SILENT_MIN_CONNECTIONS,
        },
        "zones": zones,
        "overlap": overlap,
        "findings": [f.to_dict() for f in findings],
        "fix": fix,
    }


def _assess(zone: str, r: dict, days: list, errs: list, sites: list, traffic: dict, cf) -> dict:
    g = lambda k: r.get(k) or 0  # noqa: E731
    statuses: dict[str, dict] = {}

    # error_codes: the list refuses to answer (public resolver, over quota, typo in zone name)
    if g("error_code_listings") or g("txt_errors"):
        statuses["error_codes"] = {
            "error_code_listings": g("error_code_listings"),
            "error_code_replies": list(r.get("error_code_replies") or []),
            "txt_errors": g("txt_errors"),
            "txt_example": r.get("txt_error_example"),
        }

    # lists_everything
    seen, hit_seen, good, hit_clients = g("seen_clients"), g("hit_seen_clients"), g("good_hit_clients"), g("clients")
    hit_rate = _ratio(hit_seen, seen)
    all_hit = max(hit_clients, g("listed_clients"), hit_seen)
    good_share = _ratio(good, all_hit)
    reasons = []
    if seen >= EVERYTHING_MIN_SEEN and (hit_rate or 0) >= EVERYTHING_HIT_RATE:
        reasons.append(f"hit {hit_seen} of {seen} outside clients it was consulted for")
    if good >= EVERYTHING_MIN_GOOD and (good_share or 0) >= EVERYTHING_GOOD_SHARE:
        reasons.append(f"{good} of the {all_hit} clients it hit otherwise had mail accepted or authenticated")
    if EVERYTHING_MIN_SEEN_WITH_GOOD <= seen < EVERYTHING_MIN_SEEN and (hit_rate or 0) >= EVERYTHING_SMALL_HIT_RATE:
        if not reasons and good >= 1:
            reasons.append(f"hit {hit_seen} of {seen} outside clients it was consulted for, including {good} that "
                           "otherwise had mail accepted or authenticated")
        elif reasons:
            reasons.append(f"hit {hit_seen} of {seen} outside clients it was consulted for")
    jump = _jump(days)
    if jump:
        reasons.append(f"hit rate jumped to {jump['rate']:.0%} on {jump['day']} (before: {jump['before_rate']:.0%})")
    if reasons:
        statuses["lists_everything"] = {
            "reasons": reasons, "seen_clients": seen, "hit_clients": hit_seen, "hit_rate": hit_rate,
            "good_hit_clients": good, "good_share": good_share, "good_examples": list(r.get("good_examples") or []),
            "jump": jump,
        }

    # defunct
    d = defunct_entry(zone)
    if d:
        statuses["defunct"] = {k: d.get(k) for k in ("zone", "name", "shut_down", "behaviour", "behaviour_since", "sources", "note") if d.get(k) is not None}

    # dead
    n_err = g("lookup_errors") + g("lookup_timeouts")
    err_clients = g("error_clients")
    lookups = max(seen, err_clients)
    err_share = _ratio(err_clients, lookups) if err_clients else (_ratio(n_err, n_err + g("hits") + g("listings")) if n_err else None)
    answered = g("hits") + g("listings")
    if n_err >= DEAD_MIN_ERRORS and ((err_share or 0) >= DEAD_ERROR_SHARE or answered == 0):
        statuses["dead"] = {
            "lookup_errors": g("lookup_errors"), "lookup_timeouts": g("lookup_timeouts"), "error_clients": err_clients,
            "clients_consulted": lookups, "error_share": err_share, "answered_listed": answered,
            "first_error": iso(r.get("first_error")), "last_error": iso(r.get("last_error")),
            "by_daemon": [{"daemon": e["daemon"], "error": e["error"], "errors": e["errors"], "clients": e["clients"],
                           "first": iso(e["first_ts"]), "last": iso(e["last_ts"])} for e in errs],
        }

    # silent
    activity = answered + n_err
    if sites and activity == 0:
        ps = any(s.restriction == "postscreen_dnsbl_sites" for s in sites)
        conns = (traffic.get("postscreen_connections") or 0) if ps else (traffic.get("smtpd_connections") or 0)
        if conns >= SILENT_MIN_CONNECTIONS:
            statuses["silent"] = {"connections": conns, "configured_in": sorted({s.parameter for s in sites})}

    status = next((s for s in _PRECEDENCE if s in statuses), "ok")
    evidence = dict(statuses.get(status, {}))
    if status == "ok":
        evidence = {"seen_clients": seen, "hit_clients": hit_seen, "hit_rate": hit_rate, "good_hit_clients": good,
                    "lookup_errors": n_err}
        if sites and activity == 0:
            evidence["note"] = f"configured, no activity yet; too few connections to call it silent (< {SILENT_MIN_CONNECTIONS})"
    return {
        "zone": zone,
        "status": status,
        "statuses": [s for s in _PRECEDENCE if s in statuses] or ["ok"],
        "severity": _SEVERITY.get(status, "info"),
        "class": r.get("rbl_class") or (sites[0].restriction if sites else None),
        "rejects": g("rejects"),
        "reject_warnings": g("reject_warnings"),
        "hits": g("hits"),
        "smtpd_rejects": g("smtpd_rejects"),
        "postscreen_rejects": g("postscreen_rejects"),
        "clients": hit_clients,
        "nets": g("nets"),
        "share": round(r["share"], 4) if r.get("share") is not None else 0.0,
        "only_this_zone": g("only_this_zone"),
        "listings": g("listings"),
        "listed_clients": g("listed_clients"),
        "lookup_errors": g("lookup_errors"),
        "lookup_timeouts": g("lookup_timeouts"),
        "error_share": err_share,
        "seen_clients": seen,
        "seen_connections": g("seen_connections"),
        "hit_rate": hit_rate,
        "good_hit_clients": good,
        "first_seen": iso(r.get("first_ts")),
        "last_seen": iso(r.get("last_ts")),
        "configured": [s.as_dict() for s in sites],
        "defunct": statuses.get("defunct"),
        "evidence": evidence,
        "examples": [{"source": e["source"], "line_no": e["line_no"]} for e in
                     ((r.get("error_examples") if status == "dead" else None) or r.get("examples") or [])],
        "action": _action(zone, status, sites, cf),
    }


def _jump(days: list) -> dict | None:
    """First day the hit rate reaches JUMP_RATE after a day below JUMP_LOW_RATE."""
    low = None
    for d in sorted(days, key=lambda d: d["day"]):
        if d["seen_clients"] < JUMP_MIN_SEEN:
            continue
        rate = d["hit_rate"] or 0.0
        if rate < JUMP_LOW_RATE:
            low = d
        elif rate >= JUMP_RATE and low is not None:
            return {"day": iso(d["day"]), "rate": round(rate, 4), "seen_clients": d["seen_clients"],
                    "before_day": iso(low["day"]), "before_rate": round(low["hit_rate"] or 0.0, 4)}
    return None


def _action(zone: str, status: str, sites: list, cf) -> str | None:
    if status == "ok":
        return None
    if status == "error_codes":
        flt = reply_filter_for(zone)
        edits = [e for e in (_config.edit_with_filter(cf, s.parameter, zone, flt) for s in sites) if e] if cf is not None else []
        why = "query it through your own recursive resolver (not a public one such as 8.8.8.8), or use a Spamhaus DQS key"
        if edits:
            return " && ".join(edits) + " && postfix reload   # accept only real listings; also " + why
        return (f"add a reply filter so only real listings count: reject_rbl_client {zone}={flt} "
                f"(postscreen_dnsbl_sites: {zone}={flt}*N), then postfix reload; also {why}")
    edits = [e for e in (_config.edit_without(cf, s.parameter, zone) for s in sites) if e] if cf is not None else []
    if edits:
        notes = [s.parameter for s in sites if not s.standard]
        tail = f"   # {', '.join(notes)}: referenced from master.cf -o" if notes else ""
        return " && ".join(edits) + " && postfix reload" + tail
    return (f"remove {zone} from the restriction list that names it: find it with "
            f"postconf -n | grep -F '{zone}'; postconf -P | grep -F '{zone}' (master.cf -o overrides), then "
            f"postconf -e '<parameter> = <the list without reject_rbl_client {zone}>' (or postconf -P -e for a "
            f"master.cf override) and postfix reload")


def _overlap(zrows: list) -> list[dict]:
    """Pairs of zones with clients in common (zone_a < zone_b), most shared first."""
    n = {r["rbl_zone"]: r.get("hit_or_listed") or 0 for r in zrows}
    same = {(r["rbl_zone"], s["zone"]): s["same_lookup"] for r in zrows for s in (r.get("same_lookup") or [])}
    out = []
    for r in zrows:
        a = r["rbl_zone"]
        for o in r.get("overlap") or []:
            b = o["zone"]
            if a < b:
                both = o["both"]
                out.append({"zone_a": a, "zone_b": b, "clients_a": n.get(a, 0), "clients_b": n.get(b, 0), "both": both,
                            "jaccard": _ratio(both, n.get(a, 0) + n.get(b, 0) - both), "same_lookup": same.get((a, b), 0)})
    return sorted(out, key=lambda o: (-o["both"], o["zone_a"], o["zone_b"]))


def _rank(r: dict, sites: list, threshold: int | None) -> dict | None:
    rk = r.get("ps_rank")
    if not rk:
        return None
    weights = [s.weight for s in sites if s.restriction == "postscreen_dnsbl_sites" and s.weight is not None]
    weight = weights[0] if len(set(weights)) == 1 else None
    source = "main.cf" if weight is not None else None
    if weight is None and rk.get("inferred_weight") is not None:
        weight, source = int(rk["inferred_weight"]), "inferred from ranks where it was the only listing zone"
    total = rk.get("total_rank_sum") or 0
    contribution = _ratio((weight or 0) * rk["ranks"], total) if weight is not None else None
    return {
        "ranks": rk["ranks"],
        "ranked_clients": rk["ranked_clients"],
        "only_zone": rk["only_zone"],
        "max_rank": rk["max_rank"],
        "weight": weight,
        "weight_source": source,
        "contribution": contribution,
        "threshold": threshold,
        "alone_reaches_threshold": (weight >= threshold) if (weight is not None and threshold is not None) else None,
        "postscreen_rejects": r.get("postscreen_rejects") or 0,
    }


def _finding(z: dict) -> Finding | None:
    st, zone, ev = z["status"], z["zone"], z["evidence"]
    if st == "ok":
        return None
    if st == "error_codes":
        replies = ", ".join(ev.get("error_code_replies") or []) or "error texts"
        title = f"{zone} answers with error codes ({replies}): every client it is asked about looks listed"
    elif st == "lists_everything":
        title = f"{zone} lists everything: " + "; ".join(ev["reasons"])
    elif st == "defunct":
        title = f"{zone} is a defunct blocklist ({ev.get('name', zone)}, shut down {ev.get('shut_down') or 'long ago'}; now: {ev.get('behaviour')})"
    elif st == "dead":
        n = ev["lookup_errors"] + ev["lookup_timeouts"]
        if (ev.get("error_share") or 0) >= DEAD_ERROR_SHARE or ev.get("error_share") is None:
            share = f"{ev['error_share']:.0%} of the clients it was consulted for" if ev.get("error_share") is not None else "all lookups seen"
            title = f"{zone} is dead: {n:,} lookup errors/timeouts ({share}); mail is accepted unchecked and each lookup waits for DNS"
        else:
            title = (f"{zone} is dead: {n:,} lookup errors/timeouts and not one listing among the {ev['clients_consulted']:,} "
                     f"clients it was consulted for")
    else:  # silent
        title = f"{zone} is configured but never hit, listed or failed over {ev['connections']:,} connections"
    ev = {k: v for k, v in ev.items()}
    ev.update({"zone": zone, "rejects": z["rejects"], "clients": z["clients"], "first_seen": z["first_seen"], "last_seen": z["last_seen"]})
    return Finding(z["severity"], title, ev, examples_of([(e["source"], e["line_no"]) for e in z["examples"]]),
                   z["action"], code=f"rbl.{st}", subject=zone)


def _filter_advice(zones: list, cf) -> list[Finding]:
    """Spamhaus zones configured without a reply filter: one day of public-resolver answers rejects everyone."""
    if cf is None:
        return []
    out = []
    for z in zones:
        if z["status"] == "error_codes":
            continue
        flt = reply_filter_for(z["zone"])
        if flt == DEFAULT_FILTER:
            continue
        for s in z["configured"]:
            if s["restriction"] in ("reject_rbl_client", "postscreen_dnsbl_sites", "reject_rhsbl_sender", "reject_rhsbl_client",
                                    "reject_rhsbl_helo", "reject_rhsbl_reverse_client") and not s["reply_filter"]:
                edit = _config.edit_with_filter(cf, s["parameter"], z["zone"], flt)
                out.append(Finding(
                    "notice",
                    f"{z['zone']} in {s['parameter']} has no reply filter: error answers (127.255.255.x) would count as listings",
                    {"zone": z["zone"], "parameter": s["parameter"], "line": s["line"], "reply_filter": flt},
                    (), (edit + " && postfix reload") if edit else None, code="rbl.no_reply_filter", subject=z["zone"]))
    return out


# ---- presentation -------------------------------------------------------------------------

_NUM = {c: "right" for c in ("rejects", "warn", "clients", "/24s", "share", "only", "errors", "err%", "hit%", "seen", "good",
                             "ranks", "weight", "rank share", "both", "a", "b", "same lookup")}


def _pct(x) -> str:
    return "" if x is None else f"{x:.0%}"


def render_text(out, doc: dict) -> None:
    per = doc["period"]
    out.print(report.Text(f"DNS blocklists, {minute(per['first']) or '-'} .. {minute(per['last']) or '-'} UTC"
                          + (f", config {report.term_safe(doc['config'])}" if doc["config"] else "")))
    zs = doc["zones"]
    if not zs:
        out.print(report.Text("no blocklist activity in the log" + ("" if doc["config"] else " (give --main-cf to check configured zones)")))
    else:
        out.print(report.table(
            "health", ["zone", "status", "seen", "hit%", "good", "errors", "err%"],
            [(z["zone"], z["status"], z["seen_clients"], _pct(z["hit_rate"]), z["good_hit_clients"],
              z["lookup_errors"] + z["lookup_timeouts"], _pct(z["error_share"])) for z in zs], justify=_NUM))
        out.print(report.table(
            "effectiveness", ["zone", "rejects", "warn", "clients", "/24s", "share", "only"],
            [(z["zone"], z["rejects"], z["reject_warnings"], z["clients"], z["nets"], _pct(z["share"]), z["only_this_zone"])
             for z in zs], justify=_NUM))
        out.print(report.table("activity (UTC)", ["zone", "first seen", "last seen"],
                               [(z["zone"], minute(z["first_seen"]), minute(z["last_seen"])) for z in zs]))
    ps = [(z["zone"], z["postscreen"]["ranks"], z["postscreen"]["weight"], _pct(z["postscreen"]["contribution"]),
           z["postscreen"]["postscreen_rejects"]) for z in zs if z.get("postscreen")]
    if ps:
        out.print(report.table("postscreen DNSBL rank", ["zone", "ranks", "weight", "rank share", "rejects"], ps, justify=_NUM))
    if doc["overlap"]:
        out.print(report.table("overlap: clients hit or listed by both", ["zone a", "zone b", "a", "b", "both", "same lookup"],
                               [(o["zone_a"], o["zone_b"], o["clients_a"], o["clients_b"], o["both"], o["same_lookup"])
                                for o in doc["overlap"]], justify=_NUM))
    out.print(report.Text("seen: outside clients the zone was consulted for; hit%: of those, hit or listed; good: hit "
                          "clients that otherwise had mail accepted or authenticated; only: clients no other zone hit"))
    render_findings(out, doc["findings"])
    if doc.get("fix"):
        out.print(report.Text("\nall fixes at once:"))
        for cmd in doc["fix"]:
            out.print(report.Text("  " + report.term_safe(cmd)))


def render_findings(out, findings: list[dict], empty: str = "no findings: every blocklist looks healthy") -> None:
    if not findings:
        out.print(report.Text(empty))
        return
    out.print(report.Text(""))
    for f in findings:
        out.print(report.Text(f"[{f['severity']}] {report.term_safe(f['title'])}"))
        ex = ", ".join(f"{e['source']}:{e['line_no']}" for e in f["examples"])
        if ex:
            out.print(report.Text(f"    lines: {ex}"))
        if f.get("action"):
            out.print(report.Text(f"    fix: {report.term_safe(f['action'])}"))
    if any(f["examples"] for f in findings):
        out.print(report.Text(report.SHOW_HINT))


CSV_COLUMNS = ["zone", "status", "rejects", "reject_warnings", "clients", "nets", "share", "only_this_zone", "listings",
               "lookup_errors", "lookup_timeouts", "error_share", "seen_clients", "hit_rate", "good_hit_clients",
               "first_seen", "last_seen", "action"]


def csv_rows(doc: dict) -> tuple[list[str], list[list]]:
    return CSV_COLUMNS, [[z.get(c) for c in CSV_COLUMNS] for z in doc["zones"]]
