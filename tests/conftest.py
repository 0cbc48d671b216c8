import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def log_lines(n: int, start: dt.datetime = dt.datetime(2026, 11, 27, 10, 0, 0), *, seed: int = 0) -> list[str]:
    """n syslog lines of a few Postfix shapes plus another program, one second apart."""
    out = []
    for i in range(n):
        t = start + dt.timedelta(seconds=i)
        stamp = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
        ip = f"192.0.2.{(i + seed) % 250 + 1}"
        k = i % 4
        if k == 0:
            out.append(f"{stamp} mx postfix/smtpd[{100 + i % 7}]: connect from host{i}.example[{ip}]")
        elif k == 1:
            out.append(f"{stamp} mx postfix/smtpd[{100 + i % 7}]: disconnect from host{i}.example[{ip}] ehlo=1 quit=1 commands=2")
        elif k == 2:
            out.append(f"{stamp} mx dovecot[77]: imap-login: Login: user=<u{i}>")
        else:
            out.append(f"{stamp} mx postfix/qmgr[55]: {0xA0000 + i:X}: removed")
    return out


def write(path: Path, lines: list[str], mtime: dt.datetime | None = None) -> Path:
    path.write_text("".join(l + "\n" for l in lines))
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "logscope", *args],
        input=stdin,
        capture_output=True,
        env=dict(os.environ, **(env or {})),
        cwd=ROOT,
    )


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED
