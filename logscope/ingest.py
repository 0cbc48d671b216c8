"""Ingest: sources → parse → store, in one locked, atomic transaction.

Each source is matched against the manifest by the hash of its first KiB:
an unchanged file is skipped without being opened, a grown file is read from
the recorded offset, a rotated (renamed, compressed) file is recognised as the
source it was. Memory stays bounded: one chunk of lines is parsed and written
at a time.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import envelope, parse, sources
from .errors import ConfigError, LogscopeError, UnreadableSource
from .store import COMPACT_AT, SMALL_FILE, Store, compact_locked, day_of, write_part


@dataclass
class SourceReport:
    path: str
    source: str | None = None  # source id
    state: str = "new"  # new, grown, unchanged, rotated, empty, not_a_log, failed
    lines: int = 0
    events: int = 0
    unparsed: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class IngestReport:
    store: str
    sources: list[SourceReport] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    unparsed_reasons: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    commit: str | None = None
    merged: dict | None = None  # day partitions merged after the commit (store.compact_locked)

    def total(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.sources)

    @property
    def lines(self) -> int:
        return self.total("lines")

    @property
    def readable(self) -> bool:
        """False only when every source failed: the CLI's non-zero exit."""
        return any(s.error is None for s in self.sources)

    def as_dict(self) -> dict:
        return {
            "store": self.store,
            "commit": self.commit,
            "lines": self.lines,
            "events": self.total("events"),
            "unparsed": self.total("unparsed"),
            "skipped": self.total("skipped"),
            "elapsed_s": round(self.elapsed_s, 3),
            "lines_per_s": round(self.lines / self.elapsed_s) if self.elapsed_s else None,
            "kinds": dict(self.kinds.most_common()),
            "unparsed_reasons": dict(self.unparsed_reasons.most_common()),
            "sources": [s.__dict__ for s in self.sources],
            "merged": self.merged,
        }


Progress = Callable[[str, int, int], None]  # (path, raw bytes done in this source, size)


def check_zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {tz!r}; use an IANA name such as Europe/Berlin or UTC") from exc
    return tz


def ingest(
    paths: list[str],
    store: Store | str | os.PathLike | None = None,
    *,
    tz: str | None = None,
    year: int | None = None,
    progress: Progress | None = None,
    wait: float = 300.0,
    workers: int | None = None,
) -> IngestReport:
    """Read what is new in ``paths`` into ``store``; return what was read.

    Traditional stamps are local time in ``tz`` (default: this machine's zone);
    their year comes from each file's mtime unless ``year`` (the year of the
    first line) is given. Large inputs are parsed in ``workers`` processes
    (default: one per CPU, at most DEFAULT_WORKERS_MAX); the result does not depend on how many.
    """
    store = store if isinstance(store, Store) else Store(store)
    tz = check_zone(tz or envelope.local_zone())
    started = time.monotonic()
    srcs = sources.expand(paths)
    report = IngestReport(store=str(store.path))
    with store.lock(wait=wait), Workers(workers) as pool:
        manifest = store.manifest()
        tx = store.begin()
        try:
            for src in srcs:
                sr = SourceReport(path=src.name)
                report.sources.append(sr)
                try:
                    _ingest_source(src, manifest, tx, sr, report, tz, year, progress, pool)
                except UnreadableSource as exc:
                    sr.state, sr.error = "failed", str(exc)
            pool.release()  # the workers exit while the commit runs
            record = {
                "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "lines": report.lines,
                "events": report.total("events"),
                "unparsed": report.total("unparsed"),
                "skipped": report.total("skipped"),
                "sources": sorted({s.source for s in report.sources if s.source and s.lines}),
            }
            done = tx.commit(manifest, record) if report.lines else None
            report.commit = done["id"] if done else None
        except BaseException:
            tx.abort()
            raise
        if done:  # the day partitions written to that now hold many small files: one file each
            days = {day_of(f) for fs in done["files"].values() for f in fs}
            merged = compact_locked(store, at=COMPACT_AT + 1, days=days, below=SMALL_FILE)
            report.merged = merged if merged["partitions"] else None
    report.elapsed_s = time.monotonic() - started
    return report


def _find(manifest: dict, head: bytes) -> tuple[str | None, dict | None]:
    """The manifest source whose recorded head is a prefix of ``head``."""
    best = (None, None)
    for sid, rec in manifest["sources"].items():
        if sources.holds(rec, head) and (best[1] is None or rec["head_len"] > best[1]["head_len"]):
            best = (sid, rec)
    return best


