"""amavis grammar: verdict columns, the other line kinds, and the lab logs.

Runs the amavis grammar alone (``daemons=``), so that it is tested whatever
state the other grammars are in. The lab and corpus files are read from
../shared and skipped when absent.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from logscope import envelope, parse
from logscope.grammars.amavis import GRAMMAR

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LAB = SHARED / "postfix-lab"
CORPUS = SHARED / "corpus"
ONLY_AMAVIS = {"amavis": GRAMMAR}


def run(lines: list[str]) -> parse.Parsed:
    return parse.parse_lines(
        pa.array(lines, pa.string()),
        source="test",
        first_line_no=1,
        tz="UTC",
        years=envelope.YearState(anchor=dt.date(2026, 11, 27)),
        daemons=ONLY_AMAVIS,
    )


def rows(lines: list[str]) -> list[dict]:
    r = run(lines)
    assert r.unparsed.num_rows == 0, r.unparsed.column("raw").to_pylist()
    return sorted(r.events.to_pylist(), key=lambda e: e["line_no"])


def one(body: str, program: str = "amavis[4711]") -> dict:
    (e,) = rows([f"Nov 27 10:00:00 mx1 {program}: {body}"])
    return e


def check(e: dict, **want) -> None:
    got = {k: e[k] for k in want}
    assert got == want


# --- verdicts ------------------------------------------------------------------------

def test_reference_passed_clean():
    e = one(
        "(04711-01) Passed CLEAN {RelayedInbound}, [192.0.2.77]:41000 [192.0.2.77] <a@partner.example> -> "
        "<alice@example.org>, Queue-ID: 4F1A22C01A, Message-ID: <abc@partner.example>, mail_id: Ab1Cd2Ef3Gh4, "
        "Hits: -1.2, size: 5123, queued_as: 5B2C33D02B, 812 ms"
    )
    check(
        e,
        kind="amavis", daemon="amavis", program="amavis", pid=4711, amavis_id="04711-01",
        status="Passed", category="CLEAN", detail=None, action="RelayedInbound",
        client_ip="192.0.2.77", client_port=41000, sender="a@partner.example", recipient="alice@example.org",
        queue_id="4F1A22C01A", message_id="abc@partner.example", hits=-1.2, size=5123,
        new_queue_id="5B2C33D02B", elapsed_ms=812, severity=None, reply=None,
    )


def test_reference_blocked_spam_with_quarantine():
    e = one(
        "(04711-02) Blocked SPAM {DiscardedInbound,Quarantined}, [198.51.100.99]:5555 [198.51.100.99] "
        "<promo@spammy.example> -> <alice@example.org>, quarantine: spam-Zz9Yy8Xx, Queue-ID: 6C3D44E03C, "
        "Message-ID: <x1@spammy.example>, mail_id: Zz9Yy8Xx, Hits: 12.5, size: 20480, 1500 ms"
    )
    check(
        e, status="Blocked", category="SPAM", action="DiscardedInbound,Quarantined", client_ip="198.51.100.99",
        client_port=5555, queue_id="6C3D44E03C", hits=12.5, size=20480, new_queue_id=None, elapsed_ms=1500,
    )


# Lines written by amavisd-new 2.13 in the postfix-lab (amavis.log.sample, file mode).
LAB_VERDICTS = [
    "Nov 27 17:56:42 mx.example.com /usr/sbin/amavisd[23793]: (23793-02) Blocked SPAM {DiscardedInbound,Quarantined}, "
    "[127.0.0.90]:56831 <joe@sender.test> -> <bob@example.com>, Queue-ID: 0B51921A16E, "
    "Message-ID: <20261127175642.024467@vm>, mail_id: I2fAZMroUdPD, Hits: 999.001, size: 455, 250 ms",
    "Nov 27 17:56:42 mx.example.com /usr/sbin/amavisd[23794]: (23794-01) Passed CLEAN {RelayedInbound}, "
    "[127.0.0.90]:36925 <joe@sender.test> -> <alice@example.com>, Queue-ID: ECFB221A169, "
    "Message-ID: <20261127175641.024455@vm>, mail_id: ZrCtGa2GiMzY, Hits: -1, size: 413, queued_as: 50E3321A174, 357 ms",
    "Nov 27 17:56:42 mx.example.com /usr/sbin/amavisd[23793]: (23793-03) Blocked BANNED "
    "(application/x-msdownload,.asc,invoice.exe) {RejectedInbound,Quarantined}, [127.0.0.91]:40501 "
    "<joe@sender.test> -> <alice@example.com>, Queue-ID: 2852C21A173, Message-ID: <20261127175642.024474@vm>, "
    "mail_id: HrzTcqMqfsfC, Hits: -, size: 855, 70 ms",
]


def test_lab_verdicts():
    spam, clean, banned = rows(LAB_VERDICTS)
    for e in (spam, clean, banned):
        check(e, kind="amavis", daemon="amavis", host="mx.example.com", sender="joe@sender.test")
    check(spam, status="Blocked", category="SPAM", client_ip="127.0.0.90", client_port=56831, hits=999.001,
          queue_id="0B51921A16E", new_queue_id=None, size=455, elapsed_ms=250)
    # queued_as links the message amavis re-injected (postfix/10025/smtpd, then cleanup 50E3321A174)
    check(clean, status="Passed", category="CLEAN", hits=-1.0, queue_id="ECFB221A169", new_queue_id="50E3321A174",
          message_id="20261127175641.024455@vm")
    check(banned, status="Blocked", category="BANNED", detail="application/x-msdownload,.asc,invoice.exe",
          action="RejectedInbound,Quarantined", hits=None, size=855, elapsed_ms=70)


@pytest.mark.parametrize(
    "body,want",
    [
        pytest.param(  # amavisd-new 2.4/2.5: no {...}, no port, policy banks, several recipients
            "(9999-99) Passed SPAMMY, ORIGINATING/MYNETS LOCAL [10.0.0.1] [10.0.0.1] <from@example.com> -> "
            "<to1@sample.net>,<to2@sample.net>, quarantine: spam-EzEbE9W, Message-ID: <11780394@example.com>, "
            "mail_id: EzEbE9W, Hits: 6.364, size: 16493, 6292 ms",
            dict(status="Passed", category="SPAMMY", action=None, client_ip="10.0.0.1", client_port=None,
                 recipient="to1@sample.net,to2@sample.net", queue_id=None, hits=6.364, elapsed_ms=6292),
            id="old-banks-multircpt",
        ),
        pytest.param(
            "(9999-99) Blocked SPAM, [IPv6:2001:630:d0:f102:230:48ff:fe77:96e] [192.168.0.1] <joe@example.com> -> "
            "<user@sample.net>, quarantine: spam-EzEbE9W, Message-ID: <11780394@example.com>, mail_id: EzEbE9W, "
            "Hits: 6.364, size: 16493, 6292 ms",
            dict(client_ip="2001:630:d0:f102:230:48ff:fe77:96e", sender="joe@example.com"),
            id="ipv6-tag",
        ),
        pytest.param(  # parentheses inside the banned part
            "(9999-99) Blocked BANNED (multipart/mixed | application/octet-stream,.asc,=?iso-8859-1?Q?FTP=5FFile=5F "
            "(1)=File(1).reg), [192.168.0.0] [192.168.0.0] <from@example.com> -> <to@sample.us>, "
            "quarantine: virus-SCwJcs, Message-ID: <509@acm.org>, mail_id: SCwJcs, Hits: -, size: 4134, 3721 ms",
            dict(category="BANNED", detail="multipart/mixed | application/octet-stream,.asc,=?iso-8859-1?Q?FTP=5FFile=5F "
                 "(1)=File(1).reg", client_ip="192.168.0.0", hits=None, size=4134),
            id="banned-nested-parens",
        ),
        pytest.param(
            "(4051607-09) Blocked INFECTED (Porcupine.Phishing.55542.UNOFFICIAL) {DiscardedInbound,Quarantined}, "
            "[192.168.0.1]:1434 [192.168.0.1] <someone1@something1.com> -> <someon2@something2.com>, "
            "quarantine: 2/virus-26W2lJY63nCZ, Queue-ID: 83B741009CD35, Message-ID: <20240223075525.8CD9941B67@xxx.shop>, "
            "mail_id: 26W2lJY63nCZ, Hits: -, size: 28646, 104 ms",
            dict(amavis_id="4051607-09", category="INFECTED", detail="Porcupine.Phishing.55542.UNOFFICIAL",
                 client_port=1434, queue_id="83B741009CD35", size=28646, elapsed_ms=104),
            id="infected",
        ),
        pytest.param(  # null sender, policy bank, no client address at all
            "(9999-99) Passed SPAM, MYNETS <> -> <root@example.com>, Message-ID: <220.1B@example.com>, "
            "mail_id: V3Wq, Hits: 7, size: 8838, queued_as: C63EC, 18 ms",
            dict(sender="", recipient="root@example.com", client_ip=None, hits=7.0, new_queue_id="C63EC"),
            id="null-sender",
        ),
        pytest.param(  # amavisd-new 2.2: no category, no size, no timing
            "(9999-99) Passed, <from@example.com> -> <to@sample.net>, Message-ID: <B5C@example.com>, Hits: -",
            dict(status="Passed", category=None, hits=None, size=None, elapsed_ms=None, message_id="B5C@example.com"),
            id="oldest",
        ),
        pytest.param(  # missing comma before size:, no size, no comma before Message-ID
            "(9999-99) Passed BAD-HEADER, [192.168.0.1] [10.0.0.2] <bogus@example.com> -> <someuser@sample.net>, "
            "quarantine: virus-SCwJcs, Message-ID: <df@acm.org>, mail_id: SCwJcs, Hits: 2.54 size: 4134, 3721 ms",
            dict(category="BAD-HEADER", hits=2.54, size=4134, elapsed_ms=3721),
            id="no-comma-before-size",
        ),
        pytest.param(
            "(9999-99) Passed UNCHECKED, MYNETS LOCAL [192.168.0.1] [192.168.0.1] <from@sample.net> -> <to@example.com> "
            "Message-ID: <002e01c759c7$5de437b0$0a02a8c0@somehost>, mail_id: 7vtR-7BAvHZV, Hits: -, "
            "queued_as: B5420C2E10, 6585 ms",
            dict(category="UNCHECKED", message_id="002e01c759c7$5de437b0$0a02a8c0@somehost",
                 new_queue_id="B5420C2E10", size=None),
            id="unchecked",
        ),
        pytest.param(  # modoboa: no Queue-ID, dkim_sd= before the time
            "(14540-09) Passed CLEAN {RelayedInbound}, [103.28.42.139]:56540 [103.28.42.139] <v@cmail19.com> -> "
            "<user@test.com>, Message-ID: <cm.21@cmail19.com>, Hits: -1.481, size: 142067, queued_as: A0320E00C3, "
            "dkim_sd=cm:mailing.agenda.be, 10172 ms",
            dict(queue_id=None, hits=-1.481, size=142067, new_queue_id="A0320E00C3", elapsed_ms=10172),
            id="dkim_sd",
        ),
        pytest.param(
            "(22463-01) Passed BAD-HEADER-0 {RelayedOutbound}, ORIGINATING [192.0.2.5]:50001 <a@example.org> -> "
            "<b@example.net>, Queue-ID: 1A2B3C, Message-ID: <q@example.org>, mail_id: x, Hits: 1.5e-05, size: 1, 9 ms",
            dict(category="BAD-HEADER-0", action="RelayedOutbound", client_ip="192.0.2.5", hits=1.5e-05),
            id="bad-header-n",
        ),
    ],
)
def test_verdict_variants(body, want):
    e = one(body)
    assert e["kind"] == "amavis"
    check(e, **want)


def test_split_verdict():
    """amavisd splits lines over 980 characters: head '...' then '(id) ...' chunks."""
    rcpts = ",".join(f"<user{i:03d}@example.org>" for i in range(60))
    full = (f"Passed CLEAN {{RelayedInbound}}, [192.0.2.1]:1234 [192.0.2.1] <s@example.net> -> {rcpts}, "
            "Queue-ID: 4F1A22C01A, Message-ID: <m@x>, mail_id: abc, Hits: -1, size: 99, queued_as: 5B2C33D02B, 812 ms")
    chunks = [full[:980] + "...", "..." + full[980:]]
    head, cont = rows([f"Nov 27 10:00:00 mx amavis[1234]: (01234-01) {c}" for c in chunks])
    check(head, kind="amavis", amavis_id="01234-01", status="Passed", category="CLEAN", client_ip="192.0.2.1",
          sender="s@example.net", queue_id=None, elapsed_ms=None)
    assert head["recipient"].startswith("user000@example.org,user001@example.org,")
    check(cont, kind="amavis_cont", amavis_id="01234-01", queue_id="4F1A22C01A", message_id="m@x",
          hits=-1.0, size=99, new_queue_id="5B2C33D02B", elapsed_ms=812, status=None)
    assert cont["detail"].endswith("812 ms")


# --- other kinds ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "body,want",
    [
        ("(9999-99) (!)ClamAV-clamd: Can't connect to UNIX socket /var/run/clamav/clamd: Connection refused, retrying (2)",
         dict(kind="amavis_warning", severity="warning", amavis_id="9999-99",
              detail="ClamAV-clamd: Can't connect to UNIX socket /var/run/clamav/clamd: Connection refused, retrying (2)")),
        ("(!!)TROUBLE in pre_loop_hook: config parameter not defined",
         dict(kind="amavis_warning", severity="error", amavis_id=None,
              detail="TROUBLE in pre_loop_hook: config parameter not defined")),
        ("(9999-99) TROUBLE in process_request: DBD::mysql::st execute failed: MySQL server has gone away",
         dict(kind="amavis_warning", severity="error")),
        ("(9999-99) _WARN: bayes: cannot open bayes databases", dict(kind="amavis_warning", severity="warning",
                                                                      detail="bayes: cannot open bayes databases")),
        ("(9999-99) TIMING [total 5808 ms] - SMTP greeting: 5 (0%)0, SMTP LHLO: 1 (0%)0",
         dict(kind="amavis_timing", elapsed_ms=5808, detail="SMTP greeting: 5 (0%)0, SMTP LHLO: 1 (0%)0")),
        ("(9999-99) TIMING-SA total 5478 ms - parse: 1.69 (0.0%)", dict(kind="amavis_timing", elapsed_ms=5478)),
        ("(9999-99) SPAM-TAG, <from@example.com> -> <to1@sample.net>,<to2@sample.net>, No, score=-1.294 "
         "required=8.15 tests=[BAYES_00=-2.599]",
         dict(kind="amavis_spam", category="SPAM-TAG", sender="from@example.com",
              recipient="to1@sample.net,to2@sample.net", hits=-1.294, detail="required=8.15 tests=[BAYES_00=-2.599]")),
        ("(9999-99) virus_scan: (Trojan.Downloader.Small-9993), detected by 2 scanners: ClamAV-clamd",
         dict(kind="amavis_virus", category="INFECTED", detail="Trojan.Downloader.Small-9993")),
        ('starting. /usr/sbin/amavisd at mx.example.com amavis-2.13.0 (20230106), Unicode aware, LANG="C.UTF-8"',
         dict(kind="amavis_info", amavis_id=None)),
        ("Net::Server: Group Not Defined.  Defaulting to EGID '993 993'", dict(kind="amavis_info")),
        ("(9999-99) extra modules loaded: PerlIO.pm, PerlIO/scalar.pm",
         dict(kind="amavis_info", amavis_id="9999-99", detail="extra modules loaded: PerlIO.pm, PerlIO/scalar.pm")),
        ("SpamControl: init_pre_fork on SpamAssassin done", dict(kind="amavis_info")),
        # a Postfix-style diagnostic stays with the generic rule
        ("warning: something odd", dict(kind="diagnostic", severity="warning", detail="something odd")),
    ],
)
def test_other_kinds(body, want):
    check(one(body, program="amavis[4711]"), **want)


def test_program_names():
    for program in ("amavis[1]", "amavisd[1]", "amavisd-new[1]", "/usr/sbin/amavisd[1]"):
        e = one("(00001-01) Passed CLEAN, <a@example.org> -> <b@example.org>, Hits: -, 5 ms", program=program)
        check(e, kind="amavis", daemon="amavis", elapsed_ms=5)


# --- whole lab logs ------------------------------------------------------------------

def _lab_lines(name: str) -> list[str]:
    path = LAB / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if re.search(r" (?:\S*/)?amavisd?(?:-new)?\[\d+\]: ", ln)]


@pytest.mark.parametrize("name", ["amavis.log.sample", "maillog-syslog.sample"])
def test_lab_amavis_lines_all_parse(name):
    lines = _lab_lines(name)
    r = run(lines)
    assert r.unparsed.num_rows == 0, r.unparsed.column("raw").to_pylist()
    assert r.events.num_rows == len(lines)
    kinds = r.events.column("kind").to_pylist()
    if lines:
        assert kinds.count("amavis") == 3  # the lab's clean, GTUBE and banned .exe messages


def test_corpus_verdicts_take_the_verdict_rule():
    """Every Passed/Blocked line in the corpora is a full verdict, not a catch-all row."""
    if not CORPUS.exists():
        pytest.skip("corpus not available")
    bodies = []
    for rec in map(json.loads, (CORPUS / "logwatch-amavis.jsonl").read_text(encoding="utf-8").splitlines()):
        if rec.get("program") == "amavis":
            bodies.append(rec["line"])
    for line in (CORPUS / "modoboa-mail.log").read_text(encoding="utf-8").splitlines():
        if " amavis[" in line:
            bodies.append(line.split("]: ", 1)[1])
    bodies = [b for b in bodies if re.match(r"\(\S+\) (?:Passed|Blocked)\b", b)]
    assert len(bodies) > 40
    got = rows([f"Jan  1 00:00:00 corpus-host amavis[1]: {b}" for b in bodies])
    bad = [(b, e["kind"]) for b, e in zip(bodies, got) if e["kind"] != "amavis" or e["sender"] is None]
    assert not bad
