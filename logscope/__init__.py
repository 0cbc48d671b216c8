"""logscope: see what your Postfix restrictions, blocklists and limits do.

Library API (the CLI and the notebooks use the same calls)::

    import logscope
    report = logscope.ingest(["/var/log/mail.log*"], "~/mailstore")
    con = logscope.open("~/mailstore")          # DuckDB connection, view `events`
    logscope.run(con, "store_kinds").df()        # a named query from queries/
    logscope.status("~/mailstore")               # what the store holds
"""
import sys
import types

from .errors import LogscopeError
from .store import Store

__version__ = "0.1.0"
__all__ = ["LogscopeError", "Store", "ingest", "open", "run", "status", "__version__"]


class _Package(types.ModuleType):
    """``logscope.ingest`` is the function, loaded on first use: it pulls in pyarrow and numpy
    (~0.4 s) that the query commands do not need. The setter ignores the import system, which
    would otherwise replace the function with the submodule of the same name when it loads it."""

    @property
    def ingest(self):
        from .ingest import ingest

        return ingest

    @ingest.setter
    def ingest(self, value) -> None:
        pass


def __getattr__(name: str):
    """``open``, ``run`` and ``status`` load DuckDB (~0.2 s) on first use: ``logscope ingest``
    does not need it, and its parser workers start that much sooner."""
    if name in ("open", "run", "status"):
        from . import queries

        return getattr(queries, name)
    raise AttributeError(f"module 'logscope' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
