"""The syslog envelope: time stamp, host, program and pid, for every format.

Formats (reference §1): traditional RFC 3164 (``Nov  6 10:00:01``, also
Postfix's own ``maillog_file``), RFC 3339 from rsyslog, journalctl short-iso
(``+0100`` offsets), a leading ``<PRI>``, true RFC 5424, and the Solaris
``[ID n fac.lvl]`` tag.

Traditional stamps carry no year and no zone. The year comes from a
:class:`YearState` that is anchored on the source's mtime and steps forward at
each Dec→Jan rollover; the zone is ``tz`` (an IANA name), and every stamp is
stored in UTC.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .schema import TS

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MON = "(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TRAD = _MON + r" (?P<day>[ \d]?\d) (?P<time>\d\d:\d\d:\d\d)(?:\.\d+)?"
_ISO = r"(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d(?::?\d\d)?)?)"
_PRI = r"(?:<\d{1,3}>(?:1 )?)?"
_PROG = r"(?P<program>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?"

# Lines whose header the fast path could not take: empty message, RFC 5424.
FULL_RE = (
    "^" + _PRI + "(?:" + _TRAD + "|" + _ISO + r") (?P<host>\S+) " + _PROG + r":(?: (?P<body>.*))?$"
)
RFC5424_RE = (
    r"^<\d{1,3}>1 (?P<iso>\S+) (?P<host>\S+) (?P<program>\S+) (?P<pid>\S+) \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(?P<body>.*)$"
)
# syslogd's own lines that carry no program: counted as skipped.
SYSLOGD_RE = "^" + _PRI + "(?:" + _TRAD + "|" + _ISO + r") \S+ (?:last message repeated \d+ times|-- MARK --|message repeated \d+ times.*)$"
SOLARIS_TAG_RE = r"^\[ID \d+ [a-z0-9]+\.[a-z]+\] "


def local_zone() -> str:
    """The machine's IANA zone name: $TZ, else /etc/localtime's target, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="ascii") as fh:
            name = fh.read().strip()
            if name:
                return name
    except OSError:
        pass
    return "UTC"


@dataclass
class YearState:
    """Where year inference stands within one source.

    ``year``/``month`` are those of the last traditional stamp seen; ``anchor``
    is the date the *first* stamp must not be later than (the file's mtime),
    used only while ``year`` is None. ``fixed_year`` (``--year``) is the year of
    the first line.
    """

    anchor: dt.date
    year: int | None = None
    month: int | None = None
    fixed_year: int | None = None

    def start(self, month: int, day: int) -> None:
        if self.fixed_year is not None:
            self.year = self.fixed_year
        else:
            a = self.anchor
            # one day of slack for zone differences between the stamp and the mtime
            later = (month, day) > (a.month, a.day + 1)
            self.year = a.year - 1 if later else a.year
        self.month = month

    def snapshot(self) -> "YearState":
        return YearState(self.anchor, self.year, self.month, self.fixed_year)

    def advance(self, chunk: bytes) -> None:
        """Step over a chunk of lines by its first and last traditional stamp only.

        Chunks are parsed out of order (in worker processes); each starts from the
        state this predicts. It equals :meth:`years_for`'s unless a chunk holds
        more than one Dec→Jan step or ends on a late line from last year.
        """
        first = _MONTH_NO.get(chunk[:3].decode("ascii", "replace"))
        cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
        last_line = chunk[cut + 1 :]
        last = _MONTH_NO.get(last_line[:3].decode("ascii", "replace"))
        if first is None or last is None:
            return
        if self.year is None:
            day = chunk[4:6].strip()
            self.start(first, int(day) if day.isdigit() else 1)
        self.years_for(np.array([first, last], dtype=np.int8), 1)

    def years_for(self, months: np.ndarray, first_day: int) -> np.ndarray:
        """Year of each traditional stamp, in file order; advances the state."""
        out = np.empty(len(months), dtype=np.int32)
        if len(months) == 0:
            return out
        if self.year is None:
            self.start(int(months[0]), first_day)
        year, cur = self.year, self.month
        # walk runs of equal month only: few per file
        edges = np.flatnonzero(np.diff(months)) + 1
        starts = np.concatenate(([0], edges))
        ends = np.concatenate((edges, [len(months)]))
        for s, e in zip(starts, ends):
            m = int(months[s])
            if m + 6 < cur:  # Dec -> Jan: a new year
                year += 1
                cur = m
                out[s:e] = year
            elif m > cur + 6:  # a late line from last December
                out[s:e] = year - 1
            else:
                cur = m
                out[s:e] = year
        self.year, self.month = year, cur
        return out


