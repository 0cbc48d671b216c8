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

# The header is everything before the first ": " (fast path, no regex on the body).
HEADER_RE = "^" + _PRI + "(?:" + _TRAD + "|" + _ISO + r") (?P<host>\S+) " + _PROG + "$"
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


def _nulls_to_empty(a: pa.Array) -> pa.Array:
    return pc.fill_null(a, "")


def parse(lines: pa.Array, tz: str, years: YearState) -> Envelope:
    """Split each line into envelope fields and the message body.

    Pure except for advancing ``years``. Lines without a recognisable header get
    ``ok = False``; the caller keeps them as unparsed rows.
    """
    n = len(lines)
    host = np.full(n, None, dtype=object)
    fields: dict[str, list] = {}
    has_sep = pc.match_substring(lines, ": ")
    split = pc.split_pattern(pc.if_else(has_sep, lines, ""), ": ", max_splits=1)
    header = pc.list_element(pc.if_else(has_sep, split, pa.scalar([""], split.type)), 0)
    m = pc.extract_regex(header, HEADER_RE)
    fast = pc.and_(has_sep, m.is_valid()).to_numpy(zero_copy_only=False)

    # Assemble per-field arrays from the fast path, then patch the slow rows in.
    cols = {k: m.field(k) for k in ("mon", "day", "time", "iso", "host", "program", "pid")}
    body = pc.list_element(pc.if_else(has_sep, split, pa.scalar(["", ""], split.type)), 1)
    slow_idx = np.flatnonzero(~fast)
    syslogd = np.zeros(n, dtype=bool)
    ok = fast.copy()
    if len(slow_idx):
        slow_lines = lines.take(pa.array(slow_idx))
        patches = {k: np.array(cols[k].to_pylist(), dtype=object) for k in cols}
        body_np = np.array(body.to_pylist(), dtype=object)
        for pattern in (RFC5424_RE, FULL_RE):
            sm = pc.extract_regex(slow_lines, pattern)
            valid = sm.is_valid().to_numpy(zero_copy_only=False) & ~ok[slow_idx]
            if not valid.any():
                continue
            rows = slow_idx[valid]
            names = {f.name for f in sm.type}
            for k in patches:
                if k in names:
                    patches[k][rows] = np.array(sm.field(k).to_pylist(), dtype=object)[valid]
                else:
                    patches[k][rows] = ""
            body_np[rows] = np.array(pc.fill_null(sm.field("body"), "").to_pylist(), dtype=object)[valid]
            ok[rows] = True
        sd = pc.match_substring_regex(slow_lines, SYSLOGD_RE).to_numpy(zero_copy_only=False)
        syslogd[slow_idx[sd & ~ok[slow_idx]]] = True
        cols = {k: pa.array(v, pa.string()) for k, v in patches.items()}
        body = pa.array(body_np, pa.string())

    # Solaris: strip "[ID 197553 mail.info] "
    if pc.any(pc.starts_with(body, "[ID ")).as_py():
        body = pc.replace_substring_regex(body, SOLARIS_TAG_RE, "", max_replacements=1)
    ok_arr = pa.array(ok)
    ts = _timestamps(cols, ok, tz, years)
    pid_s = cols["pid"]
    pid = pc.cast(pc.if_else(pc.match_substring_regex(_nulls_to_empty(pid_s), r"^\d{1,9}$"), pid_s, None), pa.int32())
    null_if_bad = lambda a: pc.if_else(ok_arr, pc.if_else(pc.equal(a, ""), None, a), None)  # noqa: E731
    return Envelope(
        ok=ok,
        syslogd=syslogd,
        ts=ts,
        host=null_if_bad(cols["host"]),
        program=null_if_bad(cols["program"]),
        pid=pc.if_else(ok_arr, pid, None),
        body=pc.if_else(ok_arr, body, None),
    )


def _timestamps(cols: dict, ok: np.ndarray, tz: str, years: YearState) -> pa.Array:
    n = len(ok)
    out = np.zeros(n, dtype="int64")
    valid = np.zeros(n, dtype=bool)
    mon = _nulls_to_empty(cols["mon"])
    trad = ok & pc.not_equal(mon, "").to_numpy(zero_copy_only=False)
    iso = ok & ~trad
    if trad.any():
        idx = np.flatnonzero(trad)
        t_mon = mon.take(pa.array(idx))
        months = pc.add(pc.index_in(t_mon, pa.array(MONTHS)), 1).to_numpy(zero_copy_only=False).astype(np.int8)
        t_day = cols["day"].take(pa.array(idx))
        first_day = int(str(t_day[0].as_py()).strip() or 1)
        yrs = years.years_for(months, first_day)
        text = pc.binary_join_element_wise(
            pc.cast(pa.array(yrs), pa.string()), t_mon, pc.utf8_ltrim_whitespace(t_day), cols["time"].take(pa.array(idx)), " "
        )
        naive = pc.strptime(text, format="%Y %b %d %H:%M:%S", unit="us", error_is_null=True)
        local = to_utc(naive, tz)
        out[idx] = pc.fill_null(pc.cast(local, pa.int64()), 0).to_numpy(zero_copy_only=False)
        valid[idx] = local.is_valid().to_numpy(zero_copy_only=False)
    if iso.any():
        idx = np.flatnonzero(iso)
        text = pc.replace_substring(_nulls_to_empty(cols["iso"]).take(pa.array(idx)), " ", "T", max_replacements=1)
        has_zone = pc.match_substring_regex(text, r"(Z|[+-]\d\d(:?\d\d)?)$")
        # journalctl's +0100 -> +01:00; bare +01 -> +01:00
        text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        text = pc.replace_substring_regex(text, r"([+-]\d\d)$", r"\1:00")
        zoned = pc.cast(pc.if_else(has_zone, text, None), TS, safe=False) if pc.any(has_zone).as_py() else pa.nulls(len(idx), TS)
        naive_text = pc.if_else(has_zone, None, text)
        if pc.any(pc.invert(has_zone)).as_py():
            naive = pc.cast(naive_text, pa.timestamp("us"))
            zoned = pc.coalesce(zoned, to_utc(naive, tz))
        out[idx] = pc.fill_null(pc.cast(zoned, pa.int64()), 0).to_numpy(zero_copy_only=False)
        valid[idx] = zoned.is_valid().to_numpy(zero_copy_only=False)
    return pa.Array.from_pandas(out, mask=~valid, type=pa.int64()).cast(TS) if n else pa.array([], TS)


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
    line_year = pc.year(line_local)
    line_month = pc.month(line_local)
    mon = pc.add(pc.index_in(parts.field("mon"), pa.array(MONTHS)), 1)
    year = pc.if_else(pc.greater(mon, pc.add(line_month, 6)), pc.subtract(line_year, 1), line_year)
    s = pc.binary_join_element_wise(
        pc.cast(year, pa.string()), parts.field("mon"), pc.utf8_ltrim_whitespace(parts.field("day")), parts.field("time"), " "
    )
    naive = pc.strptime(s, format="%Y %b %d %H:%M:%S", unit="us", error_is_null=True)
    return to_utc(naive, tz)
