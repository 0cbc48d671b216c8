"""``logscope rejects``, ``logscope rbl`` and ``logscope query``: thin commands over the library.

Each command parses its options, makes one library call (logscope.insights.rejects.analyze,
logscope.insights.rbl.analyze, logscope.run) and renders the result as text (rich tables that
fit 80 columns, log-derived strings escaped), JSON (docs/json-intel.md) or CSV.

Exit codes: 0 nothing needs attention; 1 a finding of severity warning or critical;
2 error (bad option, no store, bad SQL).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import report
from .cli_common import EXIT_ERROR, EXIT_OK, MainCfOpt, SinceOpt, StoreOpt, UntilOpt, guard, parse_when
from .cli_common import err as _err
from .cli_common import exit_for as _exit_for
from .cli_common import main_cf as _cf
from .cli_common import open_store as _open



class Fmt(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"


FmtOpt = typer.Option(Fmt.text, "--format", help="text (tables), json (docs/json-intel.md) or csv.")


def register(app: typer.Typer) -> None:
    @app.command()
    def rbl(
        store: Optional[Path] = StoreOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        main_cf: Optional[Path] = MainCfOpt,
        fmt: Fmt = FmtOpt,
    ) -> None:
        """DNS blocklists: what each zone rejects, and whether it is dead, lists everything,
        answers error codes, is defunct or silent. Every finding comes with the postconf -e fix.

        Exit 1 when a blocklist needs attention (warning or critical).
        """
        from .insights import rbl as rbl_mod

        with guard():
            doc = rbl_mod.analyze(_open(store, rbl_mod.views()), since=parse_when(since), until=parse_when(until), main_cf=_cf(main_cf))
        if fmt == Fmt.json:
            sys.stdout.write(report.to_json(doc))
        elif fmt == Fmt.csv:
            sys.stdout.write(report.to_csv(*rbl_mod.csv_rows(doc)))
        else:
            rbl_mod.render_text(report.console(), doc)
        raise typer.Exit(_exit_for(doc))

    @app.command()
    def rejects(
        store: Optional[Path] = StoreOpt,
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        main_cf: Optional[Path] = MainCfOpt,
        fmt: Fmt = FmtOpt,
        top: int = typer.Option(3, "--top", min=1, help="Top values per restriction class (clients, senders, recipients, HELOs)."),
        table: str = typer.Option("restriction", "--table", help="For --format csv: restriction, restriction_code, class, stage, "
                                  "code, action, rules, top, hour, day or dry_runs."),
    ) -> None:
        """Rejects and other access decisions by restriction class, stage, reply code and action; the
        access-table entries and header/body rules that fired; top values per class; what-if
        reject_unknown_client_hostname; main.cf findings (misspelled or obsolete names, 450 for unknown users).

        Exit 1 when a finding needs attention (warning or critical).
        """
        from .insights import rejects as rej

        if table not in rej.TABLES:
            _err(f"logscope: --table must be one of {', '.join(rej.TABLES)}")
            raise typer.Exit(EXIT_ERROR)
        with guard():
            doc = rej.analyze(_open(store, rej.views()), since=parse_when(since), until=parse_when(until), main_cf=_cf(main_cf), top=top)
        if fmt == Fmt.json:
            sys.stdout.write(report.to_json(doc))
        elif fmt == Fmt.csv:
            sys.stdout.write(report.to_csv(*rej.csv_rows(doc, table)))
        else:
            rej.render_text(report.console(), doc)
        raise typer.Exit(_exit_for(doc))

    @app.command()
    def query(
        name_or_sql: Optional[str] = typer.Argument(None, help="A query name from queries/ (see --list) or SQL over the views."),
        param: List[str] = typer.Option([], "--param", "-p", help="NAME=VALUE for $NAME (repeatable). Values: numbers, null, "
                                        "JSON lists, or text (timestamps as '2026-11-27 10:00')."),
        since: Optional[str] = SinceOpt,
        until: Optional[str] = UntilOpt,
        store: Optional[Path] = StoreOpt,
        fmt: Fmt = FmtOpt,
        list_: bool = typer.Option(False, "--list", help="List the named queries and what each answers."),
        describe: bool = typer.Option(False, "--describe", help="Show the query's header (what it answers, columns, parameters)."),
        limit: int = typer.Option(200, "--limit", help="Rows shown as text (json and csv get all rows)."),
    ) -> None:
        """Run a named query file or ad-hoc SQL against the store's views (events, unparsed, rejects,
        rbl_hits, dnsbl_listings, rbl_lookup_errors, ...), with parameters.

        Examples: logscope query --list;  logscope query rbl_zones --since 7d;
        logscope query "select kind, count(*) from events group by 1"
        """
        from . import queries

        if list_ or not name_or_sql:
            qs = queries.available()
            rows = [(q.name, (q.header.splitlines() or [""])[0], ", ".join(q.params)) for q in qs.values()]
            if fmt == Fmt.json:
                sys.stdout.write(report.to_json([{"name": n, "about": a, "params": p.split(", ") if p else []} for n, a, p in rows]))
            else:
                report.console().print(report.table("queries", ["name", "answers", "parameters"], rows))
            raise typer.Exit(EXIT_OK)
        with guard():
            if describe:
                q = queries.get(name_or_sql)
                report.console().print(report.Text(q.header + f"\n\nparameters: {', '.join(q.params) or 'none'}"))
                raise typer.Exit(EXIT_OK)
            params = dict(_param(p) for p in param)
            sql_params = _query_params(name_or_sql)
            for k, v in (("since", parse_when(since)), ("until", parse_when(until))):
                if v is not None:
                    if k not in sql_params:
                        raise typer.BadParameter(f"this query takes no ${k}")
                    params[k] = v
            rel = queries.run(_open(store), name_or_sql, **params)
            cols = list(rel.columns)
            data = rel.fetchall()
        if fmt == Fmt.json:
            sys.stdout.write(report.to_json({"schema": "logscope.query/1", "query": name_or_sql, "params": {k: _jsonable(v) for k, v in params.items()},
                                             "columns": cols, "rows": [dict(zip(cols, map(_jsonable, r))) for r in data]}))
        elif fmt == Fmt.csv:
            from .insights.rejects import _cell

            sys.stdout.write(report.to_csv(cols, [[_cell(_jsonable(v)) for v in r] for r in data]))
        else:
            out = report.console()
            out.print(report.table(None, cols, [[_text(v, c) for v, c in zip(r, cols)] for r in data[:limit]]))
            if len(data) > limit:
                out.print(report.Text(f"({len(data) - limit:,} more rows; use --limit, --format csv or --format json)"))


def _query_params(name_or_sql: str) -> list[str]:
    from . import queries

    if re.fullmatch(r"[A-Za-z0-9_]+", name_or_sql):
        return queries.get(name_or_sql).params
    return re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", name_or_sql)


def _param(text: str) -> tuple[str, object]:
    name, eq, raw = text.partition("=")
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise typer.BadParameter(f"--param {text!r}: expected NAME=VALUE")
    if raw.lower() == "null":
        return name, None
    if re.fullmatch(r"-?\d+", raw):
        return name, int(raw)
    if re.fullmatch(r"-?\d+\.\d*", raw):
        return name, float(raw)
    if raw.startswith("["):
        try:
            return name, json.loads(raw)
        except ValueError:
            pass
    return name, raw


def _jsonable(v):
    if isinstance(v, (dt.datetime, dt.date)):
        from .insights.rbl import iso

        return iso(v)
    return v


_IDS = re.compile(r"(^|_)(pid|line_no|code|port|bit|mask|year|value)$")


def _text(v, col: str = ""):
    if isinstance(v, dt.datetime):
        return _jsonable(v)
    if isinstance(v, int) and _IDS.search(col):
        return str(v)  # identifiers, not quantities: no thousands separator
    return v
