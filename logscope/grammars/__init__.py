"""Grammars: declarative line patterns, one module per Postfix daemon family.

A grammar module declares a :class:`Grammar`: the daemons it serves and an
ordered tuple of :class:`Rule`. Each rule is one RE2 pattern anchored at the
start of the message body (the text after ``program[pid]: ``). Its named groups
are columns of :data:`logscope.schema.EVENTS`; ``const`` fills columns that the
pattern implies. The shared loop in :mod:`logscope.parse` does all the work:
rules are tried in order and the first match wins.

Conventions for patterns:
- ``sender``, ``recipient`` and ``orig_to`` groups capture the angle brackets too
  (``from=(?P<sender><[^>]*>)``) so that the null sender ``<>`` stays distinct
  from "not logged"; the loop strips them.
- ``queue_id`` may capture ``NOQUEUE``; the loop turns it into null.
- An empty group is null.
- ``anvil_ts`` captures a traditional stamp text; the loop converts it to UTC.
- ``kind`` may be a group instead of a constant.
Every rule carries sample bodies; tests check that each sample matches its own
rule and no earlier one.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Mapping

import pyarrow as pa

# Regex pieces shared by the grammars (RE2 syntax).
QID = r"(?P<queue_id>[0-9A-Za-z]{5,24})"  # long ids can pass 20 chars on 64-bit inodes
CLIENT = r"(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d+))?"
# postscreen writes [ip]:port without a host name
PS_CLIENT = r"\[(?P<client_ip>[^\]\s]*)\]:(?P<client_port>\d+)"
STAGE = r"(?P<stage>CONNECT|HELO|EHLO|MAIL|RCPT|DATA|BDAT|END-OF-MESSAGE|VRFY|ETRN|STARTTLS|AUTH|QUIT|RSET|NOOP|UNKNOWN|[A-Z][A-Z-]*)"


@dataclass(frozen=True)
class Rule:
    kind: str | None
    pattern: str
    const: Mapping[str, object] = field(default_factory=dict)
    samples: tuple[str, ...] = ()
    # Optional cheaper pattern for the capture pass, run only on the rows ``pattern`` took:
    # it must give the same values there for the groups it has (fewer groups, one-pass for
    # RE2); finish() derives the rest. Or a tuple of such patterns, each with at most 4
    # groups (RE2's one-pass matcher takes no more), whose groups are merged; a row that one
    # of them misses is captured with ``pattern``. tests/test_rule_extract.py checks them.
    extract: str | tuple[str, ...] | None = None
    # Optional, for a pattern ``^HEAD(?P<reply>.*?)(?:TRAILER)?$``: capture without the lazy
    # reply, whose trailer test at every position makes RE2 backtrack (see Split).
    split: "Split | None" = None


@dataclass(frozen=True)
class Split:
    """How :func:`logscope.parse.apply_grammar` captures a reply and its trailer apart.

    ``passes`` capture the groups before the reply (one-pass: at most 4 groups each); one
    of them captures, as ``_head``, the line from its start to where the reply begins.
    ``trailer`` is TRAILER with a group ``_tail`` around all of it, then ``$``: searched in
    the line, its leftmost match is where the lazy reply stops. The reply is the text
    between ``_head`` and ``_tail``. A row where a pass misses, or where the trailer would
    begin before the reply, is captured with the rule's pattern. On the decision rule:
    ~79k -> ~43k instructions a line. tests/test_parse_split.py checks them against it.
    """

    passes: tuple[str, ...]
    trailer: str


@dataclass(frozen=True)
class Grammar:
    name: str
    daemons: frozenset[str]
    rules: tuple[Rule, ...]
    # Vectorised post-processing of this grammar's rows (e.g. classify restrictions).
    finish: Callable[[pa.Table], pa.Table] | None = None


# Appended after every grammar's own rules: Postfix's msg_warn/msg_error/msg_fatal/msg_panic
# lines that have no rule of their own are still classified by severity.
DIAGNOSTIC = Rule(
    "diagnostic",
    r"^(?P<severity>warning|error|fatal|panic): (?P<detail>.*)$",
    samples=("warning: database /etc/postfix/access.db is older than source file /etc/postfix/access",),
)

MODULES = ("smtpd", "anvil", "postscreen", "cleanup", "qmgr", "delivery", "amavis", "admin")


def load() -> list[Grammar]:
    """All grammars, in module order. A module that does not exist yet is skipped."""
    out = []
    for name in MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        out.append(mod.GRAMMAR)
    return out


def by_daemon(grammars: list[Grammar]) -> dict[str, Grammar]:
    table: dict[str, Grammar] = {}
    for g in grammars:
        for d in g.daemons:
            if d in table:
                raise ValueError(f"daemon {d} claimed by both {table[d].name} and {g.name}")
            table[d] = g
    return table


def kinds(grammar: Grammar) -> list[str]:
    """The event kinds a grammar emits, in rule order (group-provided kinds read from the samples)."""
    import numpy as np

    from ..parse import apply_grammar

    out: list[str] = []
    for rule in grammar.rules + (DIAGNOSTIC,):
        found = [rule.kind] if rule.kind else []
        if rule.kind is None and rule.samples:
            one = Grammar(grammar.name, grammar.daemons, (rule,), grammar.finish)
            tables, _ = apply_grammar(one, pa.array(rule.samples, pa.string()), np.arange(len(rule.samples)))
            found = [k for t in tables for k in t.column("kind").to_pylist()]
        for k in found:
            if k not in out:
                out.append(k)
    return out