@dataclass
class Envelope:
    ok: np.ndarray  # bool: a syslog header was found
    syslogd: np.ndarray  # bool: syslogd's own line (counted as skipped)
    ts: pa.Array  # timestamp[us, UTC]
    host: pa.Array
    program: pa.Array
    pid: pa.Array  # int32
    body: pa.Array  # message after "program[pid]: "


# Fast path: validate without captures (RE2's DFA), then cut at fixed offsets or spaces.
# A traditional header is checked in two parts, each once per distinct value: its first
# 16 characters ("Nov  6 10:00:01 ", a few thousand per chunk) and the rest ("host prog[pid]").
TRAD_STAMP = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d $"
TRAD_REST = r"^\S+ [^\s\[\]:]+(?:\[\d+\])?$"
ISO_FAST = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d(?::?\d\d)?)? \S+ [^\s\[\]:]+(?:\[\d+\])?$"
_TAG = re.compile(r"^(\S+) ([^\s\[\]:]+)(?:\[(\d+)\])?$")
_MONTH_NO = {m: i + 1 for i, m in enumerate(MONTHS)}


def _np(a: pa.Array) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False)


def _second(split: pa.ListArray, two: np.ndarray | None = None) -> pa.Array:
    """Element 1 of each list; null where a list has one element (read through the offsets)."""
    offsets = _np(split.offsets)
    if two is None:
        two = np.diff(offsets) > 1
    idx = np.where(two, offsets[:-1] + 1, offsets[:-1])
    values = split.values.take(pa.array(idx))
    return values if two.all() else pc.if_else(pa.array(two), values, None)


def _valid_by_value(d: pa.DictionaryArray, pattern: str) -> np.ndarray:
    """match_substring_regex of each row, run once per distinct value."""
    hit = _np(pc.fill_null(pc.match_substring_regex(d.dictionary, pattern), False))
    return hit[_np(pc.fill_null(d.indices, 0))] & _np(d.is_valid()) if len(hit) else np.zeros(len(d), dtype=bool)


def has_header(head: bytes) -> bool:
    """True when a line of ``head`` (a file's first bytes) has an envelope :func:`parse` reads."""
    lines = [x.rstrip("\r") for x in head.decode("utf-8", "replace").split("\n") if x.strip()]
    if not lines:
        return False
    env = parse(pa.array(lines, pa.string()), "UTC", YearState(anchor=dt.date.today()))
    return bool(env.ok.any())


