"""What every ``logscope`` command shares: exit codes, options, error mapping, ingest with progress.

Exit codes (also in the README):
  0  success; nothing needs attention
  1  findings need attention (reports and ``nightly``)
  2  error: bad usage, nothing could be read, store locked or corrupt
"""
from __future__ import annotations

import datetime as dt
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer

from . import postconf, report
from .errors import BadTime, LogscopeError
from .store import Store

if TYPE_CHECKING:
    from .ingest import IngestReport

EXIT_OK, EXIT_ATTENTION, EXIT_ERROR = 0, 1, 2

StoreOpt = typer.Option(
    None, "--store", envvar="LOGSCOPE_STORE", help="Store directory [default: $XDG_DATA_HOME/logscope/store].", show_default=False
)
SinceOpt = typer.Option(None, "--since", help="Start: ISO date/time (UTC unless an offset is given) or relative: 24h, 7d, 30m, 2w.")
UntilOpt = typer.Option(None, "--until", help="End (exclusive), same forms as --since.")
MainCfOpt = typer.Option(None, "--main-cf", help="The site's main.cf or the output of 'postconf -n': enables configuration findings.")
TzOpt = typer.Option(None, "--tz", help="Zone of traditional 'Nov  6 10:00:01' stamps [default: this machine's].")
YearOpt = typer.Option(None, "--year", help="Year of the first traditional stamp (default: inferred from the file's mtime).")


def err(msg: str) -> None:
    """A message for people, on stderr, with log-derived text made inert."""
    report.console(file=sys.stderr).print(report.Text(report.term_safe(msg)))


@contextmanager
def guard() -> Iterator[None]:
    """Map errors to exit 2: a LogscopeError with its message, anything else as an internal error
    (exit 1 means "needs attention", so a crash must never end with Python's default 1)."""
    try:
        yield
    except LogscopeError as exc:
        err(f"logscope: {exc}")
        raise typer.Exit(EXIT_ERROR)
    except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors keep typer's own handling
        raise
    except Exception as exc:  # noqa: BLE001
        duckdb = sys.modules.get("duckdb")  # imported by the commands that query (not by ingest)
        if duckdb is not None and isinstance(exc, duckdb.Error):  # ad-hoc SQL: syntax, unknown column, parameter type
            err(f"logscope: query failed: {exc}")
        else:
            err(f"logscope: internal error: {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_ERROR)


def parse_when(value: Optional[str]) -> Optional[dt.datetime]:
    """--since/--until: see :func:`logscope.insights.parse_when`; a bad value is a usage error."""
    from .insights import parse_when as parse

    try:
        return parse(value)
    except BadTime as exc:
        raise typer.BadParameter(str(exc)) from None


def open_store(store: Optional[Path], views=None):
    """The store's connection; ``views``: only these views (and what they read), see logscope.open."""
    from . import queries  # DuckDB: not for the commands that only ingest

    return queries.open(Store(store) if store else None, must_exist=True, views=views)


def main_cf(path: Optional[Path]):
    return postconf.load(path) if path else None


# True in the ``logscope`` program (cli.main), which ends when its command does; False when
# the commands run inside another Python process (tests, an application)
PROGRAM = False


def exit_for(doc: dict) -> int:
    return EXIT_ATTENTION if any(f["severity"] in ("warning", "critical") for f in doc["findings"]) else EXIT_OK


def ingest_paths(
    paths: list[str],
    store: Optional[Path],
    *,
    tz: Optional[str],
    year: Optional[int],
    quiet: bool = False,
    wait: float = 300.0,
    workers: Optional[int] = None,
) -> "IngestReport":
    """Ingest with a progress bar (bytes, on a terminal), warnings on stderr; exit 2 if nothing could be read."""
    from .ingest import ingest as run_ingest, refuse_pandas  # pyarrow and numpy: only for the commands that ingest

    if PROGRAM:
        refuse_pandas()  # -0.45 s for an ingest small enough to parse in this process

    progress = bar = None
    if not quiet and sys.stderr.isatty():
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=report.console(file=sys.stderr), transient=True,
            auto_refresh=False,  # drawn at each chunk: no refresh thread, so the parser workers can be forked
        )
        tasks: dict[str, int] = {}

        def progress(path: str, done: int, size: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(Path(path).name[-30:], total=size or None)
            bar.update(tasks[path], completed=done)
            bar.refresh()

        bar.start()
    try:
        rep = run_ingest(paths, Store(store) if store else None, tz=tz, year=year, progress=progress, wait=wait, workers=workers)
    finally:
        if bar is not None:
            bar.stop()
    for s in rep.sources:
        for w in s.warnings:
            err(f"warning: {w}")
        if s.error:
            err(f"error: {s.error}")
    if not rep.readable:
        err("logscope: nothing could be read")
        raise typer.Exit(EXIT_ERROR)
    return rep
