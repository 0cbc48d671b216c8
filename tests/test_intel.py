"""Reject and blocklist intelligence: logscope rejects, logscope rbl, logscope query.

Unit tests build small logs from real Postfix line shapes, ingest them through the real parser
into a store in tmp_path, and check each blocklist health status and the rejects/config findings.
End-to-end tests run on sample_logs/ (real Postfix 3.7 output) with expectations derived from
../shared/postfix-lab/scenarios.json and the raw lines, never from logscope's own output.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from pathlib import Path

import pytest

import logscope
from logscope import postconf, report
from logscope.cli_common import parse_when as cli_parse_when
from logscope.errors import BadTime
from logscope.insights import Finding, parse_when, postconf_edit
from logscope.insights import rbl, rejects

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
LAB = ROOT.parent / "shared" / "postfix-lab"
T0 = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.timezone.utc)


# ---- helpers -----------------------------------------------------------------------------

class Log:
    """RFC 3339 stamped lines (no year inference), one second apart unless told otherwise."""

    def __init__(self, start: dt.datetime = T0):
        self.t = start
        self.lines: list[str] = []

    def add(self, prog: str, pid: int, msg: str, *, step: float = 1.0, at: dt.datetime | None = None) -> None:
        if at is not None:
            self.t = at
        self.lines.append(f"{self.t.isoformat()} mx {prog}[{pid}]: {msg}")
        self.t += dt.timedelta(seconds=step)

    def smtpd(self, pid: int, msg: str, **kw) -> None:
        self.add("postfix/smtpd", pid, msg, **kw)

    def session(self, pid: int, ip: str, *, host: str = "unknown", reject: str | None = None, accept_qid: str | None = None,
                sasl: str | None = None, errors: tuple[str, ...] = ()) -> None:
        """connect, optional RBL lookup errors, a reject or an accepted message, disconnect."""
        c = f"{host}[{ip}]"
        self.smtpd(pid, f"connect from {c}")
        rev = ".".join(reversed(ip.split(".")))
        for z in errors:
            self.smtpd(pid, f"warning: {rev}.{z}: RBL lookup error: Host or domain name not found. "
                            f"Name service error for name={rev}.{z} type=A: Host not found, try again")
        if reject:
            self.smtpd(pid, f"NOQUEUE: reject: RCPT from {c}: {reject}; from=<a@sender.example> to=<u@example.com> "
                            f"proto=ESMTP helo=<h.sender.example>")
        if accept_qid:
            extra = f", sasl_method=PLAIN, sasl_username={sasl}" if sasl else ""
            self.smtpd(pid, f"{accept_qid}: client={c}{extra}")
            self.add("postfix/qmgr", 50, f"{accept_qid}: from=<a@sender.example>, size=500, nrcpt=1 (queue active)")
        self.smtpd(pid, f"disconnect from {c} ehlo=1 mail=1 rcpt=1 quit=1 commands=4")

    def store(self, tmp_path: Path):
        p = tmp_path / "mail.log"
        p.write_text("".join(l + "\n" for l in self.lines))
        st = tmp_path / "store"
        rep = logscope.ingest([str(p)], str(st), tz="UTC")
        assert rep.as_dict()["unparsed"] == 0, rep.as_dict()
        return logscope.open(str(st))


def rbl_reply(zone: str, ip: str, txt: str | None = None) -> str:
    return f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using {zone}" + (f"; {txt}" if txt else "")


def zone_of(doc: dict, zone: str) -> dict:
    return next(z for z in doc["zones"] if z["zone"] == zone)


def codes(doc: dict) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def qid(i: int) -> str:
    return f"{0xA1000 + i:X}"


# ---- Finding -----------------------------------------------------------------------------

def test_finding_and_postconf_edit():
    f = Finding("warning", "t", {"n": 1}, [("src", "7")], postconf_edit("a", "b, c"), code="x.y", subject="s")
    d = f.to_dict()
    assert d["examples"] == [{"source": "src", "line_no": 7}]
    assert d["action"] == "postconf -e 'a = b, c'"
    assert postconf_edit("p", "it's") == "postconf -e 'p = it'\\''s'"
    with pytest.raises(ValueError):
        Finding("bad", "t")


def test_parse_when():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_when("24h", now=now) == now - dt.timedelta(hours=24)
    assert parse_when("7d", now=now) == now - dt.timedelta(days=7)
    assert parse_when("30m", now=now) == now - dt.timedelta(minutes=30)
    assert parse_when("2026-11-27") == dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc)
    assert parse_when("2026-11-27T10:00+01:00") == dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
    assert parse_when(None) is None
    with pytest.raises(BadTime):
        parse_when("yesterday")
    import typer

    with pytest.raises(typer.BadParameter):
        cli_parse_when("yesterday")


def test_defunct_data_is_dated_and_sourced():
    d = rbl.defunct_list()
    assert d["schema"] == "logscope.defunct_dnsbls/1"
    names = {e["zone"] for e in d["zones"]}
    for z in ("dsbl.org", "ordb.org", "opm.blitzed.org", "dynablock.wirehub.net", "ahbl.org", "relays.visi.com",
              "blackhole.securitysage.com", "sorbs.net", "njabl.org", "blackholes.us", "five-ten-sg.com", "dnsbl.net.au"):
        assert z in names
    for e in d["zones"]:
        assert e["sources"] and all(s["url"] and s["text"] for s in e["sources"])
        assert e["behaviour"] in ("nxdomain", "timeout", "lists_everything", "empty")
        assert e["shut_down"] is None or re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", e["shut_down"])
    assert rbl.defunct_entry("dnsbl.sorbs.net")["zone"] == "sorbs.net"
    assert rbl.defunct_entry("list.dsbl.org")["zone"] == "dsbl.org"
    assert rbl.defunct_entry("zen.spamhaus.org") is None


# ---- blocklist health statuses -----------------------------------------------------------

def _busy_main_port(log: Log, n_clean: int = 30, listed: tuple[str, ...] = ("good.example",)) -> None:
    """n_clean clean clients delivering mail on pid 100, two clients rejected by good.example."""
    for i in range(n_clean):
        log.session(100, f"198.51.100.{i + 1}", host=f"mx{i}.example.net", accept_qid=qid(i))
    for i, ip in enumerate(("203.0.113.5", "203.0.113.77")):
        log.session(100, ip, reject=rbl_reply(listed[0], ip, "Listed, see http://good.example/q"))


def test_status_ok(tmp_path):
    log = Log()
    _busy_main_port(log)
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "good.example")
    assert z["status"] == "ok" and z["statuses"] == ["ok"]
    assert z["rejects"] == 2 and z["clients"] == 2 and z["nets"] == 1
    assert z["seen_clients"] == 32 and z["hit_rate"] == pytest.approx(2 / 32, abs=1e-3)
    assert z["action"] is None
    assert not doc["findings"]


def test_status_dead_smtpd(tmp_path):
    log = Log()
    _busy_main_port(log)
    # a second listener (pid 200) whose restrictions name dead.example: every lookup fails
    for i in range(4):
        log.session(200, f"192.0.2.{i + 10}", accept_qid=qid(100 + i), errors=("dead.example",))
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "dead.example")
    assert z["status"] == "dead"
    ev = z["evidence"]
    assert ev["lookup_errors"] == 4 and ev["error_clients"] == 4 and ev["error_share"] == 1.0
    assert ev["first_error"] and ev["last_error"]
    assert ev["by_daemon"][0]["daemon"] == "smtpd"
    assert "dead.example" in z["action"] and "postconf" in z["action"]
    assert z["examples"]
    f = next(f for f in doc["findings"] if f["subject"] == "dead.example")
    assert f["code"] == "rbl.dead" and f["severity"] == "warning"
    assert zone_of(doc, "good.example")["status"] == "ok"


def test_status_dead_dnsblog_and_timeouts(tmp_path):
    log = Log()
    for i in range(5):
        ip = f"192.0.2.{i + 20}"
        rev = ".".join(reversed(ip.split(".")))
        log.add("postfix/postscreen", 300, f"CONNECT from [{ip}]:4{i}000 to [192.0.2.1]:25")
        log.add("postfix/dnsblog", 301, f"warning: dnsblog_query: lookup error for DNS query {rev}.gone.example: "
                                        f"Host or domain name not found. Name service error for name={rev}.gone.example "
                                        f"type=A: Host not found, try again")
        log.add("postfix/postscreen", 300, "warning: dnsblog reply timeout 10s for gone.example")
        log.add("postfix/postscreen", 300, f"PASS NEW [{ip}]:4{i}000")
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "gone.example")
    assert z["status"] == "dead"
    assert z["lookup_errors"] == 5 and z["lookup_timeouts"] == 5
    assert z["evidence"]["error_share"] == 1.0


def test_status_lists_everything_good_clients(tmp_path):
    """A zone on its own listener that rejects clients who deliver accepted mail elsewhere or authenticate."""
    log = Log()
    _busy_main_port(log)
    for i in range(3):  # these also delivered accepted mail on pid 100
        ip = f"198.51.100.{i + 1}"
        log.session(400, ip, host=f"mx{i}.example.net", reject=rbl_reply("everything.example", ip))
    log.session(100, "192.0.2.40", accept_qid=qid(200), sasl="alice@example.com")
    log.session(400, "192.0.2.40", reject=rbl_reply("everything.example", "192.0.2.40"))
    log.session(400, "127.0.0.1", host="localhost", accept_qid=qid(201))  # mynetworks: not rejected
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "everything.example")
    assert z["status"] == "lists_everything"
    ev = z["evidence"]
    assert ev["good_hit_clients"] == 4 and ev["seen_clients"] == 4 and ev["hit_rate"] == 1.0
    assert "192.0.2.40" in ev["good_examples"]
    f = next(f for f in doc["findings"] if f["subject"] == "everything.example")
    assert f["severity"] == "critical" and f["code"] == "rbl.lists_everything"
    assert zone_of(doc, "good.example")["status"] == "ok"


def test_status_lists_everything_hit_rate(tmp_path):
    """>= 20 outside clients seen by the zone's process, >= 98 % of them hit, none known to be good."""
    log = Log()
    for i in range(50):
        ip = f"203.0.113.{i + 1}"
        log.session(500, ip, reject=rbl_reply("world.example", ip))
    log.session(500, "192.0.2.250")  # one client that hung up before RCPT: 50 of 51 = 98 %
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "world.example")
    assert z["status"] == "lists_everything"
    assert z["evidence"]["seen_clients"] == 51 and z["evidence"]["hit_clients"] == 50


