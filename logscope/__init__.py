"""logscope: see what your Postfix restrictions, blocklists and limits do.

Library API (the CLI and the notebooks use the same calls)::

    import logscope
    report = logscope.ingest(["/var/log/mail.log*"], "~/mailstore")
    con = logscope.open("~/mailstore")          # DuckDB connection, view `events`
    logscope.run(con, "store_kinds").df()        # a named query from queries/
    logscope.status("~/mailstore")               # what the store holds
"""
from .errors import LogscopeError
from .queries import open, run, status  # noqa: A004
from .store import Store

__version__ = "0.1.0"
__all__ = ["LogscopeError", "Store", "ingest", "open", "run", "status", "__version__"]


def __getattr__(name: str):
    # ingest pulls in pyarrow and numpy (~0.4 s): loaded when first used, not by every command
    if name == "ingest":
        from .ingest import ingest

        globals()["ingest"] = ingest  # shadows the submodule attribute the import just set
        return ingest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
