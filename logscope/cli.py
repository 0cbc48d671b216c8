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

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import cli_common, report
from .cli_common import EXIT_ERROR, StoreOpt, TzOpt, YearOpt, guard, ingest_paths
from .store import Store


app = typer.Typer(
    help="See what your Postfix restrictions, DNS blocklists and connection limits actually do.\n\n"
    "Start with:  logscope ingest /var/log/mail.log*   then   logscope status",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)



class Fmt(str, Enum):
    text = "text"
    json = "json"


@app.command()
def ingest(
    paths: List[str] = typer.Argument(..., help="Log files, directories, globs, or - for stdin. Rotated sets are read oldest first."),
    store: Optional[Path] = StoreOpt,
    tz: Optional[str] = TzOpt,
    year: Optional[int] = YearOpt,
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="Summary as text or json (on stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary; warnings still go to stderr."),
    wait: float = typer.Option(300.0, "--wait", help="Seconds to wait for another ingest holding the store lock."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parser processes for large input [default: one per CPU, at most 4; each needs ~350 MB]; 0 parses in this process."),
) -> None:
    """Read new log lines into the store. Re-running adds only what is new.

    Every line becomes an event, an unparsed row with its reason, or is skipped
    because another program wrote it (dovecot, sshd, cron ...). A directory or a glob
    reads only the files whose first KiB holds a log line (README, dpkg.log ... are
    skipped with a warning); a file named on its own is always read.

    Example: logscope ingest /var/log/mail.log* --store ~/mailstore
    """
    with guard():
        rep = ingest_paths(paths, store, tz=tz, year=year, quiet=quiet, wait=wait, workers=workers)
    doc = rep.as_dict()
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(doc))
    elif not quiet:
        report.render_ingest(report.console(), doc)


@app.command()
def compact(
    store: Optional[Path] = StoreOpt,
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="Summary as text or json (on stdout)."),
    wait: float = typer.Option(300.0, "--wait", help="Seconds to wait for an ingest holding the store lock."),
) -> None:
    """Merge the Parquet files of each day partition into one file.

    Every ingest adds files, and a query opens every file: a store fed by a
    cron job every few minutes gathers thousands. ingest already merges a day
    it wrote to once it holds more than 16 small ones; this merges every day now.
    Atomic (a crash leaves the store as it was) and safe to repeat. Queries
    that were running meanwhile may fail on a merged file: run them again.

    Example: logscope compact --store ~/mailstore
    """
    with guard():
        done = Store(store).require().compact(wait=wait)
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(done))
    else:
        report.console().print(report.render_merged(done) if done["partitions"] else "nothing to merge: each day partition is one file")


@app.command()
def show(
    refs: List[str] = typer.Argument(..., help="SOURCE:LINE as findings cite them (a unique prefix of the source id will do)."),
    store: Optional[Path] = StoreOpt,
    context: int = typer.Option(0, "--context", "-C", min=0, help="Lines before and after each one."),
) -> None:
    """Print the log lines a finding cites, from the file that holds them now (rotated or
    compressed since: found by its first bytes). grep's layout: path:line: for the line
    itself, path-line- for context. Control characters are escaped.

    Example: logscope show 4a590b9648291a39:188 --context 2
    """
    from . import sources

    with guard():
        manifest = Store(store).require().manifest()
        for ref in refs:
            source, _, line = ref.rpartition(":")
            if not line.isdigit() or int(line) < 1:
                raise typer.BadParameter(f"{ref!r}: give SOURCE:LINE, such as 4a590b9648291a39:188")
            path, lines = sources.lines_of(manifest, source, int(line), context)
            for n, text in lines:
                sep = ":" if n == int(line) else "-"
                sys.stdout.write(f"{report.term_safe(path)}{sep}{n}{sep} {report.term_safe(text)}\n")


@app.command()
def status(store: Optional[Path] = StoreOpt, fmt: Fmt = typer.Option(Fmt.text, "--format", help="text or json.")) -> None:
    """Show what the store holds: time span, hosts, sources, events by kind,
    unparsed lines by reason, and the check lines read = events + unparsed + skipped.
    """
    with guard():
        from . import queries

        st = queries.status(Store(store) if store else None)
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
    cli_common.PROGRAM = True
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
        # Every file is written and closed by now (stores commit atomically; reports are renamed
        # into place). Skipping the interpreter's teardown (DuckDB's and the modules' finalisers)
        # saves 0.1-0.2 s per command, which matters for monitoring that polls.
        os._exit(code)
