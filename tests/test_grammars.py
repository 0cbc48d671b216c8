"""Every grammar rule carries samples; each sample must be taken by its own rule.

After lnav's format loader: a pattern without a sample, or a sample that an
earlier rule steals, fails here.
"""
import re

import pytest

from logscope import grammars
from logscope.grammars import DIAGNOSTIC
from logscope.schema import EVENTS

ALL = grammars.load()
RULES = [(g, i, r) for g in ALL for i, r in enumerate(g.rules + (DIAGNOSTIC,))]


def _py(pattern: str) -> re.Pattern:
    return re.compile(pattern)


@pytest.mark.parametrize("g,i,rule", RULES, ids=[f"{g.name}:{r.kind}:{i}" for g, i, r in RULES])
def test_rule_has_samples_taken_by_itself(g, i, rule):
    assert rule.samples, f"{g.name} rule {rule.kind} has no sample"
    ordered = g.rules + (DIAGNOSTIC,)
    for sample in rule.samples:
        first = next((j for j, r in enumerate(ordered) if _py(r.pattern).search(sample)), None)
        assert first == i, f"sample {sample!r} is taken by rule {first} ({ordered[first].kind if first is not None else None}), not {i}"


@pytest.mark.parametrize("g,i,rule", RULES, ids=[f"{g.name}:{r.kind}:{i}" for g, i, r in RULES])
def test_groups_are_columns(g, i, rule):
    names = set(EVENTS.names) | {"kind"}
    groups = set(_py(rule.pattern).groupindex)
    assert groups <= names, f"unknown columns {groups - names}"
    assert set(rule.const) <= names
    assert rule.kind is not None or "kind" in groups


def test_daemons_claimed_once():
    grammars.by_daemon(ALL)
