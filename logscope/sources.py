"""Sources: find log files, order rotated sets, open any compression, fingerprint.

A path may be a file, a directory (its regular files), a glob, or ``-`` for
stdin. Files of one rotated set (``mail.log``, ``mail.log.1``,
``mail.log.2.gz``, ``maillog-20261101.xz``) are read oldest first.
Compression is detected by magic bytes, never by name: gzip, bzip2, xz and
zstd.

A source is identified by a hash of its first KiB of *decompressed* content,
so ``mail.log`` renamed to ``mail.log.1`` and then compressed to
``mail.log.1.gz`` is still the same source, and a file that grew is read on
from the offset the manifest recorded.
"""
from __future__ import annotations

import bz2
import glob
import gzip
import hashlib
import io
import lzma
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import NoSources, UnreadableSource

HEAD_BYTES = 1024
CHUNK_BYTES = 16 << 20  # per worker ~350 MB at peak; each chunk costs ~200M instructions whatever its size

MAGIC = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]

# mail.log, mail.log.1, mail.log.2.gz, maillog-20261101, maillog-20261101.xz, mail.log-2026-11-01.gz
_ROTATED = re.compile(
    r"^(?P<base>.+?)(?:\.(?P<num>\d{1,4})|-(?P<date>\d{8}|\d{4}-\d\d-\d\d)(?:-\d+)?)?(?:\.(?:gz|bz2|xz|zst|zstd))?$"
)


@dataclass
class Source:
    """One input: a file path or stdin."""

    path: str  # "-" for stdin
    size: int = 0  # bytes on disk (compressed), 0 for stdin
    mtime: float = 0.0
    dev: int = 0
    ino: int = 0
    # found in a directory or by a glob, not named: read only if it looks like a log
    found: bool = False

    @property
    def is_stdin(self) -> bool:
        return self.path == "-"

    @property
    def name(self) -> str:
        return "<stdin>" if self.is_stdin else self.path


def digest(head: bytes, n: int | None = None) -> str:
    """Identity of a source: sha256 of its first ``n`` decompressed bytes."""
    return hashlib.sha256(head if n is None else head[:n]).hexdigest()


def holds(rec: dict, head: bytes) -> bool:
    """True when ``head`` (a file's first decompressed bytes) begins with the head the manifest
    record ``rec`` was taken from: the file is that source, grown, renamed or compressed since."""
    n = rec["head_len"]
    return n <= len(head) and digest(head, n) == rec["head_hash"]


def rotation_key(path: str) -> tuple:
    """Sort key within a rotated set: oldest first, the live file last."""
    m = _ROTATED.match(os.path.basename(path))
    if m and m.group("date"):
        return (0, m.group("date").replace("-", ""), 0)
    if m and m.group("num"):
        return (1, "", -int(m.group("num")))
    return (2, "", 0)


def rotation_base(path: str) -> str:
    m = _ROTATED.match(os.path.basename(path))
    base = m.group("base") if m else os.path.basename(path)
    return os.path.join(os.path.dirname(path), base)


def expand(paths: list[str]) -> list[Source]:
    """Resolve files, directories, globs and ``-`` into sources, rotated sets oldest first.

    A file named on its own is always read; one found in a directory or by a glob is marked
    ``found`` (the ingest skips it unless its first KiB holds a log line).
    """
    named: list[str] = []
    found: list[str] = []
    stdin = False
    for p in paths:
        if p == "-":
            stdin = True
            continue
        if os.path.isdir(p):
            found.extend(str(c) for c in sorted(Path(p).iterdir()) if c.is_file() and not c.name.startswith("."))
        elif os.path.exists(p) or os.path.islink(p):
            named.append(p)
        else:
            matches = sorted(glob.glob(p))
            if not matches:
                raise NoSources(f"{p}: no such file, directory or glob match. Example: logscope ingest /var/log/mail.log*")
            found.extend(m for m in matches if not os.path.isdir(m))
    # de-duplicate (a file both named and found counts as named), then group rotated sets and
    # order each oldest first
    seen: dict[str, bool] = {}
    for f in named:
        seen.setdefault(os.path.abspath(f), False)
    for f in found:
        seen.setdefault(os.path.abspath(f), True)
    groups: dict[str, list[str]] = {}
    for f in seen:
        groups.setdefault(rotation_base(f), []).append(f)
    out = []
    for base in sorted(groups):
        for f in sorted(groups[base], key=rotation_key):
            out.append(_stat_source(f, found=seen[f]))
    if stdin:
        out.append(Source("-"))
    if not out:
        raise NoSources("no input files found in " + ", ".join(paths))
    return out


