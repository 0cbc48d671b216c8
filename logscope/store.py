"""The store: a hive-partitioned Parquet dataset plus a manifest.

Layout (``SPEC`` — also in the README)::

    <store>/
      manifest.json                 committed transactions and source states
      .lock                         flock(2) held by a running ingest
      .staging/<tx>/                files being written by a transaction
      events/day=YYYY-MM-DD/part-<tx>-<n>.parquet
      unparsed/day=YYYY-MM-DD/part-<tx>-<n>.parquet   (day=unknown without a time)

A transaction writes its Parquet files under ``.staging/<tx>``, moves them into
place, and only then replaces ``manifest.json`` atomically (write, fsync,
rename). Readers see only the files the manifest lists, so a crash at any
point leaves the store as it was; the next ingest deletes the leftovers.
"""
from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import LogscopeError, ManifestCorrupt, StoreLocked, StoreNotFound
from .schema import SCHEMA_VERSION, TABLES

MANIFEST = "manifest.json"
DATASETS = {ds: [name for name, _ in columns] for ds, columns in TABLES.items()}  # column names
# free-text columns: no statistics (saves ~10% of write time, never used for pruning)
_NO_STATS = {"reply", "detail", "raw", "commands", "message_id", "tls"}
# identifiers that take any value in every chunk (addresses, queue ids): a file's min/max spans
# nearly all of them and never prunes it; their statistics cost ~15% of the write
_NO_MINMAX = _NO_STATS | {
    "client_host", "client_ip", "queue_id", "new_queue_id", "orig_queue_id", "amavis_id",
    "sender", "recipient", "orig_to", "helo", "sasl_username", "relay",
}


def default_location() -> Path:
    """``$LOGSCOPE_STORE``, else ``$XDG_DATA_HOME/logscope/store`` (``~/.local/share/...``)."""
    env = os.environ.get("LOGSCOPE_STORE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(xdg) / "logscope" / "store"


def empty_manifest() -> dict:
    return {"format": "logscope-store", "version": SCHEMA_VERSION, "commits": [], "sources": {}}


class Store:
    """A store directory. Cheap to create; nothing is read until asked."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path).expanduser() if path is not None else default_location()

    # -- manifest -------------------------------------------------------------
    def manifest(self) -> dict:
        p = self.path / MANIFEST
        try:
            with open(p, encoding="utf-8") as fh:
                m = json.load(fh)
        except FileNotFoundError:
            return empty_manifest()
        except (OSError, ValueError) as exc:
            raise ManifestCorrupt(
                f"{p}: cannot read the manifest ({exc}). Restore it from a backup, or move the store aside and ingest again."
            ) from exc
        if m.get("format") != "logscope-store":
            raise ManifestCorrupt(f"{p} is not a logscope manifest")
        return m

    def require(self) -> "Store":
        """This store, or StoreNotFound when no ingest has made one here yet."""
        if not (self.path / MANIFEST).exists():
            raise StoreNotFound(f"no logscope store at {self.path}. Create one with: logscope ingest /var/log/mail.log*")
        return self

    def files(self, dataset: str, manifest: dict | None = None) -> list[str]:
        """Absolute paths of the committed Parquet files of ``dataset`` (``manifest``: one the
        caller has read already)."""
        out = []
        for c in (manifest if manifest is not None else self.manifest())["commits"]:
            out.extend(str(self.path / f) for f in c["files"].get(dataset, []))
        return out

    # -- writing --------------------------------------------------------------
    @contextmanager
    def lock(self, wait: float = 300.0) -> Iterator[None]:
        """Hold the store's ingest lock; wait up to ``wait`` seconds for another run."""
        self.path.mkdir(parents=True, exist_ok=True)
        fh = open(self.path / ".lock", "a+")
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"{self.path} is locked by another logscope ingest; waited {wait:.0f}s. "
                            "Try again when it has finished."
                        ) from None
                    time.sleep(0.2)
            self._recover()
            yield
        finally:
            fh.close()

    def _recover(self) -> None:
        """Delete what a crashed transaction left: staging and files the manifest does not list."""
        shutil.rmtree(self.path / ".staging", ignore_errors=True)
        committed = {f for c in self.manifest()["commits"] for fs in c["files"].values() for f in fs}
        for ds in DATASETS:
            root = self.path / ds
            if not root.is_dir():
                continue
            for f in root.glob("*/*.parquet"):
                if str(f.relative_to(self.path)) not in committed:
                    f.unlink()

    def begin(self) -> "Transaction":
        return Transaction(self)

    def compact(self, *, at: int = 2, wait: float = 300.0) -> dict:
        """Merge each day partition's files into one (see :func:`compact_locked`), under the lock."""
        with self.lock(wait=wait):
            return compact_locked(self, at=at)