def parse(lines: pa.Array, tz: str, years: YearState) -> Envelope:
    """Split each line into envelope fields and the message body.

    Pure except for advancing ``years``. Lines without a recognisable header get
    ``ok = False``; the caller keeps them as unparsed rows.
    """
    n = len(lines)
    split = pc.split_pattern(lines, ": ", max_splits=1)
    has_sep = np.diff(_np(split.offsets)) > 1  # a ": " was found
    header = pc.list_element(split, 0)
    body = _second(split, has_sep)
    if pc.all(pc.string_is_ascii(header)).as_py():  # headers nearly always are: cut bytes, 4-9x cheaper
        raw = header.view(pa.binary())
        head16 = pc.dictionary_encode(pc.binary_slice(raw, 0, 16).view(pa.string()))  # the stamp and a space
        rest = pc.binary_slice(raw, 16, 1 << 30).view(pa.string())
    else:
        head16 = pc.dictionary_encode(pc.utf8_slice_codeunits(header, 0, 16))
        rest = pc.utf8_slice_codeunits(header, 16)
    rest_d = pc.dictionary_encode(rest)
    trad = has_sep & _valid_by_value(head16, TRAD_STAMP) & _valid_by_value(rest_d, TRAD_REST)
    if trad.all():
        iso = np.zeros(n, dtype=bool)
    else:
        iso = _np(pc.fill_null(pc.match_substring_regex(header, ISO_FAST), False)) & has_sep & ~trad
    stamp = head16
    iso_stamp = None
    if iso.any():
        iso_mask = pa.array(iso)
        parts = pc.split_pattern(header, " ", max_splits=1)
        iso_stamp = pc.if_else(iso_mask, pc.list_element(parts, 0), None)
        rest = pc.if_else(iso_mask, _second(parts), rest)
        rest_d = None
    fast = trad | iso
    if not fast.all():
        rest = pc.if_else(pa.array(fast), rest, None)
        rest_d = None

    slow_idx = np.flatnonzero(~fast)
    ok = fast.copy()
    syslogd = np.zeros(n, dtype=bool)
    slow_trad_stamp: dict[int, str] = {}
    if len(slow_idx):
        # rare shapes (PRI, RFC 5424, fractions, empty message): full regexes on those rows only
        slow_lines = lines.take(pa.array(slow_idx))
        rest_np = _np(rest).astype(object)
        body_np = _np(body).astype(object)
        iso_np = _np(iso_stamp).astype(object) if iso_stamp is not None else np.full(n, None, dtype=object)
        for pattern in (RFC5424_RE, FULL_RE):
            sm = pc.extract_regex(slow_lines, pattern)
            valid = _np(sm.is_valid()) & ~ok[slow_idx]
            if not valid.any():
                continue
            rows = slow_idx[valid]
            f = {name: np.array(sm.field(name).to_pylist(), dtype=object)[valid] for name in (x.name for x in sm.type)}
            pid = f.get("pid", np.full(len(rows), "", dtype=object))
            rest_np[rows] = [f"{h} {p}[{i}]" if i and i.isdigit() else f"{h} {p}" for h, p, i in zip(f["host"], f["program"], pid)]
            body_np[rows] = [b or "" for b in f["body"]]
            for r, mon, day, tm, isot in zip(rows, f.get("mon", [""] * len(rows)), f.get("day", [""] * len(rows)), f.get("time", [""] * len(rows)), f["iso"]):
                if mon:
                    slow_trad_stamp[int(r)] = f"{mon} {day.strip():>2} {tm}"
                    trad[r] = True
                else:
                    iso_np[r] = isot
                    iso[r] = True
            ok[rows] = True
        sd = _np(pc.match_substring_regex(slow_lines, SYSLOGD_RE))
        syslogd[slow_idx[sd & ~ok[slow_idx]]] = True
        rest = pa.array(rest_np, pa.string())
        body = pa.array(body_np, pa.string())
        iso_stamp = pa.array(iso_np, pa.string())
        if slow_trad_stamp:
            plain = pc.utf8_slice_codeunits(stamp.dictionary.take(stamp.indices), 0, 15)
            stamp = pc.dictionary_encode(pa.array(
                [slow_trad_stamp.get(i, v) for i, v in enumerate(plain.to_pylist())], pa.string()
            ))

    host, program, pid = _tags(rest_d if rest_d is not None else pc.dictionary_encode(rest))
    # Solaris: strip "[ID 197553 mail.info] "
    if pc.any(pc.starts_with(body, "[ID ")).as_py():
        body = pc.replace_substring_regex(body, SOLARIS_TAG_RE, "", max_replacements=1)
    ts = _timestamps(stamp, iso_stamp, trad, iso, tz, years)
    if ok.all():  # the usual case: nothing to mask
        return Envelope(ok=ok, syslogd=syslogd, ts=ts, host=host, program=program, pid=pid,
                        body=body if body.null_count == 0 else pc.fill_null(body, ""))
    ok_arr = pa.array(ok)
    return Envelope(
        ok=ok,
        syslogd=syslogd,
        ts=ts,
        host=pc.if_else(ok_arr, host, None),
        program=pc.if_else(ok_arr, program, None),
        pid=pc.if_else(ok_arr, pid, None),
        body=pc.if_else(ok_arr, pc.fill_null(body, ""), None),
    )


