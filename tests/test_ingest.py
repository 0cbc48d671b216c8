"""Ingest: idempotence, rotation, compression, crash safety, locking and bad input.

Every test goes through real files and a real Parquet store, and checks the
store through DuckDB.
"""
import bz2
import datetime as dt
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

import logscope
from conftest import cli, log_lines, write


def rows(store) -> tuple[int, int]:
    con = logscope.open(store)
    return con.execute("select count(*) from events").fetchone()[0], con.execute("select count(*) from unparsed").fetchone()[0]


def content(store) -> list[tuple]:
    con = logscope.open(store)
    return con.execute("select source, line_no, kind, ts, client_ip from events order by source, line_no").fetchall()


def reconciled(store) -> dict:
    st = logscope.status(store)
    assert st["reconciliation"]["ok"], st["reconciliation"]
    return st["reconciliation"]


def test_reingest_adds_nothing(tmp_path):
    log = write(tmp_path / "mail.log", log_lines(400), dt.datetime(2026, 11, 27, 12))
    first = logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    assert first.lines == 400 and first.total("skipped") == 100
    before = content(tmp_path / "st")
    again = logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    assert again.lines == 0 and again.sources[0].state == "unchanged"
    assert content(tmp_path / "st") == before
    assert reconciled(tmp_path / "st")["lines_read"] == 400


def test_grown_file_adds_only_its_tail(tmp_path):
    lines = log_lines(300)
    log = write(tmp_path / "mail.log", lines[:200], dt.datetime(2026, 11, 27, 12))
    logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    write(log, lines, dt.datetime(2026, 11, 27, 12))
    rep = logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    assert rep.lines == 100 and rep.sources[0].state == "grown"
    logscope.ingest([str(write(tmp_path / "all.log", lines, dt.datetime(2026, 11, 27, 12)))], tmp_path / "clean", tz="UTC")
    con = logscope.open(tmp_path / "st")
    assert con.execute("select count(*), count(distinct line_no), max(line_no) from events").fetchone() == logscope.open(tmp_path / "clean").execute(
        "select count(*), count(distinct line_no), max(line_no) from events"
    ).fetchone()
    reconciled(tmp_path / "st")


@pytest.mark.parametrize("extra_before_rotation", [0, 40])
def test_rotation_rename_and_compress_adds_no_duplicates(tmp_path, extra_before_rotation):
    logs = tmp_path / "log"
    logs.mkdir()
    lines = log_lines(500)
    live = write(logs / "mail.log", lines[:300], dt.datetime(2026, 11, 27, 12))
    logscope.ingest([str(live)], tmp_path / "st", tz="UTC")
    # Postfix writes a little more, logrotate renames and compresses, a new file starts
    rotated_part = lines[: 300 + extra_before_rotation]
    with gzip.open(logs / "mail.log.1.gz", "wt") as fh:
        fh.write("".join(l + "\n" for l in rotated_part))
    live.unlink()
    write(logs / "mail.log", lines[300 + extra_before_rotation :], dt.datetime(2026, 11, 27, 13))
    rep = logscope.ingest([str(logs)], tmp_path / "st", tz="UTC")
    states = {Path(s.path).name: s.state for s in rep.sources}
    assert states["mail.log.1.gz"] in ("rotated", "unchanged")
    assert rep.lines == 500 - 300
    # same rows as one clean run over the whole content
    write(tmp_path / "whole.log", lines, dt.datetime(2026, 11, 27, 13))
    logscope.ingest([str(tmp_path / "whole.log")], tmp_path / "clean", tz="UTC")
    assert rows(tmp_path / "st") == rows(tmp_path / "clean")
    con = logscope.open(tmp_path / "st")
    assert con.execute("select count(*) from (select ts, pid, kind, client_ip, line_no from events group by all having count(*) > 1)").fetchone()[0] == 0
    reconciled(tmp_path / "st")


