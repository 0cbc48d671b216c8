"""The ``logscope`` command: a thin layer over the library.

Each command parses its options, calls one library function, renders the
result, and maps errors to exit codes. stdout carries only the report or data;
progress and warnings go to stderr.

Exit codes (also in the README):
  0  success; nothing needs attention
  1  findings need attention (reports and ``nightly``)
  2  error: bad usage, nothing could be read, store locked or corrupt
"""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .ingest import ingest as run_ingest
from . import queries, report
from .errors import LogscopeError
from .store import Store

EXIT_OK, EXIT_ATTENTION, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    help="See what your Postfix restrictions, DNS blocklists and connection limits actually do.\n\n"
    "Start with:  logscope ingest /var/log/mail.log*   then   logscope status",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

StoreOpt = typer.Option(
    None, "--store", envvar="LOGSCOPE_STORE", help="Store directory [default: $XDG_DATA_HOME/logscope/store].", show_default=False
)


class Fmt(str, Enum):
    text = "text"
    json = "json"


def _err(msg: str) -> None:
    report.console(file=sys.stderr).print(report.Text(report.term_safe(msg)))


def _fail(exc: LogscopeError) -> typer.Exit:
    _err(f"logscope: {exc}")
    return typer.Exit(EXIT_ERROR)


@app.command()
def ingest(
    paths: List[str] = typer.Argument(..., help="Log files, directories, globs, or - for stdin. Rotated sets are read oldest first."),
    store: Optional[Path] = StoreOpt,
    tz: Optional[str] = typer.Option(None, "--tz", help="Zone of traditional 'Nov  6 10:00:01' stamps [default: this machine's]."),
    year: Optional[int] = typer.Option(None, "--year", help="Year of the first traditional stamp (default: inferred from the file's mtime)."),
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="Summary as text or json (on stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary; warnings still go to stderr."),
    wait: float = typer.Option(300.0, "--wait", help="Seconds to wait for another ingest holding the store lock."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parser processes for large input [default: one per CPU]; 0 parses in this process."),
) -> None:
    """Read new log lines into the store. Re-running adds only what is new.

    Every line becomes an event, an unparsed row with its reason, or is skipped
    because another program wrote it (dovecot, sshd, cron ...).

    Example: logscope ingest /var/log/mail.log* --store ~/mailstore
    """
    progress = None
    bar = None
    if not quiet and sys.stderr.isatty():
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=report.console(file=sys.stderr), transient=True)
        tasks: dict[str, int] = {}

        def progress(path: str, done: int, size: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(Path(path).name[-30:], total=size or None)
            bar.update(tasks[path], completed=done)

        bar.start()
    try:
        rep = run_ingest(paths, Store(store) if store else None, tz=tz, year=year, progress=progress, wait=wait, workers=workers)
    except LogscopeError as exc:
        raise _fail(exc)
    finally:
        if bar is not None:
            bar.stop()
    for s in rep.sources:
        for w in s.warnings:
            _err(f"warning: {w}")
        if s.error:
            _err(f"error: {s.error}")
    doc = rep.as_dict()
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(doc))
    elif not quiet:
        report.render_ingest(report.console(), doc)
    if not rep.readable:
        _err("logscope: nothing could be read")
        raise typer.Exit(EXIT_ERROR)


@app.command()
def status(store: Optional[Path] = StoreOpt, fmt: Fmt = typer.Option(Fmt.text, "--format", help="text or json.")) -> None:
    """Show what the store holds: time span, hosts, sources, events by kind,
    unparsed lines by reason, and the check lines read = events + unparsed + skipped.
    """
    try:
        st = queries.status(Store(store) if store else None)
    except LogscopeError as exc:
        raise _fail(exc)
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(st))
    else:
        report.render_status(report.console(), st)
    if not st["reconciliation"]["ok"]:
        raise typer.Exit(EXIT_ERROR)


# Command groups that live in their own modules register themselves here.
for _name in ("cli_intel", "cli_tune", "cli_report"):
    try:
        __import__(f"{__package__}.{_name}", fromlist=["register"]).register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__package__}.{_name}":
            raise


def main() -> None:  # console script entry point
    app()
