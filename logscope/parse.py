"""The parser: a batch of raw log lines in, Arrow tables out.

:func:`parse_lines` is pure (no I/O, no globals written) apart from advancing the
caller's :class:`~logscope.envelope.YearState`, so it can run unchanged inside
another engine. It works column-wise with pyarrow kernels:

1. the envelope is split off every line (:mod:`logscope.envelope`);
2. the program name picks a grammar (dictionary-encoded, so once per distinct name);
3. each grammar's rules run in order on the rows no earlier rule took;
4. the matches are assembled into the fixed :data:`~logscope.schema.EVENTS` schema.

Every input line ends as exactly one of: an event row, an unparsed row with a
reason, or a skipped line (another program: dovecot, sshd, cron ...).
Rows come out grouped by rule, not in file order; ``line_no`` keeps the order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import envelope, grammars
from .grammars import DIAGNOSTIC, Grammar, Rule
from .schema import EVENTS, UNPARSED

# Postfix daemons and commands; a program counts as Postfix when its last path element is
# one of these and a syslog_name stands before it (postfix/smtpd, postfix-out/smtp, mx/submission/smtpd).
POSTFIX_DAEMONS = frozenset(
    "anvil bounce cleanup defer discard dnsblog error flush lmtp local master nqmgr oqmgr pickup pipe "
    "postlogd postscreen proxymap proxywrite qmgr qmqpd retry scache showq smtp smtpd spawn tlsmgr "
    "tlsproxy trace trivial-rewrite verify virtual postfix-script postsuper postqueue postdrop sendmail "
    "postmap postalias postcat postconf postkick postlock postlog postmulti postfix".split()
)
# Postfix commands that also log under their bare name.
POSTFIX_COMMANDS = frozenset("postfix postfix-script postsuper postqueue postdrop postmap postalias postlog postmulti".split())
AMAVIS_PROGRAMS = frozenset({"amavis", "amavisd", "amavisd-new"})

MAX_LINE = 64 << 10  # longer lines are kept truncated, as unparsed rows
EVENT_TYPES = {f.name: f.type for f in EVENTS}
_BRACKETED = ("sender", "recipient", "orig_to")


@dataclass(frozen=True)
class Program:
    """What a syslog program name means."""

    service: str | None
    daemon: str
    mail: bool  # Postfix or amavis


@lru_cache(maxsize=4096)
def classify_program(program: str) -> Program:
    parts = program.split("/")
    daemon = parts[-1]
    service = "/".join(parts[:-1]) or None
    if daemon in AMAVIS_PROGRAMS:
        return Program(service, "amavis", True)
    if len(parts) >= 2 and daemon in POSTFIX_DAEMONS:
        return Program(service, daemon, True)
    if len(parts) == 1 and daemon in POSTFIX_COMMANDS:
        return Program(None, daemon, True)
    return Program(service, daemon, False)


@dataclass
class Parsed:
    events: pa.Table
    unparsed: pa.Table
    skipped: int
    lines: int


@lru_cache(maxsize=1)
def _grammar_table() -> dict[str, Grammar]:
    return grammars.by_daemon(grammars.load())


def parse_lines(
    lines: pa.Array,
    *,
    source: str,
    first_line_no: int,
    tz: str,
    years: envelope.YearState,
    daemons: dict[str, Grammar] | None = None,
) -> Parsed:
    """Parse one batch of lines (a pyarrow string array, no newlines)."""
    daemons = _grammar_table() if daemons is None else daemons
    n = len(lines)
    if lines.type != pa.string():
        lines = lines.cast(pa.string())
    too_long = pc.greater(pc.binary_length(lines), MAX_LINE)
    long_rows = np.flatnonzero(too_long.to_numpy(zero_copy_only=False)) if pc.any(too_long).as_py() else None
    if long_rows is not None:  # kept truncated, never parsed
        lines = pc.if_else(too_long, pc.utf8_slice_codeunits(lines, 0, MAX_LINE), lines)
    env = envelope.parse(lines, tz, years)
    if long_rows is not None:
        env.ok[long_rows] = False
    line_no = pa.array(np.arange(first_line_no, first_line_no + n, dtype=np.int64))

    # one look per distinct program name
    prog_dict = pc.dictionary_encode(pc.fill_null(env.program, ""))
    codes = prog_dict.indices.to_numpy(zero_copy_only=False)
    names = prog_dict.dictionary.to_pylist()
    infos = [classify_program(p) if p else None for p in names]
    services = pa.array([i.service if i else None for i in infos], pa.string()).take(prog_dict.indices)
    daemon_col = pa.array([i.daemon if i else None for i in infos], pa.string()).take(prog_dict.indices)

    unparsed_parts: list[tuple[np.ndarray, str | pa.Array]] = []
    no_header = ~env.ok & ~env.syslogd
    if long_rows is not None:
        no_header[long_rows] = False
        unparsed_parts.append((long_rows, f"line longer than {MAX_LINE} bytes, truncated"))
    if no_header.any():
        unparsed_parts.append((np.flatnonzero(no_header), "no syslog header"))
    skipped = int(env.syslogd.sum())

    # one pass of a grammar's rules over all its programs (smtpd, submission/smtpd, 10025/smtpd ...):
    # every rule costs a regex compile and a few kernel calls, whatever the number of rows
    per_code = np.bincount(codes[env.ok], minlength=len(infos))
    by_grammar: dict[str, tuple[Grammar, list[int]]] = {}
    for code, info in enumerate(infos):
        if info is None or not per_code[code]:
            continue
        if not info.mail:
            skipped += int(per_code[code])
            continue
        grammar = daemons.get(info.daemon)
        if grammar is None:
            unparsed_parts.append((np.flatnonzero((codes == code) & env.ok), f"no grammar for {info.daemon}"))
            continue
        by_grammar.setdefault(grammar.name, (grammar, []))[1].append(code)

    event_tables: list[pa.Table] = []
    for grammar, gcodes in by_grammar.values():
        mine = (codes == gcodes[0]) if len(gcodes) == 1 else np.isin(codes, gcodes)
        rows = np.flatnonzero(mine & env.ok)
        tables, left = apply_grammar(grammar, env.body.take(pa.array(rows)), rows)
        event_tables.extend(tables)
        if len(left):
            for daemon in dict.fromkeys(infos[c].daemon for c in gcodes):
                dcodes = [c for c in gcodes if infos[c].daemon == daemon]
                sel = left[np.isin(codes[left], dcodes)]
                if len(sel):
                    unparsed_parts.append((sel, f"unrecognised {daemon} message"))

    header = {
        "ts": env.ts,
        "host": env.host,
        "program": env.program,
        "service": services,
        "daemon": daemon_col,
        "pid": env.pid,
        "line_no": line_no,
    }
    events = _assemble(event_tables, header, source, tz)
    unparsed = _unparsed(unparsed_parts, lines, header, source)
    return Parsed(events=events, unparsed=unparsed, skipped=skipped, lines=n)


# (grammar, rule number) -> the rule took at least half the rows it was tried on, last time.
# Such a rule skips the capture-free test: capturing outright costs less than testing the
# rows and capturing those it takes (one process's own history; the output is the same).
_DENSE: dict[tuple[str, int], bool] = {}


def apply_grammar(grammar: Grammar, body: pa.Array, rows: np.ndarray) -> tuple[list[pa.Table], np.ndarray]:
    """Run a grammar's rules on ``body``; return matched tables (with ``_row``) and the rows left.

    Each rule first matches without captures (RE2's fast DFA) and captures only on
    the rows it takes: capturing on rows that fail costs several times more.
    """
    tables = []
    for k, rule in enumerate(grammar.rules + (DIAGNOSTIC,)):
        if not len(rows):
            break
        key = (grammar.name, k)
        if rule.extract is None and rule.split is None and _DENSE.get(key):
            # took most of its rows last time: capture at once, the misses are null
            m = pc.extract_regex(body, rule.pattern)
            hit = m.is_valid()
            taken = hit.to_numpy(zero_copy_only=False)
            m = m.filter(hit) if taken.any() else None
        else:
            hit = pc.fill_null(pc.match_substring_regex(body, rule.pattern), False)
            taken = hit.to_numpy(zero_copy_only=False)
            m = _capture(body.filter(hit), rule) if taken.any() else None
        _DENSE[key] = np.count_nonzero(taken) * 2 >= len(taken)
        if m is None:
            continue
        t = _rule_table(rule, m, rows[taken])
        if grammar.finish is not None:
            t = grammar.finish(t)
        tables.append(t)
        keep = ~taken
        body = body.filter(pa.array(keep))
        rows = rows[keep]
    return tables, rows


def _capture(body: pa.Array, rule: Rule) -> pa.StructArray:
    """The rule's groups on rows its pattern matched (with its cheaper extract pattern(s) if any)."""
    if rule.split is not None:
        return _capture_split(body, rule)
    if not isinstance(rule.extract, tuple):
        return pc.extract_regex(body, rule.extract or rule.pattern)
    names, fields, ok = _passes(body, rule.extract)
    return _fall_back(body, rule, names, fields, ok)


def _passes(body: pa.Array, patterns: tuple[str, ...]) -> tuple[list[str], list[pa.Array], pa.Array]:
    """Group names, group values and where every pass matched."""
    passes = [pc.extract_regex(body, p) for p in patterns]
    names = [f.name for m in passes for f in m.type]
    fields = [m.field(i) for m in passes for i in range(m.type.num_fields)]
    ok = passes[0].is_valid()
    for m in passes[1:]:
        ok = pc.and_(ok, m.is_valid())
    return names, fields, ok


def _capture_split(body: pa.Array, rule: Rule) -> pa.StructArray:
    """:class:`~logscope.grammars.Split`: the passes, the trailer searched, the reply cut between."""
    names, fields, ok = _passes(body, rule.split.passes)
    at = names.index("_head")
    head = np.asarray(pc.fill_null(pc.binary_length(fields[at]), 0), np.int64)
    del names[at], fields[at]
    tail = pc.extract_regex(body, rule.split.trailer)
    has_tail = np.asarray(tail.is_valid())
    tail_len = np.where(has_tail, np.asarray(pc.fill_null(pc.binary_length(pc.struct_field(tail, "_tail")), 0)), 0)
    reply_len = np.asarray(pc.binary_length(body), np.int64) - tail_len - head
    # a trailer that would begin before the reply (never in Postfix's lines): the full pattern
    ok = pc.and_(ok, pa.array(reply_len >= 0))
    names.append("reply")
    fields.append(_cut(body, head, np.maximum(reply_len, 0)))
    has = None if has_tail.all() else pa.array(has_tail)
    for f in tail.type:
        if f.name != "_tail":
            names.append(f.name)
            value = pc.struct_field(tail, f.name)
            fields.append(value if has is None else pc.if_else(has, value, ""))
    return _fall_back(body, rule, names, fields, ok)


def _cut(body: pa.Array, start: np.ndarray, length: np.ndarray) -> pa.Array:
    """Each row's ``length`` bytes from byte ``start`` on (cut next to ASCII, so still UTF-8)."""
    n = len(body)
    bufs = body.buffers()
    offsets = np.frombuffer(bufs[1], np.int32, count=n + 1, offset=body.offset * 4).astype(np.int64)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    out = np.zeros(n + 1, np.int64)
    np.cumsum(length, out=out[1:])
    idx = np.arange(out[-1], dtype=np.int64) + np.repeat(offsets[:-1] + start - out[:-1], length)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(out.astype(np.int32)), pa.py_buffer(data[idx])])


