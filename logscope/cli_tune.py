"""``logscope forged`` and ``logscope tune``: thin commands over the library.

Each command parses its options, makes one library call (logscope.insights.forged.analyze,
logscope.insights.tune.analyze) and renders the result as text (rich tables, log-derived
strings escaped), JSON (docs/json-tune.md: logscope.forged/1, logscope.tune/1) or CSV.

Exit codes: 0 nothing needs attention; 1 a finding of severity warning or critical;
2 error (bad option, no store, unreadable main.cf).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from . import report
from .cli_common import EXIT_ERROR, MainCfOpt, SinceOpt, StoreOpt, UntilOpt, guard, parse_when
from .cli_common import err as _err
from .cli_common import exit_for as _exit_for
from .cli_common import main_cf as _cf
from .cli_common import open_store as _open
from .cli_intel import Fmt

FmtTuneOpt = typer.Option(Fmt.text, "--format", help="text (tables), json (docs/json-tune.md) or csv.")


def register(app: typer.Typer) -> None:
    @app.command()
    def forged(
        store: Optional[Path] = StoreOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        main_cf: Optional[Path] = MainCfOpt,
        fmt: Fmt = FmtTuneOpt,
        table: str = typer.Option("clients", "--table", help="For --format csv: clients (one row per pattern and client) or patterns."),
        min_clients: int = typer.Option(5, "--min-clients", min=2, help="sender_many_clients: clients using one sender address."),
        min_domains: int = typer.Option(5, "--min-domains", min=2, help="client_many_domains: sender domains of one client ..."),
        window: int = typer.Option(600, "--window", min=1, help="... within this many seconds."),
    ) -> None:
        """Forged senders: our own domains as envelope sender from outside, from=to, HELO as us or
        localhost, login mismatches, random local parts, one sender from many clients, one client
        with many sender domains, clients without (or with dynamic-looking) reverse DNS. Each with
        clients, example lines and the restriction that stops it. Our domains come from --main-cf,
        else from local deliveries (labelled inferred).

        Exit 1 when forged mail got through (a warning).
        """
        from .insights import forged as mod

        if table not in ("clients", "patterns"):
            _err("logscope: --table must be clients or patterns")
            raise typer.Exit(EXIT_ERROR)
        with guard():
            doc = mod.analyze(_open(store, views=mod.views()), since=parse_when(since), until=parse_when(until), main_cf=_cf(main_cf),
                              min_clients=min_clients, min_domains=min_domains, window_s=window)
        _emit(doc, fmt, mod, table)
        raise typer.Exit(_exit_for(doc))

    @app.command()
    def tune(
        store: Optional[Path] = StoreOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        main_cf: Optional[Path] = MainCfOpt,
        fmt: Fmt = FmtTuneOpt,
        table: str = typer.Option("clients", "--table", help="For --format csv: clients, recommendations, whatif, crosscheck or warnings."),
        headroom: float = typer.Option(1.5, "--headroom", min=1.0, help="Recommended limit = legitimate peak x this (at least peak + 2)."),
        clients: int = typer.Option(50, "--clients", min=1, help="How many clients to list (most limit warnings and highest peaks first)."),
    ) -> None:
        """Connection limits: rebuild anvil's per-client counters from smtpd sessions (peak
        concurrency, connection/message/recipient/AUTH rate per anvil_rate_time_unit), check them
        against anvil's own statistics lines, separate legitimate from abusive clients, and
        recommend smtpd_client_*_limit values with a what-if table. Current limits from --main-cf,
        else Postfix's defaults.

        Exit 1 when a current limit refuses legitimate clients (a warning).
        """
        from .insights import tune as mod

        if table not in mod.TABLES:
            _err(f"logscope: --table must be one of {', '.join(mod.TABLES)}")
            raise typer.Exit(EXIT_ERROR)
        with guard():
            doc = mod.analyze(_open(store, views=mod.views()), since=parse_when(since), until=parse_when(until), main_cf=_cf(main_cf),
                              headroom=headroom, client_rows=clients)
        _emit(doc, fmt, mod, table)
        raise typer.Exit(_exit_for(doc))


def _emit(doc: dict, fmt: Fmt, mod, table: str) -> None:
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(doc))
    elif fmt == Fmt.csv:
        sys.stdout.write(report.to_csv(*mod.csv_rows(doc, table)))
    else:
        mod.render_text(doc, report.console())