def _same_stat(rec: dict, src: sources.Source) -> bool:
    st = rec.get("stat") or {}
    return bool(src.ino) and st.get("dev") == src.dev and st.get("ino") == src.ino and st.get("size") == src.size and st.get("mtime") == src.mtime


def _ingest_source(src, manifest, tx, sr, report, tz, year, progress, pool) -> None:
    if not src.is_stdin:
        for sid, rec in manifest["sources"].items():
            if _same_stat(rec, src):
                sr.source, sr.state = sid, "unchanged"
                return
        if not src.ino:
            raise UnreadableSource(f"{src.path}: not a regular file or cannot be read")
    stream, counting, kind = sources.open_binary(src)
    try:
        head = sources.read_head(stream, src.name, kind)
        if not head:
            sr.state = "empty"
            sr.warnings.append(f"{src.name}: empty, nothing to read")
            return
        if sources.looks_binary(head):
            raise UnreadableSource(f"{src.name}: looks like binary data, not a text log (NUL or control bytes in its first KiB); skipped")
        if src.found and not envelope.has_header(head):
            # `logscope ingest /var/log/` must not store README or dpkg.log as unparsed mail log
            sr.state = "not_a_log"
            sr.warnings.append(f"{src.name}: no syslog or journal line in its first KiB, so not a mail log; skipped "
                               "(name the file itself to read it anyway)")
            return
        sid, rec = _find(manifest, head)
        if rec is None:
            sid = sources.digest(head)[:16]
            rec = {"head_len": 0, "offset": 0, "lines": 0, "events": 0, "unparsed": 0, "skipped": 0, "paths": []}
        else:
            sr.state = "grown" if src.path in rec["paths"] else "rotated"
        sr.source = sid
        anchor = dt.datetime.fromtimestamp(src.mtime or time.time(), ZoneInfo(tz)).date()
        years = envelope.YearState(anchor=anchor, year=rec.get("year"), month=rec.get("month"), fixed_year=year)
        result = sources.ReadResult()
        # a live plain file may end in a half-written line: leave it for the next run
        keep_partial = src.is_stdin or kind is not None or (time.time() - src.mtime) > 60
        line_no = rec["lines"] + 1
        pool.engage(1 << 62 if src.is_stdin else src.size * (6 if kind else 1) - rec["offset"])
        inflight: deque = deque()

        # a plain file's chunks are read again by the workers from the file: cheaper than
        # pickling 8 MiB through a pipe
        direct = pool.parallel and not src.is_stdin and kind is None

        def collect(job) -> None:
            fut, first, raw_bytes, args = job
            done: ChunkResult | None = fut.result()
            if done is None:  # the file changed under the worker: parse what this process read
                done = parse_chunk(*args)
            if done.bad_utf8:
                sr.warnings.append(f"{src.name}: {done.bad_utf8} line(s) from line {first} on are not valid UTF-8; kept with \\xNN escapes")
            tx.add(done.files)
            sr.lines += done.lines
            sr.events += done.events
            sr.unparsed += done.unparsed
            sr.skipped += done.skipped
            report.kinds.update(done.kinds)
            report.unparsed_reasons.update(done.reasons)
            if progress:
                progress(src.name, raw_bytes, src.size)

        # a plain file in equal chunks, as many for each worker: they finish together
        size = pool.chunk_bytes(src.size - rec["offset"]) if direct else None
        for chunk in sources.read_chunks(stream, counting, head, rec["offset"], result, keep_partial=keep_partial, chunk_bytes=size):
            start = years.snapshot()
            years.advance(chunk.data)
            args = (chunk.data, sid, line_no, tz, start, str(tx.staging), tx.next_name())
            payload = FileSlice(src.path, chunk.start, len(chunk.data), _edges(chunk.data)) if direct else chunk.data
            job = pool.submit(parse_chunk, payload, *args[1:])
            inflight.append((job, line_no, chunk.raw_bytes, args))
            line_no += _newlines(chunk.data) + (not chunk.data.endswith(b"\n"))
            while len(inflight) > pool.depth:
                collect(inflight.popleft())
        while inflight:
            collect(inflight.popleft())
        if sr.lines != sr.events + sr.unparsed + sr.skipped:  # the "nothing is lost" invariant
            raise LogscopeError(f"internal error: {src.name}: {sr.lines} lines != events + unparsed + skipped")
        if result.truncated:
            sr.warnings.append(f"{src.name}: {kind or 'file'} stream ends early ({result.truncated}); kept the {sr.lines} line(s) before the damage")
        if result.partial_tail:
            sr.warnings.append(f"{src.name}: last line is still being written; it will be read next time")
        if sr.lines == 0 and sr.state != "new":
            sr.state = "unchanged"
        st = {"dev": src.dev, "ino": src.ino, "size": src.size, "mtime": src.mtime} if src.ino else None
        rec.update(
            head_hash=sources.digest(head),
            head_len=len(head),
            offset=result.end_offset,
            lines=rec["lines"] + sr.lines,
            events=rec["events"] + sr.events,
            unparsed=rec["unparsed"] + sr.unparsed,
            skipped=rec["skipped"] + sr.skipped,
            year=years.year,
            month=years.month,
            compression=kind,
            stat=st if not result.partial_tail else None,
            paths=sorted(set(rec["paths"]) | {src.name}),
        )
        manifest["sources"][sid] = rec
    finally:
        stream.close()