def _fall_back(body: pa.Array, rule: Rule, names: list[str], fields: list, ok: pa.Array) -> pa.StructArray:
    """The groups as one struct; the rows not ``ok`` captured with the rule's full pattern."""
    if not pc.all(ok).as_py():  # a shape the passes do not cover: the full pattern on those rows
        miss = pc.invert(ok)
        full = pc.extract_regex(body.filter(miss), rule.pattern)
        fields = [pc.replace_with_mask(f, miss, full.field(name)) for f, name in zip(fields, names)]
    return pa.StructArray.from_arrays(fields, names)


def _rule_table(rule: Rule, matched: pa.StructArray, rows: np.ndarray) -> pa.Table:
    n = len(rows)
    cols: dict[str, pa.Array] = {"_row": pa.array(rows, pa.int64())}
    if rule.kind is not None:
        cols["kind"] = pa.repeat(pa.scalar(rule.kind), n)
    for i, f in enumerate(matched.type):
        a = _null_if_empty(matched.field(i))
        if f.name == "anvil_ts":
            cols["_anvil_at"] = a
            continue
        typ = EVENT_TYPES[f.name]
        cols[f.name] = a if typ == pa.string() else pc.cast(a, typ)
    for name, value in rule.const.items():
        cols[name] = pa.repeat(pa.scalar(value, EVENT_TYPES[name]), n)
    return pa.table(cols)


