"""End to end: real Postfix logs from the postfix-lab, ingested into a real store, checked against
what the lab's traffic was (tests/lab_truth.py, derived from the harness, never from logscope).

Log sets, one store each (module-scoped):
    committed  sample_logs/rotated (the postlog run as mail.log.2.gz, mail.log.1, mail.log),
               sample_logs/syslog (RFC 3339 stamps), sample_logs/amavis (mail.log + amavis.log)
    fresh      $LOGSCOPE_LAB_DIR/{postlog,syslog,amavis}/ from a lab run made just now
               (.ci/lab.sh writes it in CI); skipped when the variable is unset or a run is missing

Everything is asserted through the store: the `events` and `unparsed` views and the views of
queries/views (`rejects`, `rbl_hits`, `rbl_lookup_errors`, `dnsbl_listings`, `sessions`, `messages`).
Counts that vary between runs (the sink's greylist retries, dnsblog lookups shared by concurrent
postscreen connections) are compared with a plain regex count over the same raw log instead.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import lab_truth as T
import logscope

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
LAB_ENV = "LOGSCOPE_LAB_DIR"
RUNS = ("postlog", "syslog", "amavis")
COMMITTED = {"postlog": "rotated", "syslog": "syslog", "amavis": "amavis"}
SAMPLE_YEAR = 2026  # sample_logs/README.md: generated 2026-11-27; git keeps no mtimes


@dataclass
class Lab:
    source: str  # committed | fresh
    run: str  # postlog | syslog | amavis
    files: list[Path]
    store: Path
    report: object  # logscope.IngestReport
    con: object  # DuckDB connection from logscope.open

    @property
    def name(self) -> str:
        return f"{self.source}-{self.run}"

    def lines(self) -> list[str]:
        """The raw log text, for independent grep-style counts."""
        out = []
        for f in self.files:
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt", encoding="utf-8", errors="replace") as fh:
                out.extend(fh.read().splitlines())
        return out

    def grep(self, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for line in self.lines() if rx.search(line))

    def q(self, sql: str, *params) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()


def _fresh_dir() -> Path:
    d = os.environ.get(LAB_ENV)
    if not d:
        pytest.skip(f"fresh Postfix lab run: ${LAB_ENV} is not set (CI sets it from .ci/lab.sh, which needs root and ../shared)")
    return Path(d)


def _log_dir(source: str, run: str) -> Path:
    if source == "committed":
        return SAMPLES / COMMITTED[run]
    d = _fresh_dir() / run
    if not (d / "mail.log").is_file():
        pytest.skip(f"fresh Postfix lab run: no {run} run in ${LAB_ENV} ({d / 'mail.log'} missing)")
    if run == "amavis" and not (d / "amavis.log").is_file():
        pytest.skip(f"fresh Postfix lab run: {d / 'amavis.log'} missing")
    return d


_LABS: dict[tuple[str, str], Lab] = {}  # one store per log set, shared by both fixtures


def _open_lab(request, source: str, run: str, factory) -> Lab:
    if (source, run) in _LABS:
        return _LABS[source, run]
    d = _log_dir(source, run)
    files = sorted(p for p in d.iterdir() if p.is_file() and p.name.startswith(("mail.log", "amavis.log")))
    assert files, f"no log files in {d}"
    store = factory.mktemp(f"store-{source}-{run}")
    # committed files lost their mtimes in git: give the year; a fresh log's mtime is its own
    report = logscope.ingest([str(d)], store, tz="UTC", year=SAMPLE_YEAR if source == "committed" else None)
    # say which log set the module checks, so CI output shows committed and fresh runs
    tr = request.config.pluginmanager.getplugin("terminalreporter")
    cm = request.config.pluginmanager.getplugin("capturemanager")
    if tr is not None and cm is not None:
        with cm.global_and_fixture_disabled():
            # write_line starts a new line after "tests/test_lab.py ", not after -q's dots
            if getattr(tr, "currentfspath", None) is None and getattr(getattr(tr, "_tw", None), "width_of_current_line", 0):
                tr.write("\n")
            tr.write_line(f"test_lab: {source}-{run}: {report.lines} lines from {d}")
    _LABS[source, run] = Lab(source, run, files, store, report, logscope.open(store))
    return _LABS[source, run]


@pytest.fixture(scope="module", params=[(s, r) for s in ("committed", "fresh") for r in RUNS], ids=lambda p: f"{p[0]}-{p[1]}")
def lab(request, tmp_path_factory) -> Lab:
    return _open_lab(request, *request.param, tmp_path_factory)


@pytest.fixture(scope="module", params=["committed", "fresh"])
def amavis_lab(request, tmp_path_factory) -> Lab:
    return _open_lab(request, request.param, "amavis", tmp_path_factory)


# ---------------------------------------------------------------------------------------------
# every line


def test_every_postfix_line_understood(lab):
    raw = lab.lines()
    n_events, = lab.q("select count(*) from events")[0]
    n_unparsed, = lab.q("select count(*) from unparsed")[0]
    skipped = sum(s.skipped for s in lab.report.sources)
    assert n_events + n_unparsed + skipped == len(raw) == lab.report.lines, lab.name
    bad = lab.q("select program, reason, raw from unparsed where program like 'postfix%' order by source, line_no limit 10")
    assert not bad, f"{lab.name}: unparsed Postfix lines, e.g.\n" + "\n".join(map(str, bad))


# ---------------------------------------------------------------------------------------------
# rejects by client and restriction class

_REJECT_IP = re.compile(r": reject: .*? from [^\s\[]*\[(\d+\.\d+\.\d+\.\d+)\]")


def test_raw_reject_lines_agree_with_truth(lab):
    """The truth table against the raw text (a grep, no logscope): one line per refusal on the mx."""
    raw = Counter(m.group(1) for line in lab.lines() if "postfix/sink/" not in line and (m := _REJECT_IP.search(line)))
    want = Counter(r.client for r in T.REJECTS)
    assert raw == want, f"{lab.name}: reject lines per client in the raw log differ from lab_truth"
    # the one place where a client, not the harness, decides the count: swaks retries HELO after EHLO
    assert lab.grep(r"reject: (?:EHLO|HELO) from [^\s\[]*\[127\.0\.0\.26\]") == 2


def _match(expected: list[T.Reject], observed: list[tuple]) -> tuple[list, list]:
    """Pair each expected reject with one observed (daemon, stage, code, class) row; return leftovers."""
    left = list(observed)
    missing = []
    for e in sorted(expected, key=lambda r: len(r.classes)):  # the most specific first
        for i, (daemon, stage, code, klass) in enumerate(left):
            if (daemon == e.daemon and klass in e.classes
                    and (e.stage is None or stage == e.stage) and (e.code is None or code == e.code)):
                del left[i]
                break
        else:
            missing.append(e)
    return missing, left


def test_rejects_per_client_by_restriction_class(lab):
    rows = lab.q("""
        select client_ip, daemon, stage, code, restriction_class, restriction, reply
        from rejects
        where refused and coalesce(service, '') <> ?
        order by ts, source, line_no""", T.SINK_SERVICE)
    observed: dict[str, list[tuple]] = {}
    for ip, daemon, stage, code, klass, *_ in rows:
        observed.setdefault(ip, []).append((daemon, stage, code, klass))
    expected = T.rejects_by_client()
    problems = []
    for ip in sorted(set(expected) | set(observed), key=lambda a: tuple(int(x) for x in (a or "0.0.0.0").split("."))):
        missing, extra = _match(expected.get(ip, []), observed.get(ip, []))
        for e in missing:
            problems.append(f"{ip}: missing {e.daemon} {e.stage} {e.code} class in {sorted(e.classes)} ({e.restriction}: {e.why})")
        for x in extra:
            detail = [r for r in rows if r[0] == ip and tuple(r[1:5]) == x]
            problems.append(f"{ip}: unexpected {x} {detail[:1]}")
    assert not problems, f"{lab.name}:\n" + "\n".join(problems)
    assert len(rows) == len(T.REJECTS)


def test_non_refusing_actions(lab):
    """header/body checks that only warn, hold, redirect ... and sender_access DISCARD/HOLD."""
    content = Counter(lab.q("select client_ip, action from rejects where daemon = 'cleanup' and not refused"))
    assert content == Counter({(ip, a): n for ip, c in T.CONTENT_ACTIONS.items() for a, n in c.items()}), lab.name
    smtpd = Counter(lab.q(
        "select client_ip, action from rejects where daemon = 'smtpd' and not refused and restriction = 'check_sender_access'"))
    assert smtpd == Counter({(ip, a): n for ip, c in T.SENDER_ACCESS_NONREFUSING.items() for a, n in c.items()}), lab.name


def test_sink_rejects(lab):
    """The loopback 'remote MX': one 554 for the bouncing domain, a 450 on every greylist retry."""
    rows = Counter(lab.q("select recipient, code from rejects where refused and service = ?", T.SINK_SERVICE))
    retries = lab.grep(r"postfix/sink/smtpd\[\d+\]: NOQUEUE: reject: RCPT .*<later@greylist\.example\.net>")
    assert retries >= 2  # deferred at least twice before it expired
    assert rows == Counter({T.SINK_BOUNCE: 1, T.SINK_GREYLIST: retries}), lab.name


# ---------------------------------------------------------------------------------------------
# DNS blocklists


def test_rbl_rejects_per_zone(lab):
    rows = lab.q("select lower(rbl_zone), client_ip, rbl_class, restriction, daemon from rbl_hits where refused")
    per_zone: dict[str, Counter] = {}
    for zone, ip, *_ in rows:
        per_zone.setdefault(zone, Counter())[ip] += 1
    assert per_zone == T.RBL_REJECTS, lab.name
    assert Counter(c for z, _, c, _, _ in rows if z == "rhsbl.test") == T.RHSBL_CLASSES
    assert {(r, d) for z, _, _, r, d in rows if z in ("rbl.test", "all.test") and d == "smtpd"} == {("reject_rbl_client", "smtpd")}


def test_every_outside_client_on_2528_rejected_by_all_test(lab):
    hits = Counter(ip for ip, in lab.q("select client_ip from rbl_hits where refused and lower(rbl_zone) = 'all.test'"))
    assert set(hits) == T.ALLTEST_OUTSIDE and set(hits.values()) == {1}, lab.name
    # the smtpd processes of that listener: every session of an outside client ended in the all.test reject
    sessions = lab.q("""
        with p as (select distinct host, pid from rbl_hits where lower(rbl_zone) = 'all.test')
        select s.client_ip, s.n_reject_rbl, s.outcome, s.n_queued from sessions s join p using (host, pid)""")
    outside = {ip: (n, outcome) for ip, n, outcome, _ in sessions if ip != T.MYNETWORKS_IP}
    assert outside == {ip: (1, "rejected") for ip in T.ALLTEST_OUTSIDE}, lab.name
    # ... and mynetworks went through (permit_mynetworks before reject_rbl_client all.test)
    assert [(n, outcome, q) for ip, n, outcome, q in sessions if ip == T.MYNETWORKS_IP] == [(0, "accepted", 1)], lab.name


def test_lookup_errors_for_dead_and_servfail_zones(lab):
    rows = lab.q("select rbl_zone, daemon, client_ip, count(*) from rbl_lookup_errors group by all")
    assert {z for z, *_ in rows} == set(T.DEAD_ZONES), f"{lab.name}: lookup errors for other zones: {rows}"
    for zone in T.DEAD_ZONES:
        smtpd = {ip: n for z, d, ip, n in rows if z == zone and d == "smtpd"}
        ps = {ip: n for z, d, ip, n in rows if z == zone and d != "smtpd"}
        assert set(smtpd) == T.LOOKUP_ERRORS_SMTPD, (lab.name, zone, smtpd)
        assert set(ps) == T.LOOKUP_ERRORS_POSTSCREEN, (lab.name, zone, ps)
        counts = {**smtpd, **ps}
        assert all(counts[ip] == 1 for ip in T.LOOKUP_ERRORS_EXACT_ONE), (lab.name, zone, counts)
        # .66: as many as dnsblog logged for it
        assert counts["127.0.0.66"] == lab.grep(r"dnsblog\[\d+\]: warning: .*lookup error for DNS query 66\.0\.0\.127\." + re.escape(zone) + ":")
        z = re.escape(zone)
        total = lab.grep(rf"warning: [\d.]+\.{z}: RBL lookup error|lookup error for DNS query [\d.]+\.{z}:")
        assert sum(counts.values()) == total
    # fail-open: no rejects name them, and the 2529 clients' mail was accepted
    assert lab.q("select count(*) from rbl_hits where lower(rbl_zone) in ('dead.test', 'servfail.test')")[0][0] == 0
    accepted = lab.q("""
        with p as (select distinct host, pid from rbl_lookup_errors where daemon = 'smtpd')
        select s.client_ip, s.outcome from sessions s join p using (host, pid)""")
    assert dict(accepted) == {ip: "accepted" for ip in T.LOOKUP_ERRORS_SMTPD}, lab.name


def test_postscreen_dnsbl(lab):
    rank = dict(lab.q("select client_ip, value from events where kind = 'ps_dnsbl_rank'"))
    assert rank == T.PS_DNSBL_RANK, lab.name
    listings = lab.q("select client_ip, rbl_zone, rbl_reply, error_code from dnsbl_listings")
    assert listings == [(*T.PS_LISTING, False)], lab.name


# ---------------------------------------------------------------------------------------------
# forged senders


def test_forged_local_sender(lab):
    rows = lab.q("""
        select client_ip, stage, sender, recipient, restriction, restriction_class, code
        from rejects
        where refused and client_ip <> ? and sasl_username is null
          and split_part(lower(sender), '@', 2) in (select unnest(?::varchar[]))""",
                 T.MYNETWORKS_IP, list(T.LOCAL_DOMAINS))
    got = {T.Forged(ip, stage, s, r) for ip, stage, s, r, *_ in rows}
    assert got == set(T.FORGED), lab.name
    assert {(restr, klass, code) for *_, restr, klass, code in rows} == {("check_sender_access", "sender", 554)}, lab.name
    forged44 = [r for r in rows if r[0] == "127.0.0.44"]
    assert len(forged44) == 1 and forged44[0][4] == "check_sender_access"


# ---------------------------------------------------------------------------------------------
# connection limits and anvil


def test_limit_warnings(lab):
    rows = lab.q("""
        select client_ip, metric, value, anvil_service from events
        where kind = 'limit_exceeded' order by ts, source, line_no""")
    assert {r[0] for r in rows} == {x.client for x in T.LIMIT_RUNS}, lab.name
    for run in T.LIMIT_RUNS:
        mine = [r for r in rows if r[0] == run.client]
        assert {r[1] for r in mine} == {run.metric}, (lab.name, run)
        assert {r[3] for r in mine} == {T.MAIN_SERVICE}, (lab.name, run)
        values = sorted(r[2] for r in mine)
        if run.exact_values:
            assert values == run.values, (lab.name, run)
        else:
            assert len(values) == run.refused and all(v > run.limit for v in values), (lab.name, run, values)
    # the sessions refused by a connection limit
    refused = Counter(ip for ip, in lab.q("select client_ip from sessions where limit_refused"))
    assert refused == Counter({x.client: x.refused for x in T.LIMIT_RUNS if x.metric.startswith("connection_")}), lab.name


def test_anvil_statistics(lab):
    views = {r[0] for r in lab.q("select view_name from duckdb_views() where not internal")}
    has_view = "anvil_reports" in views
    src = "anvil_reports" if has_view else "(select *, null::timestamptz as interval_start from events where kind = 'anvil')"
    rows = lab.q(f"""
        select metric, arg_max(client_ip, value), arg_max(anvil_service, value), max(value),
               count(*), count(anvil_ts), bool_and(anvil_ts <= ts), min(rate_unit_s), max(rate_unit_s)
        from {src} where metric <> 'cache_size' group by metric""")
    peaks = {r[0]: r[1:] for r in rows}
    assert set(T.ANVIL_PEAKS) <= set(peaks), (lab.name, sorted(peaks))
    for metric, (client, value) in T.ANVIL_PEAKS.items():
        ip, service, peak, n, n_ts, ts_ok, unit_lo, unit_hi = peaks[metric]
        assert (ip, service) == (client, T.MAIN_SERVICE), (lab.name, metric, peaks[metric])
        assert peak in value if isinstance(value, tuple) else peak == value, (lab.name, metric, peak)
        assert n_ts == n and ts_ok, (lab.name, metric)
        if metric.endswith("_rate"):
            assert unit_lo == unit_hi == T.ANVIL_RATE_TIME_UNIT_S, (lab.name, metric)
    # each smtpd limit warning of the abusive clients lies in the interval of a report naming that
    # client, metric and service (anvil reports the peak of each interval; smtpd may log its warning
    # just after anvil's report that counted the event: 1 s of slack at the end)
    if has_view:
        for metric, (client, _) in T.ANVIL_PEAKS.items():
            lost = lab.q("""
                select w.ts, w.value from events w
                where w.kind = 'limit_exceeded' and w.client_ip = ? and w.metric = ?
                  and not exists (
                    select 1 from anvil_reports r
                    where r.metric = w.metric and r.client_ip = w.client_ip and r.anvil_service = w.anvil_service
                      and w.ts <= r.ts + interval 1 second and (r.interval_start is null or w.ts >= r.interval_start))""", client, metric)
            assert not lost, (lab.name, metric, lost)


# ---------------------------------------------------------------------------------------------
# amavis


def test_amavis_verdicts_joined_to_postfix(amavis_lab):
    lab = amavis_lab
    rows = lab.q("""
        select m.client_ip, m.amavis_status, m.amavis_category, m.recipients, m.queue_id, m.origin, m.orig_queue_id
        from messages m where m.amavis_status is not null""")
    got = Counter((ip, st, cat, rc[0] if len(rc) == 1 else tuple(rc)) for ip, st, cat, rc, *_ in rows)
    assert got == T.AMAVIS_VERDICTS, lab.name
    for ip, st, cat, _, qid, origin, orig in rows:
        assert origin == "smtpd" and orig is None, (lab.name, qid)
        # the queue id is the one Postfix's smtpd gave this client, and amavis logged the same client
        smtpd = lab.q("select client_ip from events where daemon = 'smtpd' and kind = 'client' and queue_id = ?", qid)
        assert smtpd == [(ip,)], (lab.name, qid, smtpd)
        av = lab.q("select client_ip, status, category from events where daemon = 'amavis' and kind = 'amavis' and queue_id = ?", qid)
        assert av == [(ip, st, cat)], (lab.name, qid, av)


def test_content_filter_loop_counted_once(amavis_lab):
    lab = amavis_lab
    passed = lab.q("select queue_id, next_queue_id from messages where amavis_status = 'Passed'")
    assert len(passed) == 1, lab.name
    first, second = passed[0]
    assert second, f"{lab.name}: the Passed message has no re-queued id"
    again = lab.q("select client_ip, orig_queue_id, recipients, delivered_locally, n_sent from messages where queue_id = ?", second)
    ip, rcpt = T.AMAVIS_REINJECTED
    assert again == [(T.MYNETWORKS_IP, first, [rcpt], True, 1)], lab.name
    # counted once: the amavis clients' messages, without the re-queued generation
    n = lab.q("""
        select count(*) filter (where orig_queue_id is null), count(*)
        from messages
        where client_ip in ('127.0.0.90', '127.0.0.91')
           or orig_queue_id in (select queue_id from messages where client_ip in ('127.0.0.90', '127.0.0.91'))""")[0]
    assert n == (sum(T.AMAVIS_VERDICTS.values()), sum(T.AMAVIS_VERDICTS.values()) + 1), lab.name


# ---------------------------------------------------------------------------------------------
# the truth itself, against the lab's definition (when ../shared is here)


def test_truth_matches_the_harness(shared):
    lab = shared / "postfix-lab"
    harness = (lab / "run_harness.sh").read_text()
    smtpraw = (lab / "smtpraw.py").read_text()
    scen = json.loads((lab / "scenarios.json").read_text())
    assert {k: scen["limits"][f"smtpd_client_{k}_limit"] for k in T.LIMITS} == T.LIMITS
    assert scen["limits"]["anvil_rate_time_unit"] == f"{T.ANVIL_RATE_TIME_UNIT_S}s"
    assert scen["site"]["local_domains"] == list(T.LOCAL_DOMAINS)
    assert scen["site"]["mynetworks"] == [T.MYNETWORKS_IP + "/32"]
    # the scenario lines the truth was read from
    for needle in (
        "for i in 20 40 41 50; do\n    SW 127.0.0.$i 2528",
        "SW 127.0.0.1 2528 ",
        "for i in 21 42 43; do\n    SW 127.0.0.$i 2529",
        "for i in 10 11 15 2; do\n    SW 127.0.0.$i $M",
        "RAW burst      127.0.0.50 $M", "RAW concurrent 127.0.0.51 $M", "RAW msgrate    127.0.0.52 $M",
        "RAW rcptrate   127.0.0.54 $M", "RAW concurrent 127.0.0.66 $P",
        "postscreen_client_connection_count_limit = 2",
        "postscreen_dnsbl_sites = rbl.test=127.0.0.[2..4]*3, dead.test*1, servfail.test*1",
        "example.com         REJECT Forged local sender from outside client",
        "smtpd_etrn_restrictions = permit_mynetworks, reject",
    ):
        assert needle in harness, needle
    for needle in ("def sc_burst(src, port, n=16)", "def sc_concurrent(src, port, n=5,", "for i in range(6):", "for i in range(16):"):
        assert needle in smtpraw, needle
