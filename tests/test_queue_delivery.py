"""Column values of the cleanup, qmgr, delivery and admin grammars, and coverage of real logs.

Representative lines are parsed through the whole pipeline (envelope included) and
their columns checked. Then every line of these daemons in the Postfix lab logs and in
the outside corpora (../shared, skipped when absent) must parse with nothing unparsed.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from logscope import envelope, parse
from logscope.grammars import admin, cleanup, delivery, qmgr

SHARED = Path(__file__).parents[1] / ".." / "shared"
LAB = SHARED / "postfix-lab"
CORPUS = SHARED / "corpus"
DAEMONS = admin.GRAMMAR.daemons | cleanup.GRAMMAR.daemons | delivery.GRAMMAR.daemons | qmgr.GRAMMAR.daemons


def run(lines: list[str]) -> parse.Parsed:
    return parse.parse_lines(
        pa.array(lines, pa.string()),
        source="t",
        first_line_no=1,
        tz="UTC",
        years=envelope.YearState(anchor=dt.date(2026, 11, 27)),
    )


def one(program: str, body: str) -> dict:
    r = run([f"Nov 27 17:57:49 mx {program}[4711]: {body}"])
    assert r.unparsed.num_rows == 0, r.unparsed.to_pylist()
    assert r.events.num_rows == 1
    return r.events.to_pylist()[0]


CASES = [
    # ---- delivery agents
    (
        "postfix/smtp",
        "4778121A065: to=<later@greylist.example.net>, relay=127.0.0.1[127.0.0.1]:2626, delay=0.05, delays=0/0.01/0.04/0, dsn=4.7.1, "
        "status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.7.1 <later@greylist.example.net>: Recipient address rejected: "
        "Greylisted at sink, try again later (in reply to RCPT TO command))",
        dict(kind="delivery", queue_id="4778121A065", recipient="later@greylist.example.net", relay="127.0.0.1[127.0.0.1]:2626",
             delay=0.05, delay_before_qmgr=0.0, delay_in_qmgr=0.01, delay_conn=0.04, delay_xmit=0.0, dsn="4.7.1",
             status="deferred", code=450, stage="RCPT", new_queue_id=None, orig_to=None, conn_use=None, tls=None,
             reply="host 127.0.0.1[127.0.0.1] said: 450 4.7.1 <later@greylist.example.net>: Recipient address rejected: "
                   "Greylisted at sink, try again later (in reply to RCPT TO command)"),
    ),
    (
        "postfix/local",
        "0F3EF21A015: to=<alice@example.com>, orig_to=<team@example.com>, relay=local, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
        dict(kind="delivery", recipient="alice@example.com", orig_to="team@example.com", relay="local", status="sent",
             reply="delivered to mailbox", code=None, stage=None),
    ),
    (
        "postfix/smtp",
        "0A90996059: to=<sms@mail2sms.smsbox.net>, relay=localhost[127.0.0.1]:10025, conn_use=3, delay=5.2, delays=0/0/0/5.2, "
        "tls=may, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 0BF0C9605C)",
        dict(kind="delivery", conn_use=3, tls="may", delay_xmit=5.2, code=250, dsn="2.0.0", new_queue_id="0BF0C9605C"),
    ),
    (  # the amavis loop: the content filter hands the message back under a new queue id
        "postfix/amavis/smtp",
        "AA4F721A0DA: to=<alice@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.37, delays=0.02/0.02/0.01/0.32, dsn=2.0.0, "
        "status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 0905B21A0E5)",
        dict(kind="delivery", service="postfix/amavis", daemon="smtp", relay="127.0.0.1[127.0.0.1]:10024",
             new_queue_id="0905B21A0E5", code=250, status="sent"),
    ),
    (  # long queue ids (enable_long_queue_ids = yes)
        "postfix/smtp",
        "4NrKx05Xbvz9sLr: to=<bob@example.net>, relay=mx.example.net[2001:db8::25]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, "
        "status=sent (250 2.0.0 Ok: queued as 4NrKx1Zq3Fz9tBc)",
        dict(kind="delivery", queue_id="4NrKx05Xbvz9sLr", relay="mx.example.net[2001:db8::25]:25", new_queue_id="4NrKx1Zq3Fz9tBc"),
    ),
    (
        "postfix/smtp",
        "3968321A0D1: to=<gone@bounce.example.net>, relay=127.0.0.1[127.0.0.1]:2626, delay=0.06, delays=0/0/0.04/0.01, dsn=5.1.1, "
        "status=bounced (host 127.0.0.1[127.0.0.1] said: 554 5.1.1 <gone@bounce.example.net>: Recipient address rejected: "
        "Mailbox unavailable at sink (in reply to end of DATA command))",
        dict(kind="delivery", status="bounced", code=554, dsn="5.1.1", stage="END-OF-MESSAGE"),
    ),
    (
        "postfix/error",
        "CD93E21A06A: to=<y@tempfail.example.net>, relay=none, delay=33, delays=33/0.01/0/0, dsn=4.4.1, status=deferred (Destination temporarily unavailable)",
        dict(kind="delivery", relay="none", delay=33.0, delay_before_qmgr=33.0, status="deferred", reply="Destination temporarily unavailable"),
    ),
    (  # 2.x: no delays= and no dsn=
        "postfix/smtp",
        "DEADBEEF: to=<to@example.org>, relay=example.org[10.0.0.1], delay=48779, status=deferred (lost connection with mail.example.org[10.0.0.1] while sending MAIL FROM)",
        dict(kind="delivery", delay=48779.0, delay_before_qmgr=None, dsn=None, stage="MAIL", status="deferred"),
    ),
    (
        "postfix/bounce",
        "3968321A0D1: sender non-delivery notification: 4715821A14F",
        dict(kind="bounce", queue_id="3968321A0D1", new_queue_id="4715821A14F", action="non-delivery", detail="sender non-delivery notification"),
    ),
    (
        "postfix/bounce",
        "2BAB721A072: sender delay notification: 4A10821A0B5",
        dict(kind="bounce", new_queue_id="4A10821A0B5", action="delay"),
    ),
    (
        "postfix/smtp",
        "connect to 127.0.0.1[127.0.0.1]:2699: Connection refused",
        dict(kind="connect_error", relay="127.0.0.1[127.0.0.1]:2699", detail="Connection refused", queue_id=None),
    ),
    (
        "postfix/smtp",
        "Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:2626: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
        "key-exchange X25519 server-signature RSA-PSS (2048 bits)",
        dict(kind="tls", status="Untrusted", relay="127.0.0.1[127.0.0.1]:2626",
             tls="TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits)"),
    ),
    (
        "postfix/smtp",
        "ED59C3D: host mail2.example.com[1.74.253.23] said: 450 4.7.1 <user@example.com>: Recipient address rejected: Greylisted for 5 minutes (in reply to RCPT TO command)",
        dict(kind="smtp_error", action="said", relay="mail2.example.com[1.74.253.23]", code=450, dsn="4.7.1", stage="RCPT"),
    ),
    (
        "postfix/smtp",
        "B99FE3D: lost connection with mx3.hotmail.com[65.55.37.72] while receiving the initial server greeting",
        dict(kind="smtp_error", action="lost_connection", relay="mx3.hotmail.com[65.55.37.72]", stage="CONNECT"),
    ),
    (
        "postfix/smtp",
        "warning: 6B01A8DEF: non-ESMTP response from mail.example.com[192.168.0.1]:25:",
        dict(kind="diagnostic", severity="warning", queue_id="6B01A8DEF"),
    ),
    (
        "postfix/smtp",
        "warning: no MX host for example.com has a valid address record",
        dict(kind="diagnostic", severity="warning", queue_id=None),
    ),
    # ---- cleanup
    (
        "postfix/cleanup",
        "02B0A21A015: message-id=<20261127175748.025057@vm>",
        dict(kind="message_id", queue_id="02B0A21A015", message_id="20261127175748.025057@vm"),
    ),
    ("postfix/cleanup", "623D221A022: message-id=<>", dict(kind="message_id", message_id="")),
    ("postfix/cleanup", "623D221A022: message-id=", dict(kind="message_id", message_id=None)),
    (  # header text with $$$ and ';' in it, then the trailer and the optional text
        "postfix/cleanup",
        "688A621A1AA: reject: header Subject: win $$$; act now from host22.outside.test[127.0.0.22]; from=<promo@sender.test> "
        "to=<alice@example.com> proto=ESMTP helo=<host22.outside.test>: 5.7.1 message content rejected",
        dict(kind="check", action="reject", status="header", detail="Subject: win $$$; act now", client_host="host22.outside.test",
             client_ip="127.0.0.22", sender="promo@sender.test", recipient="alice@example.com", proto="ESMTP",
             helo="host22.outside.test", dsn="5.7.1", reply="message content rejected", restriction="header_checks",
             restriction_class="content"),
    ),
    (  # a header that forges the trailer: the last well-formed " from <origin>;" wins
        "postfix/cleanup",
        "688A621A1AA: reject: header Subject: hi from evil[192.0.2.66]; from=<x@y> to=<z@w> from host22.outside.test[127.0.0.22]; "
        "from=<promo@sender.test> to=<alice@example.com> proto=ESMTP helo=<h.test>: 5.7.1 no",
        dict(kind="check", detail="Subject: hi from evil[192.0.2.66]; from=<x@y> to=<z@w>", client_ip="127.0.0.22",
             sender="promo@sender.test", recipient="alice@example.com", reply="no"),
    ),
    (
        "postfix/cleanup",
        "8274421A1AA: reject: body Dear friend, click here to claim your prize today from host22.outside.test[127.0.0.22]; "
        "from=<promo@sender.test> to=<alice@example.com> proto=ESMTP helo=<host22.outside.test>: 5.7.1 Body spam phrase",
        dict(kind="check", action="reject", status="body", detail="Dear friend, click here to claim your prize today",
             restriction="body_checks", dsn="5.7.1", reply="Body spam phrase"),
    ),
    (
        "postfix/cleanup",
        "B632421A06D: redirect: header Subject: [redirectme] for bob from host24.outside.test[127.0.0.24]; from=<news@sender.test> "
        "to=<alice@example.com> proto=ESMTP helo=<host24.outside.test>: bob@example.com",
        dict(kind="check", action="redirect", reply="bob@example.com", dsn=None),
    ),
    (  # pickup mail: origin "local", no proto/helo
        "postfix/cleanup",
        "66BFB3C3487: warning: header Subject: [seapig-shop] Order confirmation from local; from=<shop@seapig-shop.tld>",
        dict(kind="check", action="warning", detail="Subject: [seapig-shop] Order confirmation", client_host=None, client_ip=None,
             sender="shop@seapig-shop.tld", recipient=None, reply=None),
    ),
    (
        "postfix/cleanup",
        "4104E3D: milter-reject: END-OF-MESSAGE from 061238241086.static.ctinets.com[61.238.241.86]: 5.7.1 Blocked by SpamAssassin; "
        "from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>",
        dict(kind="milter", action="milter-reject", stage="END-OF-MESSAGE", client_ip="61.238.241.86", dsn="5.7.1",
             reply="Blocked by SpamAssassin", sender="wumt5@cchfdc.com", recipient="voorzitter@example.com", helo="ecsolved.com"),
    ),
    # ---- qmgr, pickup
    (
        "postfix/qmgr",
        "02B0A21A015: from=<alice@example.com>, size=417, nrcpt=1 (queue active)",
        dict(kind="queued", sender="alice@example.com", size=417, nrcpt=1),
    ),
    ("postfix/qmgr", "672E821A14F: from=<>, size=2528, nrcpt=1 (queue active)", dict(kind="queued", sender="")),
    ("postfix/qmgr", "4NrKx05Xbvz9sLr: removed", dict(kind="removed", queue_id="4NrKx05Xbvz9sLr")),
    (
        "postfix/qmgr",
        "CD93E21A06A: from=<alice@example.com>, status=expired, returned to sender",
        dict(kind="expired", sender="alice@example.com", status="expired"),
    ),
    ("postfix/pickup", "C524E21A162: uid=0 from=<root>", dict(kind="pickup", sender="root", detail="0")),
    # ---- admin
    ("postfix/master", "daemon started -- version 3.7.11, configuration /etc/postfix", dict(kind="master_start", detail="3.7.11")),
    ("postfix/master", "reload -- version 3.7.11, configuration /etc/postfix", dict(kind="master_reload", detail="3.7.11")),
    ("postfix/master", "terminating on signal 15", dict(kind="master_stop", value=15)),
    ("postfix/postfix-script", "stopping the Postfix mail system", dict(kind="postfix_script", action="stopping")),
    ("postfix/postsuper", "Deleted: 2 messages", dict(kind="postsuper", action="deleted", value=2)),
    ("postfix/postsuper", "D4F2023DB: placed on hold", dict(kind="postsuper", action="held", queue_id="D4F2023DB")),
    (
        "postfix/master",
        'warning: service "smtp" (25) has reached its process limit "100": new clients may experience noticeable delays',
        dict(kind="process_limit", severity="warning", detail="smtp", metric="process_limit", value=100),
    ),
    ("postfix/scache", "statistics: domain lookup hits=0 miss=2 success=0%", dict(kind="scache_stats", metric="domain_lookup")),
]


@pytest.mark.parametrize("program,body,expected", CASES, ids=[f"{i}:{c[2]['kind']}" for i, c in enumerate(CASES)])
def test_columns(program, body, expected):
    row = one(program, body)
    for col, want in expected.items():
        got = row[col]
        if isinstance(want, float):
            assert got == pytest.approx(want), col
        else:
            assert got == want, col


def test_scache_start_stamp():
    row = one("postfix/scache", "statistics: start interval Nov 27 17:54:37")
    assert row["metric"] == "start_interval"
    assert row["anvil_ts"] == dt.datetime(2026, 11, 27, 17, 54, 37, tzinfo=dt.timezone.utc)


# ---- real logs --------------------------------------------------------------

def _mine(lines: list[str]) -> list[str]:
    """The lines whose program belongs to one of these grammars."""
    env = envelope.parse(pa.array(lines, pa.string()), "UTC", envelope.YearState(anchor=dt.date(2026, 11, 27)))
    out = []
    for line, prog in zip(lines, env.program.to_pylist()):
        if prog:
            info = parse.classify_program(prog)
            if info.mail and info.daemon in DAEMONS:
                out.append(line)
    return out


def _check_all_parsed(lines: list[str]) -> parse.Parsed:
    r = run(lines)
    bad = [(u["reason"], u["raw"]) for u in r.unparsed.to_pylist()]
    assert not bad, f"{len(bad)} unparsed, e.g. {bad[:5]}"
    assert r.events.num_rows == len(lines)
    return r


@pytest.mark.skipif(not LAB.is_dir(), reason="postfix lab logs absent")
@pytest.mark.parametrize("name", ["maillog.sample", "maillog-syslog.sample", "maillog-amavis.sample"])
def test_lab_logs_fully_parsed(name):
    path = LAB / name
    if not path.exists():
        pytest.skip(f"{name} absent")
    lines = _mine(path.read_text(errors="replace").splitlines())
    assert len(lines) > 200
    r = _check_all_parsed(lines)
    kinds = set(r.events.column("kind").to_pylist())
    assert {"delivery", "queued", "removed", "message_id"} <= kinds


# sergeymakinen/postfix_exporter's negative fixtures: not Postfix output, meant to stay unparsed
NOT_POSTFIX = {"Unsupported"}


def _corpus_lines() -> list[tuple[str, dict]]:
    out = []
    for f in sorted(CORPUS.glob("*.log")):
        out += [(line, {}) for line in f.read_text(errors="replace").splitlines()]
    for f in sorted(CORPUS.glob("*.jsonl")):
        for rec in map(json.loads, f.read_text().splitlines()):
            line = rec["line"]
            if rec["kind"] == "message":
                line = f"Jan  1 00:00:00 corpus-host {rec.get('program') or 'postfix/smtpd'}[1]: {line}"
            out.append((line, rec.get("expected") or {}))
    return out


@pytest.mark.skipif(not CORPUS.is_dir(), reason="outside corpus absent")
def test_corpus_fully_parsed():
    pairs = _corpus_lines()
    lines = [line for line in _mine([p[0] for p in pairs]) if line.split(": ", 1)[-1] not in NOT_POSTFIX]
    assert len(lines) > 300
    _check_all_parsed(lines)


# grok field -> (our column, how to compare)
GROK = {
    "postfix_queueid": "queue_id",
    "postfix_bounce_queueid": "new_queue_id",
    "postfix_bounce_reason": "action",
    "postfix_message-id": "message_id",
    "postfix_status": "status",
    "postfix_relay_hostname": "relay",
    "postfix_relay_ip": "relay",
    "postfix_tls_version": "tls",
    "postfix_tls_trustlevel": "status",
}


@pytest.mark.skipif(not (CORPUS / "grok-patterns.jsonl").exists(), reason="grok corpus absent")
def test_grok_expected_fields():
    pairs = [(line, exp) for line, exp in _corpus_lines() if exp and any(k in GROK for k in exp)]
    mine = set(_mine([line for line, _ in pairs]))
    pairs = [(line, exp) for line, exp in pairs if line in mine]
    assert len(pairs) > 50
    r = run([p[0] for p in pairs])
    rows = sorted(r.events.to_pylist(), key=lambda e: e["line_no"])
    assert len(rows) == len(pairs)
    for (line, exp), row in zip(pairs, rows):
        for field, col in GROK.items():
            if field not in exp:
                continue
            want, got = exp[field], row[col]
            if col in ("relay", "tls"):
                assert want in (got or ""), (line, field, want, got)
            else:
                assert got == want, (line, field, want, got)


SAMPLES = [
    (sorted(g.GRAMMAR.daemons)[0], r, s)
    for g in (admin, cleanup, delivery, qmgr)
    for r in g.GRAMMAR.rules
    for s in r.samples
]


def test_samples_parse_with_re2():
    """test_grammars checks the samples with Python's re; the parser runs RE2 (pyarrow)."""
    lines = [f"Nov 27 17:57:49 mx postfix/{d}[1]: {s}" for d, _, s in SAMPLES]
    r = run(lines)
    assert r.unparsed.num_rows == 0, r.unparsed.column("raw").to_pylist()
    kinds = dict(zip(r.events.column("line_no").to_pylist(), r.events.column("kind").to_pylist()))
    wrong = [(s, rule.kind, kinds[i]) for i, (_, rule, s) in enumerate(SAMPLES, 1) if rule.kind and kinds[i] != rule.kind]
    assert not wrong
