"""forged - envelope senders and HELO names that claim to be us, and other forgery patterns.

NAME
    logscope.insights.forged - who pretends to be one of our domains, hosts or users.

INPUT (events)
    smtpd    decision lines (from=, to=, helo=, sasl_username=, the restriction that fired),
             "QID: client=" lines (client, SASL login), connect lines and hostname warnings
    qmgr     "QID: from=<s>, size=N, nrcpt=N" (the sender of an accepted message)
    delivery recipients (orig_to= when aliased)
    postscreen CONNECT ... to [server]:port (our own addresses, when main.cf is not given)
    main.cf  our domains (mydestination, mydomain, myhostname, virtual_mailbox_domains,
             virtual_alias_domains, relay_domains), host names, addresses (inet_interfaces,
             proxy_interfaces) and mynetworks. Without it, our domains are the domains of
             recipients delivered locally (relay=local/virtual, the local, virtual and lmtp
             agents), our host names are <syslog host>.<domain>, our addresses the server
             addresses postscreen logged, mynetworks the local machine; all labelled inferred.
             Over a period, inferred from its lines and a week (queries.INFER_MARGIN) on either side.

RULES (queries/forged_patterns.sql, queries/forged_rdns.sql; thresholds in the output)
    own_domain_sender, from_equals_to, helo_ours, login_mismatch, random_local_part,
    sender_many_clients, client_many_domains, rdns. Clients in mynetworks never count;
    authenticated sessions count only for login_mismatch. Each pattern gives hits (rejected,
    accepted), clients, examples (source, line), the restriction that stops it, and whether
    the site already stops it (every hit rejected).

OUTPUT
    A dict with "schema": "logscope.forged/1" (docs/json-tune.md). :func:`render_text` and
    :func:`csv_rows` present it. The envelopes stay in table forged_tx of the connection's
    database (not TEMP: the cursors that run the rules share it), for a notebook to look at;
    the next analyze() replaces it, so run one analyze() at a time per connection.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import re

from .. import postconf, queries, report
from . import Finding, by_severity, inside, minute, parse_when, postconf_edit
from .tune import _networks, _one, _rows, iso

SCHEMA = "logscope.forged/1"

MIN_CLIENTS = 5
MIN_NETS = 3
MIN_DOMAINS = 5
WINDOW_S = 600
TOP_CLIENTS = 10
# the named queries analyze() runs
QUERIES = ("forged_transactions", "forged_patterns", "forged_rdns")


def views() -> set[str]:
    """The views analyze() reads (none today: events and temp tables): for logscope.open(store, views=...)."""
    return queries.views_for(*QUERIES)

LOGIN_MISMATCH = ("reject_sender_login_mismatch", "reject_authenticated_sender_login_mismatch",
                  "reject_known_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch")

PATTERNS = {
    "own_domain_sender": {
        "title": "envelope sender in one of our domains from an unauthenticated outside client",
        "rule": "MAIL FROM in one of our domains, client outside mynetworks, no SASL login. Forwarders without "
        "SRS and outside services sending as us (newsletters, web forms) look the same: list them in the table with OK.",
        "restriction": "check_sender_access (our domains -> REJECT) after permit_mynetworks, permit_sasl_authenticated "
        "in smtpd_sender_restrictions; or reject_unauthenticated_sender_login_mismatch with smtpd_sender_login_maps",
        "stopped_by": ("check_sender_access",) + LOGIN_MISMATCH,
    },
    "from_equals_to": {
        "title": "envelope sender equal to the recipient",
        "rule": "MAIL FROM equals RCPT TO (the classic telnet forgery), client outside mynetworks, no SASL login",
        "restriction": "as own_domain_sender: check_sender_access with our domains -> REJECT after "
        "permit_mynetworks, permit_sasl_authenticated",
        "stopped_by": ("check_sender_access",) + LOGIN_MISMATCH,
    },
    "helo_ours": {
        "title": "HELO claiming our host name, domain or address, or localhost",
        "rule": "HELO/EHLO equal to one of our host names, one of our domains or a name inside one, one of our addresses "
        "(bare or in brackets), or localhost / localhost.* / 127.x / ::1, from a client outside mynetworks without SASL login. smtpd logs "
        "the HELO name only on decision lines, so only sessions that met a reject (or warn) show it",
        "restriction": "check_helo_access (our names and addresses -> REJECT You are not me) after permit_mynetworks, "
        "permit_sasl_authenticated in smtpd_helo_restrictions, with smtpd_helo_required = yes; "
        "reject_non_fqdn_helo_hostname also stops a bare localhost",
        "stopped_by": ("check_helo_access", "reject_non_fqdn_helo_hostname", "reject_invalid_helo_hostname"),
    },
    "login_mismatch": {
        "title": "sender address not owned by the (missing) SASL login",
        "rule": "rejected by reject_*sender_login_mismatch: not logged in, or logged in as another user "
        "(an authenticated user sending as someone else may be a stolen password)",
        "restriction": "reject_sender_login_mismatch (already active: these are its rejects)",
        "stopped_by": LOGIN_MISMATCH,
    },
    "random_local_part": {
        "title": "machine-made sender local parts",
        "rule": "local part of 10+ letters and digits with 3+ letter/digit alternations, a run of 6+ consonants, "
        "or 16+ hex digits; VERP/SRS/bounce forms (= or +, bounce*, prvs, msprvs, srs0/1, btv1, return*) excluded",
        "restriction": "reject_unlisted_sender for our own domains; for other domains no address check is reliable: "
        "stop the clients (reject_unknown_reverse_client_hostname, a DNSBL, postscreen)",
        "stopped_by": (),
    },
    "sender_many_clients": {
        "title": "one sender address used by many clients",
        "rule": "the same MAIL FROM from >= {min_clients} clients in >= {min_nets} networks (/24, /48)",
        "restriction": "SPF/DMARC checks (check_policy_service unix:private/policyd-spf after reject_unauth_destination "
        "in smtpd_recipient_restrictions); for our own domains check_sender_access as for own_domain_sender",
        "stopped_by": (),
    },
    "client_many_domains": {
        "title": "one client using many sender domains in a short window",
        "rule": "one client with >= {min_domains} different sender domains within {window_s} s",
        "restriction": "client checks: reject_unknown_reverse_client_hostname, reject_rbl_client zen.spamhaus.org, "
        "postscreen; mailing list hosts and forwarders do this legitimately (check_client_access OK)",
        "stopped_by": (),
    },
    "rdns": {
        "title": "clients without reverse DNS, with unconfirmed or dynamic-looking names",
        "rule": "connections logged as unknown[ip] (no_ptr, or a name that does not resolve back), or a client name "
        "matching the S25R rules for dynamic addresses; mynetworks and authenticated clients left out",
        "restriction": "reject_unknown_reverse_client_hostname (no PTR), reject_unknown_client_hostname (name must "
        "resolve back), check_client_access pcre:/etc/postfix/s25r.pcre for dynamic names; after permit_mynetworks, "
        "permit_sasl_authenticated in smtpd_client_restrictions",
        "stopped_by": ("reject_unknown_reverse_client_hostname", "reject_unknown_client_hostname"),
    },
}
S25R_PCRE = (
    r"/^[^.]*[0-9][^0-9.]+[0-9].*\./ 450 4.7.1 dynamic-looking client name (S25R)",
    r"/^[^.]*[0-9]{5}/ 450 4.7.1 dynamic-looking client name (S25R)",
    r"/^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]/ 450 4.7.1 dynamic-looking client name (S25R)",
    r"/^[^.]*[0-9]\.[^.]*[0-9]-[0-9]/ 450 4.7.1 dynamic-looking client name (S25R)",
    r"/^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\./ 450 4.7.1 dynamic-looking client name (S25R)",
    r"/^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]/ 450 4.7.1 dynamic-looking client name (S25R)",
)


# what ours() and _inside() read from the log, fetched at once on two cursors; over a period,
# from the lines of the period and queries.INFER_MARGIN around it (a nightly run does not read
# a year of log)
_OURS_SQL = {
    "servers": "select distinct regexp_extract(detail, '^\\[([^\\]]+)\\]', 1) from events "
               "where daemon = 'postscreen' and kind = 'ps_connect' and detail like '[%'",
    "domains": "select distinct lower(split_part(coalesce(orig_to, recipient), '@', 2)) from events "
               "where kind = 'delivery' and status = 'sent' and recipient like '%@%' "
               "and (relay in ('local', 'virtual') or daemon in ('local', 'virtual', 'lmtp'))",
    "hosts": "select distinct lower(host) from events where daemon = 'smtpd'",
    "ips": "select distinct client_ip from events where daemon = 'smtpd' and client_ip is not null",
}


def _from_log(con, since=None, until=None) -> dict[str, list]:
    def job(sql):
        def run(c):
            with queries.events_near(c, since, until, queries.INFER_MARGIN):
                return c.execute(sql).fetchall()
        return run

    got = queries.parallel(con, {k: job(sql) for k, sql in _OURS_SQL.items()})
    return {k: [r[0] for r in rows if r[0]] for k, rows in got.items()}


def ours(con, main_cf: postconf.MainCf | None, log: dict[str, list] | None = None) -> dict:
    """Our domains, host names, addresses and mynetworks: from main.cf, else inferred from the log
    (``log``: what :func:`_from_log` read, when the caller has it; else the whole store)."""
    log = log if log is not None else _from_log(con)
    servers = log["servers"]
    if main_cf is not None:
        domains = sorted(main_cf.local_domains())
        hostnames = sorted({h.lower() for h in (main_cf.get("myhostname"), main_cf.get("mydomain")) if h})
        addrs = set()
        for p in ("inet_interfaces", "proxy_interfaces"):
            for w in re.split(r"[\s,]+", main_cf.get(p) or ""):
                try:
                    addrs.add(str(ipaddress.ip_address(w.strip("[]"))))
                except ValueError:
                    pass
        nets, other = _networks(main_cf.get("mynetworks"))
        return {
            "domains": domains, "hostnames": hostnames, "addresses": sorted(addrs | set(servers)),
            "mynetworks": [str(n) for n in nets], "mynetworks_unparsed": other,
            "source": "main.cf", "inferred": False,
        }
    domains = sorted(log["domains"])
    hosts = log["hosts"]
    hostnames = sorted({f"{h}.{d}" for h in hosts for d in domains if "." not in h} | {h for h in hosts if "." in h})
    nets = ["127.0.0.1/32", "::1/128"] + [f"{s}/{32 if ':' not in s else 128}" for s in servers]
    return {
        "domains": domains, "hostnames": hostnames, "addresses": sorted(set(servers)),
        "mynetworks": sorted(set(nets)), "mynetworks_unparsed": [],
        "source": "inferred: domains delivered locally (relay=local/virtual, local/virtual/lmtp agents); host names "
        "<syslog host>.<domain>; addresses and mynetworks from postscreen's server address and the local machine "
        "(Postfix's default mynetworks_style=host). Pass --main-cf for the real values",
        "inferred": True,
    }


def _inside(ips: list[str], nets: list[str]) -> list[str]:
    """The distinct smtpd client addresses ``ips`` inside mynetworks (temp table forged_inside of the queries)."""
    parsed = []
    for n in nets:
        try:
            parsed.append(ipaddress.ip_network(n, strict=False))
        except ValueError:
            pass
    return inside(ips, parsed)


def _action(code: str, o: dict, main_cf) -> str | None:
    """The main.cf change that stops a pattern (postconf -e plus the table it needs)."""
    def with_after_permits(param: str, item: str, default_list: str) -> str:
        raw = main_cf.params.get(param) if main_cf is not None else None
        if raw is None:
            return postconf_edit(param, f"{default_list}, {item}")
        ws = [w for w in re.split(r"[\s,]+", raw) if w]
        if item.split()[0] in ws and item.split()[-1] in ws:
            return None
        pos = 0
        for i, w in enumerate(ws):
            if w in ("permit_mynetworks", "permit_sasl_authenticated"):
                pos = i + 1
        items = ws[:pos] + item.split() + ws[pos:]
        text = ", ".join(items).replace(f"{item.split()[0]}, {item.split()[-1]}", item) if len(item.split()) == 2 else ", ".join(items)
        return postconf_edit(param, text)

    permits = "permit_mynetworks, permit_sasl_authenticated"
    if code in ("own_domain_sender", "from_equals_to"):
        doms = " ".join(f"{d} REJECT forged sender: {d} is ours, please authenticate" for d in o["domains"][:3])
        edit = with_after_permits("smtpd_sender_restrictions", "check_sender_access hash:/etc/postfix/own_domains", permits)
        return (f"{edit}; table /etc/postfix/own_domains: one line per domain, e.g. '{doms}'; postmap /etc/postfix/own_domains"
                if edit else None)
    if code == "helo_ours":
        names = o["hostnames"][:2] + [f"[{a}]" for a in o["addresses"][:1]] + ["localhost.localdomain"]
        edit = with_after_permits("smtpd_helo_restrictions", "check_helo_access hash:/etc/postfix/helo_access", permits)
        extra = "" if main_cf is not None and (main_cf.get("smtpd_helo_required") or "").lower() == "yes" else "; postconf -e 'smtpd_helo_required = yes'"
        return (f"{edit}{extra}; table /etc/postfix/helo_access: " + ", ".join(f"'{n} REJECT You are not me'" for n in names)
                + "; postmap /etc/postfix/helo_access") if edit else None
    if code == "random_local_part":
        return with_after_permits("smtpd_sender_restrictions", "reject_unlisted_sender", permits)
    if code == "sender_many_clients":
        return ("install a SPF policy server (postfix-policyd-spf-python) and "
                + postconf_edit("smtpd_recipient_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_policy_service unix:private/policyd-spf"))
    if code == "client_many_domains":
        return with_after_permits("smtpd_client_restrictions", "reject_unknown_reverse_client_hostname", permits)
    if code == "rdns":
        return with_after_permits("smtpd_client_restrictions", "reject_unknown_reverse_client_hostname", permits)
    return None


def analyze(con, *, since=None, until=None, main_cf: postconf.MainCf | None = None, min_clients: int = MIN_CLIENTS,
            min_nets: int = MIN_NETS, min_domains: int = MIN_DOMAINS, window_s: int = WINDOW_S,
            top_clients: int = TOP_CLIENTS) -> dict:
    """Every forged-sender pattern with counts, clients, examples and the restriction that stops it.

    ``con`` is a connection from :func:`logscope.open`; ``since``/``until`` datetimes or text
    (ISO or 24h/7d, see :func:`logscope.insights.parse_when`); ``main_cf`` a
    :class:`logscope.postconf.MainCf` or None (then our domains are inferred).
    """
    since, until = parse_when(since), parse_when(until)
    log = _from_log(con, since, until)
    o = ours(con, main_cf, log)
    ours_ips = _inside(log["ips"], o["mynetworks"])
    n_inside = len(ours_ips)
    p = {"since": since, "until": until}

    def transactions(c):  # the envelopes, into table forged_tx (shared by the cursors of con)
        queries.temp_table(c, "forged_inside", client_ip=("varchar", ours_ips))
        queries.run(c, "forged_transactions", **p)
        return _one(c, "select count(*) filter (where origin = 'reject'), "
                       "count(distinct (host, queue_id)) filter (where origin = 'accepted'), min(ts), max(ts) from forged_tx")

    def rdns_rows(c):
        queries.temp_table(c, "forged_inside", client_ip=("varchar", ours_ips))
        return _rows(queries.run(c, "forged_rdns", **p))

    def rules(part):
        return lambda c: _rows(queries.run(
            c, "forged_patterns", domains=o["domains"], hostnames=o["hostnames"], addresses=o["addresses"],
            min_clients=min_clients, min_nets=min_nets, min_domains=min_domains, window_s=window_s, part=part))

    # two cursors at once: the envelopes beside the rDNS query, then the parts of the rules (longest first)
    got = queries.parallel(con, {"tx": transactions, "rdns": rdns_rows})
    tx, rdns = got["tx"], got["rdns"]
    parts = ("sender_many_clients", "envelope", "client_many_domains")
    got = queries.parallel(con, {part: rules(part) for part in parts})
    rows = [r for part in parts for r in got[part]]
    by_code: dict[str, list[dict]] = {}
    for r in rows:
        by_code.setdefault(r["code"], []).append(r)
    for r in rdns:
        by_code.setdefault("rdns", []).append({
            "code": "rdns", "client_ip": r["client_ip"], "client_host": r["client_host"], "hits": r["connections"],
            "rejected": r["rejected"], "accepted": r["accepted"], "detail": r["status"] + (f" (S25R rule {r['s25r_rule']})" if r["s25r_rule"] else ""),
            "n": None, "restrictions": [], "first_ts": r["first_ts"], "last_ts": r["last_ts"], "src": r["src"], "line": r["line"],
            "status": r["status"], "ptr_name": r["ptr_name"], "s25r_rule": r["s25r_rule"],
        })
    thresholds = {"min_clients": min_clients, "min_nets": min_nets, "min_domains": min_domains, "window_s": window_s}
    patterns, findings = [], []
    for code, meta in PATTERNS.items():
        hits = by_code.get(code, [])
        hits.sort(key=lambda r: (-(r["accepted"] or 0), -(r["hits"] or 0), r["client_ip"] or ""))
        total = sum(r["hits"] for r in hits)
        accepted = sum(r["accepted"] for r in hits)
        rejected = sum(r["rejected"] for r in hits)
        fired = sorted({x for r in hits for x in (r.get("restrictions") or [])})
        if not hits:
            status = "none"
        elif code == "rdns":
            status = "got_through" if accepted else "stopped"
        elif accepted == 0 and rejected == total:
            status = "stopped"
        else:
            status = "got_through"
        examples = [{"source": r["src"], "line_no": r["line"]} for r in hits[:3] if r["src"] is not None]
        action = _action(code, o, main_cf) if status == "got_through" else None
        if code in ("own_domain_sender", "from_equals_to", "helo_ours"):
            severity = "warning" if status == "got_through" else "info"
        elif code == "login_mismatch":
            severity = "notice" if any("login " in (r["detail"] or "") for r in hits) else "info"
        else:
            severity = "notice" if status == "got_through" else "info"
        pat = {
            "code": code,
            "title": meta["title"],
            "rule": meta["rule"].format(**thresholds),
            "restriction": meta["restriction"],
            "status": status,
            "severity": severity if hits else None,
            "hits": total, "rejected": rejected, "accepted": accepted,
            "clients": len(hits),
            "restrictions_fired": fired,
            "top_clients": [{k: r.get(k) for k in ("client_ip", "client_host", "hits", "rejected", "accepted", "detail", "n",
                                                  "restrictions", "first_ts", "last_ts", "status", "ptr_name", "s25r_rule")}
                            | {"example": {"source": r["src"], "line_no": r["line"]}} for r in hits[:top_clients]],
            "examples": examples,
            "action": action,
        }
        if code == "rdns":
            pat["by_status"] = {s: sum(1 for r in hits if r["status"] == s) for s in sorted({r["status"] for r in hits})}
            if status == "got_through":
                pat["s25r_pcre"] = list(S25R_PCRE)
        patterns.append(pat)
        if hits:
            who = ", ".join(r["client_ip"] for r in hits[:3]) + (" ..." if len(hits) > 3 else "")
            verb = f"{accepted} accepted, {rejected} rejected" if code != "rdns" else f"{total} connections, {accepted} with mail accepted"
            findings.append(Finding(
                severity, f"{meta['title']}: {len(hits)} client(s) ({who}); {verb}" + (" - already stopped" if status == "stopped" else ""),
                {"hits": total, "rejected": rejected, "accepted": accepted, "clients": len(hits),
                 "restrictions_fired": fired, "top": [{k: r[k] for k in ("client_ip", "hits", "accepted", "detail")} for r in hits[:5]],
                 "ours_inferred": o["inferred"]},
                tuple((e["source"], e["line_no"]) for e in examples), action, "forged." + code, code))
    return {
        "schema": SCHEMA,
        "generated": iso(dt.datetime.now(dt.timezone.utc)),
        "period": {"since": iso(since), "until": iso(until), "first": iso(tx[2]), "last": iso(tx[3])},
        "config": {"main_cf": main_cf.path if main_cf is not None else None},
        "ours": o | {"inside_clients": n_inside},
        "thresholds": thresholds,
        "envelopes": {"rejects": tx[0], "accepted_messages": tx[1]},
        "patterns": patterns,
        "findings": [f.to_dict() for f in by_severity(findings)],
    }


# ---------------------------------------------------------------------------- presentation

def render_text(doc: dict, out) -> None:
    T = report.Text
    o = doc["ours"]
    label = "inferred" if o["inferred"] else "main.cf"
    per = doc["period"]
    out.print(T(f"forged senders: {doc['envelopes']['rejects']:,} rejects and {doc['envelopes']['accepted_messages']:,} accepted "
                f"messages looked at, {minute(per.get('first')) or '-'} .. {minute(per.get('last')) or '-'} UTC"))
    out.print(T(f"our domains ({label}): {', '.join(o['domains']) or '-'}"))
    out.print(T(f"our names ({label}): {', '.join(o['hostnames']) or '-'}; addresses: {', '.join(o['addresses']) or '-'}; "
                f"mynetworks: {', '.join(o['mynetworks']) or '-'}"))
    out.print(report.table(
        "patterns", ["pattern", "status", "clients", "hits", "rejected", "accepted", "restriction that fired"],
        [(p["code"], p["status"], p["clients"], p["hits"], p["rejected"], p["accepted"], ", ".join(p["restrictions_fired"]))
         for p in doc["patterns"]],
    ))
    for p in doc["patterns"]:
        if not p["top_clients"]:
            continue
        out.print(report.table(
            f"{p['code']}: {p['title']}", ["client", "host", "hits", "rejected", "accepted", "detail", "example"],
            [(c["client_ip"], c["client_host"], c["hits"], c["rejected"], c["accepted"],
              (c["detail"] or "") + (f" ({c['n']})" if c.get("n") else ""),
              f"{c['example']['source']}:{c['example']['line_no']}") for c in p["top_clients"]],
        ))
        out.print(T(f"  rule: {p['rule']}"))
        out.print(T(f"  stops it: {p['restriction']}"))
        if p["action"]:
            out.print(T(f"  change: {p['action']}"))


def csv_rows(doc: dict, table: str = "clients") -> tuple[list[str], list[list]]:
    """One row per (pattern, client) ('clients'), or per pattern ('patterns')."""
    if table == "patterns":
        cols = ["code", "status", "severity", "clients", "hits", "rejected", "accepted", "restrictions_fired", "restriction", "action"]
        return cols, [[("; ".join(p[c]) if isinstance(p[c], list) else p[c]) for c in cols] for p in doc["patterns"]]
    if table != "clients":
        raise ValueError("table must be clients or patterns")
    cols = ["code", "client_ip", "client_host", "hits", "rejected", "accepted", "detail", "n", "first_ts", "last_ts", "source", "line_no"]
    rows = []
    for p in doc["patterns"]:
        for c in p["top_clients"]:
            rows.append([p["code"], c["client_ip"], c["client_host"], c["hits"], c["rejected"], c["accepted"], c["detail"], c["n"],
                         c["first_ts"], c["last_ts"], c["example"]["source"], c["example"]["line_no"]])
    return cols, rows