def _parquet_options(names: list[str]) -> dict:
    """How every Parquet file of the store is written (``names``: the dataset's columns)."""
    return {
        "compression": "zstd",
        "compression_level": 1,
        "write_statistics": [n for n in names if n not in _NO_MINMAX],
        # line_no is unique: a dictionary only costs time and space (-10% write time, -11% size)
        "use_dictionary": [n for n in names if n not in _NO_STATS and n != "line_no"],
        "write_batch_size": 1 << 16,  # fewer, larger column batches: -5-10% write time
    }


def write_part(staging: Path, name: str, dataset: str, table: pa.Table) -> list[str]:
    """Write ``table`` as one Parquet file per UTC day of ``ts`` under ``staging``.

    Returns the paths relative to the store root. Runs in worker processes too:
    each parsed chunk is written where it was parsed.
    """
    import pyarrow as pa  # here, not at the top: the query commands never write
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if table.num_rows == 0:
        return []
    names = DATASETS[dataset]
    day = pc.cast(table.column("ts"), pa.date32())  # ts is UTC
    days = pc.unique(day).to_pylist()
    out = []
    for d in days:
        part = table if len(days) == 1 else table.filter(pc.equal(day, d) if d is not None else pc.is_null(day))
        rel = Path(dataset) / f"day={d.isoformat() if d is not None else 'unknown'}" / f"part-{name}.parquet"
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, path, row_group_size=1 << 20, **_parquet_options(names))
        _fsync(path)  # here, beside the other chunks' parsing, not in the commit after them
        out.append(str(rel))
    return out


# an ingest merges the small files of a day partition it wrote to once the partition holds more
# of them than COMPACT_AT: a */5 cron adds a file per run, and every query lists and opens every
# file. A file of SMALL_FILE bytes or more (a 16 MiB chunk of a large ingest makes ~1.6 MB) is
# worth its opening and stays as it is.
COMPACT_AT = 16
SMALL_FILE = 1 << 20
_MERGE_ROWS = 1 << 17  # rows per row group of a merged file: memory holds one group at a time


def day_of(rel: str) -> str:
    """The day partition (``"day=2026-11-06"``) of a store-relative file path."""
    return rel.split("/")[1]


def compact_locked(store: "Store", *, at: int = 2, days: set[str] | None = None, below: int | None = None) -> dict:
    """Merge the files of each day partition holding at least ``at`` of them into one file.

    ``days``: only these partitions (``"day=2026-11-06"``); ``below``: only files smaller than
    this many bytes (they are counted and merged; larger ones stay). The caller holds the lock.
    Atomic like an ingest: the merged files are staged, the manifest that lists them instead
    of the old ones is published, and only then are the old files deleted (a crash before
    that leaves files the manifest does not list, which the next lock holder deletes). Rows
    are copied in file order, a row group at a time. A connection opened before may fail to
    read a deleted file: open the store again.
    """
    manifest = store.manifest()
    groups: dict[tuple[str, str], list[str]] = {}
    for c in manifest["commits"]:
        for ds, fs in c["files"].items():
            for f in fs:
                day = day_of(f)
                if (days is None or day in days) and (below is None or (store.path / f).stat().st_size < below):
                    groups.setdefault((ds, day), []).append(f)
    todo = {k: v for k, v in sorted(groups.items()) if len(v) >= at}
    out = {"partitions": len(todo), "files_before": sum(len(v) for v in todo.values()), "files_after": len(todo), "rows": 0}
    if not todo:
        return out
    old = {f for fs in todo.values() for f in fs}
    tx = store.begin()
    try:
        for (ds, day), files in todo.items():
            rel = f"{ds}/{day}/part-{tx.next_name()}.parquet"
            out["rows"] += _merge([store.path / f for f in files], tx.staging / rel, ds)
            tx.add([rel])
        kept, folded = [], {"commits": 0, "lines": 0, "first": None, "last": None}
        for c in manifest["commits"]:
            c["files"] = {ds: [f for f in fs if f not in old] for ds, fs in c["files"].items()}
            if any(c["files"].values()):
                kept.append(c)
                continue
            # a record left without files is folded into this one: the manifest, read by
            # every run, does not grow by a record per ingest for ever
            f = c.get("folded") or {"commits": 1, "lines": c.get("lines", 0), "first": c.get("time"), "last": c.get("time")}
            folded["commits"] += f["commits"]
            folded["lines"] += f["lines"]
            folded["first"] = min(filter(None, (folded["first"], f["first"])), default=None)  # ISO UTC text sorts by time
            folded["last"] = max(filter(None, (folded["last"], f["last"])), default=None)
        manifest["commits"] = kept
        tx.commit(manifest, {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "lines": 0,
                             "merged": len(old), "folded": folded})
    except BaseException:
        tx.abort()
        raise
    for f in old:
        (store.path / f).unlink(missing_ok=True)
    for ds, day in todo:
        _fsync_dir(store.path / ds / day)
    return out