def _null_if_empty(a: pa.Array) -> pa.Array:
    """Empty strings (groups that did not take part) become null, reading only the offsets."""
    if a.offset or a.null_count or a.type != pa.string():
        return pc.if_else(pc.equal(a, ""), pa.scalar(None, a.type), a)
    bufs = a.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=len(a) + 1)
    present = np.diff(offsets) > 0
    if present.all():
        return a
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), len(a), [validity, bufs[1], bufs[2]])


def _assemble(tables: list[pa.Table], header: dict[str, pa.Array], source: str, tz: str) -> pa.Table:
    if not tables:
        return EVENTS.empty_table()
    sizes = [t.num_rows for t in tables]
    n = sum(sizes)
    idx = pa.array(np.concatenate([t.column("_row").to_numpy() for t in tables]), pa.int64())
    # each column's pieces, in table order: the rule tables' own, null runs in between
    pieces: dict[str, list] = {}
    at = 0
    for t, size in zip(tables, sizes):
        for name, col in zip(t.column_names, t.columns):
            pieces.setdefault(name, []).append((at, col))
        at += size
    cols = {}
    for f in EVENTS:
        if f.name in header:
            cols[f.name] = header[f.name].take(idx)
        elif f.name == "source":
            cols[f.name] = pa.repeat(pa.scalar(source), n)
        else:
            cols[f.name] = _stack(pieces.get(f.name, ()), n, f.type)
    if "queue_id" in pieces:
        q = cols["queue_id"]
        cols["queue_id"] = pc.if_else(pc.equal(q, "NOQUEUE"), pa.scalar(None, pa.string()), q)
    for name in _BRACKETED:
        if name in pieces:
            cols[name] = _strip_brackets(cols[name])
    if "_anvil_at" in pieces:
        anvil_at = _stack(pieces["_anvil_at"], n, pa.string())
        has = anvil_at.is_valid()
        if pc.any(has).as_py():
            sel = pc.indices_nonzero(has)
            conv = envelope.stamp_to_utc(anvil_at.take(sel), cols["ts"].take(sel), tz)
            cols["anvil_ts"] = pc.replace_with_mask(pa.nulls(n, conv.type), has, conv)
    return pa.table(cols, schema=EVENTS)