def test_high_hit_rate_of_a_good_list_is_ok(tmp_path):
    """A working list on a spam-heavy MX: 90 % of distinct clients are listed bots, none known good."""
    log = Log()
    for i in range(45):
        ip = f"203.0.113.{i + 1}"
        log.session(500, ip, reject=rbl_reply("busy.example", ip))
    for i in range(5):
        log.session(500, f"198.51.100.{i + 1}", host=f"mx{i}.example.net", accept_qid=qid(i))
    z = zone_of(rbl.analyze(log.store(tmp_path)), "busy.example")
    assert z["status"] == "ok" and z["hit_rate"] == 0.9


def test_status_lists_everything_sudden_jump(tmp_path):
    log = Log()
    for i in range(12):  # day 1: 1 of 12 hit
        ip = f"203.0.113.{i + 1}"
        log.session(600, ip, reject=rbl_reply("jumpy.example", ip) if i == 0 else None)
    log.t = T0 + dt.timedelta(days=1)
    for i in range(12):  # day 2: every client hit
        ip = f"198.18.0.{i + 1}"
        log.session(601, ip, reject=rbl_reply("jumpy.example", ip))
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "jumpy.example")
    assert z["status"] == "lists_everything"
    assert z["evidence"]["jump"]["day"] == "2026-11-28"
    assert z["evidence"]["jump"]["rate"] == 1.0


