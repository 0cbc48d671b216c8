"""Hostile log content: HELO names, senders and subjects carrying HTML/script and terminal escapes.

Whoever connects to port 25 chooses the HELO name, the envelope sender and the Subject, and
Postfix logs them. The HTML report must execute nothing (checked in headless Chromium, with and
without the page's Content-Security-Policy, so escaping alone is shown to suffice), and the
terminal and Markdown output must carry no raw escape sequences.

Chromium: Debian package `chromium`; the browser tests skip, saying so, when /usr/bin/chromium is
absent. The last test screenshots the real sample_logs report and checks its charts are visible.
"""
from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import logscope
from logscope import render, report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

SCRIPT = "<script>document.title='pwned-script';alert(1)</script>"
IMG = "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','img');alert(1)\">"
IMG_PLAIN = '"><img src=x onerror=alert(1)>'
ANSI = "\x1b[31m"
OSC = "\x1b]0;title\x07"


def hostile_lines() -> list[str]:
    s = "Nov 27 10:00:{:02d} mx "
    return [
        s.format(0) + "postfix/smtpd[100]: connect from unknown[192.0.2.66]",
        s.format(1) + f"postfix/smtpd[100]: NOQUEUE: reject: RCPT from unknown[192.0.2.66]: 554 5.7.1 <victim@example.org>: "
        f"Relay access denied; from=<{IMG_PLAIN}@evil.example> to=<victim@example.org> proto=ESMTP helo=<{SCRIPT}>",
        s.format(2) + f"postfix/smtpd[100]: NOQUEUE: reject: RCPT from unknown[192.0.2.66]: 550 5.1.1 <{SCRIPT}@example.org>: "
        f"Recipient address rejected: User unknown in local recipient table; from=<{ANSI}red@evil.example> "
        f"to=<{SCRIPT}@example.org> proto=ESMTP helo=<{IMG}>",
        s.format(3) + "postfix/smtpd[100]: 1A2B3C4D5E: client=unknown[192.0.2.66]",
        s.format(4) + f"postfix/cleanup[101]: 1A2B3C4D5E: warning: header Subject: {SCRIPT}{OSC} {IMG} from unknown[192.0.2.66]; "
        f"from=<{ANSI}red@evil.example> to=<alice@example.org> proto=ESMTP helo=<{IMG}>: {SCRIPT}",
        s.format(5) + f"postfix/qmgr[102]: 1A2B3C4D5E: from=<{ANSI}red{OSC}@evil.example>, size=1234, nrcpt=1 (queue active)",
        s.format(6) + f"postfix/local[103]: 1A2B3C4D5E: to=<alice@example.org>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
        f"status=sent (delivered to mailbox {SCRIPT})",
        s.format(7) + "postfix/qmgr[102]: 1A2B3C4D5E: removed",
        s.format(8) + "postfix/smtpd[100]: disconnect from unknown[192.0.2.66] ehlo=1 mail=2 rcpt=0/2 data=1 quit=1 commands=5/7",
        s.format(9) + f"postfix/smtpd[100]: warning: {SCRIPT} {IMG} {ANSI}{OSC}",
        s.format(10) + f"postfix/{SCRIPT}[104]: {IMG} {ANSI} this line is not understood",
        s.format(11) + f"postfix/smtpd[100]: connect from {SCRIPT}[192.0.2.67]",
        s.format(12) + f"postfix/smtpd[100]: {IMG} {ANSI} this line is not understood",
    ]


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    log = d / "mail.log"
    log.write_text("\n".join(hostile_lines()) + "\n", encoding="utf-8")
    logscope.ingest([str(log)], d / "store", tz="UTC", year=2026)
    return d / "store"


@pytest.fixture(scope="module")
def hostile_doc(hostile_store):
    return render.build(hostile_store)


def test_payloads_reach_the_report(hostile_doc):
    """The test is only worth something if the hostile strings are really in what is rendered."""
    blob = report.to_json(hostile_doc)
    assert "<script>" in blob and "onerror=" in blob and "\\u001b" in blob.replace("\x1b", "\\u001b")


