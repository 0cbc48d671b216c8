"""Rules with a cheaper capture pattern (Rule.extract) must give the rows they take the same values."""
import dataclasses
import re

import numpy as np
import pyarrow as pa
import pytest

from logscope import grammars
from logscope.parse import apply_grammar

ALL = grammars.load()
RULES = [(g, r) for g in ALL for r in g.rules if r.extract]
# more shapes than the rules' samples carry
EXTRA = {
    "disconnect": (
        "disconnect from unknown[192.0.2.1]:unknown",
        "disconnect from mx.example.net[2001:db8::1]:25 helo=1 auth=0/2 mail=1 rcpt=3/4 data=1 quit=1 commands=4/9",
        "disconnect from unknown[192.0.2.2] ehlo=1 rcpt=1 mail=2 commands=4",
        "disconnect from unknown[192.0.2.3] auth=1 bdat=2/3 rset=1 commands=4/6",
        "disconnect from unknown[unknown] commands=0",
    ),
}


def _table(t: pa.Table) -> dict:
    return {name: t.column(name).to_pylist() for name in sorted(t.column_names)}


@pytest.mark.parametrize("g,rule", RULES, ids=[f"{g.name}:{r.kind}" for g, r in RULES])
def test_extract_matches_pattern(g, rule):
    samples = rule.samples + EXTRA.get(rule.kind, ())
    full, cheap = re.compile(rule.pattern), re.compile(rule.extract)
    assert set(cheap.groupindex) <= set(full.groupindex)
    for s in samples:
        m = full.search(s)
        assert m, s
        c = cheap.search(s)
        assert c, s
        for name in cheap.groupindex:
            assert c.group(name) == m.group(name), (s, name)
    one = dataclasses.replace(g, rules=(rule,))
    plain = dataclasses.replace(g, rules=(dataclasses.replace(rule, extract=None),))
    body, rows = pa.array(samples, pa.string()), np.arange(len(samples))
    (a,), _ = apply_grammar(one, body, rows)
    (b,), _ = apply_grammar(plain, body, rows)
    assert _table(a) == _table(b)