def test_status_error_codes_dnsblog(tmp_path):
    log = Log()
    for i in range(3):
        ip = f"192.0.2.{i + 50}"
        log.add("postfix/postscreen", 700, f"CONNECT from [{ip}]:5{i}000 to [192.0.2.1]:25")
        log.add("postfix/dnsblog", 701, f"addr {ip} listed by domain zen.spamhaus.org as 127.255.255.254")
        log.add("postfix/postscreen", 700, f"DNSBL rank 1 for [{ip}]:5{i}000")
    doc = rbl.analyze(log.store(tmp_path))
    z = zone_of(doc, "zen.spamhaus.org")
    assert z["status"] == "error_codes"
    assert z["evidence"]["error_code_listings"] == 3
    assert z["evidence"]["error_code_replies"] == ["127.255.255.254"]
    assert "zen.spamhaus.org=127.0.0.[2..11]" in z["action"]
    assert z["severity"] == "critical"


def test_status_error_codes_open_resolver_txt(tmp_path):
    """Spamhaus refusing a query through a public resolver: the reject's TXT says so."""
    log = Log()
    _busy_main_port(log)
    txt = "Error: open resolver; https://check.spamhaus.org/returnc/pub/203.0.113.9"
    for i in range(3):
        ip = f"192.0.2.{i + 60}"
        log.session(100, ip, reject=rbl_reply("zen.spamhaus.org", ip, txt))
    cf = postconf.parse("mynetworks = 127.0.0.0/8\nsmtpd_recipient_restrictions = permit_mynetworks, "
                        "reject_unauth_destination, reject_rbl_client zen.spamhaus.org\n")
    doc = rbl.analyze(log.store(tmp_path), main_cf=cf)
    z = zone_of(doc, "zen.spamhaus.org")
    assert z["status"] == "error_codes"
    assert z["evidence"]["txt_errors"] == 3 and "open resolver" in z["evidence"]["txt_example"]
    assert ("postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, "
            "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]'") in z["action"]
    assert doc["fix"][0].endswith("zen.spamhaus.org=127.0.0.[2..11]'")


