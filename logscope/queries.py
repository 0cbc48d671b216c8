"""Queries: DuckDB views over the store, and the loader for ``queries/*.sql``.

``open(store)`` returns a DuckDB connection with the views ``events`` and
``unparsed`` over the committed Parquet files, plus every view defined in
``queries/views/*.sql`` (run in file-name order). Named queries are the other
``queries/*.sql`` files; :func:`run` binds their ``$parameters`` as DuckDB
parameters, never by pasting text into SQL.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import duckdb

from .errors import QueryNotFound
from .schema import TABLES
from .store import Store, ingest_runs

QUERY_DIR = Path(__file__).resolve().parent.parent / "queries"
if not QUERY_DIR.is_dir():  # installed as a wheel: shipped as package data
    QUERY_DIR = Path(__file__).resolve().parent / "queries"
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _literal(text: str) -> str:
    """A SQL string literal (quotes doubled): for the store's own file names only."""
    return "'" + text.replace("'", "''") + "'"


def open(  # noqa: A001
    store: Store | str | os.PathLike | None = None, *, must_exist: bool = False, views: Iterable[str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``events``, ``unparsed`` and the ``queries/views``.

    ``views``: only the view files that define these names (views or macros), with the view
    files they depend on; None creates every view (binding all of them costs ~0.1 s per view
    file on a large store). :func:`views_for` lists the names a set of queries reads.
    """
    store = store if isinstance(store, Store) else Store(store)
    if must_exist:
        store.require()
    con = duckdb.connect()
    _session(con)
    con.execute("set enable_object_cache = true")  # Parquet footers are read once, not once per view and query
    manifest = store.manifest()
    for name, columns in TABLES.items():
        files = store.files(name, manifest)
        # the typed empty select fixes column order and types, and gives columns that
        # files written by an older logscope lack (as NULL)
        empty = _empty_select(columns)
        if files:
            listing = "[" + ", ".join(_literal(f) for f in files) + "]"
            # union_by_name only when the files differ (written by different logscope versions):
            # it makes every bind of a view over the files ~8x slower
            mixed = ", union_by_name = true" if _schemas(con, files) > 1 else ""
            con.execute(
                f"create view {name} as {empty} union all by name "
                f"select * from read_parquet({listing}, hive_partitioning = false{mixed})"
            )
        else:
            con.execute(f"create view {name} as {empty}")
    for path in _view_files(views):
        con.execute(path.read_text(encoding="utf-8"))
    return con


def _session(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")  # day and hour buckets are UTC, whatever the machine's zone
    # DuckDB draws a progress bar on stdout for queries over ~2 s: it would corrupt --format json/csv
    try:
        con.execute("set enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # in Jupyter without ipywidgets the setting cannot be changed (nor is a bar drawn on stdout)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another connection to ``con``'s database, for a thread of its own: the views and macros
    are shared, TEMP tables are not (each insight module's temp tables stay its own)."""
    cur = con.cursor()
    _session(cur)
    return cur


def parallel(con: duckdb.DuckDBPyConnection, jobs: dict[str, Callable], *, workers: int = 2,
             timings: dict[str, float] | None = None, on_con: str | None = None) -> dict[str, Any]:
    """``{name: job(cursor)}``: each job runs in a thread on its own :func:`cursor` of ``con``,
    ``workers`` at a time, started in dict order (put the longest first). A job sees the views,
    not ``con``'s TEMP tables; the job named ``on_con`` runs on ``con`` itself, in the calling
    thread, and sees them. DuckDB releases the GIL while it works, so two jobs keep two cores
    busy where one query alone often leaves one idle.

    While every worker has a job, DuckDB's own helper threads are cut by one per extra worker
    (``SET threads``: the pool is shared by all cursors, and each worker's thread works on its
    query too; on 2 cores, 2 workers run at threads = 1); once a worker finds no job left, the
    setting goes back, so the queries still running get the idle core."""
    names = list(jobs)
    lanes = min(workers, len(names))
    saved = int(con.execute("select current_setting('threads')").fetchall()[0][0]) if lanes > 1 else 0
    lock = threading.Lock()
    narrow = max(1, saved - lanes + 1)  # the workers' threads plus DuckDB's helpers = saved
    state = {"next": 0, "narrow": lanes > 1 and narrow < saved}

    ctl = con.cursor() if state["narrow"] else None  # its own cursor: con may be busy with a job

    def set_threads(n: int) -> None:
        ctl.execute(f"set threads = {int(n)}")

    if state["narrow"]:
        set_threads(narrow)

    def one(name: str, job: Callable, c=None) -> Any:
        t = time.monotonic()
        cur = c if c is not None else cursor(con)
        try:
            return job(cur)
        finally:
            if c is None:
                cur.close()
            if timings is not None:
                timings[name] = round(time.monotonic() - t, 3)
            with lock:
                state["next"] += 1
                if state["narrow"] and state["next"] > len(names) - lanes:  # this worker finds no job left
                    state["narrow"] = False
                    set_threads(saved)

    here = {on_con: jobs[on_con]} if on_con in jobs else {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers - len(here))) as pool:
            futures = {name: pool.submit(one, name, job) for name, job in jobs.items() if name not in here}
            done = {name: one(name, job, con) for name, job in here.items()}
        return {name: done[name] if name in done else futures[name].result() for name in jobs}
    finally:
        if state["narrow"]:
            set_threads(saved)
        if ctl is not None:
            ctl.close()


def _schemas(con: duckdb.DuckDBPyConnection, files: list[str]) -> int:
    """How many distinct column sets (names and types) the Parquet files have."""
    return con.execute(
        "select count(distinct cols) from (select file_name, string_agg(name || ':' || coalesce(type, ''), ',' order by name) as cols"
        " from parquet_schema($files) group by file_name)",
        {"files": files},
    ).fetchall()[0][0]


_DEFINES = re.compile(r"create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:view|macro)\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


def _body(sql: str) -> str:
    """SQL without ``--`` comment lines (names in comments are no dependencies)."""
    return "\n".join(l for l in sql.splitlines() if not l.lstrip().startswith("--"))


def _view_catalog() -> dict[Path, tuple[set[str], str]]:
    """Each view file: the names it defines, and its SQL without comments."""
    out = {}
    for path in sorted((QUERY_DIR / "views").glob("*.sql")):
        body = _body(path.read_text(encoding="utf-8"))
        out[path] = ({m.lower() for m in _DEFINES.findall(body)}, body)
    return out


def _mentions(body: str, names: Iterable[str]) -> set[str]:
    """The view and macro names that ``body`` reads: a view after ``from``/``join``, a macro before
    ``(``. Column names that happen to equal a view's (``count(*) as messages``) are no dependencies.
    The SQL here joins views with JOIN, never with a comma (a view named only after a comma would not
    be bound, and the query would fail with "table does not exist")."""
    used = set(re.findall(r"\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)", body, re.I))
    used |= set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", body))
    used = {w.lower() for w in used}
    return {n for n in names if n in used}


def _view_files(views: Iterable[str] | None) -> list[Path]:
    """The view files to run, in file-name order: all, or those defining ``views`` plus their dependencies."""
    catalog = _view_catalog()
    if views is None:
        return list(catalog)
    owner = {n: p for p, (names, _) in catalog.items() for n in names}
    todo = [owner[n.lower()] for n in views if n.lower() in owner]
    chosen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in chosen:
            continue
        chosen.add(path)
        names, body = catalog[path]
        todo.extend(owner[n] for n in _mentions(body, set(owner) - names))
    return [p for p in catalog if p in chosen]


def views_for(*names_or_sql: str) -> set[str]:
    """The view and macro names (from ``queries/views``) that these named queries or SQL texts read."""
    catalog = _view_catalog()
    known = {n for names, _ in catalog.values() for n in names}
    out: set[str] = set()
    for q in names_or_sql:
        sql = get(q).sql if re.fullmatch(r"[A-Za-z0-9_]+", q) else q
        out |= _mentions(_body(sql), known)
    return out


def _empty_select(columns: list[tuple[str, str]]) -> str:
    """``select NULL::type as col ... where false``: a typed empty relation without Arrow (or pandas)."""
    cols = ", ".join(f"null::{typ} as {name}" for name, typ in columns)
    return f"select {cols} where false"


@dataclass(frozen=True)
class Query:
    name: str
    path: Path
    sql: str

    @property
    def header(self) -> str:
        """The leading comment block: what the query answers, its grain and parameters."""
        lines = []
        for line in self.sql.splitlines():
            if not line.startswith("--"):
                break
            lines.append(line[2:].strip())
        return "\n".join(lines).strip()

    @property
    def params(self) -> list[str]:
        body = _body(self.sql)
        return sorted(set(_PARAM.findall(body)))


_READ: dict[Path, tuple[int, Query]] = {}


def available() -> dict[str, Query]:
    """Every named query in ``queries/`` by file stem (each file read again only when it changed)."""
    out = {}
    for p in sorted(QUERY_DIR.glob("*.sql")):
        mtime = p.stat().st_mtime_ns
        got = _READ.get(p)
        if got is None or got[0] != mtime:
            got = _READ[p] = (mtime, Query(p.stem, p, p.read_text(encoding="utf-8")))
        out[p.stem] = got[1]
    return out


def get(name: str) -> Query:
    qs = available()
    if name not in qs:
        raise QueryNotFound(f"no query named {name!r}. Available: {', '.join(qs) or 'none'}")
    return qs[name]


def run(con: duckdb.DuckDBPyConnection, name_or_sql: str, **params) -> duckdb.DuckDBPyRelation:
    """Run a named query (or ad-hoc SQL) with ``params`` bound; missing ones are NULL."""
    sql = get(name_or_sql).sql if re.fullmatch(r"[A-Za-z0-9_]+", name_or_sql) else name_or_sql
    body = _body(sql)
    wanted = set(_PARAM.findall(body))
    unknown = set(params) - wanted
    if unknown:
        raise QueryNotFound(f"parameter(s) {', '.join(sorted(unknown))} not used by this query; it takes: {', '.join(sorted(wanted)) or 'none'}")
    bound = {k: params.get(k) for k in wanted}
    return con.sql(sql, params=bound) if bound else con.sql(sql)


# How far around a period the views that join lines of a session or a message read: a session
# or message seen in the period began at most this long before it, and anvil's rate windows,
# smtpd process instances and content-filter hand-offs are far shorter.
PERIOD_MARGIN = dt.timedelta(days=1)
# ... and what the commands learn from the log about the site (our domains, the zones each
# service consults): a week around the period, so that what shows now and then is still seen
INFER_MARGIN = dt.timedelta(days=7)


@contextmanager
def events_near(con: duckdb.DuckDBPyConnection, since: dt.datetime | None, until: dt.datetime | None,
                margin: dt.timedelta = PERIOD_MARGIN) -> Iterator[None]:
    """Inside the block, ``events`` on ``con`` holds only the lines of [since, until) widened
    by ``margin`` (None = open; both None changes nothing): a TEMP view shadows the
    store's, so every view read meanwhile (sessions, traffic ...) is built from those lines
    alone and costs what the period costs, not what the store holds: a nightly report over
    one day costs the same on a store of a week as of a year. The bounds are DuckDB
    variables, folded into constants, so the Parquet files of other days are skipped unread."""
    if since is None and until is None:
        yield
        return
    lo = since - margin if since is not None else None
    hi = until + margin if until is not None else None
    con.execute("set variable logscope_lo = cast($lo as timestamptz)", {"lo": lo})
    con.execute("set variable logscope_hi = cast($hi as timestamptz)", {"hi": hi})
    con.execute(
        "create or replace temp view events as select * from memory.main.events"
        " where (getvariable('logscope_lo') is null or ts >= getvariable('logscope_lo'))"
        " and (getvariable('logscope_hi') is null or ts < getvariable('logscope_hi'))"
    )
    try:
        yield
    finally:
        con.execute("drop view if exists temp.main.events")


def temp_table(con: duckdb.DuckDBPyConnection, name: str, **columns: tuple[str, list]) -> None:
    """Create (or replace) TEMP table ``name`` from Python lists: ``col=(duckdb_type, values)``.

    The values are bound as list parameters; ``name`` and the types are the caller's own words.
    """
    cols = ", ".join(f"unnest(${c}::{typ}[]) as {c}" for c, (typ, _) in columns.items())
    con.execute(f"create or replace temp table {name} as select {cols}", {c: v for c, (_, v) in columns.items()})


def status(store: Store | str | os.PathLike | None = None) -> dict:
    """What the store holds, and whether every line read is accounted for.

    ``reconciliation.ok`` is True when lines read (manifest) equal events plus
    unparsed rows (Parquet) plus skipped lines (other programs).
    """
    store = store if isinstance(store, Store) else Store(store)
    manifest = store.manifest()
    con = open(store, must_exist=True)
    hosts = run(con, "store_hosts").fetchall()
    kinds = run(con, "store_kinds").fetchall()
    unparsed = run(con, "store_unparsed").fetchall()
    n_events = sum(r[2] for r in kinds)
    n_unparsed = sum(r[1] for r in unparsed)
    srcs = manifest["sources"]
    lines = sum(s["lines"] for s in srcs.values())
    skipped = sum(s["skipped"] for s in srcs.values())
    first = min((h[2] for h in hosts), default=None)
    last = max((h[3] for h in hosts), default=None)
    iso = lambda t: t.isoformat() if t is not None else None  # noqa: E731
    return {
        "schema": "logscope.status/1",
        "store": str(store.path),
        "span": {"first": iso(first), "last": iso(last)},
        "hosts": [{"host": h, "events": n, "first": iso(a), "last": iso(b)} for h, n, a, b in hosts],
        "sources": [
            {
                "id": sid,
                "paths": s["paths"],
                "compression": s.get("compression"),
                "lines": s["lines"],
                "events": s["events"],
                "unparsed": s["unparsed"],
                "skipped": s["skipped"],
            }
            for sid, s in srcs.items()
        ],
        "commits": ingest_runs(manifest),
        "files": {ds: len(store.files(ds, manifest)) for ds in TABLES},
        "kinds": [{"daemon": d, "kind": k, "events": n} for d, k, n, _, _ in kinds],
        "unparsed": [
            {"reason": r, "lines": n, "example": {"source": s, "line_no": ln, "raw": raw}} for r, n, s, ln, raw in unparsed
        ],
        "reconciliation": {
            "lines_read": lines,
            "events": n_events,
            "unparsed": n_unparsed,
            "skipped": skipped,
            "ok": lines == n_events + n_unparsed + skipped,
        },
    }
