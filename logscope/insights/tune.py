"""tune - connection-limit advice from a rebuilt anvil model.

NAME
    logscope.insights.tune - which smtpd_client_*_limit values are safe, from the log.

INPUT (events, views)
    session_bounds    smtpd connect → disconnect, with MAIL/RCPT/AUTH counters (20_sessions.sql)
    session_services  the master.cf service anvil counts each session under (22_session_services.sql)
    anvil_reports     anvil "statistics: max ..." lines and the interval each covers (23_anvil_reports.sql)
    limit_exceeded    smtpd "<limit> limit exceeded: N from <client> for service S" warnings
    too_many_errors   sessions ended by smtpd_hard_error_limit
    main.cf           the limits, anvil_rate_time_unit, smtpd_client_event_limit_exceptions
                      (else Postfix's defaults, and mynetworks inferred, labelled so)

THE ANVIL MODEL (queries/tune_model_events.sql, then :func:`replay`)
    anvil(8) keeps per (service, client): a connection count (+1 at connect, -1 at disconnect)
    and rate counters for connections, MAIL, RCPT, AUTH and new TLS sessions. The rates share
    one window: it starts at the client's first event, and the first event that arrives more
    than anvil_rate_time_unit seconds after the window's start resets every rate to 0 and
    starts a new window (anvil.c: "if (start + var_anvil_time_unit < now) reset"). It is a
    fixed window anchored at an event, not a sliding one, and refused attempts count too
    (anvil counts before smtpd compares with the limit). smtpd talks to anvil only for
    clients outside smtpd_client_event_limit_exceptions, and reports MAIL/RCPT/AUTH only when
    that limit is non-zero, so only those events can restart a window. The model replays the
    sessions in that way: connections at the connect line, the session's MAIL/RCPT/AUTH
    commands (issued, from the disconnect counters) at its end; window starts are found
    exactly by pointer doubling (log2(sessions) rounds of numpy array operations: DuckDB's
    window functions took ~4x longer for the same steps).
    A replaced anvil process (exit at reload or when idle) starts from nothing.

    Cross-check: every anvil statistics line is compared with the model's maximum for that
    client and interval; see queries/tune_crosscheck.sql for the boundary rule.

CLASSES (queries/tune_clients.sql)
    exempt, legitimate, abusive, unknown; the rules are in the output ("rules").

RECOMMENDATION
    For each limit: recommended = max(ceil(legitimate peak * HEADROOM), legitimate peak +
    MIN_MARGIN), so that no legitimate client of the period would have been refused. It is
    proposed when it would refuse some abusive client or when the current value refuses
    legitimate clients; otherwise the current value stays. A legitimate client whose peak is
    OUTLIER_FACTOR times the next one's is proposed for smtpd_client_event_limit_exceptions
    instead of raising the limit for everyone. A what-if table shows, for candidate values,
    the legitimate and abusive connections (commands) each would have refused.

OUTPUT
    A dict with "schema": "logscope.tune/1" (docs/json-tune.md). :func:`render_text` and
    :func:`csv_rows` present it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from .. import postconf, queries, report
from . import SECONDS, Finding, by_severity, inside, parse_when, postconf_edit

SCHEMA = "logscope.tune/1"

HEADROOM = 1.5
MIN_MARGIN = 2
SASL_BRUTE_MIN = 3
OUTLIER_FACTOR = 3
OUTLIER_MIN = 10
CLIENT_ROWS = 50
TEXT_CLIENTS = 20

# anvil metric -> (parameter, model event kind)
LIMITS = {
    "connection_count": "smtpd_client_connection_count_limit",
    "connection_rate": "smtpd_client_connection_rate_limit",
    "message_rate": "smtpd_client_message_rate_limit",
    "recipient_rate": "smtpd_client_recipient_rate_limit",
    "auth_rate": "smtpd_client_auth_rate_limit",
}
UNITS = {
    "connection_count": "simultaneous connections",
    "connection_rate": "connections per unit",
    "message_rate": "MAIL commands per unit",
    "recipient_rate": "RCPT commands per unit",
    "auth_rate": "AUTH commands per unit",
}
CANDIDATES = {
    "connection_count": (2, 3, 5, 10, 20, 50),
    "connection_rate": (5, 10, 20, 30, 60, 100),
    "message_rate": (5, 10, 20, 50, 100),
    "recipient_rate": (10, 20, 50, 100, 200, 500),
    "auth_rate": (3, 5, 10, 20, 50),
}
RULES = {
    "exempt": "listed in smtpd_client_event_limit_exceptions (default $mynetworks): anvil never counts it",
    "legitimate": "authenticated with SASL; or had mail accepted, at least as many messages accepted as "
    f"commands rejected, no protocol abuse and fewer than {SASL_BRUTE_MIN} failed AUTH commands",
    "abusive": "refused by a connection limit, rejected by a DNS blocklist, 'too many errors', protocol "
    f"abuse (improper pipelining, non-SMTP command, illegal address, bare LF), >= {SASL_BRUTE_MIN} failed "
    "AUTH commands, or rejected without any accepted mail",
    "unknown": "none of the above (connected but never tried to send: probes, TLS-only, lost connections)",
}



def iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v.astimezone(dt.timezone.utc) if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).isoformat()
    return v


def _rows(rel) -> list[dict]:
    if rel is None:
        return []
    cols = rel.columns
    return [{k: iso(v) for k, v in zip(cols, r)} for r in rel.fetchall()]


def _one(con, sql: str, params: dict | None = None) -> tuple:
    """The first row of a query (the whole result is fetched, so the connection is free again)."""
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return rows[0] if rows else ()


def _seconds(text: str | None, default: int) -> int:
    """A Postfix time value ('60s', '10m', '1h', '60') in seconds."""
    if not text:
        return default
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text)
    return int(m.group(1)) * SECONDS.get(m.group(2) or "s", 1) if m else default


def _int(text: str | None, default: int) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def _networks(text: str | None) -> tuple[list, list[str]]:
    """CIDR/IP words of a Postfix address list; other words (tables, names) come back unparsed."""
    nets, other = [], []
    for w in re.split(r"[\s,]+", text or ""):
        if not w:
            continue
        v = w.strip("[]").replace("]/", "/").replace("[", "")
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            other.append(w)
    return nets, other


def settings(con, main_cf: postconf.MainCf | None) -> dict:
    """Limits, anvil timing and exceptions: from main.cf, else Postfix defaults plus evidence in the log."""
    cf = main_cf if main_cf is not None else postconf.MainCf("<postfix defaults>")
    src = "main.cf" if main_cf is not None else "default"
    limits = {}
    for metric, param in LIMITS.items():
        given = main_cf is not None and param in main_cf.params
        limits[metric] = {"parameter": param, "value": _int(cf.get(param), 0), "source": "main.cf" if given else "default"}
    ev = _one(con, "select mode(rate_unit_s) filter (where rate_unit_s is not null), "
              "list(distinct metric) filter (where metric is not null) from anvil_reports")
    warned = {r[0] for r in con.sql("select distinct metric from events where daemon = 'smtpd' and kind = 'limit_exceeded'").fetchall()}
    seen = set(ev[1] or []) | warned
    if main_cf is not None and "anvil_rate_time_unit" in main_cf.params:
        unit, unit_src = _seconds(main_cf.get("anvil_rate_time_unit"), 60), "main.cf"
    elif ev[0]:
        unit, unit_src = int(ev[0]), "anvil statistics lines"
    else:
        unit, unit_src = _seconds(cf.get("anvil_rate_time_unit"), 60), "default"
    if main_cf is None:
        # a limit that is off in the defaults but shows up in anvil lines or warnings is on
        for metric in ("message_rate", "recipient_rate", "auth_rate", "connection_rate"):
            if metric in seen and limits[metric]["value"] == 0:
                limits[metric]["source"] = "enabled (seen in the log), value unknown"
                limits[metric]["value"] = None
    if main_cf is not None:
        exc_text = main_cf.get("smtpd_client_event_limit_exceptions")
        nets, other = _networks(exc_text)
        exc = {"value": main_cf.params.get("smtpd_client_event_limit_exceptions", "$mynetworks"), "expanded": exc_text,
               "networks": [str(n) for n in nets], "unparsed": other, "source": "main.cf"}
    else:
        servers = [r[0] for r in con.sql(
            "select distinct regexp_extract(detail, '^\\[([^\\]]+)\\]', 1) from events "
            "where daemon = 'postscreen' and kind = 'ps_connect' and detail like '[%'").fetchall() if r[0]]
        nets = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]
        for s in servers:
            try:
                nets.append(ipaddress.ip_network(s))
            except ValueError:
                pass
        exc = {
            "value": "$mynetworks",
            "expanded": None,
            "networks": sorted({str(n) for n in nets}),
            "unparsed": [],
            "source": "inferred: Postfix's default mynetworks_style=host (this machine: loopback and the server "
            "addresses postscreen logged); pass --main-cf for the real value",
        }
    return {
        "limits": limits,
        "anvil_rate_time_unit": {"seconds": unit, "source": unit_src},
        "anvil_status_update_time": {
            "seconds": _seconds(cf.get("anvil_status_update_time"), 600),
            "source": "main.cf" if main_cf is not None and "anvil_status_update_time" in main_cf.params else "default",
        },
        "exceptions": exc,
        "error_limits": {
            "smtpd_soft_error_limit": _int(cf.get("smtpd_soft_error_limit"), 10),
            "smtpd_hard_error_limit": _int(cf.get("smtpd_hard_error_limit"), 20),
            "smtpd_error_sleep_time": cf.get("smtpd_error_sleep_time"),
            "source": src,
        },
        "_nets": [ipaddress.ip_network(n) for n in exc["networks"]],
        "_seen": seen,
    }


DERIVED = ("session_bounds", "session_services", "anvil_reports", "anvil_epochs")
# the named queries analyze() runs
QUERIES = ("tune_model_events",
           "tune_clients", "tune_peaks", "tune_whatif", "tune_crosscheck", "tune_warnings", "tune_errors")


def views() -> set[str]:
    """The views analyze() reads: for logscope.open(store, views=...)."""
    return queries.views_for(*QUERIES) | set(DERIVED)
CACHE_DAYS = 14


def cache_dir() -> Path | None:
    """Where derived tables are kept between runs: $LOGSCOPE_CACHE, else $XDG_CACHE_HOME/logscope
    (~/.cache/logscope); None when LOGSCOPE_CACHE is 'off'."""
    env = os.environ.get("LOGSCOPE_CACHE")
    if env and env.lower() in ("off", "0", "no", "none"):
        return None
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "logscope"
    return base / "derived"


def _fingerprint(con) -> str | None:
    """What the derived views depend on: the Parquet files behind ``events`` (names, sizes,
    mtimes) and the text of the view definitions. None when events is not a file listing."""
    row = _one(con, "select sql from duckdb_views() where view_name = 'events'")
    if not row:
        return None
    files = sorted(set(re.findall(r"'([^']+\.parquet)'", row[0])))
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for v in sorted((queries.QUERY_DIR / "views").glob("*.sql")):
        h.update(v.read_bytes())
    return h.hexdigest()[:24]


def materialize(con, names=DERIVED, *, cache: bool = True, since=None, until=None) -> None:
    """Compute the derived views once for this connection: a temp table of the same name
    shadows each view (DuckDB looks in the temp schema first), so later queries, and the
    views built on it, read the table. With ``since``/``until`` (UTC datetimes), the tables
    are built from the lines of that period and a margin around it only
    (:func:`logscope.queries.events_near`). With ``cache`` and no period, the tables are also
    kept as Parquet under :func:`cache_dir`, keyed by the store's files and the view
    definitions, so the next run over an unchanged store reads them instead of recomputing
    (a period such as "the last 24h" moves with every run: its tables are not kept). Idempotent."""
    todo = [n for n in names if not _one(con, "select count(*) from duckdb_tables() where temporary and table_name = $n", {"n": n})[0]]
    if not todo:
        return
    bounded = since is not None or until is not None
    where = cache_dir() if cache and not bounded else None
    key = _fingerprint(con) if where is not None else None
    with queries.events_near(con, since, until):
        for name in todo:
            path = where / f"{name}-{key}.parquet" if key else None
            if path is not None and path.exists():
                con.execute(f"create temp table {name} as select * from read_parquet('{_sql_path(path)}')")
                continue
            con.execute(f"create temp table {name} as select * from {name}")
            if path is not None:
                try:
                    where.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    con.execute(f"copy {name} to '{_sql_path(tmp)}' (format parquet)")
                    os.replace(tmp, path)
                    _prune(where)
                except (OSError, duckdb.Error):
                    pass  # a read-only or full cache only costs speed


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def _prune(where: Path) -> None:
    limit = dt.datetime.now().timestamp() - CACHE_DAYS * 86400
    for f in where.glob("*.parquet"):
        try:
            if f.stat().st_mtime < limit:
                f.unlink()
        except OSError:
            pass


def _register_exempt(con, nets: list) -> int:
    """Temp table tune_exempt(client_ip): the distinct client addresses inside ``nets``."""
    ips = [r[0] for r in con.execute("select distinct client_ip from session_bounds where client_ip is not null").fetchall()]
    out = inside(ips, nets)
    queries.temp_table(con, "tune_exempt", client_ip=("varchar", out))
    return len(out)


def _group_rank(gi: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """One int64 key per value that sorts by (group, value): the value's dense rank among all
    values, offset by the group (sortable second-and-line numbers are too large to offset)."""
    ranks = np.unique(values, return_inverse=True)[1].astype(np.int64)
    width = int(ranks.max()) + 2 if len(ranks) else 1
    return gi * width + ranks, width


def replay(g, s, ord_start, ord_end, mail, rcpt, auth, unit: int) -> tuple[dict, dict]:
    """anvil's counters after each session, for sessions sorted by (g, o) (see the module docstring).

    Arrays of one row per session: group id, whole connect second, sortable connect and last-line
    numbers, MAIL/RCPT/AUTH commands issued. Returns the value columns of tune_val and the model's
    figures. Window starts: a group's first session; a session more than ``unit`` seconds after the
    one before it (a burst start); within a burst, the first session more than ``unit`` seconds after
    the window's start. The chains within bursts are followed by pointer doubling (log2 rounds of
    array operations, whatever their length).
    """
    n = len(g)
    if n == 0:
        none = np.zeros(0, np.int64)
        return ({k: none for k in ("conn_rate", "conn_count", "mail_rate", "mail_before", "rcpt_rate", "rcpt_before",
                                   "auth_rate", "auth_before")},
                {"sessions": 0, "groups": 0, "groups_with_long_bursts": 0, "largest_long_group": 0, "doubling_rounds": 0})
    idx = np.arange(n, dtype=np.int64)
    first = np.ones(n, bool)
    first[1:] = g[1:] != g[:-1]
    gi = np.cumsum(first) - 1
    n_groups = int(gi[-1]) + 1
    s = s.astype(np.int64)
    burst = first.copy()
    burst[1:] |= (s[1:] - s[:-1]) > unit
    # the next window start after each session's, if that session starts one: the first session
    # of the same burst more than unit seconds later (sessions are in time order within a group)
    bno = np.cumsum(burst) - 1
    key = bno * (int(s.max() - s.min()) + unit + 2) + (s - s.min())
    nxt = np.searchsorted(key, key + unit, side="right")
    nxt[nxt >= n] = -1
    inside_burst = nxt >= 0
    inside_burst[inside_burst] = bno[nxt[inside_burst]] == bno[inside_burst]
    nxt[~inside_burst] = -1
    # bursts longer than unit (the only ones whose windows form a chain)
    span = np.zeros(bno[-1] + 1, np.int64)
    np.maximum.at(span, bno, s - s[np.flatnonzero(burst)][bno])
    long_group = np.zeros(n_groups, bool)
    np.logical_or.at(long_group, gi, span[bno] > unit)
    rows = np.bincount(gi, minlength=n_groups)
    longest = int(rows[long_group].max()) if long_group.any() else 0
    levels = max(0, math.ceil(math.log2(longest))) if longest > 1 else 0
    start = burst.copy()
    if longest:
        # the jump tables cover the sessions of long groups only (levels+1 arrays of them)
        rows_l = np.flatnonzero(long_group[gi])
        pos = np.full(n, -1, np.int64)
        pos[rows_l] = np.arange(len(rows_l))
        step = nxt[rows_l]
        jumps = [np.where(step >= 0, pos[np.maximum(step, 0)], -1)]
        for _ in range(levels):
            j = jumps[-1]
            jumps.append(np.where(j >= 0, j[np.maximum(j, 0)], -1))
        st = start[rows_l]
        for j in reversed(jumps):  # starts ∪ j(starts), highest jump first: every chain length
            to = j[st]
            st[to[to >= 0]] = True
        start[rows_l] = st
    # each session's window: the last start at or before it (a group's first row is a start)
    wstart = np.maximum.accumulate(np.where(start, idx, 0))
    out = {"conn_rate": idx - wstart + 1}
    for name, w in (("mail", mail), ("rcpt", rcpt), ("auth", auth)):
        w = w.astype(np.int64)
        cum = np.cumsum(w)
        value = cum - (cum[wstart] - w[wstart])
        out[f"{name}_rate"], out[f"{name}_before"] = value, value - w
    # connection count: sessions of the group open at each connect (+1 at each connect, -1 after
    # each session's last line; a connect on the line that ends another counts before that end)
    count = np.ones(n, np.int64)
    ends, width = _group_rank(np.concatenate([gi, gi]), np.concatenate([ord_start, ord_end]))
    k_start, k_end = ends[:n], ends[n:]
    prev_end = np.maximum.accumulate(k_end)  # within a group: offsets make earlier groups smaller
    overlapping = np.zeros(n, bool)
    overlapping[1:] = (k_start[1:] < prev_end[:-1]) & ~first[1:]
    og = np.zeros(n_groups, bool)
    og[gi[overlapping]] = True
    rows_og = np.flatnonzero(og[gi])
    if len(rows_og):
        ks, ke = np.sort(k_start[rows_og]), np.sort(k_end[rows_og])
        base = gi[rows_og] * width
        opened = np.searchsorted(ks, k_start[rows_og], "right") - np.searchsorted(ks, base, "left")
        closed = np.searchsorted(ke, k_start[rows_og], "left") - np.searchsorted(ke, base, "left")
        count[rows_og] = opened - closed
    out["conn_count"] = count
    figures = {"sessions": n, "groups": n_groups, "groups_with_long_bursts": int(long_group.sum()),
               "largest_long_group": longest, "doubling_rounds": levels + 1 if longest else 0}
    return out, figures


def run_model(con, *, since=None, until=None, unit: int = 60) -> dict:
    """Build tune_ev (the sessions anvil counts) and tune_val: one row per tune_ev row, with
    its columns g, o, host, svc, client_ip, client_host, session_id, ts, s, src, line and

    conn_rate   connections in the current window, this one included (refused ones count:
                anvil counts before smtpd compares with the limit);
    conn_count  sessions of the group open at this connect, this one included;
    mail_rate, rcpt_rate, auth_rate   the message/recipient/AUTH counters after this session's
                commands; *_before: the same counter before them (so a limit X refuses
                max(0, value - max(X, before)) of this session's commands).
    """
    p = {"since": since, "until": until}
    queries.run(con, "tune_model_events", **p)
    ev = con.execute("select g, o, s, ord_start, ord_end, w_mail, w_rcpt, w_auth from tune_ev order by g, o").fetchnumpy()
    values, figures = replay(ev["g"], ev["s"], ev["ord_start"], ev["ord_end"], ev["w_mail"], ev["w_rcpt"], ev["w_auth"], unit)
    con.register("tune_model", {"g": ev["g"], "o": ev["o"], **values})
    try:
        con.execute(
            "create or replace temp table tune_val as "
            "select e.g, e.o, e.host, e.svc, e.client_ip, e.client_host, e.session_id, e.ts, e.s, e.src, e.line, "
            "m.conn_rate, m.conn_count, m.mail_rate, m.mail_before, m.rcpt_rate, m.rcpt_before, m.auth_rate, m.auth_before "
            "from tune_ev e join tune_model m using (g, o)")
    finally:
        con.unregister("tune_model")
    return figures


def _headroom(peak: int) -> int:
    return max(math.ceil(peak * HEADROOM), peak + MIN_MARGIN)


def _recommend(metric: str, current, peaks: dict, clients_peak: list[dict]) -> dict:
    legit = peaks.get(("legitimate", metric))
    abusive = peaks.get(("abusive", metric))
    lp = int(legit["peak"]) if legit and legit["peak"] is not None else 0
    ap = int(abusive["peak"]) if abusive and abusive["peak"] is not None else 0
    rec = _headroom(lp) if lp else None
    # one legitimate outlier: exempting it may be better than a higher limit for everyone
    alternative = None
    if len(clients_peak) >= 2 and clients_peak[0]["v"] >= OUTLIER_MIN and clients_peak[0]["v"] >= OUTLIER_FACTOR * max(clients_peak[1]["v"], 1):
        alternative = {"exempt": clients_peak[0]["client_ip"], "value": _headroom(int(clients_peak[1]["v"]))}
    cur = current if current else None  # 0 = off; None = on, value unknown
    refuses_abusive = bool(rec is not None and ap > rec)
    current_refuses_legit = bool(cur is not None and lp > cur)
    if rec is None:
        verdict = "keep"
    elif current_refuses_legit:
        verdict = "raise"
    elif refuses_abusive and (cur is None or rec < cur):
        verdict = "lower" if cur is not None else "enable"
    else:
        verdict = "keep"
    return {
        "metric": metric,
        "parameter": LIMITS[metric],
        "unit": UNITS[metric],
        "current": current,
        "legitimate_peak": lp or None,
        "legitimate_peak_client": legit["client_ip"] if legit else None,
        "abusive_peak": ap or None,
        "abusive_peak_client": abusive["client_ip"] if abusive else None,
        "recommended": rec,
        "verdict": verdict,
        "refuses_abusive": refuses_abusive,
        "current_refuses_legitimate": current_refuses_legit,
        "alternative": alternative,
        "postconf": postconf_edit(LIMITS[metric], str(rec)) if verdict in ("raise", "lower", "enable") else None,
    }


def analyze(con, *, since=None, until=None, main_cf: postconf.MainCf | None = None, headroom: float | None = None,
            client_rows: int = CLIENT_ROWS, cache: bool = True) -> dict:
    """Per-client peaks, anvil cross-check, classes, recommended limits, what-if, warnings, error limits.

    ``con`` is a connection from :func:`logscope.open`; ``since``/``until`` datetimes or text
    (see :func:`parse_when`), UTC; ``main_cf`` a :class:`logscope.postconf.MainCf` or None;
    ``cache``: keep the derived session tables between runs (see :func:`materialize`).
    """
    global HEADROOM
    saved = HEADROOM
    if headroom is not None:
        HEADROOM = headroom
    try:
        # (the settings on a cursor beside the derived tables measured slower: DuckDB's threads
        # are narrowed while both run, and the session tables' first pipelines keep one thread)
        since, until = parse_when(since), parse_when(until)
        materialize(con, cache=cache, since=since, until=until)
        with queries.events_near(con, since, until):
            st = settings(con, main_cf)
        return _analyze(con, since, until, main_cf, client_rows, st)
    finally:
        HEADROOM = saved


def _analyze(con, since, until, main_cf, client_rows, st: dict) -> dict:
    nets = st.pop("_nets")
    st.pop("_seen")
    n_exempt = _register_exempt(con, nets)
    lim = st["limits"]
    unit = st["anvil_rate_time_unit"]["seconds"]
    p = {"since": since, "until": until}
    model = run_model(con, unit=unit, **p)
    model["services"] = dict(con.execute(
        "select service_from, count(*) from session_services ss join tune_ev e using (session_id) group by 1"
    ).fetchall())
    model["exempt_clients"] = n_exempt
    queries.run(con, "tune_clients", sasl_brute_min=SASL_BRUTE_MIN, **p)

    peaks = {(r["class"], r["metric"]): r for r in _rows(queries.run(con, "tune_peaks"))}
    # per metric, the two highest legitimate clients (outlier check)
    tops: dict[str, list[dict]] = {}
    for metric, col in (("connection_count", "peak_concurrency"), ("connection_rate", "peak_connection_rate"),
                        ("message_rate", "peak_message_rate"), ("recipient_rate", "peak_recipient_rate"),
                        ("auth_rate", "peak_auth_rate")):
        tops[metric] = [{"client_ip": a, "v": b} for a, b in con.sql(
            f"select client_ip, {col} from tune_cls where class = 'legitimate' and {col} is not null order by {col} desc, client_ip limit 2").fetchall()]
    recs = [_recommend(m, lim[m]["value"], peaks, tops[m]) for m in LIMITS]
    exc_candidates = sorted({r["alternative"]["exempt"] for r in recs if r["alternative"]})

    # what-if: the standard candidates, the current and the recommended values
    cand = []
    for m in LIMITS:
        vals = set(CANDIDATES[m])
        if lim[m]["value"]:
            vals.add(lim[m]["value"])
        rec = next(r["recommended"] for r in recs if r["metric"] == m)
        if rec:
            vals.add(rec)
        cand += [(m, v) for v in sorted(vals)]
    queries.temp_table(con, "tune_candidates", metric=("varchar", [c[0] for c in cand]), value=("bigint", [c[1] for c in cand]))
    got = {(r["metric"], r["value"]): r for r in _rows(queries.run(con, "tune_whatif"))}
    whatif = []
    for m, v in cand:
        r = got.get((m, v), {})
        rec = next(x["recommended"] for x in recs if x["metric"] == m)
        whatif.append({
            "metric": m, "parameter": LIMITS[m], "value": v,
            "current": v == lim[m]["value"], "recommended": v == rec,
            **{k: int(r.get(k) or 0) for k in ("refused_legitimate", "clients_legitimate", "refused_abusive",
                                              "clients_abusive", "refused_unknown", "clients_unknown")},
        })

    cross = _rows(queries.run(con, "tune_crosscheck", **p))
    warnings = _rows(queries.run(con, "tune_warnings", **p))
    errors = _rows(queries.run(con, "tune_errors", **p))
    counts = dict(con.sql("select class, count(*) from tune_cls group by 1").fetchall())
    clients = _rows(con.sql(
        "select * from tune_cls order by (warn_connection_count + warn_connection_rate + warn_message_rate"
        " + warn_recipient_rate + warn_newtls_rate + warn_auth_rate > 0) desc,"
        " coalesce(peak_connection_rate, 0) desc, coalesce(peak_concurrency, 0) desc, sessions desc, client_ip limit $n",
        params={"n": client_rows}))
    span = _one(con, "select min(t_start), max(t_end), count(*) from session_bounds where (cast($since as timestamptz) is null or t_start >= cast($since as timestamptz)) and (cast($until as timestamptz) is null or t_start < cast($until as timestamptz))", p)

    doc = {
        "schema": SCHEMA,
        "generated": iso(dt.datetime.now(dt.timezone.utc)),
        "period": {"since": iso(since), "until": iso(until), "first": iso(span[0]), "last": iso(span[1]), "sessions": span[2]},
        "config": {"main_cf": main_cf.path if main_cf is not None else None, **st},
        "model": model,
        "rules": {**RULES, "headroom": HEADROOM, "min_margin": MIN_MARGIN, "sasl_brute_min": SASL_BRUTE_MIN,
                  "outlier_factor": OUTLIER_FACTOR, "outlier_min": OUTLIER_MIN},
        "classes": {k: int(counts.get(k, 0)) for k in ("legitimate", "abusive", "exempt", "unknown")},
        "recommendations": recs,
        "exception_candidates": exc_candidates,
        "whatif": whatif,
        "crosscheck": {
            "lines": len(cross),
            "agree": sum(1 for c in cross if c["agree"]),
            "worst_agree": sum(1 for c in cross if c["worst_agree"]),
            "rows": cross,
        },
        "clients": clients,
        "clients_total": int(sum(counts.values())),
        "limit_warnings": warnings,
        "error_limits": {**st["error_limits"], "too_many_errors_sessions": sum(e["sessions"] for e in errors), "clients": errors},
    }
    doc["findings"] = [f.to_dict() for f in by_severity(_findings(doc, main_cf))]
    return doc


def _findings(doc: dict, main_cf) -> list[Finding]:
    out: list[Finding] = []
    unit = doc["config"]["anvil_rate_time_unit"]["seconds"]
    for r in doc["recommendations"]:
        w = [x for x in doc["whatif"] if x["metric"] == r["metric"] and x["recommended"]]
        ev = {k: r[k] for k in ("current", "recommended", "legitimate_peak", "legitimate_peak_client", "abusive_peak", "abusive_peak_client")}
        ev["unit"] = r["unit"] + (f" ({unit}s)" if r["metric"] != "connection_count" else "")
        if w:
            ev.update({"would_refuse_abusive": w[0]["refused_abusive"], "abusive_clients": w[0]["clients_abusive"],
                       "would_refuse_legitimate": w[0]["refused_legitimate"]})
        if r["verdict"] == "raise":
            out.append(Finding("warning", f"{r['parameter']} = {r['current']} refuses legitimate clients (peak {r['legitimate_peak']}, {r['legitimate_peak_client']})",
                               ev, (), r["postconf"], "tune.limit.raise", r["parameter"]))
        elif r["verdict"] in ("lower", "enable"):
            out.append(Finding("notice", f"{r['parameter']} = {r['recommended']} would refuse abusive clients (peak {r['abusive_peak']}, {r['abusive_peak_client']}) and no legitimate one",
                               ev, (), r["postconf"], "tune.limit." + r["verdict"], r["parameter"]))
    if doc["exception_candidates"]:
        nets = doc["config"]["exceptions"]["value"] or "$mynetworks"
        alts = {r["parameter"]: r["alternative"] for r in doc["recommendations"] if r["alternative"]}
        out.append(Finding("notice", "a few legitimate clients need much more than the rest: exempting them allows tighter limits",
                           {"clients": doc["exception_candidates"], "limits_with_exemption": alts}, (),
                           postconf_edit("smtpd_client_event_limit_exceptions", " ".join([nets] + doc["exception_candidates"])),
                           "tune.exceptions", "smtpd_client_event_limit_exceptions"))
    cc = doc["crosscheck"]
    if cc["lines"]:
        bad = [c for c in cc["rows"] if not c["agree"]]
        sev = "info" if not bad else "notice"
        out.append(Finding(sev, f"anvil model agrees with {cc['agree']} of {cc['lines']} anvil statistics lines",
                           {"lines": cc["lines"], "agree": cc["agree"], "worst_agree": cc["worst_agree"],
                            "disagree": [{k: c[k] for k in ("ts", "metric", "client_ip", "value", "client_open", "client_closed")} for c in bad[:5]]},
                           tuple((c["source"], c["line_no"]) for c in bad[:3]), None, "tune.crosscheck", None))
    for w in doc["limit_warnings"][:20]:
        cls = next((c["class"] for c in doc["clients"] if c["client_ip"] == w["client_ip"]), None)
        sev = "warning" if cls == "legitimate" else "info"
        out.append(Finding(sev, f"{w['warnings']} {w['metric']} limit warning(s) for {w['client_ip']} ({cls or 'unclassified'})",
                           {k: w[k] for k in ("client_ip", "client_host", "metric", "service", "warnings", "max_value", "first_ts", "last_ts")} | {"class": cls},
                           ((w["src"], w["line"]),), None, "tune.limit_warning", w["client_ip"]))
    el = doc["error_limits"]
    legit_errors = [c for c in el["clients"] if c["class"] in ("legitimate", "exempt")]
    if legit_errors:
        out.append(Finding("warning", f"legitimate clients hit smtpd_hard_error_limit = {el['smtpd_hard_error_limit']}",
                           {"clients": [c["client_ip"] for c in legit_errors], "sessions": sum(c["sessions"] for c in legit_errors)},
                           tuple((c["src"], c["line"]) for c in legit_errors[:3]),
                           postconf_edit("smtpd_hard_error_limit", str(max(el["smtpd_hard_error_limit"] * 2, 20))),
                           "tune.error_limit", "smtpd_hard_error_limit"))
    elif el["too_many_errors_sessions"]:
        out.append(Finding("info", f"{el['too_many_errors_sessions']} session(s) ended with 'too many errors' (smtpd_hard_error_limit = {el['smtpd_hard_error_limit']}), none from a legitimate client",
                           {"sessions": el["too_many_errors_sessions"], "clients": [c["client_ip"] for c in el["clients"][:10]]},
                           tuple((c["src"], c["line"]) for c in el["clients"][:3]), None, "tune.error_limit", "smtpd_hard_error_limit"))
    return out


# ---------------------------------------------------------------------------- presentation

def render_text(doc: dict, out) -> None:
    """The report for a terminal (rich console)."""
    T = report.Text
    per = doc["period"]
    cfg = doc["config"]
    unit = cfg["anvil_rate_time_unit"]
    out.print(T(f"connection limits: {per['sessions']:,} smtpd sessions, {per['first'] or '-'} .. {per['last'] or '-'} (UTC)"))
    out.print(T(f"config: {cfg['main_cf'] or 'Postfix defaults (no --main-cf)'}; anvil_rate_time_unit = {unit['seconds']}s ({unit['source']}); "
                f"exceptions: {', '.join(cfg['exceptions']['networks']) or '-'} ({cfg['exceptions']['source']})"))
    m = doc["model"]
    out.print(T(f"anvil model: {m['sessions']:,} sessions in {m['groups']:,} (service, client) groups; "
                f"service of a session from {', '.join(f'{k} {v}' for k, v in sorted(m['services'].items()))}"))
    cc = doc["crosscheck"]
    out.print(T(f"cross-check with anvil statistics: {cc['agree']} of {cc['lines']} lines agree (worst client of the interval: {cc['worst_agree']})"))
    cl = doc["classes"]
    out.print(T(f"clients: {cl['legitimate']} legitimate, {cl['abusive']} abusive, {cl['exempt']} exempt, {cl['unknown']} unknown"))
    pc = lambda v, c: "-" if v is None else (f"{v} ({c})" if c else f"{v}")  # noqa: E731
    out.print(report.table(
        "recommended limits (smtpd_client_<limit>_limit)",
        ["limit", "current", "legit peak", "abusive peak", "recommended", "verdict"],
        [(r["metric"], "off" if r["current"] == 0 else r["current"], pc(r["legitimate_peak"], r["legitimate_peak_client"]),
          pc(r["abusive_peak"], r["abusive_peak_client"]), r["recommended"], r["verdict"]) for r in doc["recommendations"]],
    ))
    out.print(report.table(
        "what-if: refused connections (count, rate) or commands (message, recipient, auth rate), and clients",
        ["limit", "value", "legitimate", "abusive", "unknown", "note"],
        [(w["metric"], w["value"], f"{w['refused_legitimate']} ({w['clients_legitimate']})",
          f"{w['refused_abusive']} ({w['clients_abusive']})", f"{w['refused_unknown']} ({w['clients_unknown']})",
          " ".join(x for x, y in (("current", w["current"]), ("recommended", w["recommended"])) if y))
         for w in doc["whatif"]],
    ))
    shown = doc["clients"][:TEXT_CLIENTS]
    out.print(report.table(
        f"clients (top {len(shown)} of {doc['clients_total']}; --format json or csv for more)",
        ["client", "class", "sessions", "accepted", "rejected", "conc", "conn/u", "mail/u", "rcpt/u", "warnings"],
        [(c["client_ip"], c["class"], c["sessions"], c["accepted"], c["rejected"], c["peak_concurrency"],
          c["peak_connection_rate"], c["peak_message_rate"], c["peak_recipient_rate"],
          sum(c[k] for k in c if k.startswith("warn_"))) for c in shown],
    ))
    if cc["rows"]:
        out.print(report.table(
            "anvil statistics vs model",
            ["report", "metric", "client", "anvil", "model", "agree", "worst (model)"],
            [(c["ts"], c["metric"], c["client_ip"], c["value"],
              c["client_open"] if c["client_open"] == c["client_closed"] else f"{c['client_open']}..{c['client_closed']}",
              "yes" if c["agree"] else "NO", f"{c['worst_closed']} {c['worst_client'] or ''}") for c in cc["rows"][:40]],
        ))
    if doc["limit_warnings"]:
        out.print(report.table("limit warnings in the log", ["client", "metric", "service", "warnings", "max", "first", "last"],
                               [(w["client_ip"], w["metric"], w["service"], w["warnings"], w["max_value"], w["first_ts"], w["last_ts"])
                                for w in doc["limit_warnings"][:30]]))
    el = doc["error_limits"]
    out.print(T(f"error limits: smtpd_soft_error_limit = {el['smtpd_soft_error_limit']}, smtpd_hard_error_limit = "
                f"{el['smtpd_hard_error_limit']} ({el['source']}); {el['too_many_errors_sessions']} 'too many errors' session(s) from "
                f"{len(el['clients'])} client(s)"))
    out.print(T("rules: " + "; ".join(f"{k}: {doc['rules'][k]}" for k in ("legitimate", "abusive"))))
    for f in doc["findings"]:
        if f["severity"] == "info" and f["code"] == "tune.limit_warning":
            continue
        out.print(T(f"[{f['severity']}] {f['title']}"))
        if f["action"]:
            out.print(T(f"    {f['action']}"))


TABLES = ("clients", "recommendations", "whatif", "crosscheck", "warnings")


def csv_rows(doc: dict, table: str = "clients") -> tuple[list[str], list[list]]:
    """One of the result tables as CSV columns and rows."""
    if table == "clients":
        rows = doc["clients"]
    elif table == "recommendations":
        rows = doc["recommendations"]
    elif table == "whatif":
        rows = doc["whatif"]
    elif table == "crosscheck":
        rows = doc["crosscheck"]["rows"]
    elif table == "warnings":
        rows = doc["limit_warnings"]
    else:
        raise ValueError(f"table must be one of {', '.join(TABLES)}")
    cols = list(rows[0]) if rows else []
    fmt = lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return cols, [[fmt(r[c]) for c in cols] for r in rows]
