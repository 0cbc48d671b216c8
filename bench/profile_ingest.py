"""profile_ingest: where ``logscope ingest`` spends its time, by function and by pyarrow kernel.

SYNOPSIS
    .venv/bin/python bench/profile_ingest.py LOG [--top 25] [--store DIR]

DESCRIPTION
    Ingests LOG into a fresh store in-process (``logscope.ingest``, the call
    behind the CLI) under cProfile with a CPU-time clock (process_time), so
    that neighbours on a shared machine do not inflate the figures. Meanwhile
    every ``pyarrow.compute`` function is wrapped to charge its CPU time
    (thread_time of the calling thread) to (kernel, calling logscope function),
    and every ``extract_regex`` to the grammar rule whose pattern it ran.

    Prints: import time of the CLI, total CPU, top functions by own and
    cumulative time, top kernels by caller, and the regex rules by cost with
    the number of rows each was tried on and matched.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time


def stage_times(log: str, ingest) -> dict:
    """CPU per pipeline stage from a plain (unprofiled) in-process ingest.

    Nested stages overlap: envelope.parse, apply_grammar, _assemble and
    _unparsed are parts of parse_lines; the Parquet write is part of store write.
    """
    import inspect

    import pyarrow.parquet as pq

    from logscope import envelope as env_mod, parse as parse_mod

    ing_mod = sys.modules[ingest.__module__]  # logscope.ingest, the module (the package attribute is the function)
    acc = collections.Counter()
    undo = []

    def timed(owner, name, label):
        fn = getattr(owner, name)

        def w(*args, **kw):
            c0 = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                acc[label] += time.thread_time() - c0

        setattr(owner, name, w)
        undo.append((owner, name, fn))

    timed(ing_mod, "decode_lines", "decode bytes -> string array (ingest.decode_lines)")
    timed(parse_mod, "parse_lines", "parse_lines (all parsing)")
    timed(env_mod, "parse", "  envelope.parse")
    timed(env_mod, "_timestamps", "    envelope._timestamps")
    timed(parse_mod, "apply_grammar", "  grammars (parse.apply_grammar, incl. finish)")
    timed(parse_mod, "_assemble", "  parse._assemble")
    timed(parse_mod, "_unparsed", "  parse._unparsed")
    timed(ing_mod, "write_part", "store write (store.write_part)")
    timed(pq.ParquetWriter, "write_table", "  ParquetWriter.write_table")
    store = tempfile.mkdtemp(prefix="logscope-stage-")
    kw = {"workers": 0} if "workers" in inspect.signature(ingest).parameters else {}
    c0 = time.process_time()
    ingest([log], store, tz="UTC", **kw)
    acc["(total ingest)"] = time.process_time() - c0
    shutil.rmtree(store, ignore_errors=True)
    for owner, name, fn in undo:
        setattr(owner, name, fn)
    return dict(acc)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--store", default=None)
    a = ap.parse_args(argv)

    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import logscope.cli"], check=True)
    imp = time.perf_counter() - t

    import pyarrow.compute as pc

    from logscope import envelope, grammars
    from logscope.ingest import ingest
    from logscope.grammars import DIAGNOSTIC

    labels = {DIAGNOSTIC.pattern: "DIAGNOSTIC"}
    for g in grammars.load():
        for i, r in enumerate(g.rules):
            lab = f"{g.name}#{i}:{r.kind or '(group)'}"
            labels[r.pattern] = labels[r.pattern] + " = " + lab if r.pattern in labels else lab
    for name in dir(envelope):
        v = getattr(envelope, name)
        if name.endswith("_RE") and isinstance(v, str):
            labels[v] = f"envelope.{name}"

    stages = stage_times(a.log, ingest)  # before the kernel wrappers below

    kern = collections.defaultdict(lambda: [0, 0.0])  # (kernel, caller) -> calls, cpu
    rules = collections.defaultdict(lambda: [0, 0.0, 0, 0])  # label -> calls, cpu, rows tried, rows matched

    def wrap(name, fn):
        def timed(*args, **kw):
            c0 = time.thread_time()
            res = fn(*args, **kw)
            dt = time.thread_time() - c0
            f = sys._getframe(1)
            caller = f"{os.path.basename(f.f_code.co_filename)}:{f.f_code.co_name}"
            k = kern[(name, caller)]
            k[0] += 1
            k[1] += dt
            if name == "extract_regex":
                pat = args[1] if len(args) > 1 else kw.get("pattern")
                lab = labels.get(pat, "other: " + str(pat)[:50])
                r = rules[lab]
                r[0] += 1
                r[1] += dt
                r[2] += len(args[0])
                r[3] += len(res) - res.null_count
            return res

        timed.__wrapped__ = fn
        return timed

    for name in dir(pc):
        fn = getattr(pc, name)
        if name.startswith("_") or isinstance(fn, type) or not callable(fn) or getattr(fn, "__module__", "") != "pyarrow.compute":
            continue
        setattr(pc, name, wrap(name, fn))

    store = a.store or tempfile.mkdtemp(prefix="logscope-prof-")
    shutil.rmtree(store, ignore_errors=True)
    prof = cProfile.Profile(time.process_time)
    w0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    import inspect

    kw = {"workers": 0} if "workers" in inspect.signature(ingest).parameters else {}  # all work in this process
    rep = ingest([a.log], store, tz="UTC", **kw)
    prof.disable()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    shutil.rmtree(store, ignore_errors=True)
    d = rep.as_dict()
    print(f"import logscope.cli: {imp:.2f} s wall (in a child)")
    print(f"ingest: {d['lines']:,} lines, wall {wall:.2f} s, CPU {cpu:.2f} s -> {d['lines'] / cpu:,.0f} lines per CPU-second "
          f"(profiled, so slower than unprofiled); events {d['events']:,}, unparsed {d['unparsed']:,}, skipped {d['skipped']:,}")

    print("\n-- stages, unprofiled (CPU s of the calling thread; a separate run without cProfile) --")
    total = stages.pop("(total ingest)")
    for k, v in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"{v:8.2f} s {v / total:6.1%}  {k}")
    print(f"{total:8.2f} s {1:6.0%}  whole ingest -> {d['lines'] / total:,.0f} lines per CPU-second")

    for key in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).strip_dirs().sort_stats(key).print_stats(a.top)
        body = s.getvalue()
        print(f"\n-- functions by {key} (CPU s) --")
        print(body[body.find("   ncalls"):].rstrip())

    print("\n-- pyarrow.compute kernels by caller (CPU s of the calling thread) --")
    tot = sum(v[1] for v in kern.values())
    for (name, caller), (n, s) in sorted(kern.items(), key=lambda kv: -kv[1][1])[: a.top]:
        print(f"{s:8.2f} s {s / cpu:6.1%}  {n:6d} calls  {name:24} {caller}")
    print(f"{tot:8.2f} s {tot / cpu:6.1%}  all compute kernels")

    print("\n-- extract_regex by rule (CPU s, rows tried, rows matched) --")
    for lab, (n, s, tried, hit) in sorted(rules.items(), key=lambda kv: -kv[1][1])[: a.top + 10]:
        print(f"{s:8.2f} s  {tried:>10,} tried {hit:>10,} hit  {1e9 * s / max(tried, 1):7.0f} ns/row  {lab}")
    tried = sum(v[2] for v in rules.values())
    print(f"{sum(v[1] for v in rules.values()):8.2f} s  {tried:>10,} regex row-attempts for {d['lines']:,} lines "
          f"({tried / max(d['lines'], 1):.1f} per line)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
