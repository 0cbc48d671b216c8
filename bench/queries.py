"""bench/queries.py: how fast do the query commands answer on a big store? (a benchmark, not a test)

SYNOPSIS
    .venv/bin/python bench/queries.py [--lines 2000000] [--seed 1] [--repeat 3] [--warm-cache]
                                      [--only rbl,tune] [--since TIME]
                                      [--no-pflogsumm] [--logscope PATH] [--out bench/out]

DESCRIPTION
    1. Generates (or reuses) the seeded log of bench/ingest.py and ingests it into
       <out>/store-queries-<lines>-s<seed> (kept between runs; rebuilt when the log
       or the store is missing).
    2. Times each command as a child process (wall clock, and CPU from os.wait4),
       --repeat times, and reports the median:
         logscope rbl --format json        target < 2 s
         logscope rejects --format json    target < 2 s
         logscope forged --format json     target < 3 s
         logscope tune --format json       target < 3 s
         logscope report --format html -o  target < 10 s
       By default with LOGSCOPE_CACHE=off, so that tune's on-disk cache of derived
       tables never serves a run: these are cold figures. --warm-cache times with
       the cache (after one run that fills it). --since TIME passes --since to every
       command: the nightly case, where one day of a longer store is reported on
       (--lines 6000000 --since 2026-11-12: the last of 12 days).
    3. Baselines from the same run: ``logscope --help`` (interpreter and import
       start-up), one full scan of the store through ``logscope query`` (DuckDB
       reading every row once), and Debian's ``pflogsumm`` on the same log (the
       report that logscope's ``report`` replaces). Ratios are printed against them.
    Results go to <out>/queries.json. The machine is shared (2 cores): the load
    average is printed first; CPU seconds are less sensitive to neighbours.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from ingest import ensure_log, median_run, run_timed, warm  # noqa: E402

COMMANDS = [  # (name, arguments, target wall seconds)
    ("rbl", ["rbl", "--format", "json"], 2.0),
    ("rejects", ["rejects", "--format", "json"], 2.0),
    ("forged", ["forged", "--format", "json"], 3.0),
    ("tune", ["tune", "--format", "json"], 3.0),
    ("report html", ["report", "--format", "html", "--output", "{out}/report.html"], 10.0),
]
SCAN = "select count(*), count(distinct client_ip), max(length(reply)) from events"


def ensure_store(logscope: str, log: Path, out: Path, lines: int, seed: int) -> Path:
    store = out / f"store-queries-{lines}-s{seed}"
    stamp = store / ".bench-log"
    if (store / "manifest.json").exists() and stamp.exists() and stamp.read_text() == f"{log.name} {log.stat().st_mtime_ns}":
        print(f"reusing {store.name}")
        return store
    shutil.rmtree(store, ignore_errors=True)
    r = run_timed([logscope, "ingest", str(log), "--store", str(store), "--tz", "UTC", "--quiet"])
    if r["rc"] != 0:
        sys.exit(f"ingest failed (exit {r['rc']}): {r['stderr'][-500:]}")
    stamp.write_text(f"{log.name} {log.stat().st_mtime_ns}")
    print(f"ingested {log.name} into {store.name} in {r['wall_s']:.1f} s")
    return store


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Time logscope's query commands on the benchmark store.")
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warm-cache", action="store_true", help="let tune use its on-disk cache of derived tables")
    ap.add_argument("--no-pflogsumm", action="store_true")
    ap.add_argument("--logscope", default=str(ROOT / ".venv" / "bin" / "logscope"))
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--only", help="comma-separated commands to time (default: all): " + ", ".join(c[0] for c in COMMANDS))
    ap.add_argument("--since", help="pass --since to every command: the nightly case, one day of a longer store "
                                    "(with --lines 6000000, 12 days: --since 2026-11-12)")
    a = ap.parse_args(argv)
    only = {x.strip() for x in a.only.split(",")} if a.only else None
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    log, _ = ensure_log(a.out, a.lines, a.seed)
    store = ensure_store(a.logscope, log, a.out, a.lines, a.seed)
    env = dict(os.environ, LOGSCOPE_STORE=str(store))
    if not a.warm_cache:
        env["LOGSCOPE_CACHE"] = "off"
    res: dict = {"lines": a.lines, "seed": a.seed, "repeat": a.repeat, "cache": a.warm_cache, "since": a.since, "commands": {}}

    def timed(args: list[str]) -> dict:
        return median_run(a.repeat, lambda i: run_timed([a.logscope, *[x.format(out=a.out) for x in args]], env=env))

    base = {"start-up (--help)": timed(["--help"]), "full scan (query)": timed(["query", SCAN])}
    if a.warm_cache:
        run_timed([a.logscope, "tune", "--format", "json"], env=env)  # fills the cache
    for name, args, target in COMMANDS:
        if only is not None and name not in only:
            continue
        r = timed(args + (["--since", a.since] if a.since else []))
        if r["rc"] not in (0, 1):  # 1 = findings need attention
            print(f"  ! {name} failed (exit {r['rc']}): {r['stderr'][-400:]}")
        res["commands"][name] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "runs": r["runs"], "target_s": target}
    pfl = None
    pflogsumm = shutil.which("pflogsumm") or ("/usr/sbin/pflogsumm" if os.path.exists("/usr/sbin/pflogsumm") else None)
    if pflogsumm and not a.no_pflogsumm:
        warm(log)
        pfl = median_run(1, lambda i: run_timed(f"{pflogsumm} '{log}' > /dev/null", shell=True))
        base["pflogsumm (log)"] = pfl

    print(f"\n{'baseline':28} {'wall s':>7} {'CPU s':>7}")
    for name, r in base.items():
        print(f"{name:28} {r['wall_s']:7.2f} {r['cpu_s']:7.2f}")
        res[name] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"]}
    scan = base["full scan (query)"]["wall_s"]
    print(f"\n{'command':28} {'wall s':>7} {'CPU s':>7} {'target':>7}  {'÷ scan':>7} {'÷ pflogsumm':>12}  runs")
    for name, r in res["commands"].items():
        ok = "OK" if r["wall_s"] < r["target_s"] else "MISSED"
        vs_pfl = f"{r['wall_s'] / pfl['wall_s']:12.2f}" if pfl else f"{'n/a':>12}"
        print(f"{name:28} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {'<' + format(r['target_s'], 'g'):>7}  "
              f"{r['wall_s'] / scan:6.1f}x {vs_pfl}  {r['runs']}  {ok}")
    print("\n÷ scan: the command's wall time over one full scan of the store; ÷ pflogsumm: over pflogsumm's"
          " default report on the raw log (below 1 = faster).")
    (a.out / "queries.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