@pytest.mark.parametrize(
    "name,opener",
    [
        ("a.log", lambda p: gzip.open(p, "wb")),  # gzip under a plain name: detected by magic
        ("b.gz", lambda p: bz2.open(p, "wb")),  # bzip2 under a gzip name
        ("c.xz", lambda p: lzma.open(p, "wb")),
        ("d.zst", lambda p: zstandard.open(p, "wb")),
        ("e.log", lambda p: open(p, "wb")),
    ],
)
def test_compression_by_magic(tmp_path, name, opener):
    lines = log_lines(50)
    with opener(tmp_path / name) as fh:
        fh.write("".join(l + "\n" for l in lines).encode())
    rep = logscope.ingest([str(tmp_path / name)], tmp_path / "st", tz="UTC")
    assert rep.lines == 50
    assert rep.total("skipped") == sum("dovecot" in l for l in lines)
    assert sum(rows(tmp_path / "st")) + rep.total("skipped") == 50


def test_rotated_set_is_read_oldest_first(tmp_path):
    lines = log_lines(90)
    with gzip.open(tmp_path / "mail.log.2.gz", "wt") as fh:
        fh.write("".join(l + "\n" for l in lines[:30]))
    write(tmp_path / "mail.log.1", lines[30:60])
    write(tmp_path / "mail.log", lines[60:])
    rep = logscope.ingest([str(tmp_path / "mail.log*")], tmp_path / "st", tz="UTC")
    assert [Path(s.path).name for s in rep.sources] == ["mail.log.2.gz", "mail.log.1", "mail.log"]
    from logscope.sources import rotation_key

    names = ["maillog-20261103.gz", "maillog", "maillog-20261101.gz", "maillog-20261102"]
    assert sorted(names, key=rotation_key) == ["maillog-20261101.gz", "maillog-20261102", "maillog-20261103.gz", "maillog"]


def test_year_from_mtime_across_new_year(tmp_path):
    lines = ["Dec 31 23:59:59 mx postfix/qmgr[1]: ABCDEF1: removed", "Jan  1 00:00:01 mx postfix/qmgr[1]: ABCDEF2: removed"]
    log = write(tmp_path / "mail.log.1", lines, dt.datetime(2027, 1, 1, 0, 5))
    logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    con = logscope.open(tmp_path / "st")
    got = [r[0] for r in con.execute("select year(ts) from (select ts, line_no from events union all select ts, line_no from unparsed) order by line_no").fetchall()]
    assert got == [2026, 2027]


def test_stdin_and_rerun(tmp_path):
    data = "".join(l + "\n" for l in log_lines(60)).encode()
    store = str(tmp_path / "st")
    r1 = cli("ingest", "--tz", "UTC", "--store", store, "--format", "json", "-", stdin=data)
    assert r1.returncode == 0, r1.stderr
    assert json.loads(r1.stdout)["lines"] == 60
    r2 = cli("ingest", "--tz", "UTC", "--store", store, "--format", "json", "-", stdin=data)
    assert json.loads(r2.stdout)["lines"] == 0


