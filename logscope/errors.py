"""Every error logscope raises on purpose. Each message says how to fix it.

Only the CLI turns these into exit codes; library code raises and never prints.
"""
from __future__ import annotations


class LogscopeError(Exception):
    """Base class: an error a user can act on."""


class UnreadableSource(LogscopeError):
    """A path given to ingest cannot be opened or decoded."""


class NoSources(LogscopeError):
    """The paths given match no file."""


class StoreLocked(LogscopeError):
    """Another ingest holds the store lock."""


class ManifestCorrupt(LogscopeError):
    """The store's manifest.json cannot be read."""


class StoreNotFound(LogscopeError):
    """The store directory does not exist or holds no data yet."""


class QueryNotFound(LogscopeError):
    """No query file with that name in queries/."""


class ConfigError(LogscopeError):
    """A main.cf, postconf -n output or TOML config cannot be used."""


class BadTime(LogscopeError, ValueError):
    """A --since/--until value that is neither an ISO time nor 24h/7d."""