def _tags(d: pa.DictionaryArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``host program[pid]`` → three columns, parsed once per distinct value."""
    hosts, programs, pids = [], [], []
    for v in d.dictionary.to_pylist():
        m = _TAG.match(v) if v is not None else None
        if m is None:
            hosts.append(None), programs.append(None), pids.append(None)
            continue
        hosts.append(m.group(1))
        programs.append(m.group(2))
        pid = m.group(3)
        pids.append(int(pid) if pid and len(pid) < 10 else None)
    idx = d.indices
    return (
        pa.array(hosts, pa.string()).take(idx),
        pa.array(programs, pa.string()).take(idx),
        pa.array(pids, pa.int32()).take(idx),
    )


def _timestamps(stamp: pa.DictionaryArray, iso_stamp: pa.Array | None, trad: np.ndarray, iso: np.ndarray, tz: str, years: YearState) -> pa.Array:
    """UTC stamps; ``stamp`` holds each line's first 15+ characters, dictionary-encoded."""
    n = len(trad)
    out = np.zeros(n, dtype="int64")
    valid = np.zeros(n, dtype=bool)
    if trad.any():
        all_trad = trad.all()
        idx = None if all_trad else np.flatnonzero(trad)
        codes = _np(stamp.indices).astype(np.int64)
        if idx is not None:
            codes = codes[idx]
        u = stamp.dictionary  # distinct "Mmm dd HH:MM:SS" stamps, fixed width

        def field(a: int, b: int) -> np.ndarray:  # parsed once per distinct stamp, spread by code
            return _digits(pc.utf8_slice_codeunits(u, a, b))[codes]

        m = _month_no(pc.utf8_slice_codeunits(u, 0, 3))[codes]
        day = field(4, 6)
        yrs = years.years_for(m.astype(np.int8), int(day[0]) if day[0] > 0 else 1).astype(np.int64)
        utc = _civil_to_utc(yrs, m, day, field(7, 9), field(10, 12), field(13, 15), tz)
        if all_trad:
            return utc
        out[idx] = _np(pc.fill_null(pc.cast(utc, pa.int64()), 0))
        valid[idx] = _np(utc.is_valid())
    if iso.any():
        idx = np.flatnonzero(iso)
        text = pc.replace_substring(iso_stamp.take(pa.array(idx)), " ", "T", max_replacements=1)
        has_zone = pc.match_substring_regex(text, r"(Z|[+-]\d\d(:?\d\d)?)$")
        # journalctl's +0100 -> +01:00; bare +01 -> +01:00
        text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        text = pc.replace_substring_regex(text, r"([+-]\d\d)$", r"\1:00")
        zoned = _cast_or_null(pc.if_else(has_zone, text, None), TS) if pc.any(has_zone).as_py() else pa.nulls(len(idx), TS)
        if pc.any(pc.invert(has_zone)).as_py():
            naive = _cast_or_null(pc.if_else(has_zone, None, text), pa.timestamp("us"))
            zoned = pc.coalesce(zoned, to_utc(naive, tz))
        out[idx] = _np(pc.fill_null(pc.cast(zoned, pa.int64()), 0))
        valid[idx] = _np(zoned.is_valid())
    return pa.Array.from_pandas(out, mask=~valid, type=pa.int64()).cast(TS) if n else pa.array([], TS)


def _cast_or_null(text: pa.Array, typ: pa.DataType) -> pa.Array:
    """ISO stamp texts cast to ``typ``; a text that is no valid time (2026-11-97T..., hour 25) is
    null, like an impossible traditional stamp, instead of failing the whole batch."""
    try:
        return pc.cast(text, typ, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        d = pc.dictionary_encode(text)
        one = []
        for v in d.dictionary.to_pylist():  # rare: only batches that hold a bad stamp
            try:
                one.append(pa.array([v]).cast(typ, safe=False)[0].value)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                one.append(None)
        return pa.array(one, pa.int64()).cast(typ).take(d.indices)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), vectorised."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
    return days + ((m == 2) & leap)


def to_utc(naive: pa.Array, tz: str) -> pa.Array:
    """Local wall-clock times in ``tz`` to UTC; DST gaps and folds take the earlier instant."""
    if tz in ("UTC", "Etc/UTC", "Z"):
        return pc.cast(naive, TS)
    zoned = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return pc.cast(zoned, TS)


def stamp_to_utc(text: pa.Array, line_ts: pa.Array, tz: str) -> pa.Array:
    """A traditional stamp embedded in a message (anvil's ``at Nov  6 10:07:33``).

    The year is that of the line it sits in, minus one when the stamp's month is
    more than six months after the line's (a December stamp logged in January).
    """
    if len(text) == 0:
        return pa.array([], TS)
    parts = pc.extract_regex(text, "^" + _TRAD + "$")
    line_local = pc.local_timestamp(pc.cast(line_ts, pa.timestamp("us", tz=tz))) if tz not in ("UTC", "Etc/UTC") else line_ts
    line_year = _np(pc.fill_null(pc.year(line_local), 1970)).astype(np.int64)
    line_month = _np(pc.fill_null(pc.month(line_local), 1)).astype(np.int64)
    m = _month_no(parts.field("mon"))
    years = np.where(m > line_month + 6, line_year - 1, line_year)
    hh, mm, ss = (_digits(pc.utf8_slice_codeunits(parts.field("time"), i, i + 2)) for i in (0, 3, 6))
    known = _np(parts.is_valid()) & _np(line_local.is_valid())
    return _civil_to_utc(years, m, _digits(parts.field("day")), hh, mm, ss, tz, known)


def _digits(a: pa.Array) -> np.ndarray:
    """Numbers from texts of digits (surrounding spaces ignored); -1 for anything else or null."""
    a = pc.utf8_trim_whitespace(a)
    return _np(pc.fill_null(pc.cast(pc.if_else(pc.match_substring_regex(a, r"^\d+$"), a, "-1"), pa.int64()), -1))


def _month_no(a: pa.Array) -> np.ndarray:
    """1-12 for "Jan".."Dec", 0 for anything else."""
    return _np(pc.fill_null(pc.index_in(a, pa.array(MONTHS)), -1)).astype(np.int64) + 1


def _civil_to_utc(years: np.ndarray, m: np.ndarray, day: np.ndarray, hh: np.ndarray, mm: np.ndarray, ss: np.ndarray,
                  tz: str, known: np.ndarray | None = None) -> pa.Array:
    """UTC timestamps of local civil times in ``tz``; null where the date or the time is impossible
    (Feb 30, hour 25, a -1 field) or not ``known``. Shared by line stamps and embedded stamps."""
    good = (m >= 1) & (m <= 12) & (day >= 1) & (day <= _month_days(years, np.clip(m, 1, 12)))
    good &= (hh >= 0) & (hh < 24) & (mm >= 0) & (mm < 60) & (ss >= 0) & (ss < 61)  # :60 is a leap second
    if known is not None:
        good &= known
    secs = _days_from_civil(years, np.clip(m, 1, 12), np.maximum(day, 1)) * 86400 + hh * 3600 + mm * 60 + ss
    naive = pa.array(secs * 1_000_000, pa.int64(), mask=~good).cast(pa.timestamp("us"))
    return to_utc(naive, tz)
