"""Run one grammar rule as it is and with one of its cheaper capture options removed.

Used by tests/test_rule_extract.py (``Rule.extract``) and tests/test_parse_split.py
(``Rule.split``): the option must give exactly what the rule's full pattern gives.
"""
import dataclasses

import numpy as np
import pyarrow as pa

from logscope.grammars import Grammar, Rule
from logscope.parse import apply_grammar


def table(t: pa.Table) -> dict:
    return {name: t.column(name).to_pylist() for name in sorted(t.column_names)}


def with_and_without(g: Grammar, rule: Rule, lines, option: str) -> tuple[dict, dict]:
    """The rows ``rule`` takes from ``lines`` as it is and with ``option`` set to None (as
    :func:`table` dicts); both must leave the same rows."""
    one = dataclasses.replace(g, rules=(rule,))
    plain = dataclasses.replace(g, rules=(dataclasses.replace(rule, **{option: None}),))
    body, rows = pa.array(list(lines), pa.string()), np.arange(len(lines))
    (a,), left_a = apply_grammar(one, body, rows)
    (b,), left_b = apply_grammar(plain, body, rows)
    assert list(left_a) == list(left_b)
    return table(a), table(b)