def _stack(parts, n: int, typ: pa.DataType) -> pa.Array:
    """A column from (first row, values) parts in row order; null in the gaps."""
    out: list[pa.Array] = []
    at = 0
    for start, col in parts:
        if start > at:
            out.append(pa.nulls(start - at, typ))
        for chunk in col.chunks:
            out.append(chunk if chunk.type == typ else chunk.cast(typ))
        at = start + len(col)
    if at < n:
        out.append(pa.nulls(n - at, typ))
    return out[0] if len(out) == 1 else pa.concat_arrays(out)


def _strip_brackets(a: pa.Array) -> pa.Array:
    bracketed = pc.and_(pc.starts_with(a, "<"), pc.ends_with(a, ">"))
    return pc.if_else(bracketed, pc.utf8_slice_codeunits(a, 1, -1), a)


def _unparsed(parts: list[tuple[np.ndarray, str]], lines: pa.Array, header: dict, source: str) -> pa.Table:
    if not parts:
        return UNPARSED.empty_table()
    rows = np.concatenate([r for r, _ in parts])
    reasons = np.concatenate([np.full(len(r), why, dtype=object) for r, why in parts])
    idx = pa.array(rows)
    return pa.table(
        {
            "ts": header["ts"].take(idx),
            "host": header["host"].take(idx),
            "program": header["program"].take(idx),
            "source": pa.repeat(pa.scalar(source), len(rows)),
            "line_no": header["line_no"].take(idx),
            "reason": pa.array(reasons, pa.string()),
            "raw": lines.take(idx),
        },
        schema=UNPARSED,
    )