def _quiet_traffic(log: Log, n: int) -> None:
    for i in range(n):
        log.session(100, f"198.51.100.{i % 250 + 1}", accept_qid=qid(i))


def test_status_silent(tmp_path):
    log = Log()
    _quiet_traffic(log, 120)
    cf = postconf.parse("smtpd_client_restrictions = permit_mynetworks, reject_rbl_client quiet.example\n")
    doc = rbl.analyze(log.store(tmp_path), main_cf=cf)
    z = zone_of(doc, "quiet.example")
    assert z["status"] == "silent"
    assert z["evidence"]["connections"] == 120
    assert z["action"] == "postconf -e 'smtpd_client_restrictions = permit_mynetworks' && postfix reload"
    assert doc["fix"] == ["postconf -e 'smtpd_client_restrictions = permit_mynetworks'", "postfix reload"]


def test_silent_needs_many_connections(tmp_path):
    log = Log()
    _quiet_traffic(log, 10)
    cf = postconf.parse("smtpd_client_restrictions = permit_mynetworks, reject_rbl_client quiet.example\n")
    z = zone_of(rbl.analyze(log.store(tmp_path), main_cf=cf), "quiet.example")
    assert z["status"] == "ok" and "too few connections" in z["evidence"]["note"]


def test_status_defunct(tmp_path):
    log = Log()
    _busy_main_port(log)
    log.session(100, "192.0.2.99", reject=rbl_reply("dnsbl.sorbs.net", "192.0.2.99"))
    cf = postconf.parse("smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,\n"
                        "    reject_rbl_client dnsbl.sorbs.net, reject_rbl_client good.example\n"
                        "postscreen_dnsbl_sites = zen.spamhaus.org*2, list.dsbl.org\n")
    doc = rbl.analyze(log.store(tmp_path), main_cf=cf)
    z = zone_of(doc, "dnsbl.sorbs.net")
    assert z["status"] == "defunct"
    assert z["defunct"]["shut_down"] == "2024-06-05" and z["defunct"]["sources"]
    assert z["action"] == ("postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, "
                           "reject_rbl_client good.example' && postfix reload")
    # configured only, never in the log: still defunct
    assert zone_of(doc, "list.dsbl.org")["status"] == "defunct"
    # a Spamhaus zone without reply filter gets advice
    assert "rbl.no_reply_filter" in codes(doc)


