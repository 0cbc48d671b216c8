"""logscope nightly: config, period state, exit codes, report files, textfile, and real mail.

The mail test starts a Postfix instance of its own (config, queue and mailbox under a temporary
directory, no network listener, like postfix-lab/run_harness.sh), lets `nightly` hand the report
to /usr/sbin/sendmail with MAIL_CONFIG pointing at it, waits for local(8) to append it to an mbox
file, and stops the instance. It skips, saying why, without root or Postfix.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import mailbox
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from logscope import nightly

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"


def clean_log(path: Path, n: int = 6) -> Path:
    """Ordinary mail only: connect, client=, cleanup, qmgr, local delivery, removed, disconnect."""
    lines = []
    t0 = dt.datetime(2026, 11, 27, 9, 0, 0)
    for i in range(n):
        t = t0 + dt.timedelta(minutes=7 * i)
        s = lambda k: f"{(t + dt.timedelta(seconds=k)):%b} {t.day:2d} {(t + dt.timedelta(seconds=k)):%H:%M:%S}"  # noqa: E731
        q = f"4B{i:03d}20C3{i:02d}"
        ip = f"192.0.2.{10 + i}"
        lines += [
            f"{s(0)} mx postfix/smtpd[{200 + i}]: connect from mail{i}.example.net[{ip}]",
            f"{s(1)} mx postfix/smtpd[{200 + i}]: {q}: client=mail{i}.example.net[{ip}]",
            f"{s(1)} mx postfix/cleanup[300]: {q}: message-id=<m{i}@example.net>",
            f"{s(1)} mx postfix/qmgr[55]: {q}: from=<news{i}@example.net>, size={1000 + i}, nrcpt=1 (queue active)",
            f"{s(2)} mx postfix/smtpd[{200 + i}]: disconnect from mail{i}.example.net[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
            f"{s(2)} mx postfix/local[400]: {q}: to=<alice@example.org>, relay=local, delay=0.1, delays=0.05/0.01/0/0.04, dsn=2.0.0, "
            "status=sent (delivered to mailbox)",
            f"{s(2)} mx postfix/qmgr[55]: {q}: removed",
        ]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (t0.timestamp() + 3600, t0.timestamp() + 3600))
    return path


def config(tmp: Path, logs: list[str], **extra) -> Path:
    body = {"logs": logs, "store": str(tmp / "store"), "tz": "UTC", "year": 2026, "first_run": "all"} | extra
    lines = []
    th = body.pop("thresholds", None)
    for k, v in body.items():
        lines.append(f"{k} = {json.dumps(v)}")
    if th:
        lines.append("[thresholds]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in th.items()]
    p = tmp / "logscope.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logscope", *args], capture_output=True, cwd=ROOT, env=dict(os.environ, **(env or {})),
                          timeout=300)


SAMPLE_LOGS = [str(SAMPLES / "postlog" / "mail.log"), str(SAMPLES / "syslog" / "mail.log")]


def test_sample_logs_need_attention_then_nothing_new(tmp_path):
    cfg = config(tmp_path, SAMPLE_LOGS, output_dir=str(tmp_path / "out"), formats=["html", "text", "json", "markdown"])
    r = cli("nightly", "--config", str(cfg))
    assert r.returncode == 1, r.stderr.decode()
    out = r.stdout.decode()
    assert "need attention" in out and "all.test" in out and "dead.test" in out
    files = sorted(p.suffix for p in (tmp_path / "out").iterdir())
    assert files == [".html", ".json", ".md", ".txt"]
    doc = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert doc["schema"] == "logscope.report/1"
    codes = {f["code"] for f in doc["findings"]}
    assert {"rbl.lists_everything", "rbl.dead"} <= codes
    state = json.loads((tmp_path / "store" / "nightly-state.json").read_text())
    assert state["last"] == doc["period"]["last"] and state["runs"][-1]["exit"] == 1
    # nothing new since the last run: exit 0, silent
    r2 = cli("nightly", "--config", str(cfg))
    assert r2.returncode == 0, r2.stdout.decode() + r2.stderr.decode()
    assert r2.stdout == b"" and r2.stderr == b""
    assert len(list((tmp_path / "out").glob("*.json"))) == 2


def test_clean_log_exits_0_and_is_silent(tmp_path):
    cfg = config(tmp_path, [str(clean_log(tmp_path / "mail.log"))], output_dir=str(tmp_path / "out"))
    r = cli("nightly", "--config", str(cfg))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert r.stdout == b"" and r.stderr == b""
    doc = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert doc["traffic"]["totals"]["received"] == 6 and doc["traffic"]["totals"]["delivered"] == 6
    assert doc["attention"]["count"] == 0


def test_period_is_since_the_last_run(tmp_path):
    log = clean_log(tmp_path / "mail.log", n=3)
    cfg = config(tmp_path, [str(log)], output_dir=str(tmp_path / "out"), formats=["json"])
    assert nightly.run(cfg).exit_code == 0
    # the log grows: the next report covers only the new lines
    more = clean_log(tmp_path / "more.log", n=6).read_text().splitlines()[21:]
    with open(log, "a") as fh:
        fh.write("\n".join(more) + "\n")
    res = nightly.run(cfg)
    assert res.exit_code == 0 and res.doc["traffic"]["totals"]["received"] == 3
    assert res.doc["period"]["since"] > "2026-11-27T09:14:02"


def test_prometheus_textfile(tmp_path):
    prom = tmp_path / "node" / "logscope.prom"
    cfg = config(tmp_path, SAMPLE_LOGS, prometheus_file=str(prom))
    r = cli("nightly", "--config", str(cfg), "--format", "prometheus", "--quiet")
    assert r.returncode == 1 and r.stdout == b""
    text = prom.read_text()
    assert 'logscope_rbl_healthy{zone="all.test",status="lists_everything"} 0' in text
    assert 'logscope_rbl_healthy{zone="rbl.test",status="ok"} 1' in text
    assert 'logscope_rbl_healthy{zone="dead.test",status="dead"} 0' in text
    assert "logscope_attention 1" in text
    assert any(l.startswith("logscope_rejects{restriction_class=") for l in text.splitlines())
    assert any(l.startswith('logscope_rbl_rejects{zone="rbl.test"}') for l in text.splitlines())
    assert not list(prom.parent.glob(".*"))  # no temporary file left behind
    assert not (tmp_path / "store" / "nightly-state.json").exists()  # prometheus mode leaves the mail period alone


@pytest.mark.parametrize("body,needle", [
    ('logs = ["x"]\nstore = "s"\nbogus = 1\n', "unknown key"),
    ('store = "s"\n', "logs is missing"),
    ('logs = ["x"]\nstore = "s"\n[thresholds]\nattention = "loud"\n', "thresholds.attention"),
    ('logs = [\n', "not valid TOML"),
])
def test_config_errors_exit_2(tmp_path, body, needle):
    p = tmp_path / "c.toml"
    p.write_text(body)
    r = cli("nightly", "--config", str(p))
    assert r.returncode == 2 and needle in " ".join(r.stderr.decode().split())


def test_nothing_to_do_is_an_error(tmp_path):
    cfg = config(tmp_path, [str(clean_log(tmp_path / "mail.log"))])
    res = nightly.run(cfg)
    assert res.exit_code == 2 and "nothing to do" in res.error


def test_unreadable_logs_exit_2(tmp_path):
    cfg = config(tmp_path, [str(tmp_path / "missing.log")], output_dir=str(tmp_path / "out"))
    res = nightly.run(cfg)
    assert res.exit_code == 2 and "missing.log" in res.error


def test_mail_is_multipart_alternative_through_sendmail_argv(tmp_path):
    """A stand-in sendmail records its argv and stdin: the report goes as text + HTML, no shell."""
    fake = tmp_path / "sendmail"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, json
        open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))
        open({str(tmp_path / 'msg.eml')!r}, 'wb').write(sys.stdin.buffer.read())
        """))
    fake.chmod(0o755)
    cfg = config(tmp_path, SAMPLE_LOGS, recipients=["postmaster@example.org", "ops@example.org"], mail_from="logscope@example.org",
                 sendmail=str(fake))
    res = nightly.run(cfg)
    assert res.exit_code == 1, res.error
    assert json.loads((tmp_path / "argv.json").read_text()) == ["-t", "-oi", "-f", "logscope@example.org"]
    msg = email.message_from_bytes((tmp_path / "msg.eml").read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "postmaster@example.org, ops@example.org"
    assert "need attention" in msg["Subject"] and "critical" in msg["Subject"]
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "all.test" in parts["text/plain"] and "\x1b" not in parts["text/plain"]
    assert parts["text/html"].count('src="data:image/png;base64,') == 3


def test_sendmail_failure_exits_2(tmp_path):
    fake = tmp_path / "sendmail"
    fake.write_text("#!/bin/sh\necho 'postdrop: warning: unable to look up public/pickup' >&2\nexit 75\n")
    fake.chmod(0o755)
    cfg = config(tmp_path, [str(clean_log(tmp_path / "mail.log"))], recipients=["root@localhost"], sendmail=str(fake))
    r = cli("nightly", "--config", str(cfg))
    assert r.returncode == 2 and "exited 75" in " ".join(r.stderr.decode().split())
    assert not (tmp_path / "store" / "nightly-state.json").exists()  # not delivered: the period is reported again next time


# -- a real local Postfix as the MTA ----------------------------------------------------------
POSTFIX = "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


@pytest.fixture
def local_postfix():
    """A private Postfix: config, queue, log and mailboxes under one temporary directory."""
    if not (os.path.exists(POSTFIX) and os.path.exists(SENDMAIL)):
        pytest.skip(f"Postfix is not installed ({POSTFIX}, {SENDMAIL}); CI installs it for the lab run")
    if os.geteuid() != 0:
        pytest.skip("starting a private Postfix instance needs root")
    try:
        import pwd

        pwd.getpwnam("postfix")
    except KeyError:
        pytest.skip("no 'postfix' user: the Postfix package is not set up")
    base = Path(tempfile.mkdtemp(prefix="logscope-mta-", dir="/tmp"))
    base.chmod(0o755)
    etc, spool, data, mail = base / "etc", base / "spool", base / "data", base / "mail"
    for d in (etc, spool, data, mail):
        d.mkdir()
    etc.chmod(0o755)
    mail.chmod(0o1777)
    shutil.chown(data, "postfix", "postfix")
    (etc / "main.cf").write_text(textwrap.dedent(f"""\
        compatibility_level = 3.6
        queue_directory = {spool}
        data_directory = {data}
        maillog_file = {base}/maillog
        maillog_file_prefixes = {base}
        myhostname = logscope-test.localdomain
        mydomain = localdomain
        myorigin = $myhostname
        mydestination = $myhostname, localhost
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        mynetworks = 127.0.0.1/32
        alias_maps = hash:{etc}/aliases
        alias_database = hash:{etc}/aliases
        default_transport = error:this test instance delivers locally only
        relay_transport = error:this test instance delivers locally only
        mail_spool_directory = {mail}
        biff = no
        """))
    (etc / "master.cf").write_text(textwrap.dedent("""\
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        local     unix  -       n       n       -       -       local
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd
        """))
    (etc / "aliases").write_text(f"reports: {mail}/reports.mbox\npostmaster: root\n")
    env = dict(os.environ, MAIL_CONFIG=str(etc))
    subprocess.run(["/usr/sbin/postalias", "-c", str(etc), f"hash:{etc}/aliases"], check=True, env=env, timeout=30)
    subprocess.run([POSTFIX, "-c", str(etc), "check"], env=env, timeout=60, capture_output=True)
    r = subprocess.run([POSTFIX, "-c", str(etc), "start"], env=env, timeout=60, capture_output=True)
    pidfile = spool / "pid" / "master.pid"
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    else:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"the private Postfix did not start: {r.stdout.decode()} {r.stderr.decode()}"[:500])
    pid = int(pidfile.read_text().strip())
    try:
        yield {"etc": etc, "mbox": mail / "reports.mbox", "base": base, "address": "reports@logscope-test.localdomain"}
    finally:
        subprocess.run([POSTFIX, "-c", str(etc), "stop"], env=env, timeout=60, capture_output=True)
        for _ in range(100):
            if not _pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
        shutil.rmtree(base, ignore_errors=True)