def test_terminal_output_has_no_raw_escapes(hostile_store):
    r = subprocess.run([sys.executable, "-m", "logscope", "report", "--store", str(hostile_store)], capture_output=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode in (0, 1), r.stderr.decode()
    out = r.stdout
    assert b"\x1b" not in out and b"\x07" not in out and b"\x9b" not in out
    assert b"\\x1b[31m" in out  # shown, visibly
    buf = io.StringIO()
    render.text(render.build(hostile_store), report.console(file=buf, width=120))
    assert "\x1b" not in buf.getvalue()


def test_markdown_is_escaped(hostile_doc):
    md = render.markdown(hostile_doc)
    assert "\x1b" not in md and "\x07" not in md
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;" in md


def test_html_source_is_escaped(hostile_doc):
    page = render.html(hostile_doc)
    assert "\x1b" not in page and "\x07" not in page
    assert "<script" not in page.lower()
    assert len(re.findall(r"<img\b", page)) == 3  # the three charts, nothing else
    assert all(m.startswith("data:image/png;base64,") for m in re.findall(r'<img [^>]*src="([^"]*)"', page))
    assert "&lt;script&gt;" in page and "onerror=" in page  # present, as text
    assert "Content-Security-Policy" in page


def chromium(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium (Debian) to run the browser checks")
    prof = tempfile.mkdtemp(prefix="logscope-chromium-")
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={prof}", *args],
            capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(prof, ignore_errors=True)


@pytest.mark.parametrize("with_csp", [True, False], ids=["with-csp", "escaping-only"])
def test_html_executes_nothing_in_chromium(hostile_doc, tmp_path, with_csp):
    page = render.html(hostile_doc)
    if not with_csp:
        page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
        assert "Content-Security-Policy" not in page
    f = tmp_path / "report.html"
    f.write_text(page, encoding="utf-8")
    r = chromium(["--virtual-time-budget=3000", "--dump-dom", f.as_uri()])
    dom = r.stdout.decode("utf-8", "replace")
    assert "</html>" in dom, r.stderr.decode()[-2000:]
    assert not re.search(r"<body[^>]*data-pwned", dom)  # the onerror handler never ran
    assert not re.search(r"<title>[^<]*pwned", dom)
    assert "<script" not in dom.lower()
    imgs = re.findall(r"<img\b[^>]*>", dom)
    assert len(imgs) == 3 and all('src="data:image/png;base64,' in i for i in imgs), imgs
    assert "&lt;script&gt;document.title" in dom  # the payload is shown as text
    shot = tmp_path / "hostile.png"
    chromium(["--window-size=412,2000", f"--screenshot={shot}", f.as_uri()])
    assert shot.exists() and shot.stat().st_size > 1000


def _nonblank(png: bytes) -> float:
    """Share of pixels that are not (near) white."""
    import matplotlib.image as mpimg

    im = mpimg.imread(io.BytesIO(png), format="png")
    rgb = im[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())


@pytest.fixture(scope="module")
def sample_html(tmp_path_factory):
    d = tmp_path_factory.mktemp("sample")
    logs = [str(ROOT / "sample_logs" / p) for p in ("postlog/mail.log", "syslog/mail.log", "amavis/mail.log", "amavis/amavis.log")]
    logscope.ingest(logs, d / "store", tz="UTC", year=2026)
    out = d / "report.html"
    r = subprocess.run([sys.executable, "-m", "logscope", "report", "--store", str(d / "store"), "--format", "html", "-o", str(out)],
                       capture_output=True, cwd=ROOT, timeout=300)
    assert r.returncode == 1, r.stderr.decode()  # dead and list-everything zones need attention
    return out


def test_sample_report_charts_visible_in_chromium(sample_html, tmp_path):
    page = sample_html.read_text(encoding="utf-8")
    charts = re.findall(r'<img class="chart" alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
    assert len(charts) == 3
    for c in charts:
        assert _nonblank(base64.b64decode(c)) > 0.01  # each chart draws something
    r = chromium(["--dump-dom", sample_html.as_uri()])
    dom = r.stdout.decode("utf-8", "replace")
    assert len(re.findall(r'<img class="chart"[^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', dom)) == 3
    for width, name in ((1200, "desktop"), (412, "phone")):
        shot = tmp_path / f"sample-{name}.png"
        r = chromium([f"--window-size={width},3000", "--hide-scrollbars", f"--screenshot={shot}", sample_html.as_uri()])
        assert shot.exists(), r.stderr.decode()[-2000:]
        assert _nonblank(shot.read_bytes()) > 0.05
    keep = os.environ.get("LOGSCOPE_SCREENSHOT_DIR")
    if keep:  # CI or a developer can keep the pictures
        Path(keep).mkdir(parents=True, exist_ok=True)
        for p in tmp_path.glob("sample-*.png"):
            shutil.copy(p, Path(keep) / p.name)