def test_precedence_lists_everything_over_defunct(tmp_path):
    log = Log()
    for i in range(25):
        ip = f"203.0.113.{i + 1}"
        log.session(500, ip, reject=rbl_reply("dnsbl.ahbl.org", ip))
    z = zone_of(rbl.analyze(log.store(tmp_path)), "dnsbl.ahbl.org")
    assert z["status"] == "lists_everything"
    assert z["statuses"] == ["lists_everything", "defunct"]


def test_postscreen_rank_and_overlap(tmp_path):
    log = Log()
    for i in range(4):
        ip = f"192.0.2.{i + 80}"
        log.add("postfix/postscreen", 800, f"CONNECT from [{ip}]:6{i}000 to [192.0.2.1]:25")
        log.add("postfix/dnsblog", 801, f"addr {ip} listed by domain a.example as 127.0.0.2")
        rank = 2
        if i < 2:
            log.add("postfix/dnsblog", 802, f"addr {ip} listed by domain b.example as 127.0.0.4")
            rank = 3
        log.add("postfix/postscreen", 800, f"DNSBL rank {rank} for [{ip}]:6{i}000")
        log.add("postfix/postscreen", 800, f"NOQUEUE: reject: RCPT from [{ip}]:6{i}000: 550 5.7.1 Service unavailable; "
                                           f"client [{ip}] blocked using a.example; from=<x@y.example>, to=<u@example.com>, "
                                           f"proto=ESMTP, helo=<h.example>")
    cf = postconf.parse("postscreen_dnsbl_sites = a.example*2, b.example\npostscreen_dnsbl_threshold = 3\n")
    doc = rbl.analyze(log.store(tmp_path), main_cf=cf)
    a, b = zone_of(doc, "a.example"), zone_of(doc, "b.example")
    assert a["postscreen_rejects"] == 4 and a["rejects"] == 4
    assert a["postscreen"]["ranks"] == 4 and a["postscreen"]["weight"] == 2
    assert a["postscreen"]["contribution"] == pytest.approx(8 / 10)
    assert a["postscreen"]["alone_reaches_threshold"] is False
    assert b["postscreen"]["ranks"] == 2 and b["postscreen"]["contribution"] == pytest.approx(2 / 10)
    assert a["only_this_zone"] == 2 and b["only_this_zone"] == 0
    ov = doc["overlap"][0]
    assert (ov["zone_a"], ov["zone_b"], ov["both"], ov["same_lookup"]) == ("a.example", "b.example", 2, 2)


def test_since_until_bound_the_period(tmp_path):
    log = Log()
    log.session(100, "192.0.2.1", reject=rbl_reply("early.example", "192.0.2.1"))
    log.t = T0 + dt.timedelta(hours=5)
    log.session(100, "192.0.2.2", reject=rbl_reply("late.example", "192.0.2.2"))
    con = log.store(tmp_path)
    doc = rbl.analyze(con, since=T0 + dt.timedelta(hours=1))
    assert [z["zone"] for z in doc["zones"]] == ["late.example"]
    doc = rbl.analyze(con, until=T0 + dt.timedelta(hours=1))
    assert [z["zone"] for z in doc["zones"]] == ["early.example"]


# ---- rejects -----------------------------------------------------------------------------

def test_rejects_rules_and_dimensions(tmp_path):
    log = Log()
    log.session(100, "192.0.2.44", reject="554 5.7.1 <alice@example.com>: Sender address rejected: Forged local sender from outside client")
    log.session(100, "192.0.2.45", reject="550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table")
    log.session(100, "192.0.2.46", reject="450 4.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table")
    log.add("postfix/cleanup", 60, "ABCDEF1234: reject: header Subject: cheap pills from unknown[192.0.2.47]; "
                                   "from=<s@x.example> to=<u@example.com> proto=ESMTP helo=<h.example>: 5.7.1 Spammy subject")
    log.smtpd(100, "NOQUEUE: reject_warning: RCPT from unknown[192.0.2.48]: 554 5.7.1 Service unavailable; Client host "
                   "[192.0.2.48] blocked using try.example; from=<a@b.example> to=<u@example.com> proto=ESMTP helo=<h.example>")
    doc = rejects.analyze(log.store(tmp_path))
    rules = {(r["restriction"], r["rule"]) for r in doc["rules"]}
    assert ("check_sender_access", "Forged local sender from outside client") in rules
    assert ("header_checks", "Subject: cheap pills") in rules
    by = {(r["restriction"], r["action"]): r["events"] for r in doc["by_restriction"]}
    assert by[("unknown_recipient", "reject")] == 2 and by[("reject_rbl_client", "reject_warning")] == 1
    assert {r["stage"] for r in doc["by_stage"]} >= {"RCPT"}
    assert {r["code"] for r in doc["by_code"]} >= {554, 550, 450}
    assert doc["totals"]["events"] == 5 and doc["totals"]["refused"] == 4
    assert doc["top"]["sender"]["client"][0]["value"] == "unknown[192.0.2.44]"
    assert doc["timeseries"]["hour"][0]["bucket"].startswith("2026-11-27T10:00")
    assert doc["dry_runs"][0]["rbl_zone"] == "try.example"
    c = codes(doc)
    assert "rejects.unknown_user_4xx" in c and "rejects.dry_run" in c