def test_report_arrives_through_a_real_local_postfix(tmp_path, local_postfix, monkeypatch):
    monkeypatch.setenv("MAIL_CONFIG", str(local_postfix["etc"]))
    cfg = config(tmp_path, SAMPLE_LOGS, recipients=[local_postfix["address"]], mail_from="logscope@logscope-test.localdomain",
                 sendmail=SENDMAIL)
    t0 = time.monotonic()
    res = nightly.run(cfg)
    assert res.exit_code == 1, res.error
    mbox = local_postfix["mbox"]
    while time.monotonic() - t0 < 30 and not (mbox.exists() and mbox.stat().st_size > 0):
        time.sleep(0.2)
    log = (local_postfix["base"] / "maillog").read_text(errors="replace") if (local_postfix["base"] / "maillog").exists() else ""
    assert mbox.exists(), f"no mail delivered within 30 s; Postfix log:\n{log[-3000:]}"
    time.sleep(0.3)  # local(8) appends under a lock; let it finish
    msgs = list(mailbox.mbox(str(mbox), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default)))
    assert len(msgs) == 1
    msg = msgs[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert "need attention" in msg["Subject"]
    assert msg["Auto-Submitted"] == "auto-generated"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert "all.test" in parts["text/plain"] and "dead.test" in parts["text/plain"]
    assert parts["text/html"].count('src="data:image/png;base64,') == 3
    assert "status=sent (delivered to file" in log