def ingest_runs(manifest: dict) -> int:
    """How many ingest commits the manifest holds, those folded into merge records included."""
    return sum(c["folded"]["commits"] if "folded" in c else 1 for c in manifest["commits"])


def _merge(files: list[Path], dest: Path, dataset: str) -> int:
    """Copy the rows of ``files`` into one new Parquet file ``dest``, in order; the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import schema

    target = schema.EVENTS if dataset == "events" else schema.UNPARSED
    dest.parent.mkdir(parents=True, exist_ok=True)
    pending: list[pa.RecordBatch] = []
    rows = want = 0
    with pq.ParquetWriter(dest, target, **_parquet_options(DATASETS[dataset])) as writer:
        def flush() -> None:
            if pending:
                writer.write_table(pa.Table.from_batches(pending, target), row_group_size=_MERGE_ROWS)
                pending.clear()

        for f in files:
            pf = pq.ParquetFile(f)
            want += pf.metadata.num_rows
            for batch in pf.iter_batches(batch_size=1 << 15):
                # a file an older logscope wrote may lack newer columns: they are null
                cols = [batch.column(n) if n in batch.schema.names else pa.nulls(batch.num_rows, t)
                        for n, t in zip(target.names, target.types)]
                pending.append(pa.RecordBatch.from_arrays([c.cast(t) for c, t in zip(cols, target.types)], schema=target))
                rows += batch.num_rows
                if sum(b.num_rows for b in pending) >= _MERGE_ROWS:
                    flush()
        flush()
    if rows != want:  # never: the files said how many rows they hold
        raise LogscopeError(f"internal error: merging {len(files)} files of {dest.parent.name} read {rows} rows, expected {want}")
    _fsync(dest)
    return rows


@dataclass
class Transaction:
    """Files written to a staging directory; nothing is visible before :meth:`commit`."""

    store: Store
    id: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8])
    _files: list = field(default_factory=list)
    _seq: int = 0

    @property
    def staging(self) -> Path:
        return self.store.path / ".staging" / self.id

    def next_name(self) -> str:
        """A file-name stem for the next chunk: ``<tx>-<n>``."""
        self._seq += 1
        return f"{self.id}-{self._seq:05d}"

    def add(self, rel_paths: list[str]) -> None:
        """Register files that :func:`write_part` staged for this transaction."""
        self._files.extend(rel_paths)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self, manifest: dict, record: dict) -> dict:
        """Move the files into place, then publish ``manifest`` with ``record`` appended."""
        files: dict[str, list[str]] = {ds: [] for ds in DATASETS}
        for rel in sorted(self._files):
            src = self.staging / rel
            _fsync(src)  # write_part synced it: cheap, but a file staged otherwise is safe too
            dst = self.store.path / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            files[rel.split("/", 1)[0]].append(rel)
        if any(files.values()):
            _fsync_dir(self.store.path)
        record = dict(record, id=self.id, files=files)
        if any(files.values()) or record.get("lines"):
            manifest["commits"].append(record)
        write_manifest(self.store.path, manifest)
        shutil.rmtree(self.staging, ignore_errors=True)
        try:
            self.staging.parent.rmdir()
        except OSError:  # another transaction's staging is there, or it is gone already
            pass
        return record


def write_manifest(root: Path, manifest: dict) -> None:
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST)
    _fsync_dir(root)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some filesystems refuse directory fsync
        pass