def _stat_source(path: str, *, found: bool = False) -> Source:
    try:
        st = os.stat(path)
    except OSError:
        return Source(path, found=found)  # reported when opened
    if not stat.S_ISREG(st.st_mode):
        return Source(path, found=found)
    return Source(path, st.st_size, st.st_mtime, st.st_dev, st.st_ino, found=found)


def detect(prefix: bytes) -> str | None:
    for magic, name in MAGIC:
        if prefix.startswith(magic):
            return name
    return None


class CountingReader(io.RawIOBase):
    """Counts the raw (compressed) bytes read, for the progress bar."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.count += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_binary(src: Source) -> tuple[BinaryIO, CountingReader, str | None]:
    """Open a source for reading decompressed bytes."""
    if src.is_stdin:
        raw = sys.stdin.buffer
        peek = raw.peek(8)[:8] if hasattr(raw, "peek") else b""
        counting = CountingReader(raw)  # type: ignore[arg-type]
        buffered = io.BufferedReader(counting, 1 << 20)
    else:
        try:
            fh = open(src.path, "rb")
        except PermissionError as exc:
            raise UnreadableSource(f"{src.path}: permission denied. Run as a user who can read it (e.g. in group adm) or copy it.") from exc
        except OSError as exc:
            raise UnreadableSource(f"{src.path}: cannot open: {exc.strerror}") from exc
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            fh.close()
            raise UnreadableSource(f"{src.path}: not a regular file")
        counting = CountingReader(fh)
        buffered = io.BufferedReader(counting, 1 << 20)
        peek = buffered.peek(8)[:8]
    kind = detect(peek)
    if kind == "gzip":
        stream: BinaryIO = gzip.GzipFile(fileobj=buffered, mode="rb")
    elif kind == "bzip2":
        stream = bz2.BZ2File(buffered, "rb")
    elif kind == "xz":
        stream = lzma.LZMAFile(buffered, "rb")
    elif kind == "zstd":
        import zstandard  # only when needed: the stdlib has no zstd before 3.14

        stream = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True), CHUNK_BYTES)  # type: ignore[arg-type]
    else:
        stream = buffered
    return stream, counting, kind


# errors a decompressor raises on a damaged or truncated stream
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile, OSError)


def _zstd_error() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover
        return ()


@dataclass
class Chunk:
    data: bytes  # whole lines, each ending in \n except possibly at end of stream
    raw_bytes: int  # compressed bytes consumed so far
    start: int = 0  # offset of data in the decompressed stream (the file offset of a plain file)


@dataclass
class ReadResult:
    """Filled in while iterating :func:`read_chunks`."""

    end_offset: int = 0
    truncated: str | None = None  # why the stream ended early
    partial_tail: bool = False  # an unterminated last line was left for the next run


def read_chunks(
    stream: BinaryIO,
    counting: CountingReader,
    head: bytes,
    start: int,
    result: ReadResult,
    *,
    keep_partial: bool,
    chunk_bytes: int | None = None,
) -> Iterator[Chunk]:
    """Yield chunks of whole lines from decompressed ``stream``, from offset ``start``.

    ``head`` is what was already read from the stream (its first bytes). A
    damaged compressed stream ends the iteration early with ``result.truncated``
    set; what was read before the damage is still yielded. Chunks are about
    ``chunk_bytes`` (default ``CHUNK_BYTES``) long.
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    errors = DECOMPRESS_ERRORS + _zstd_error()
    pos = len(head)
    carry = head[start:] if start < pos else b""
    try:
        while pos < start:  # skip what an earlier run consumed
            skipped = stream.read(min(chunk_bytes, start - pos))
            if not skipped:
                break
            pos += len(skipped)
    except errors as exc:
        result.truncated = f"damaged before the resume offset: {exc}"
        result.end_offset = pos
        return
    offset = start if start <= len(head) else pos
    while True:
        try:
            block = stream.read(chunk_bytes)
        except errors as exc:
            result.truncated = str(exc) or type(exc).__name__
            block = b""
        cut = block.rfind(b"\n")
        if cut >= 0:
            # one copy: the carried line start and the block up to its last newline
            data = carry + memoryview(block)[: cut + 1] if carry else block if cut + 1 == len(block) else block[: cut + 1]
            yield Chunk(data, counting.count, offset)
            offset += len(data)
            carry = block[cut + 1 :]
        elif b"\n" in carry:  # what is left of the head, before the first block
            data = carry + block
            cut = data.rfind(b"\n")
            yield Chunk(data[: cut + 1], counting.count, offset)
            offset += cut + 1
            carry = data[cut + 1 :]
        else:
            carry = carry + block
        if not block or result.truncated:
            break
    if carry:
        if keep_partial or result.truncated:
            yield Chunk(carry, counting.count, offset)
            offset += len(carry)
        else:
            result.partial_tail = True
    result.end_offset = offset


