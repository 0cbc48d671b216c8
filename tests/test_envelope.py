"""The syslog envelope: every format of reference §1, UTC stamps, year inference."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from logscope import envelope

UTC = dt.timezone.utc


def _parse(lines, tz="UTC", anchor=dt.date(2026, 11, 27), **kw):
    env = envelope.parse(pa.array(lines, pa.string()), tz, envelope.YearState(anchor=anchor, **kw))
    return env


@pytest.mark.parametrize(
    "line,ts,host,program,pid,body",
    [
        ("Nov  6 10:00:01 mx1 postfix/smtpd[2001]: connect from a[192.0.2.1]", "2026-11-06T10:00:01", "mx1", "postfix/smtpd", 2001, "connect from a[192.0.2.1]"),
        ("Nov 06 10:00:01 mx1 postfix/smtpd[2001]: x", "2026-11-06T10:00:01", "mx1", "postfix/smtpd", 2001, "x"),
        ("2026-11-06T10:00:01.123456+01:00 mx1 postfix/smtpd[2001]: a: b", "2026-11-06T09:00:01.123456", "mx1", "postfix/smtpd", 2001, "a: b"),
        ("2026-11-06T10:00:01Z mx1 postfix/qmgr[7]: y", "2026-11-06T10:00:01", "mx1", "postfix/qmgr", 7, "y"),
        ("2026-11-06T10:00:01+0100 mx1 postfix/smtpd[2001]: z", "2026-11-06T09:00:01", "mx1", "postfix/smtpd", 2001, "z"),
        ("<22>Nov  6 10:00:01 mx1 postfix/smtpd[2001]: p", "2026-11-06T10:00:01", "mx1", "postfix/smtpd", 2001, "p"),
        ("<22>1 2026-11-06T10:00:01.1+01:00 mx1 postfix/smtpd 2001 - - msg: here", "2026-11-06T09:00:01.1", "mx1", "postfix/smtpd", 2001, "msg: here"),
        ('<22>1 2026-11-06T10:00:01+01:00 mx1 postfix/smtpd 2001 ID47 [a@1 k="v\\]"] m', "2026-11-06T09:00:01", "mx1", "postfix/smtpd", 2001, "m"),
        ("<22>1 2026-11-06T10:00:01+01:00 mx1 postfix/smtpd - - - m", "2026-11-06T09:00:01", "mx1", "postfix/smtpd", None, "m"),
        ("Nov  6 10:00:01 mx1 postfix/smtpd[2001]: [ID 197553 mail.info] connect from a[192.0.2.1]", "2026-11-06T10:00:01", "mx1", "postfix/smtpd", 2001, "connect from a[192.0.2.1]"),
        ("Nov  6 10:00:01 mx1 postfix/qmgr[3]:", "2026-11-06T10:00:01", "mx1", "postfix/qmgr", 3, ""),
        ("Nov  6 10:00:01 mx1 postfix-script: starting", "2026-11-06T10:00:01", "mx1", "postfix-script", None, "starting"),
    ],
)
def test_formats(line, ts, host, program, pid, body):
    env = _parse([line])
    assert env.ok[0]
    assert env.ts[0].as_py() == dt.datetime.fromisoformat(ts).replace(tzinfo=UTC)
    assert (env.host[0].as_py(), env.program[0].as_py(), env.pid[0].as_py(), env.body[0].as_py()) == (host, program, pid, body)


def test_impossible_iso_stamps_are_null_not_fatal():
    # like "Feb 30" in a traditional stamp: the line keeps its envelope, ts is null, the batch survives
    env = _parse([
        "2026-11-97T10:00:00+00:00 mx1 postfix/qmgr[1]: a",
        "2026-11-06T10:00:00+00:00 mx1 postfix/qmgr[1]: b",
        "2026-13-06T25:61:00 mx1 postfix/qmgr[1]: c",
        "2026-11-06T10:00:00 mx1 postfix/qmgr[1]: d",
    ])
    assert list(env.ok) == [True] * 4
    assert env.ts.to_pylist() == [None, dt.datetime(2026, 11, 6, 10, tzinfo=UTC), None, dt.datetime(2026, 11, 6, 10, tzinfo=UTC)]
    assert env.body.to_pylist() == ["a", "b", "c", "d"]


def test_local_zone_to_utc_and_dst():
    env = _parse(["Jul  1 12:00:00 h postfix/smtpd[1]: a", "Mar 29 02:30:00 h postfix/smtpd[1]: gap"], tz="Europe/Berlin", anchor=dt.date(2026, 11, 1))
    assert env.ts[0].as_py() == dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert env.ts[1].as_py() is not None  # nonexistent local time still gets a stamp


def test_not_syslog():
    env = _parse(["garbage", "", "Nov  6 10:00:01 mx1 last message repeated 3 times"])
    assert list(env.ok) == [False, False, False]
    assert list(env.syslogd) == [False, False, True]


def test_year_rollover_within_file():
    lines = ["Dec 31 23:59:58 h p/smtpd[1]: a", "Jan  1 00:00:01 h p/smtpd[1]: b", "Dec 31 23:59:59 h p/smtpd[1]: late", "Jan  2 00:00:00 h p/smtpd[1]: c"]
    env = _parse(lines, anchor=dt.date(2027, 1, 2))
    years = [t.as_py().year for t in env.ts]
    assert years == [2026, 2027, 2026, 2027]


def test_last_years_file_read_in_november():
    # a rotated file whose mtime is last December must not be dated this year
    env = _parse(["Dec 30 10:00:00 h p/smtpd[1]: a", "Dec 31 10:00:00 h p/smtpd[1]: b"], anchor=dt.date(2025, 12, 31))
    assert [t.as_py().year for t in env.ts] == [2025, 2025]


def test_first_line_after_anchor_is_last_year():
    env = _parse(["Dec 31 10:00:00 h p/smtpd[1]: a"], anchor=dt.date(2026, 11, 27))
    assert env.ts[0].as_py().year == 2025


def test_year_override():
    env = _parse(["Dec 31 10:00:00 h p/smtpd[1]: a", "Jan  1 10:00:00 h p/smtpd[1]: b"], fixed_year=2020)
    assert [t.as_py().year for t in env.ts] == [2020, 2021]


def test_state_carries_across_batches():
    st = envelope.YearState(anchor=dt.date(2027, 1, 5))
    envelope.parse(pa.array(["Dec 31 10:00:00 h p/smtpd[1]: a"]), "UTC", st)
    env = envelope.parse(pa.array(["Jan  1 10:00:00 h p/smtpd[1]: b"]), "UTC", st)
    assert env.ts[0].as_py().year == 2027


def test_embedded_stamp():
    line_ts = pa.array([dt.datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), dt.datetime(2026, 11, 6, 10, 8, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    out = envelope.stamp_to_utc(pa.array(["Dec 31 23:59:50", "Nov  6 10:07:33"]), line_ts, "UTC")
    assert out.to_pylist() == [dt.datetime(2026, 12, 31, 23, 59, 50, tzinfo=UTC), dt.datetime(2026, 11, 6, 10, 7, 33, tzinfo=UTC)]
    # impossible stamps are null, as in a line's own stamp (strptime used to roll Feb 31 into March)
    bad = envelope.stamp_to_utc(pa.array(["Feb 31 10:00:00", "Nov  6 24:00:00", "not a stamp"]), line_ts[1:].take([0, 0, 0]), "Europe/Berlin")
    assert bad.to_pylist() == [None, None, None]


def test_non_ascii_header_in_a_batch():
    """A header with non-ASCII text is cut by characters (the all-ASCII batch by bytes): same fields."""
    lines = ["Nov  6 10:00:01 mx1 postfix/smtpd[2001]: a", "Nov  6 10:00:02 mxé postfix/smtpd[2002]: b",
             "Nov  6 10:00:03 mx1 postfix/qmgr[3]: c"]
    mixed, plain = _parse(lines), _parse([lines[0], lines[2]])
    assert mixed.host.to_pylist() == ["mx1", "mxé", "mx1"]
    assert mixed.pid.to_pylist() == [2001, 2002, 3]
    assert mixed.ts[1].as_py() == dt.datetime(2026, 11, 6, 10, 0, 2, tzinfo=UTC)
    assert [mixed.body[i].as_py() for i in (0, 2)] == plain.body.to_pylist()