def test_rejects_log_only_unknown_restriction(tmp_path):
    log = Log()
    log.smtpd(100, "connect from unknown[192.0.2.9]")
    log.smtpd(100, 'warning: unknown smtpd restriction: "permit_mynetwork"')
    log.smtpd(100, "NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 451 4.3.5 Server configuration error; "
                   "from=<a@b.example> to=<u@example.com> proto=ESMTP helo=<h.example>")
    doc = rejects.analyze(log.store(tmp_path))
    f = next(f for f in doc["findings"] if f["code"] == "rejects.unknown_restriction")
    assert f["severity"] == "critical" and f["evidence"]["suggestion"] == "permit_mynetworks"
    assert f["evidence"]["server_errors"] == 1


def test_rejects_config_findings(tmp_path):
    log = Log()
    _quiet_traffic(log, 110)
    log.session(100, "192.0.2.46", reject="450 4.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table")
    cf = postconf.parse(
        "mynetworks = 127.0.0.0/8\n"
        "unknown_local_recipient_reject_code = 450\n"
        "maps_rbl_domains = old.example\n"
        "smtpd_sender_restriction = permit_mynetworks, reject_unknown_senmder_domain\n"
        "smtpd_recipient_restrictions = permit_mynetwork, check_relay_domains, reject_maps_rbl,\n"
        "    reject_unknown_client, check_sender_access hash:/etc/postfix/sender_access\n"
    )
    doc = rejects.analyze(log.store(tmp_path), main_cf=cf)
    fs = {(f["code"], f["subject"]): f for f in doc["findings"]}
    f = fs[("config.misspelled_parameter", "smtpd_sender_restriction")]
    assert f["action"].startswith("postconf -X smtpd_sender_restriction && postconf -e 'smtpd_sender_restrictions = ")
    f = fs[("config.unknown_restriction", "permit_mynetwork")]
    assert f["severity"] == "critical" and "permit_mynetworks, " in f["action"]
    assert fs[("config.removed_restriction", "check_relay_domains")]["action"].startswith(
        "postconf -e 'smtpd_recipient_restrictions = permit_mynetwork, reject_unauth_destination, reject_maps_rbl,")
    assert "check_relay_domains, reject_rbl_client old.example, reject_unknown_client" in fs[("config.removed_restriction", "reject_maps_rbl")]["action"]
    # all edits of one parameter combined
    assert ("postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_rbl_client "
            "old.example, reject_unknown_client_hostname, check_sender_access hash:/etc/postfix/sender_access'") in doc["fix"]
    assert "postconf -e 'unknown_local_recipient_reject_code = 550'" in doc["fix"]
    assert "reject_unknown_client_hostname" in fs[("config.renamed_restriction", "reject_unknown_client")]["action"]
    assert ("config.obsolete_parameter", "maps_rbl_domains") in fs
    f = fs[("config.unknown_recipient_450", "unknown_local_recipient_reject_code")]
    assert f["action"] == "postconf -e 'unknown_local_recipient_reject_code = 550' && postfix reload"
    assert f["evidence"]["unknown_recipient_rejects"] == 1
    never = {f["subject"] for f in doc["findings"] if f["code"] == "config.never_fired"}
    assert "check_sender_access hash:/etc/postfix/sender_access" in never
    # reject_unknown_senmder_domain is in a list Postfix ignores, but still flagged as unknown
    assert ("config.unknown_restriction", "reject_unknown_senmder_domain") in fs