PARALLEL_BYTES = 48 << 20  # below this, worker start-up costs more than it saves
DEFAULT_WORKERS_MAX = 4  # each worker peaks at ~350 MB (16 MiB chunks): 4 keep ingest near 1.5 GB


@dataclass
class ChunkResult:
    """What a parsed and staged chunk amounts to (small: crosses the process boundary)."""

    lines: int
    events: int
    unparsed: int
    skipped: int
    bad_utf8: int
    kinds: Counter
    reasons: Counter
    files: list[str]


_NL_STEP = 1 << 18


def _newlines(data: bytes) -> int:
    """bytes.count(b"\\n"), 2.5x faster (the reading process counts every chunk): in 256 KiB
    steps into one reused mask, which stays in cache and faults no fresh pages (12 MiB chunk
    ~8 -> ~2 ms CPU)."""
    a = np.frombuffer(data, np.uint8)
    mask = np.empty(min(len(a), _NL_STEP), bool)
    n = 0
    for i in range(0, len(a), _NL_STEP):
        part = a[i : i + _NL_STEP]
        m = mask[: len(part)]
        np.equal(part, 10, out=m)
        n += int(np.count_nonzero(m))
    return n


@dataclass(frozen=True)
class FileSlice:
    """Where a chunk of a plain file lies, for a worker to read it itself; ``edges`` are its
    first and last bytes as the reader saw them, to notice a file rewritten meanwhile."""

    path: str
    start: int
    length: int
    edges: bytes

    def read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as fh:
                data = os.pread(fh.fileno(), self.length, self.start)
        except OSError:
            return None
        return data if len(data) == self.length and _edges(data) == self.edges else None


def _edges(data: bytes) -> bytes:
    return bytes(data[:64]) + bytes(data[-64:])


def parse_chunk(data: bytes | FileSlice, source: str, first_line_no: int, tz: str, years: envelope.YearState, staging: str, name: str) -> ChunkResult | None:
    """Decode, parse and stage one chunk of whole lines (runs in a worker process).

    None when ``data`` is a :class:`FileSlice` whose bytes are no longer those the reader saw.
    """
    if isinstance(data, FileSlice):
        data = data.read()
        if data is None:
            return None
    lines, bad_utf8 = decode_lines(data)
    parsed = parse.parse_lines(lines, source=source, first_line_no=first_line_no, tz=tz, years=years)
    root = Path(staging)
    files = write_part(root, name, "events", parsed.events) + write_part(root, name, "unparsed", parsed.unparsed)
    kinds: Counter = Counter()
    reasons: Counter = Counter()
    _count(kinds, parsed.events.column("kind"))
    _count(reasons, parsed.unparsed.column("reason"))
    return ChunkResult(parsed.lines, parsed.events.num_rows, parsed.unparsed.num_rows, parsed.skipped, bad_utf8, kinds, reasons, files)


