"""bench/ingest.py: how fast and how lean is ``logscope ingest``? (a benchmark, not a test)

SYNOPSIS
    .venv/bin/python bench/ingest.py [--lines 2000000] [--seed 1] [--repeat 1] [--flat]
                                     [--no-pflogsumm] [--no-gz] [--workers N] [--profile N] [--logscope PATH] [--out bench/out]

DESCRIPTION
    1. Generates (or reuses, when lines/seed/generator version match) a seeded
       synthetic Postfix log with bench/gen_log.py, plus a gzip -6 copy.
    2. Warms the page cache, then times, each as a child process (wall clock,
       and peak RSS and CPU from os.wait4):
         - ``logscope ingest LOG --store <fresh> --tz UTC --quiet --format json``
         - the same on the gzip copy
         - Debian's ``pflogsumm LOG > /dev/null`` (default report)
         - ``zcat LOG.gz | wc -l`` (the single-core gunzip floor)
    3. Prints lines/s, peak RSS, CPU seconds, and the ratios against the
       targets of issue 2: ingest ≥ 2.5× pflogsumm's lines/s, peak RSS ≤ 1 GB,
       and (with --flat) RSS(3× input) / RSS(1× input) < 1.2.
    4. Prints events / unparsed / skipped from the ingest JSON and the top
       unparsed reasons with one example line each (read from the store).

    --repeat N reports the median wall time of N runs (RSS: the median too).
    Ingest and pflogsumm runs alternate, and the ratio is the median of the N
    side-by-side pairs: this VM's speed drifts within minutes, so a pair run
    back to back compares like with like.
    --profile N runs bench/profile_ingest.py on the first N lines: cProfile
    with a CPU clock, plus CPU per pyarrow kernel and per grammar rule.
    Results also go to <out>/results.json. Everything lives under --out
    (bench/out/ is git-ignored); stores are deleted after each run.

    The machine is shared (2 cores); wall times are noisy. The load average is
    printed before the runs; CPU seconds are less sensitive to neighbours.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import gen_log  # noqa: E402

TARGET_RATIO = 2.5
TARGET_RSS_MB = 1024
TARGET_FLAT = 1.2


def _tree(pid: int) -> list[int]:
    """pid and its live descendants (via /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; PSS splits shared pages between the processes sharing them."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def _cpu_s(pid: int) -> float | None:
    """user + system CPU seconds of one process so far (/proc/<pid>/stat), None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / _TICKS
    except (OSError, ValueError, IndexError):
        return None


_TICKS = os.sysconf("SC_CLK_TCK")


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process tree every ``interval`` s; keeps the peaks.

    ru_maxrss is the peak of the largest single process; with parser worker
    processes the total in use is larger, so both are reported. The CPU time
    of every process seen is kept too (its last sample): the parser workers
    are not children the command waits for, so its rusage does not count them.
    """

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self.cpu: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            for p in pids:
                c = _cpu_s(p)
                if c is not None:
                    self.cpu[p] = c
            mem = [_mem_kb(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(m[0] for m in mem))
            self.peak_pss = max(self.peak_pss, sum(m[1] for m in mem))
            self.peak_procs = max(self.peak_procs, len(pids))
            self.stop.wait(self.interval)


def run_timed(cmd, *, shell=False, stdout_path=None, env=None) -> dict:
    """Run cmd as a child; wall time, exit code, peak RSS (MB) and CPU of it and its descendants."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, shell=shell, stdout=out, stderr=err, env=env)
    sampler = TreeSampler(p.pid)
    sampler.start()
    _, status, ru = os.wait4(p.pid, 0)  # rusage of the child incl. the children it reaped
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()
    err.seek(0)
    stderr = err.read().decode("utf-8", "replace")
    err.close()
    # CPU of the whole tree: the last sample of each process (at most one interval old), and
    # no less than the rusage of the command and the children it reaped
    return {"wall_s": wall, "rc": p.returncode, "maxrss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime,
            "tree_cpu_s": max(ru.ru_utime + ru.ru_stime, sum(sampler.cpu.values())),
            "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "tree_rss_mb": sampler.peak_rss / 1024, "tree_pss_mb": sampler.peak_pss / 1024,
            "procs": sampler.peak_procs, "stderr": stderr[-4000:]}


def median_run(n: int, once) -> dict:
    return summarize([once(i) for i in range(n)])


def summarize(runs: list[dict]) -> dict:
    """The median of each measure over ``runs``, and every run's wall time."""
    best = dict(runs[0])
    for k in ("wall_s", "maxrss_mb", "cpu_s", "tree_cpu_s", "user_s", "sys_s", "tree_rss_mb", "tree_pss_mb"):
        best[k] = statistics.median(r[k] for r in runs)
    best["runs"] = [round(r["wall_s"], 2) for r in runs]
    return best


def ensure_log(out: Path, lines: int, seed: int) -> tuple[Path, dict]:
    path = out / f"maillog-{lines}-s{seed}.log"
    meta_path = path.with_suffix(".json")
    want = {"lines": lines, "seed": seed, "version": gen_log.VERSION}
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()) and path.stat().st_size == meta["bytes"]:
            print(f"reusing {path.name} ({meta['bytes'] / 1e6:.0f} MB)")
            return path, meta
    t = time.perf_counter()
    meta = gen_log.generate(str(path), lines, seed)
    meta["gen_s"] = round(time.perf_counter() - t, 2)
    meta_path.write_text(json.dumps(meta))
    print(f"generated {path.name}: {meta['lines']:,} lines, {meta['bytes'] / 1e6:.0f} MB in {meta['gen_s']} s "
          f"({meta['lines'] / meta['gen_s']:,.0f} lines/s)")
    return path, meta


def ensure_gz(path: Path) -> Path:
    gz = path.with_name(path.name + ".gz")
    if gz.exists() and gz.stat().st_mtime >= path.stat().st_mtime and gz.stat().st_size > 0:
        return gz
    t = time.perf_counter()
    tmp = gz.with_name(gz.name + ".tmp")
    with open(tmp, "wb") as fh:
        subprocess.run(["gzip", "-6", "-c", str(path)], stdout=fh, check=True)
    os.replace(tmp, gz)
    st = path.stat()
    os.utime(gz, (st.st_atime, st.st_mtime))  # same mtime: same year inference
    print(f"gzip -6 copy: {gz.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
    return gz


def warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass


INGEST_EXTRA: list[str] = []  # e.g. ["--workers", "0"] from --workers


def ingest_once(logscope: str, log: Path, out: Path, tag: str, keep_store: bool = False) -> dict:
    store = out / f"store-{tag}"
    shutil.rmtree(store, ignore_errors=True)
    js = out / f"ingest-{tag}.json"
    env = dict(os.environ, LOGSCOPE_STORE=str(store))
    r = run_timed([logscope, "ingest", str(log), "--store", str(store), "--tz", "UTC", "--quiet", "--format", "json", *INGEST_EXTRA],
                  stdout_path=js, env=env)
    try:
        r["json"] = json.loads(js.read_text())
    except (OSError, ValueError):
        r["json"] = None
    if r["rc"] != 0 or r["json"] is None:
        print(f"  ! logscope ingest failed (exit {r['rc']}):\n" + "\n".join("    " + l for l in r["stderr"].strip().splitlines()[-8:]))
    if keep_store:
        r["store"] = str(store)
    else:
        shutil.rmtree(store, ignore_errors=True)
    return r


def unparsed_examples(store: str, limit: int = 12) -> list[tuple]:
    """Top unparsed reasons with a count and one raw example, from the store's Parquet files."""
    files = list(Path(store).glob("unparsed/**/*.parquet"))
    if not files:
        return []
    try:
        import duckdb
    except ImportError:
        return []
    con = duckdb.connect()
    q = (f"select reason, program, count(*) n, min(raw) example from read_parquet({[str(f) for f in files]!r}, hive_partitioning=false) "
         f"group by all order by n desc limit {limit}")
    return con.execute(q).fetchall()


def fmt_rate(lines: int, r: dict | None) -> str:
    if not r or r.get("rc"):
        return "failed"
    return f"{lines / r['wall_s']:>11,.0f}"


def profile(logscope: str, log: Path, out: Path, n: int) -> None:
    """bench/profile_ingest.py (cProfile + per-kernel and per-rule CPU) on the first n lines."""
    head = out / f"profile-{n}.log"
    with open(log, "rb") as src, open(head, "wb") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    st = log.stat()
    os.utime(head, (st.st_atime, st.st_mtime))
    py = str(Path(logscope).with_name("python"))
    print(f"\n== profile: logscope ingest of the first {n:,} lines (bench/profile_ingest.py) ==", flush=True)
    subprocess.run([py, str(HERE / "profile_ingest.py"), str(head)], check=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark logscope ingest against pflogsumm and zcat|wc -l.")
    ap.add_argument("--lines", type=int, default=2_000_000, help="lines in the generated log (default 2,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    ap.add_argument("--flat", action="store_true", help="also ingest a 3x log and report RSS(3x)/RSS(1x)")
    ap.add_argument("--no-pflogsumm", action="store_true", help="skip pflogsumm")
    ap.add_argument("--no-gz", action="store_true", help="skip the gzip copy (zcat|wc -l and gz ingest)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile logscope ingest on the first N lines")
    ap.add_argument("--workers", type=int, default=None, help="pass --workers N to logscope ingest (default: its own choice)")
    ap.add_argument("--logscope", default=str(ROOT / ".venv" / "bin" / "logscope"), help="the logscope executable")
    ap.add_argument("--out", default=str(HERE / "out"), help="work directory (default bench/out, git-ignored)")
    a = ap.parse_args(argv)

    if a.workers is not None:
        INGEST_EXTRA[:] = ["--workers", str(a.workers)]
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"logscope ingest benchmark  {dt.datetime.now().isoformat(timespec='seconds')}  {platform.node()}  "
          f"{os.cpu_count()} CPUs  Python {platform.python_version()}  load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
        print(f"repo at {rev[:100]}" + (f"  (ingest {' '.join(INGEST_EXTRA)})" if INGEST_EXTRA else ""))
    except OSError:
        rev = ""

    log, meta = ensure_log(out, a.lines, a.seed)
    lines = meta["lines"]
    gz = None if a.no_gz else ensure_gz(log)
    res: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "host": platform.node(), "cpus": os.cpu_count(),
                 "commit": rev, "lines": lines, "bytes": meta["bytes"], "seed": a.seed, "repeat": a.repeat}

    warm(log)
    if gz:
        warm(gz)
    # one small ingest first, so .pyc compilation and cold imports are not timed
    small = out / "warmup.log"
    with open(log, "rb") as src:
        small.write_bytes(b"".join(src.readline() for _ in range(2000)))
    ingest_once(a.logscope, small, out, "warmup")

    print(f"\ntiming ({a.repeat} run{'s' if a.repeat > 1 else ''} each, median) ...")
    pflogsumm = shutil.which("pflogsumm") or ("/usr/sbin/pflogsumm" if os.path.exists("/usr/sbin/pflogsumm") else None)
    if a.no_pflogsumm:
        pflogsumm = None
    # ingest and pflogsumm alternate, run by run: this VM's speed drifts by 20-35 % within
    # minutes, and a ratio of two runs taken side by side is steadier than one of two medians
    ing_runs, pfl_runs = [], []
    for i in range(a.repeat):
        ing_runs.append(ingest_once(a.logscope, log, out, f"plain{i}", keep_store=(i == 0)))
        if pflogsumm:
            pfl_runs.append(run_timed(f"{pflogsumm} '{log}' > /dev/null", shell=True))
    ing = summarize(ing_runs)
    res["ingest"] = ing
    print(f"  logscope ingest          {ing['wall_s']:7.1f} s")
    pfl = summarize(pfl_runs) if pfl_runs else None
    if a.no_pflogsumm:
        print("  pflogsumm                skipped (--no-pflogsumm)")
    elif not pflogsumm:
        print("  pflogsumm                NOT INSTALLED (apt-get install -y pflogsumm) -- its ratio is skipped")
    else:
        res["pflogsumm"] = pfl
        if pfl["rc"]:
            print(f"  pflogsumm failed (exit {pfl['rc']}): {pfl['stderr'][-300:]}")
        print(f"  pflogsumm                {pfl['wall_s']:7.1f} s")
    ing_gz = None
    if gz:
        ing_gz = median_run(a.repeat, lambda i: ingest_once(a.logscope, gz, out, f"gz{i}"))
        res["ingest_gz"] = ing_gz
        print(f"  logscope ingest (gz)     {ing_gz['wall_s']:7.1f} s")

    zc = None
    if gz:
        cnt = out / "wc.out"
        zc = median_run(a.repeat, lambda i: run_timed(f"zcat '{gz}' | wc -l", shell=True, stdout_path=cnt))
        res["zcat_wc"] = zc
        got = cnt.read_text().strip()
        print(f"  zcat | wc -l             {zc['wall_s']:7.1f} s  (counted {got} lines)")

    flat = None
    if a.flat:
        log3, meta3 = ensure_log(out, a.lines * 3, a.seed)
        warm(log3)
        flat = median_run(a.repeat, lambda i: ingest_once(a.logscope, log3, out, f"flat{i}"))
        flat["lines"] = meta3["lines"]
        res["ingest_3x"] = flat
        print(f"  logscope ingest (3x)     {flat['wall_s']:7.1f} s")

    # -- report ----------------------------------------------------------------
    print(f"\n== {lines:,} lines, {meta['bytes'] / 1e6:.0f} MB"
          + (f" (gzip {gz.stat().st_size / 1e6:.0f} MB)" if gz else "") + " ==")
    print(f"{'':26}{'wall s':>8}{'lines/s':>12}{'CPU s':>8}{'lines/CPU-s':>12}{'maxRSS 1 proc':>15}{'tree RSS':>10}{'tree PSS':>10}{'procs':>6}")

    def row(name, r, n=lines):  # CPU s: the whole process tree (parser workers included)
        if r is None:
            return
        cpu = r.get("tree_cpu_s", r["cpu_s"])
        print(f"{name:26}{r['wall_s']:8.1f}{fmt_rate(n, r):>12}{cpu:8.1f}{n / max(cpu, 1e-9):12,.0f}"
              f"{r['maxrss_mb']:12.0f} MB{r['tree_rss_mb']:7.0f} MB{r['tree_pss_mb']:7.0f} MB{r['procs']:6d}")

    row("logscope ingest", ing)
    row("logscope ingest (gzip)", ing_gz)
    row("pflogsumm (default)", pfl)
    row("zcat | wc -l", zc)
    if flat:
        row("logscope ingest (3x)", flat, flat["lines"])

    print()
    ok_ing = ing["rc"] == 0
    if pfl and not pfl["rc"] and ok_ing:
        pairs = [p["wall_s"] / i["wall_s"] for i, p in zip(ing_runs, pfl_runs)]
        ratio = statistics.median(pairs)
        res["ratio_vs_pflogsumm"] = ratio
        res["ratio_pairs"] = [round(r, 3) for r in pairs]
        print(f"ingest / pflogsumm lines/s      {ratio:5.2f}x   (target >= {TARGET_RATIO}x: {'OK' if ratio >= TARGET_RATIO else 'MISSED'})"
              + (f"   median of {len(pairs)} side-by-side pairs: {' '.join(f'{r:.2f}' for r in pairs)}" if len(pairs) > 1 else ""))
        if ing_gz and not ing_gz["rc"]:
            res["ratio_gz_vs_pflogsumm"] = pfl["wall_s"] / ing_gz["wall_s"]
            print(f"ingest(gz) / pflogsumm lines/s  {pfl['wall_s'] / ing_gz['wall_s']:5.2f}x")
        print(f"ingest / pflogsumm CPU s        {pfl['tree_cpu_s'] / ing['tree_cpu_s']:5.2f}x   (CPU-time ratio of the process trees, less noisy on a shared box)")
    elif not pfl:
        print("ingest / pflogsumm: n/a (pflogsumm not run)")
    if ing_gz and not ing_gz["rc"] and ok_ing:
        print(f"gzip input cost                 {ing_gz['wall_s'] / ing['wall_s'] - 1:+5.0%} wall")
    if zc and ok_ing:
        print(f"ingest / (zcat|wc -l) lines/s   {zc['wall_s'] / ing['wall_s']:5.2f}x")
    rss = max(ing["maxrss_mb"], ing["tree_pss_mb"])  # the tree total when there are workers
    print(f"peak memory ingest              {rss:5.0f} MB (max of largest process {ing['maxrss_mb']:.0f} MB and whole-tree PSS "
          f"{ing['tree_pss_mb']:.0f} MB; tree RSS {ing['tree_rss_mb']:.0f} MB counts shared pages per process) "
          f"(target <= {TARGET_RSS_MB} MB: {'OK' if rss <= TARGET_RSS_MB else 'MISSED'})")
    if flat and ok_ing and not flat["rc"]:
        fr = flat["maxrss_mb"] / ing["maxrss_mb"]
        ft = flat["tree_pss_mb"] / max(ing["tree_pss_mb"], 1e-9)
        res["flat_ratio"], res["flat_ratio_tree_pss"] = fr, ft
        print(f"flatness RSS(3x)/RSS(1x)        {fr:5.2f} largest process, {ft:5.2f} tree PSS   (target < {TARGET_FLAT}: "
              f"{'OK' if max(fr, ft) < TARGET_FLAT else 'MISSED'}); 3x lines/s {flat['lines'] / flat['wall_s']:,.0f}")

    j = ing.get("json")
    if j:
        ev, un, sk = j.get("events", 0), j.get("unparsed", 0), j.get("skipped", 0)
        print(f"\nlines {j.get('lines', 0):,} = events {ev:,} + unparsed {un:,} + skipped {sk:,}"
              f"   unparsed share {un / max(1, j.get('lines', 1)):.3%}")
        res["unparsed_share"] = un / max(1, j.get("lines", 1))
        kinds = list(j.get("kinds", {}).items())
        print("events by kind (top 25): " + ", ".join(f"{k} {v:,}" for k, v in kinds[:25]))
        if j.get("unparsed_reasons"):
            print("unparsed by reason: " + ", ".join(f"{k} {v:,}" for k, v in list(j["unparsed_reasons"].items())[:12]))
        if un and ing.get("store"):
            ex = unparsed_examples(ing["store"])
            if ex:
                print("top unparsed (reason, program, count, example):")
                for reason, prog, n, raw in ex:
                    print(f"  {n:>9,}  {reason} [{prog}]  {raw[:160]}")
                res["unparsed_top"] = [list(e) for e in ex]
    if ing.get("store"):
        shutil.rmtree(ing["store"], ignore_errors=True)

    for r in (ing, ing_gz, flat):
        if r:
            r.pop("json", None)
    doc = json.dumps(res, indent=1, default=str)
    (out / "results.json").write_text(doc)
    (out / f"results-{res['date'].replace(':', '')}.json").write_text(doc)  # one per run, for comparing noisy runs
    print(f"\nresults: {out / 'results.json'}  load avg now {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(on a shared 2-core machine wall times vary by 2x between runs; compare the CPU columns)")

    if a.profile:
        profile(a.logscope, log, out, a.profile)
    return 0 if ok_ing else 1


if __name__ == "__main__":
    sys.exit(main())