def test_whatif_unknown_client_hostname(tmp_path):
    log = Log()
    log.session(100, "192.0.2.1", host="unknown", accept_qid=qid(1))
    log.session(100, "192.0.2.2", host="unknown", accept_qid=qid(2), sasl="bob@example.com")
    log.session(100, "192.0.2.3", host="mx.example.net", accept_qid=qid(3))
    log.session(100, "127.0.0.1", host="unknown", accept_qid=qid(4))  # inside: exempt
    w = rejects.analyze(log.store(tmp_path))["whatif_reject_unknown_client_hostname"]
    assert (w["clients"], w["authenticated_clients"], w["all_clients"]) == (2, 1, 3)


def test_text_output_escapes_hostile_strings(tmp_path):
    log = Log()
    log.session(100, "192.0.2.5", reject="554 5.7.1 <x@y.example>: Sender address rejected: Go away \x1b[31mRED\x1b[0m [bold]x[/bold]")
    doc = rejects.analyze(log.store(tmp_path))
    import io

    buf = io.StringIO()
    rejects.render_text(report.console(file=buf, width=80), doc)
    text = buf.getvalue()
    assert "\x1b" not in text and "\\x1b[31mRED" in text and "[bold]x[/bold]" in text
    assert max(len(l) for l in text.splitlines()) <= 80


# ---- end to end on real Postfix output (sample_logs/) ------------------------------------

def _listed(spec: list[str]) -> set[str]:
    out = set()
    for s in spec:
        lo, _, hi = s.partition("-")
        a, b = int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi or lo))
        out |= {str(ipaddress.ip_address(i)) for i in range(a, b + 1)}
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    log = SAMPLES / "postlog" / "mail.log"
    if not log.exists() or not (LAB / "scenarios.json").exists():
        pytest.skip("sample_logs or ../shared/postfix-lab absent")
    st = tmp_path_factory.mktemp("lab") / "store"
    logscope.ingest([str(log)], str(st), tz="UTC", year=2026)
    return log, logscope.open(str(st)), json.loads((LAB / "scenarios.json").read_text())


def test_lab_rbl_health(lab):
    log, con, truth = lab
    doc = rbl.analyze(con)
    want = {z: v["health"] for z, v in truth["blocklists"].items()}
    # rbl.test ok, all.test lists_everything, dead.test and servfail.test dead (rhsbl.test ok too)
    for zone, health in want.items():
        assert zone_of(doc, zone)["status"] == health, (zone, zone_of(doc, zone)["evidence"])
    # rbl.test rejects counted exactly: every reject line naming it, clients all listed per scenarios.json
    listed = _listed(truth["blocklists"]["rbl.test"]["lists"])
    lines = [l for l in log.read_text().splitlines()
             if re.search(r": reject: \S+ from \S+: \d{3} [\d.]+ Service unavailable; [Cc]lient (host )?\[[\d.]+\] blocked using rbl\.test(;|$)", l)]
    ips = {re.search(r"blocked using", l) and re.search(r"[Cc]lient (?:host )?\[([\d.]+)\]", l).group(1) for l in lines}
    assert lines and ips <= listed
    z = zone_of(doc, "rbl.test")
    assert z["rejects"] == len(lines)
    assert z["clients"] == len(ips)
    assert z["postscreen_rejects"] == sum("postfix/postscreen" in l for l in lines)