class _Done:
    """A finished result with the Future interface, for the in-process path."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class Workers:
    """Parse chunks in worker processes, or in this one.

    The processes start only when a source is large enough to pay for them
    (``PARALLEL_BYTES`` of text, compressed sizes counted ×6), or always when
    ``n`` is given; ``n`` = 0 or 1 parses in this process. ``depth`` bounds the
    chunks in flight, and so the memory.
    """

    def __init__(self, n: int | None):
        self.forced = n is not None
        self.n = min(os.cpu_count() or 1, DEFAULT_WORKERS_MAX) if n is None else n
        self.depth = 0
        self._pool = None
        self._closing: threading.Thread | None = None

    def engage(self, text_bytes: int) -> None:
        if self._pool is not None or self.n < 2 or (not self.forced and text_bytes < PARALLEL_BYTES):
            return
        # fork: the workers start at once with the modules this process has imported; a
        # forkserver first spends ~0.45 s CPU booting Python and importing pyarrow, numpy and
        # duckdb while the other core idles. Arrow and jemalloc re-initialise their threads
        # in a forked child; nothing here has started Arrow's thread pools yet anyway. Only
        # from a process without other threads, though (the CLI draws its progress bar without
        # one): a lock another thread holds at the fork stays held in the child for good, so a
        # threaded caller (Jupyter, an application) gets the forkserver.
        if threading.active_count() == 1:
            ctx = multiprocessing.get_context("fork")
        else:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["logscope.ingest"])
        self._pool = ProcessPoolExecutor(self.n, mp_context=ctx, initializer=_worker_start)
        self.depth = self.n + 1

    def chunk_bytes(self, text_bytes: int) -> int:
        """At most ``CHUNK_BYTES``, splitting ``text_bytes`` into a multiple of n equal chunks."""
        most = sources.CHUNK_BYTES
        per_round = self.n * most
        rounds = max(1, -(-text_bytes // per_round))
        return max(1, min(most, -(-text_bytes // (rounds * self.n))))

    @property
    def parallel(self) -> bool:
        """True once worker processes parse the chunks."""
        return self._pool is not None

    def __enter__(self) -> "Workers":
        return self

    def release(self) -> None:
        """Let the workers go, in the background: every chunk has been collected."""
        if self._pool is not None and self._closing is None:
            self._closing = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True}, daemon=True)
            self._closing.start()

    def __exit__(self, *exc) -> None:
        if self._closing is not None:
            self._closing.join()
        elif self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn, *args):
        if self._pool is None:
            return _Done(fn(*args))
        return self._pool.submit(fn, *args)


def _worker_start() -> None:
    """Runs first in each worker: load the grammars before the first chunk arrives."""
    refuse_pandas()
    parse._grammar_table()


def refuse_pandas() -> None:
    """Stop pyarrow importing pandas in this process, if it has not yet.

    pyarrow imports pandas (~0.45 s CPU) on the first ``pa.array``/``pa.scalar`` of any
    values, only to ask whether they are pandas objects; the parser never hands it any. Only
    for processes that will never want pandas: the parser workers and the ``logscope``
    program (a small ingest parses in the program itself), not a notebook, since pyarrow
    remembers that pandas is missing.
    """
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


class _NoPandas:
    """An import finder that refuses pandas: pyarrow then goes on without it."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas refused in this process (logscope.ingest.refuse_pandas): {name}", name=name)
        return None


def _count(counter: Counter, column: pa.ChunkedArray) -> None:
    if len(column):
        for item in pc.value_counts(column).to_pylist():
            counter[item["values"]] += item["counts"]


def decode_lines(data: bytes) -> tuple[pa.Array, int]:
    """Split a chunk of whole lines into a string array; count lines with invalid UTF-8."""
    # split the bytes as they are and let the cast to string check the UTF-8 (no Python str)
    width = pa.int32() if len(data) < (1 << 31) - 1 else pa.int64()
    whole = pa.Array.from_buffers(
        pa.binary() if width == pa.int32() else pa.large_binary(),
        1,
        [None, pa.array([0, len(data)], width).buffers()[1], pa.py_buffer(data)],
    )
    try:
        lines = pc.cast(pc.list_flatten(pc.split_pattern(whole, b"\n")), pa.string())
    except pa.ArrowInvalid:  # not UTF-8: line by line
        return _decode_lines_slow(data)
    if data.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)
    if b"\r" in data:
        lines = pc.utf8_rtrim(lines, "\r")
    return lines, 0


def _decode_lines_slow(data: bytes) -> tuple[pa.Array, int]:
    if data.endswith(b"\n"):
        data = data[:-1]
    bad = 0
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        out = []
        for raw in data.split(b"\n"):
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad += 1
                out.append(raw.decode("utf-8", "backslashreplace"))
        text = "\n".join(out)
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    lines = pc.cast(lines, pa.string())
    if "\r" in text:
        lines = pc.utf8_rtrim(lines, "\r")
    return lines, bad
