"""nightly: ingest what is new, report on it, mail or file the report; for cron.

SYNOPSIS
    logscope nightly --config /etc/logscope.toml [--format mail|prometheus] [--verbose]

CONFIGURATION (TOML, read with tomllib)
    logs           = ["/var/log/mail.log*"]     paths, globs or directories, as for ``logscope ingest``
    store          = "/var/lib/logscope/store"
    main_cf        = "/etc/postfix/main.cf"      optional; enables the configuration checks
    tz             = "Europe/Berlin"             zone of traditional syslog stamps (default: this machine's)
    year           = 2026                        optional: year of the first traditional stamp
    recipients     = ["postmaster@example.org"]  mail the report (multipart text + HTML) ...
    mail_from      = "logscope@example.org"
    sendmail       = "/usr/sbin/sendmail"        ... through this program, run as: sendmail -t -oi [-f mail_from]
    output_dir     = "/var/lib/logscope/reports" ... and/or write report-<UTC time>.{html,txt,json} here
    formats        = ["html", "text", "json"]    what output_dir gets (also "markdown")
    prometheus_file = "/var/lib/prometheus/node-exporter/logscope.prom"   for --format prometheus
    first_run      = "24h"                       period of the first report: "all", or a span (30m, 24h, 7d)
                                                 before the newest line in the store
    [thresholds]
    attention      = "warning"                   lowest finding severity that makes the exit code 1
    unparsed_share = 0.01                        more unparsed lines than this share is a warning

    Relative paths are relative to the config file's directory.

PERIOD
    The report covers the lines newer than the newest line the previous report covered (kept in
    ``<store>/nightly-state.json``, replaced atomically after the report was delivered), so a late
    run or a missed night loses nothing and wall-clock skew does not matter. ``--format
    prometheus`` covers ``prometheus_window`` (default 24h) before the newest line and leaves the
    state alone, so it can run every few minutes.

EXIT STATUS
    0  nothing needs attention (silent unless --verbose)
    1  findings need attention: their titles are printed (cron mails them) unless --quiet
    2  error: bad config, nothing readable, store locked or corrupt, sendmail failed, or a report
       section failed (the report is still delivered, naming the failure)
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import socket
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from . import render, report
from .render.blocks import period_text
from .errors import ConfigError, LogscopeError
from .ingest import ingest
from .insights import SEVERITIES
from .store import Store

STATE = "nightly-state.json"
STATE_SCHEMA = "logscope.nightly-state/1"
FORMATS = {"html": "html", "text": "txt", "markdown": "md", "json": "json"}
_SPAN = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
KEYS = {"logs", "store", "main_cf", "tz", "year", "recipients", "mail_from", "sendmail", "output_dir", "formats",
        "prometheus_file", "prometheus_window", "first_run", "thresholds", "subject_prefix"}


@dataclass
class Config:
    path: Path
    logs: list[str]
    store: Path
    main_cf: Path | None = None
    tz: str | None = None
    year: int | None = None
    recipients: list[str] = field(default_factory=list)
    mail_from: str | None = None
    sendmail: str = "/usr/sbin/sendmail"
    output_dir: Path | None = None
    formats: list[str] = field(default_factory=lambda: ["html", "text", "json"])
    prometheus_file: Path | None = None
    prometheus_window: str = "24h"
    first_run: str = "24h"
    attention: str = "warning"
    unparsed_share: float = 0.01
    subject_prefix: str = "[logscope]"


def span_seconds(text: str) -> int:
    m = _SPAN.match(text.strip())
    if not m:
        raise ConfigError(f"{text!r}: use a span such as 30m, 24h, 7d or 2w")
    return int(m.group(1)) * _UNITS[m.group(2)]


def load_config(path: str | os.PathLike) -> Config:
    """Read and check the TOML config; every problem is a ConfigError that names the key."""
    p = Path(path).expanduser()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KEYS))}")
    base = p.parent

    def path_of(key: str) -> Path | None:
        v = raw.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{p}: {key} must be a path (text)")
        q = Path(v).expanduser()
        return q if q.is_absolute() else base / q

    def str_list(key: str) -> list[str]:
        v = raw.get(key, [])
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"{p}: {key} must be a list of text values")
        return v

    logs = [str(Path(x).expanduser()) if Path(x).expanduser().is_absolute() else str(base / x) for x in str_list("logs")]
    if not logs:
        raise ConfigError(f"{p}: logs is missing: the Postfix log files to read, e.g. logs = [\"/var/log/mail.log*\"]")
    store = path_of("store")
    if store is None:
        raise ConfigError(f"{p}: store is missing: the directory of the logscope store")
    th = raw.get("thresholds", {})
    if not isinstance(th, dict) or set(th) - {"attention", "unparsed_share"}:
        raise ConfigError(f"{p}: [thresholds] takes attention (a severity) and unparsed_share (0..1)")
    cfg = Config(
        path=p, logs=logs, store=store, main_cf=path_of("main_cf"), tz=raw.get("tz"), year=raw.get("year"),
        recipients=str_list("recipients"), mail_from=raw.get("mail_from"), sendmail=raw.get("sendmail", "/usr/sbin/sendmail"),
        output_dir=path_of("output_dir"), formats=str_list("formats") or ["html", "text", "json"],
        prometheus_file=path_of("prometheus_file"), prometheus_window=raw.get("prometheus_window", "24h"),
        first_run=str(raw.get("first_run", "24h")), attention=th.get("attention", "warning"),
        unparsed_share=float(th.get("unparsed_share", 0.01)), subject_prefix=raw.get("subject_prefix", "[logscope]"),
    )
    if cfg.attention not in SEVERITIES:
        raise ConfigError(f"{p}: thresholds.attention must be one of {', '.join(SEVERITIES)}")
    bad = set(cfg.formats) - set(FORMATS)
    if bad:
        raise ConfigError(f"{p}: formats: unknown {', '.join(sorted(bad))}; use {', '.join(FORMATS)}")
    if cfg.year is not None and not isinstance(cfg.year, int):
        raise ConfigError(f"{p}: year must be a number")
    if cfg.first_run != "all":
        span_seconds(cfg.first_run)
    span_seconds(cfg.prometheus_window)
    for a in cfg.recipients + ([cfg.mail_from] if cfg.mail_from else []):
        if not re.fullmatch(r"[^\s<>@,;\"']+@[^\s<>@,;\"']+|[^\s<>@,;\"']+", a):
            raise ConfigError(f"{p}: {a!r} is not a plain mail address")
    return cfg


# -- state ---------------------------------------------------------------------------------------
def read_state(store: Path) -> dict:
    try:
        with open(store / STATE, encoding="utf-8") as fh:
            st = json.load(fh)
    except FileNotFoundError:
        return {"schema": STATE_SCHEMA, "last": None, "runs": []}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{store / STATE}: unreadable ({exc}); delete it to start over (the next report covers first_run)") from exc
    return st


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write aside, fsync, rename: a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_state(store: Path, state: dict) -> None:
    write_atomic(store / STATE, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode())


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Result:
    exit_code: int
    doc: dict | None = None
    attention: list[dict] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # for --verbose
    error: str | None = None


def _newest(store: Store) -> dt.datetime | None:
    from . import queries

    con = queries.open(store)
    try:
        return con.sql("select max(ts) from events").fetchall()[0][0]
    finally:
        con.close()


def text_report(doc: dict, width: int = 100) -> str:
    buf = io.StringIO()
    con = report.console(file=buf, width=width)
    render.text(doc, con)
    return buf.getvalue()


def build_mail(cfg: Config, doc: dict, text: str, html: str) -> EmailMessage:
    att = doc["attention"]
    hosts = ", ".join(doc["store"]["hosts"][:3]) or socket.gethostname()
    what = f"{att['count']} finding(s) need attention ({att['worst']})" if att["count"] else "nothing needs attention"
    subject = report.term_safe(f"{cfg.subject_prefix} {hosts}: {what}, {period_text(doc)}")
    msg = EmailMessage()
    msg["Subject"] = " ".join(subject.split())[:200]
    msg["From"] = cfg.mail_from or f"logscope@{socket.getfqdn()}"
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=(cfg.mail_from or "logscope@localhost").rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Logscope-Attention"] = str(att["count"])
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def send(cfg: Config, msg: EmailMessage) -> None:
    """Hand the message to the local MTA: ``sendmail -t -oi [-f from]``, argv list, no shell."""
    argv = [cfg.sendmail, "-t", "-oi"] + (["-f", cfg.mail_from] if cfg.mail_from else [])
    try:
        proc = subprocess.run(argv, input=msg.as_bytes(), capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LogscopeError(f"{cfg.sendmail}: cannot run it ({exc})") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()[:300]
        raise LogscopeError(f"{cfg.sendmail} -t exited {proc.returncode}: {err}")


def run(config: str | os.PathLike | Config, *, fmt: str = "mail", output: str | os.PathLike | None = None) -> Result:
    """One nightly run. ``fmt`` is "mail" (mail and/or output_dir, per the config) or "prometheus".
    Never raises: an error becomes exit code 2 with ``error`` set (an unexpected exception too, so
    that cron never sees Python's exit status 1, which would read as "needs attention")."""
    try:
        cfg = config if isinstance(config, Config) else load_config(config)
        return _run(cfg, fmt, output)
    except LogscopeError as exc:
        return Result(2, error=str(exc))
    except Exception as exc:  # noqa: BLE001
        return Result(2, error=f"internal error: {type(exc).__name__}: {exc}")


def _run(cfg: Config, fmt: str, output) -> Result:
    res = Result(0)
    store = Store(cfg.store)
    rep = ingest(cfg.logs, store, tz=cfg.tz, year=cfg.year)
    if not rep.readable:
        errs = "; ".join(s.error or "" for s in rep.sources)
        return Result(2, error=f"nothing could be read from {', '.join(cfg.logs)}: {errs}")
    for s in rep.sources:
        res.messages.extend(f"warning: {s.path}: {w}" for w in s.warnings)
        if s.error:
            res.messages.append(f"error: {s.path}: {s.error}")
    res.messages.append(f"ingested {rep.lines:,} new line(s) into {store.path}")
    if rep.merged:
        res.messages.append(report.render_merged(rep.merged))
    newest = _newest(store)
    state = read_state(store.path)
    if fmt == "prometheus":
        since = newest - dt.timedelta(seconds=span_seconds(cfg.prometheus_window)) if newest else None
    elif state.get("last"):
        since = dt.datetime.fromisoformat(state["last"]) + dt.timedelta(microseconds=1)
    elif cfg.first_run == "all" or newest is None:
        since = None
    else:
        since = newest - dt.timedelta(seconds=span_seconds(cfg.first_run))
    charts = render.preload_charts() if fmt != "prometheus" else None  # the mail and most outputs carry HTML
    doc = render.build(store, since=since, until=None, main_cf=cfg.main_cf, unparsed_share=cfg.unparsed_share,
                       min_severity=cfg.attention)
    if charts is not None:
        charts.join()
    res.doc = doc
    res.attention = render.attention(doc, cfg.attention)
    res.exit_code = 1 if res.attention else 0
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    if fmt == "prometheus":
        target = Path(output) if output else cfg.prometheus_file
        if target is None:
            raise ConfigError(f"{cfg.path}: --format prometheus needs prometheus_file in the config (or --output)")
        write_atomic(target, render.prometheus(doc).encode())
        res.outputs.append(str(target))
        return res

    if not cfg.recipients and cfg.output_dir is None and output is None:
        raise ConfigError(f"{cfg.path}: nothing to do: set recipients (mail the report) and/or output_dir (write it)")
    text = text_report(doc)
    html = render.html(doc)
    out_dir = Path(output) if output else cfg.output_dir
    if out_dir is not None:
        bodies = {"html": html, "text": text, "markdown": render.markdown(doc), "json": report.to_json(doc)}
        for f in cfg.formats:
            target = out_dir / f"report-{stamp}.{FORMATS[f]}"
            write_atomic(target, bodies[f].encode("utf-8"))
            res.outputs.append(str(target))
    if cfg.recipients:
        send(cfg, build_mail(cfg, doc, text, html))
        res.outputs.append("mail to " + ", ".join(cfg.recipients))
    last = doc["period"]["last"] or state.get("last")
    runs = (state.get("runs") or [])[-29:] + [{
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "since": doc["period"]["since"],
        "last": doc["period"]["last"], "lines": rep.lines, "attention": len(res.attention), "exit": res.exit_code,
    }]
    write_state(store.path, {"schema": STATE_SCHEMA, "last": last, "runs": runs})
    if doc["errors"]:  # delivered, but something could not be checked
        res.exit_code = 2
        res.error = "; ".join(f"section {e['section']} failed: {e['error']}" for e in doc["errors"])
    return res


__all__ = ["Config", "Result", "load_config", "read_state", "run", "write_atomic"]
