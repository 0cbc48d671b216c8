"""The complete report (logscope report / analyze) and the traffic summary, on the real sample logs."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import logscope
from logscope import render, traffic

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
ALL = [str(SAMPLES / p) for p in ("postlog/mail.log", "syslog/mail.log", "amavis/mail.log", "amavis/amavis.log")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = tmp_path_factory.mktemp("report") / "store"
    logscope.ingest(ALL, s, tz="UTC", year=2026)
    return s


@pytest.fixture(scope="module")
def doc(store):
    return render.build(store)


@pytest.fixture(scope="module")
def amavis_store(tmp_path_factory):
    s = tmp_path_factory.mktemp("amavis") / "store"
    logscope.ingest([str(SAMPLES / "amavis" / "mail.log")], s, tz="UTC", year=2026)
    return s


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logscope", *args], capture_output=True, cwd=ROOT, timeout=300)


def grep(path: Path, pattern: str) -> list[str]:
    return [l for l in path.read_text().splitlines() if re.search(pattern, l)]


# -- traffic ----------------------------------------------------------------------------------
def test_content_filter_loop_counted_once(amavis_store):
    """amavis/mail.log: 127.0.0.1:2530 -> amavis :10024 -> :10025 re-injection -> local delivery."""
    log = SAMPLES / "amavis" / "mail.log"
    con = logscope.open(amavis_store)
    t = traffic.summary(con)["totals"]
    client_lines = len(grep(log, r"postfix/(\w+/)?smtpd\[\d+\]: [0-9A-F]+: client="))
    pickups = len(grep(log, r"postfix/pickup\[\d+\]: [0-9A-F]+: (uid|sender)="))
    to_filter = grep(log, r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:10024, .*status=sent .*queued as")
    assert len(to_filter) == 1  # the CLEAN message came back from amavis
    # every hand-off's new queue id is a re-injection, received once only
    assert t["handoffs"] >= 1 and t["reinjected"] == t["handoffs"]
    assert t["received"] == client_lines + pickups - t["reinjected"]
    sent = len(grep(log, r"status=sent"))
    assert t["delivered"] + t["forwarded"] + t["handoffs"] + t["filtered"] == sent
    assert t["filtered"] == 1  # "250 2.7.0 Ok, discarded, id=... - spam": kept by the filter, not delivered
    # the re-injected CLEAN message: handed off once, then delivered to its mailbox once
    qid = re.search(r"queued as ([0-9A-F]+)\)", to_filter[0]).group(1)
    rows = con.sql("select measure from traffic where queue_id = $q", params={"q": qid}).fetchall()
    assert sorted(r[0] for r in rows) == ["delivered", "reinjected"]


def test_traffic_matches_the_log(store):
    con = logscope.open(store)
    tr = traffic.summary(con)
    t = tr["totals"]
    deferred = sum(len(grep(Path(p), r"status=deferred")) for p in ALL)
    bounced = sum(len(grep(Path(p), r"status=bounced")) for p in ALL)
    assert t["deferrals"] == deferred and t["bounced"] == bounced
    assert t["rejected"] > 0 and t["held"] > 0 and t["received"] > 0
    assert 0 < t["rejected_pct"] < 100
    assert sum(r["received"] for r in tr["per_day"]) == t["received"]
    assert sum(r["rejected"] for r in tr["per_hour"]) == t["rejected"]
    assert sum(r["delivered"] for r in tr["hour_of_day"]) == t["delivered"]
    assert tr["top"]["recipient"][0]["key"] == "alice@example.com"
    assert {r["key"] for r in tr["top"]["client"]} >= {"127.0.0.50"}  # the connection-rate abuser
    assert tr["problems"]["deferred"] and tr["problems"]["warning"]
    assert json.loads(json.dumps(tr)) == tr


def test_traffic_period_bounds(store):
    con = logscope.open(store)
    import datetime as dt

    cut = dt.datetime(2026, 11, 27, 18, 28, 0, tzinfo=dt.timezone.utc)
    a = traffic.summary(con, until=cut)["totals"]
    b = traffic.summary(con, since=cut)["totals"]
    whole = traffic.summary(con)["totals"]
    for k in ("delivered", "deferrals", "bounced", "rejected", "held"):
        assert a[k] + b[k] == whole[k], k


# -- the document -----------------------------------------------------------------------------
def test_document_shape(doc):
    assert doc["schema"] == "logscope.report/1"
    assert {"period", "attention", "findings", "store", "traffic", "sections", "charts"} <= set(doc)
    assert [s["id"] for s in doc["sections"]][:1] == ["rbl"]  # problems first: the critical blocklist section
    sev = [render.document.rank(f["severity"]) for f in doc["findings"]]
    assert sev == sorted(sev, reverse=True)
    codes = {f["code"] for f in doc["findings"]}
    assert {"rbl.lists_everything", "rbl.dead"} <= codes
    assert doc["attention"]["count"] >= 3 and doc["attention"]["worst"] == "critical"
    assert doc["store"]["coverage"] is not None and doc["store"]["reconciliation_ok"]
    for s in doc["sections"]:
        assert s["status"] in ("ok", "unavailable"), s["error"]
        for t in s["tables"]:
            assert all(len(r) == len(t["columns"]) for r in t["rows"])
    json.dumps(doc)  # JSON-serialisable throughout


def test_chart_data(doc):
    c = doc["charts"]
    assert sum(sum(v) for v in c["rejects_over_time"]["series"].values()) == doc["traffic"]["totals"]["rejected"]
    zones = {z["zone"]: z for z in c["rbl_zones"]["zones"]}
    assert zones["all.test"]["status"] == "lists_everything" and zones["dead.test"]["lookup_failures"] > 0
    cr = c["connection_rate"]
    assert cr["unit_s"] == 60 and cr["histogram"] and cr["recommended_limit"]
    assert max(h["peak_rate"] for h in cr["histogram"]) >= 10  # 127.0.0.50 hammers port 2525


def test_renderers(doc):
    md = render.markdown(doc)
    assert md.startswith("# logscope report") and "## Traffic" in md and "| received |" in md
    page = render.html(doc)
    assert page.count('src="data:image/png;base64,') == 3
    assert 'name="viewport"' in page and "@media (max-width: 600px)" in page
    assert "http://" not in page.split("<body>")[0] and "<link" not in page  # nothing fetched from the network
    prom = render.prometheus(doc)
    assert re.search(r'^logscope_rbl_healthy\{zone="all\.test",status="lists_everything"\} 0$', prom, re.M)
    assert re.search(r'^logscope_traffic\{measure="received"\} \d+$', prom, re.M)


def test_report_cli_formats(store, tmp_path):
    r = cli("report", "--store", str(store), "--format", "json")
    assert r.returncode == 1, r.stderr.decode()
    d = json.loads(r.stdout)
    assert d["schema"] == "logscope.report/1"
    out = tmp_path / "r.html"
    r = cli("report", "--store", str(store), "--format", "html", "--output", str(out), "--since", "2026-11-27T18:28:00",
            "--until", "2026-11-27T18:29:00")
    assert r.returncode in (0, 1) and r.stdout == b"" and out.read_text().startswith("<!DOCTYPE html>")
    r = cli("report", "--store", str(store), "--since", "2026-11-27", "--last", "24h")
    assert r.returncode == 2


def test_report_without_store_is_an_error(tmp_path):
    r = cli("report", "--store", str(tmp_path / "none"))
    assert r.returncode == 2 and b"no logscope store" in r.stderr


def test_analyze_ingests_then_reports(tmp_path):
    s = tmp_path / "store"
    r = cli("analyze", *ALL[:2], "--store", str(s), "--tz", "UTC", "--year", "2026")
    assert r.returncode == 1, r.stderr.decode()
    out = r.stdout.decode()
    assert "NEEDS ATTENTION" in out and "TRAFFIC" in out and "all.test" in out
    assert "\x1b" not in out
    # again: nothing new is ingested, the same report comes out
    r2 = cli("analyze", *ALL[:2], "--store", str(s), "--tz", "UTC", "--year", "2026", "--format", "json")
    assert r2.returncode == 1 and json.loads(r2.stdout)["store"]["lines"] == logscope.status(s)["reconciliation"]["lines_read"]


def test_a_failing_section_is_reported_and_exits_2(store, monkeypatch):
    from logscope.insights import tune

    def boom(*a, **k):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(tune, "analyze", boom)
    d = render.build(store)
    assert d["errors"] == [{"section": "tune", "error": "RuntimeError: simulated failure"}]
    sec = next(s for s in d["sections"] if s["id"] == "tune")
    assert sec["status"] == "error"
    assert "simulated failure" in render.markdown(d) and render.html(d).count("data:image/png") == 3
