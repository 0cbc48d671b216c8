"""``logscope report``, ``logscope analyze`` and ``logscope nightly``: thin commands over
logscope.render (the complete report) and logscope.nightly (cron mode).

Exit codes: 0 nothing needs attention; 1 a finding of severity warning or critical (nightly: the
config's thresholds.attention); 2 error.
"""
from __future__ import annotations

import datetime as dt
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import report
from .errors import LogscopeError
from .cli_common import EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, MainCfOpt, SinceOpt, StoreOpt, TzOpt, UntilOpt, YearOpt, guard, ingest_paths, parse_when
from .cli_common import err as _err
from .store import Store

# logscope.nightly and logscope.render (jinja2, email) are imported by the commands that use them:
# the other commands start faster without them




class RFmt(str, Enum):
    text = "text"
    markdown = "markdown"
    html = "html"
    json = "json"


class NFmt(str, Enum):
    mail = "mail"
    prometheus = "prometheus"


def _when(value: Optional[str]) -> Optional[dt.datetime]:
    return parse_when(value)


def _last(value: Optional[str]) -> Optional[dt.datetime]:
    if value is None:
        return None
    from . import nightly as nightly_mod

    try:
        secs = nightly_mod.span_seconds(value)
    except LogscopeError as exc:
        raise typer.BadParameter(str(exc))
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=secs)


def _emit(doc: dict, fmt: RFmt, output: Optional[Path]) -> None:
    from . import nightly as nightly_mod
    from . import render

    if fmt == RFmt.text and output is None:
        render.text(doc, report.console())
        return
    if fmt == RFmt.text:
        body = nightly_mod.text_report(doc, width=100)
    elif fmt == RFmt.markdown:
        body = render.markdown(doc)
    elif fmt == RFmt.html:
        body = render.html(doc)
    else:
        body = report.to_json(doc)
    if output is None:
        sys.stdout.write(body)
    else:
        nightly_mod.write_atomic(Path(output), body.encode("utf-8"))


def _exit_for(doc: dict) -> int:
    for e in doc.get("errors") or []:
        _err(f"logscope: section {e['section']} failed: {e['error']}")
    if doc.get("errors"):
        return EXIT_ERROR
    return EXIT_ATTENTION if doc["attention"]["count"] else EXIT_OK


LastOpt = typer.Option(None, "--last", help="The last span before now: 30m, 24h, 7d (instead of --since).")
FmtOpt = typer.Option(RFmt.text, "--format", help="text (terminal), markdown, html (self-contained, with charts) or json (logscope.report/1).")
OutOpt = typer.Option(None, "--output", "-o", help="Write the report to this file (atomically) instead of stdout.")
LimitOpt = typer.Option(10, "--top", min=1, help="Rows in the top-talker and problem tables.")


def _report(store, since, until, last, fmt: RFmt, output, main_cf, top: int) -> None:
    """Build the report for the period, write it, exit 0/1/2: shared by report and analyze."""
    if last and since:
        raise typer.BadParameter("give --since or --last, not both")
    from . import render

    with guard():
        charts = render.preload_charts() if fmt == RFmt.html else None
        doc = render.build(Store(store) if store else None, since=_last(last) if last else _when(since), until=_when(until),
                           main_cf=main_cf, limit=top)
        if charts is not None:
            charts.join()
        _emit(doc, fmt, output)
    raise typer.Exit(_exit_for(doc))


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        store: Optional[Path] = StoreOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        last: Optional[str] = LastOpt,
        fmt: RFmt = FmtOpt,
        output: Optional[Path] = OutOpt,
        main_cf: Optional[Path] = MainCfOpt,
        top: int = LimitOpt,
    ) -> None:
        """The complete report: store coverage, traffic (pflogsumm's summary, content filter counted
        once), then blocklists, rejects, forged senders and connection limits, problems first.

        Example: logscope report --last 24h --format html -o /tmp/report.html
        """
        _report(store, since, until, last, fmt, output, main_cf, top)

    @app.command()
    def analyze(
        paths: List[str] = typer.Argument(..., help="Log files, directories, globs, or - for stdin (as for ingest)."),
        store: Optional[Path] = StoreOpt,
        tz: Optional[str] = TzOpt,
        year: Optional[int] = YearOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        last: Optional[str] = LastOpt,
        fmt: RFmt = FmtOpt,
        output: Optional[Path] = OutOpt,
        main_cf: Optional[Path] = MainCfOpt,
        top: int = LimitOpt,
    ) -> None:
        """Ingest whatever is new in PATHS, then print the complete report.

        Example: logscope analyze /var/log/mail.log* --main-cf /etc/postfix/main.cf
        """
        if last and since:
            raise typer.BadParameter("give --since or --last, not both")
        with guard():
            rep = ingest_paths(paths, store, tz=tz, year=year)
        if sys.stderr.isatty():
            _err(f"ingested {rep.lines:,} new line(s): {rep.total('events'):,} events, {rep.total('unparsed'):,} unparsed")
        _report(store, since, until, last, fmt, output, main_cf, top)

    @app.command()
    def nightly(
        config: Path = typer.Option(..., "--config", "-c", help="TOML config (see the README, 'Nightly reports')."),
        fmt: NFmt = typer.Option(NFmt.mail, "--format", help="mail: mail and/or write the report per the config; "
                                 "prometheus: write a node_exporter textfile."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Directory for the report files (mail), or the textfile "
                                              "(prometheus), instead of the config's."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Say what was done, also on success."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing even when findings need attention (exit code only)."),
    ) -> None:
        """For cron: ingest what is new, report on the lines since the last run, mail the report
        (text + HTML) through the local sendmail and/or write it into a directory.

        Silent on success. Exit 0 nothing needs attention, 1 findings need attention (their titles
        are printed), 2 error.

        Example crontab line: 15 6 * * * logscope nightly --config /etc/logscope.toml
        """
        from . import nightly as nightly_mod

        res = nightly_mod.run(config, fmt=fmt.value, output=output)
        if res.error:
            _err(f"logscope nightly: {res.error}")
        if res.exit_code == EXIT_ERROR:
            raise typer.Exit(EXIT_ERROR)
        out = report.console()
        if verbose:
            for m in res.messages + [f"wrote {o}" for o in res.outputs]:
                out.print(report.Text(report.term_safe(m)))
        if res.attention and not quiet:
            out.print(report.Text(f"logscope: {len(res.attention)} finding(s) need attention:"))
            for f in res.attention:
                out.print(report.Text(report.term_safe(f"  [{f.get('severity')}] {f.get('section')}: {f.get('title')}")))
        raise typer.Exit(res.exit_code)