def test_lab_rbl_cli_json(lab, tmp_path):
    log, _, _ = lab
    from typer.testing import CliRunner

    from logscope.cli import app

    st = tmp_path / "s"
    logscope.ingest([str(log)], str(st), tz="UTC", year=2026)
    res = CliRunner().invoke(app, ["rbl", "--store", str(st), "--format", "json"])
    assert res.exit_code == 1  # dead and lists_everything zones need attention
    doc = json.loads(res.stdout)
    assert doc["schema"] == "logscope.rbl/1"
    for z in doc["zones"]:
        assert {"zone", "status", "rejects", "clients", "evidence"} <= set(z)
    res = CliRunner().invoke(app, ["rbl", "--store", str(st), "--format", "csv"])
    assert res.stdout.splitlines()[0].startswith("zone,status,rejects")
    res = CliRunner().invoke(app, ["query", "rbl_lookup_errors", "--store", str(st), "--format", "json", "--since", "2026-01-01"])
    assert res.exit_code == 0 and {r["rbl_zone"] for r in json.loads(res.stdout)["rows"]} == {"dead.test", "servfail.test"}
    res = CliRunner().invoke(app, ["query", "select count(*) as n from rbl_hits where rbl_zone = $z", "-p", "z=all.test",
                                   "--store", str(st), "--format", "csv"])
    assert res.stdout.splitlines() == ["n", "4"]
    res = CliRunner().invoke(app, ["rejects", "--store", str(st)], env={"COLUMNS": "80"})
    assert res.exit_code in (0, 1) and "check_sender_access" in res.stdout
    assert max(len(l) for l in res.stdout.splitlines()) <= 80
    res = CliRunner().invoke(app, ["rbl", "--store", str(st)], env={"COLUMNS": "80"})
    assert "lists_everything" in res.stdout and max(len(l) for l in res.stdout.splitlines()) <= 80


def test_lab_forged_local_sender_under_check_sender_access(lab):
    log, con, truth = lab
    assert "FORGED" in truth["clients"]["127.0.0.44"] and "sender_access REJECT" in truth["clients"]["127.0.0.44"]
    raw = [l for l in log.read_text().splitlines() if "Sender address rejected: Forged local sender" in l]
    doc = rejects.analyze(con)
    rule = next(r for r in doc["rules"] if r["rule"] == "Forged local sender from outside client")
    assert rule["restriction"] == "check_sender_access" and rule["action"] == "reject"
    assert rule["events"] == len(raw)


def test_lab_with_main_cf_fixes(lab):
    _, con, _ = lab
    report_md = (LAB / "REPORT.md").read_text()
    m = re.search(r"`/tmp/postfix-lab/etc/main.cf`:\n\n```\n(.*?)```", report_md, re.S)
    if not m:
        pytest.skip("lab main.cf not found in REPORT.md")
    cf = postconf.parse(m.group(1))
    doc = rbl.analyze(con, main_cf=cf)
    assert zone_of(doc, "all.test")["action"].startswith("postconf -e 'allrbl_client_restrictions = permit_mynetworks'")
    fix = doc["fix"]
    assert "postconf -e 'deadrbl_client_restrictions = permit_mynetworks'" in fix
    assert "postconf -e 'postscreen_dnsbl_sites = rbl.test=127.0.0.[2..4]*3'" in fix
    assert zone_of(doc, "rbl.test")["postscreen"]["weight"] == 3
    rdoc = rejects.analyze(con, main_cf=cf)
    assert not [f for f in rdoc["findings"] if f["code"].startswith("config.") and f["severity"] in ("warning", "critical")]


def test_parallel_narrows_duckdb_threads_while_all_workers_are_busy():
    """queries.parallel: with every worker busy, the workers' threads plus DuckDB's helpers make
    the configured thread count; once a worker has nothing left, the setting is back, and it is
    back after an error too."""
    import duckdb

    from logscope import queries

    con = duckdb.connect()
    con.execute("set threads = 4")
    seen = {}

    def job(name):
        def run(c):
            seen[name] = int(c.execute("select current_setting('threads')").fetchall()[0][0])
            return c.execute("select count(*) from range(100000)").fetchall()[0][0]
        return run

    got = queries.parallel(con, {"a": job("a"), "b": job("b"), "c": job("c")}, workers=2)
    assert got == {"a": 100000, "b": 100000, "c": 100000}
    assert seen["a"] == seen["b"] == 3  # 4 - 2 workers + 1
    assert int(con.execute("select current_setting('threads')").fetchall()[0][0]) == 4

    def boom(c):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        queries.parallel(con, {"x": boom, "y": job("y")}, workers=2)
    assert int(con.execute("select current_setting('threads')").fetchall()[0][0]) == 4