def read_head(stream: BinaryIO, path: str, kind: str | None) -> bytes:
    """Read the first KiB of decompressed content (the identity check)."""
    try:
        data = stream.read(HEAD_BYTES)
    except DECOMPRESS_ERRORS + _zstd_error() as exc:
        raise UnreadableSource(f"{path}: {kind} stream is damaged at its start: {exc}") from exc
    return data or b""


def looks_binary(data: bytes) -> bool:
    """True for content that is not a text log (many NULs or control bytes)."""
    if not data:
        return False
    sample = data[:8192]
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bad > len(sample) * 0.05


def locate(rec: dict) -> str | None:
    """The file that holds a source's lines now, for a manifest record ``rec``: the first of the
    paths it was read from, or of their rotation siblings (``mail.log.1``, ``mail.log.2.gz`` ...),
    whose first bytes are still the source's. None when none is (rotated out and deleted)."""
    tried: list[str] = []
    for p in rec.get("paths") or []:
        if p == "<stdin>":
            continue
        siblings = sorted(glob.glob(glob.escape(rotation_base(p)) + "*"), key=rotation_key, reverse=True)
        tried.extend(c for c in [p, *siblings] if c not in tried)
    for c in tried:
        try:
            stream, _, kind = open_binary(_stat_source(c))
        except UnreadableSource:
            continue
        try:
            head = read_head(stream, c, kind)
        except UnreadableSource:
            continue
        finally:
            stream.close()
        if holds(rec, head):
            return c
    return None


def read_lines(path: str, first: int, last: int) -> list[tuple[int, str]]:
    """Lines ``first`` .. ``last`` (1-based, as ``line_no`` counts them) of a file, decompressed;
    bytes that are not UTF-8 come back as ``\\xNN``."""
    stream, _, _ = open_binary(_stat_source(path))
    out = []
    try:
        for n, raw in enumerate(stream, 1):
            if n > last:
                break
            if n >= first:
                out.append((n, raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")))
    finally:
        stream.close()
    return out


def lines_of(manifest: dict, source: str, line_no: int, context: int = 0) -> tuple[str, list[tuple[int, str]]]:
    """The file that holds a store's source now and its lines ``line_no`` ± ``context``: what a
    finding's example ``source:line_no`` points at. ``source`` is a source id or a unique prefix."""
    ids = [s for s in manifest["sources"] if s.startswith(source)] if source else []
    if len(ids) != 1:
        what = "no source" if not ids else f"{len(ids)} sources"
        raise NoSources(f"{what} in the store with id {source!r}; logscope status lists them")
    rec = manifest["sources"][ids[0]]
    path = locate(rec)
    if path is None and set(rec.get("paths") or []) <= {"<stdin>"}:
        raise UnreadableSource(f"source {ids[0]} was read from standard input, and the store keeps parsed fields, not the lines")
    if path is None:
        raise UnreadableSource(f"source {ids[0]} was read from {', '.join(rec.get('paths') or ['?'])}; no file there holds it "
                               "any more (rotated out and deleted?)")
    return path, read_lines(path, max(1, line_no - context), line_no + context)