def test_concurrent_ingests_do_not_double(tmp_path):
    log = write(tmp_path / "mail.log", log_lines(20000), dt.datetime(2026, 11, 27, 20))
    store = str(tmp_path / "st")
    procs = [
        subprocess.Popen([sys.executable, "-m", "logscope", "ingest", "--tz", "UTC", "-q", "--store", store, str(log)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        assert p.wait(120) == 0
    assert reconciled(store)["lines_read"] == 20000


def test_kill_9_mid_ingest_then_rerun_equals_clean_run(tmp_path):
    lines = log_lines(400_000)
    log = write(tmp_path / "mail.log", lines, dt.datetime(2026, 11, 27, 20))
    store = tmp_path / "st"
    p = subprocess.Popen([sys.executable, "-m", "logscope", "ingest", "--tz", "UTC", "-q", "--store", str(store), str(log)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any((store / ".staging").glob("*/*/*/*.parquet")):
        time.sleep(0.02)
    assert p.poll() is None, "ingest finished before it could be killed; make the input larger"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert rows(store) == (0, 0)  # nothing half-written is visible
    logscope.ingest([str(log)], store, tz="UTC")
    logscope.ingest([str(log)], tmp_path / "clean", tz="UTC")
    assert rows(store) == rows(tmp_path / "clean")
    assert content(store) == content(tmp_path / "clean")
    assert not (store / ".staging").exists()
    reconciled(store)


# -- bad input: each gets a clear message, nothing already ingested is lost --------------


def test_binary_garbage_is_refused_but_others_are_read(tmp_path):
    good = write(tmp_path / "mail.log", log_lines(20))
    bad = tmp_path / "core"
    bad.write_bytes(bytes(range(256)) * 40)
    r = cli("ingest", "--tz", "UTC", "--store", str(tmp_path / "st"), str(bad), str(good))
    assert r.returncode == 0
    assert b"binary" in r.stderr
    r = cli("ingest", "--tz", "UTC", "--store", str(tmp_path / "st2"), str(bad))
    assert r.returncode == 2 and b"nothing could be read" in r.stderr


def test_invalid_utf8_and_nul_are_kept(tmp_path):
    lines = [l.encode() for l in log_lines(4)]
    lines[1] = b"Nov 27 10:00:01 mx postfix/cleanup[9]: ABCDEF1: warning: header Subject: caf\xe9 \xff from x[192.0.2.1]"
    lines[2] = b"Nov 27 10:00:02 mx postfix/smtpd[9]: connect from a\x00b[192.0.2.1]"
    (tmp_path / "m.log").write_bytes(b"\n".join(lines) + b"\n")
    r = cli("ingest", "--tz", "UTC", "--format", "json", "--store", str(tmp_path / "st"), str(tmp_path / "m.log"))
    assert r.returncode == 0 and b"not valid UTF-8" in r.stderr
    assert json.loads(r.stdout)["lines"] == 4
    con = logscope.open(tmp_path / "st")
    raw = con.execute("select string_agg(coalesce(detail, '') || coalesce(raw, ''), '|') from (select detail, null as raw from events union all select null, raw from unparsed)").fetchone()[0]
    assert "\\xe9" in raw or "\\xff" in raw
    reconciled(tmp_path / "st")


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    data = gzip.compress("".join(l + "\n" for l in log_lines(5000)).encode())
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    r = cli("ingest", "--tz", "UTC", "--format", "json", "--store", str(tmp_path / "st"), str(tmp_path / "cut.gz"))
    assert r.returncode == 0, r.stderr
    assert b"ends early" in r.stderr
    n = json.loads(r.stdout)["lines"]
    assert 0 < n < 5000
    reconciled(tmp_path / "st")


def test_one_megabyte_line(tmp_path):
    lines = log_lines(3)
    lines.insert(1, "Nov 27 10:00:00 mx postfix/smtpd[1]: " + "A" * (1 << 20))
    write(tmp_path / "big.log", lines)
    rep = logscope.ingest([str(tmp_path / "big.log")], tmp_path / "st", tz="UTC")
    assert rep.lines == 4
    con = logscope.open(tmp_path / "st")
    reason, length = con.execute("select reason, length(raw) from unparsed where line_no = 2").fetchone()
    assert "longer than" in reason and length == 64 << 10


def test_empty_and_unreadable(tmp_path):
    (tmp_path / "empty.log").write_bytes(b"")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.log")
    r = cli("ingest", "--tz", "UTC", "--store", str(tmp_path / "st"), str(tmp_path / "empty.log"), str(tmp_path / "dangling.log"))
    assert b"empty" in r.stderr and b"dangling.log" in r.stderr
    r = cli("ingest", "--tz", "UTC", "--store", str(tmp_path / "st"), str(tmp_path / "no-such.log"))
    assert r.returncode == 2 and b"no such file" in r.stderr


def test_directory_and_glob_skip_files_that_are_not_logs(tmp_path):
    """/var/log holds README, dpkg.log ...: a directory or glob reads only files with log lines;
    a file named on its own is read whatever it holds (its lines kept as unparsed)."""
    d = tmp_path / "log"
    d.mkdir()
    write(d / "mail.log", log_lines(40))
    write(d / "README", ["You are looking for the traditional text log files in /var/log."] * 3)
    write(d / "dpkg.log", [f"2026-11-27 10:00:0{i} status installed libc6:amd64 2.41-12" for i in range(5)])
    # a journalctl export opens with a line that is not a log line; the next ones are
    write(d / "journal.txt", ["-- Journal begins at Thu 2026-11-26 10:00:00 UTC. --"] + log_lines(5))
    for paths in ([str(d)], [str(d / "*")]):
        store = tmp_path / f"st{len(paths[0])}"
        rep = logscope.ingest(paths, store, tz="UTC")
        state = {Path(s.path).name: s.state for s in rep.sources}
        assert state == {"mail.log": "new", "README": "not_a_log", "dpkg.log": "not_a_log", "journal.txt": "new"}
        assert rows(store)[1] == 1  # the journal's banner line; nothing from README or dpkg.log
        assert any("not a mail log" in w for s in rep.sources for w in s.warnings)
        reconciled(store)
    # named, it is read: 3 unparsed lines, kept with their reason
    rep = logscope.ingest([str(d / "README")], tmp_path / "named", tz="UTC")
    assert rep.sources[0].state == "new" and rows(tmp_path / "named") == (0, 3)
    # named and found in the same run: named wins
    rep = logscope.ingest([str(d), str(d / "README")], tmp_path / "both", tz="UTC")
    assert {Path(s.path).name: s.state for s in rep.sources}["README"] == "new"


def test_show_prints_the_cited_line_after_rotation(tmp_path):
    """logscope show SOURCE:LINE prints the line a finding cites, from wherever the file is now."""
    lines = log_lines(30)
    lines[11] = "Nov 27 10:00:11 mx postfix/smtpd[7]: warning: hostile \x1b[31mred\x07 HELO"
    log = write(tmp_path / "mail.log", lines)
    logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    sid = json.loads(cli("status", "--format", "json", "--store", str(tmp_path / "st")).stdout)["sources"][0]["id"]
    store = ["--store", str(tmp_path / "st")]

    r = cli("show", f"{sid}:5", "-C", "1", *store)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [f"{log}-4- {lines[3]}", f"{log}:5: {lines[4]}", f"{log}-6- {lines[5]}"]
    r = cli("show", f"{sid[:6]}:12", *store)  # a prefix of the id; control characters escaped
    assert r.stdout.decode() == f"{log}:12: Nov 27 10:00:11 mx postfix/smtpd[7]: warning: hostile \\x1b[31mred\\x07 HELO\n"

    # rotated and compressed since: found by its first bytes among mail.log's siblings
    rotated = tmp_path / "mail.log.1.gz"
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    write(log, log_lines(5, dt.datetime(2026, 11, 28, 10)))  # a new live file with other lines
    r = cli("show", f"{sid}:30", *store)
    assert r.stdout.decode() == f"{rotated}:30: {lines[29]}\n", r.stderr

    rotated.unlink()
    r = cli("show", f"{sid}:30", *store)
    assert r.returncode == 2 and b"rotated out and deleted" in r.stderr
    r = cli("show", "ffffffff:1", *store)
    assert r.returncode == 2 and b"no source" in r.stderr
    cli("ingest", "--tz", "UTC", *store, "-", stdin="".join(l + "\n" for l in log_lines(3, dt.datetime(2026, 11, 29))).encode())
    piped = [s["id"] for s in json.loads(cli("status", "--format", "json", *store).stdout)["sources"] if s["id"] != sid]
    r = cli("show", f"{piped[0]}:1", *store)
    assert r.returncode == 2 and b"standard input" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a mode-000 file")
def test_permission_denied(tmp_path):
    p = write(tmp_path / "secret.log", log_lines(3))
    p.chmod(0)
    r = cli("ingest", "--tz", "UTC", "--store", str(tmp_path / "st"), str(p))
    assert r.returncode == 2 and b"permission denied" in r.stderr


def test_status_reconciles(tmp_path):
    write(tmp_path / "mail.log", log_lines(40) + ["garbage line"])
    logscope.ingest([str(tmp_path / "mail.log")], tmp_path / "st", tz="UTC")
    r = cli("status", "--format", "json", "--store", str(tmp_path / "st"))
    st = json.loads(r.stdout)
    assert r.returncode == 0 and st["reconciliation"]["lines_read"] == 41
    assert {u["reason"] for u in st["unparsed"]} >= {"no syslog header"}
    r = cli("status", "--store", str(tmp_path / "st"))
    assert b"reconciliation" in r.stdout


@pytest.mark.parametrize("threaded", [False, True], ids=["forked", "forkserver"])
def test_worker_processes_give_the_same_store(tmp_path, threaded, monkeypatch):
    """Workers are forked from a single-threaded caller; a caller with other threads running
    (Jupyter, an application) gets forkserver workers. Both give the store one process gives."""
    import multiprocessing
    import threading

    methods = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda m=None: methods.append(m) or real(m))

    lines = log_lines(30000) + ["Dec 31 23:59:59 mx postfix/qmgr[1]: ABCDEF9: removed", "Jan  1 00:00:01 mx postfix/qmgr[1]: ABCDEFA: removed"]
    log = write(tmp_path / "mail.log", lines, dt.datetime(2027, 1, 1, 1))
    import logscope.sources as sources

    old = sources.CHUNK_BYTES
    sources.CHUNK_BYTES = 256 << 10  # many chunks, so workers finish out of order
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    try:
        logscope.ingest([str(log)], tmp_path / "one", tz="UTC", workers=0)
        if threaded:
            other.start()
        alone = threading.active_count() == 1
        logscope.ingest([str(log)], tmp_path / "two", tz="UTC", workers=2)
    finally:
        stop.set()
        sources.CHUNK_BYTES = old
    assert methods == ["fork" if alone else "forkserver"]
    assert alone or threaded  # pytest itself runs no other thread here
    assert content(tmp_path / "one") == content(tmp_path / "two")
    con = logscope.open(tmp_path / "two")
    assert con.execute("select min(year(ts)), max(year(ts)) from events").fetchone() == (2026, 2027)


def test_store_written_before_a_new_column_still_opens(tmp_path):
    import pyarrow.parquet as pq

    write(tmp_path / "mail.log", log_lines(40))
    logscope.ingest([str(tmp_path / "mail.log")], tmp_path / "st", tz="UTC")
    for f in logscope.Store(tmp_path / "st").files("events"):  # as an older logscope wrote them
        pq.write_table(pq.read_table(f).drop_columns(["orig_queue_id"]), f)
    con = logscope.open(tmp_path / "st")
    assert con.execute("select count(*), count(orig_queue_id) from events").fetchone() == (30, 0)
    # then a newer logscope adds files with the column: old and new files are read together
    write(tmp_path / "new.log", ["Nov  6 10:00:00 mx postfix/smtpd[9]: 4ABCDEF9: client=x[192.0.2.9], orig_queue_id=3ABCDEF8, orig_client=y[192.0.2.8]"])
    logscope.ingest([str(tmp_path / "new.log")], tmp_path / "st", tz="UTC", year=2026)
    con = logscope.open(tmp_path / "st")
    assert con.execute("select count(*), count(orig_queue_id) from events").fetchone() == (31, 1)


def test_program_parses_without_pandas_library_keeps_it(tmp_path):
    """The logscope program parses a small file in its own process without pyarrow importing
    pandas (0.45 s); the library, as a notebook uses it, still gets pandas afterwards."""
    write(tmp_path / "mail.log", log_lines(40))
    program = ("import sys; from logscope import cli; sys.argv = ['logscope', 'ingest', '-q', '--tz', 'UTC', '--store', %r, %r]\n"
               "import os; os._exit = lambda code: (print('pandas' in sys.modules, code), sys.stdout.flush(), os.kill(os.getpid(), 9))\n"
               "cli.main()") % (str(tmp_path / "a"), str(tmp_path / "mail.log"))
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "0"], out.stderr
    library = ("import sys, logscope; logscope.ingest([%r], %r, tz='UTC')\n"
               "print(logscope.open(%r).sql('select count(*) as n from events').df().n[0])") % (
        str(tmp_path / "mail.log"), str(tmp_path / "b"), str(tmp_path / "b"))
    out = subprocess.run([sys.executable, "-c", library], capture_output=True, text=True)
    assert out.stdout.strip() == "30", out.stderr


def test_buckets_are_utc_whatever_the_machine_zone(tmp_path):
    write(tmp_path / "mail.log", ["2026-11-06T23:30:00+00:00 mx postfix/qmgr[1]: ABCDEF1: removed"])
    logscope.ingest([str(tmp_path / "mail.log")], tmp_path / "st", tz="UTC")
    code = "import logscope; print(logscope.open(%r).execute(\"select date_trunc('day', ts)::date from events\").fetchone()[0])" % str(tmp_path / "st")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, TZ="Asia/Tokyo"))
    assert out.stdout.strip() == "2026-11-06", out.stderr


def test_file_slice_notices_a_rewritten_file(tmp_path):
    """Workers re-read a plain file's chunk; a chunk whose bytes changed is not parsed there."""
    import datetime as dt

    from logscope import envelope
    from logscope.ingest import FileSlice, _edges, parse_chunk

    log = tmp_path / "mail.log"
    data = b"Nov  6 10:00:01 mx1 postfix/smtpd[1]: connect from a[192.0.2.1]\n" * 3
    log.write_bytes(data)
    years = envelope.YearState(anchor=dt.date(2026, 11, 27))
    staging = tmp_path / "staging"
    good = FileSlice(str(log), 0, len(data), _edges(data))
    assert good.read() == data
    done = parse_chunk(good, "s", 1, "UTC", years.snapshot(), str(staging), "t-1")
    assert (done.lines, done.events) == (3, 3)
    log.write_bytes(data.replace(b"a[192", b"b[192"))
    assert parse_chunk(good, "s", 1, "UTC", years.snapshot(), str(staging), "t-2") is None
    log.write_bytes(data[:10])
    assert good.read() is None


def files_of(store) -> dict[str, int]:
    m = json.loads((Path(store) / "manifest.json").read_text())
    return {ds: sum(len(c["files"].get(ds, [])) for c in m["commits"]) for ds in ("events", "unparsed")}


def test_many_small_ingests_are_merged(tmp_path):
    """A cron every few minutes adds a file per run: past COMPACT_AT files a day partition is
    merged into one. The store equals one ingest of the whole file, the manifest folds the
    records of merged ingests, and status still counts every ingest."""
    from logscope.store import COMPACT_AT

    lines = log_lines(40 * (COMPACT_AT + 4))
    log = tmp_path / "mail.log"
    runs = 0
    for k in range(40, len(lines) + 1, 40):
        write(log, lines[:k], dt.datetime(2026, 11, 27, 12))
        rep = logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
        runs += 1
        assert rep.lines == 40
        if runs == COMPACT_AT + 1:
            assert rep.merged == {"partitions": 1, "files_before": COMPACT_AT + 1, "files_after": 1, "rows": 30 * runs}
    assert files_of(tmp_path / "st")["events"] == 1 + (runs - COMPACT_AT - 1)
    logscope.ingest([str(write(tmp_path / "all.log", lines, dt.datetime(2026, 11, 27, 12)))], tmp_path / "one", tz="UTC")
    assert content(tmp_path / "st") == content(tmp_path / "one")
    assert reconciled(tmp_path / "st")["lines_read"] == len(lines)
    m = json.loads((tmp_path / "st" / "manifest.json").read_text())
    assert len(m["commits"]) == 1 + (runs - COMPACT_AT - 1)
    assert m["commits"][0]["folded"]["commits"] == COMPACT_AT + 1
    assert logscope.status(tmp_path / "st")["commits"] == runs
    # leftovers: no staging, no file the manifest does not list
    assert not (tmp_path / "st" / ".staging").exists()
    assert len(list((tmp_path / "st" / "events").glob("*/*.parquet"))) == files_of(tmp_path / "st")["events"]


def test_compact_command_merges_every_day_and_is_idempotent(tmp_path):
    for d in range(3):  # two files per day, each ingested on its own: two files in each day partition
        lines = log_lines(60, dt.datetime(2026, 11, 25 + d, 10))
        for h, half in enumerate((lines[:30], lines[30:])):
            log = write(tmp_path / f"day{d}-part{h}.log", half, dt.datetime(2026, 11, 28))
            logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    assert files_of(tmp_path / "st")["events"] == 6
    before = content(tmp_path / "st")
    out = cli("compact", "--store", str(tmp_path / "st"), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"partitions": 3, "files_before": 6, "files_after": 3, "rows": 135}
    assert files_of(tmp_path / "st")["events"] == 3 and content(tmp_path / "st") == before
    reconciled(tmp_path / "st")
    again = cli("compact", "--store", str(tmp_path / "st"))
    assert again.returncode == 0 and b"nothing to merge" in again.stdout
    assert cli("compact", "--store", str(tmp_path / "nowhere")).returncode == 2


def test_compact_crash_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    from logscope import store as store_mod

    log = tmp_path / "mail.log"
    lines = log_lines(120)
    for k in (40, 80, 120):
        write(log, lines[:k], dt.datetime(2026, 11, 27, 12))
        logscope.ingest([str(log)], tmp_path / "st", tz="UTC")
    manifest = (tmp_path / "st" / "manifest.json").read_bytes()
    before = content(tmp_path / "st")
    real = store_mod._merge
    calls = []

    def crash(files, dest, dataset):
        calls.append(real(files, dest, dataset))  # the merged file is written, then the run dies
        raise KeyboardInterrupt

    monkeypatch.setattr(store_mod, "_merge", crash)
    with pytest.raises(KeyboardInterrupt):
        logscope.Store(tmp_path / "st").compact()
    assert calls and (tmp_path / "st" / "manifest.json").read_bytes() == manifest
    assert content(tmp_path / "st") == before
    monkeypatch.setattr(store_mod, "_merge", real)
    assert logscope.Store(tmp_path / "st").compact()["files_after"] == 1
    assert content(tmp_path / "st") == before and files_of(tmp_path / "st")["events"] == 1


def test_merge_fills_columns_an_older_logscope_did_not_write(tmp_path):
    import pyarrow.parquet as pq

    write(tmp_path / "mail.log", log_lines(40))
    logscope.ingest([str(tmp_path / "mail.log")], tmp_path / "st", tz="UTC")
    for f in logscope.Store(tmp_path / "st").files("events"):
        pq.write_table(pq.read_table(f).drop_columns(["orig_queue_id"]), f)
    write(tmp_path / "new.log", ["Nov  6 10:00:00 mx postfix/smtpd[9]: 4ABCDEF9: client=x[192.0.2.9], orig_queue_id=3ABCDEF8, orig_client=y[192.0.2.8]"])
    logscope.ingest([str(tmp_path / "new.log")], tmp_path / "st", tz="UTC", year=2026)
    logscope.Store(tmp_path / "st").compact()
    con = logscope.open(tmp_path / "st")
    assert con.execute("select count(*), count(orig_queue_id) from events").fetchone() == (31, 1)


def test_large_files_are_not_merged_by_ingest(tmp_path, monkeypatch):
    """Only small files count: the chunk files of a large ingest stay as they are."""
    import importlib

    from logscope.store import COMPACT_AT

    ingest_mod = importlib.import_module("logscope.ingest")
    monkeypatch.setattr(ingest_mod, "SMALL_FILE", 1)  # every file is "large"
    lines = log_lines(10 * (COMPACT_AT + 2))
    log = tmp_path / "mail.log"
    for k in range(10, len(lines) + 1, 10):
        write(log, lines[:k], dt.datetime(2026, 11, 27, 12))
        assert logscope.ingest([str(log)], tmp_path / "st", tz="UTC").merged is None
    assert files_of(tmp_path / "st")["events"] == COMPACT_AT + 2
