"""Rules with a cheaper capture pattern (Rule.extract) must give the rows they take the same values."""
import re

import numpy as np
import pyarrow as pa
import pytest
from rule_compare import with_and_without

from logscope import grammars
from logscope.parse import apply_grammar

ALL = grammars.load()
RULES = [(g, r) for g in ALL for r in g.rules if r.extract]
_INDEX = {id(r): f"{g.name}#{i}" for g in ALL for i, r in enumerate(g.rules)}
# more shapes than the rules' samples carry
EXTRA = {
    "smtpd#7": (
        "client=example.com[192.0.2.1]:25, helo=example.com",
        "4A6B321A0E2: client=unknown[192.0.2.1]:unknown, sasl_method=LOGIN, sasl_username=a@b, sasl_sender=<x>",
        "4A6B321A0E2: client=unknown[2001:db8::1], sasl_username=a,b, c=d",
        "4A6B321A0E2: client=[192.0.2.1]",
    ),
    "smtpd#4": (
        "lost connection after END-OF-MESSAGE (approximately 3512 bytes) from unknown[192.0.2.1]:25 x y",
        "timeout after BDAT (7 bytes) from a[2001:db8::1]:unknown",
        "too many errors after XCLIENT from [192.0.2.1]",
    ),
    "smtpd#5": (
        "NOQUEUE: lost connection after END-OF-MESSAGE (approximately 3512 bytes) from unknown[192.0.2.1]:25 x y",
        "4F1A22C01A: timeout after BDAT (7 bytes) from a[2001:db8::1]:unknown",
    ),
    "smtpd:sasl_failed": (
        "warning: unknown[192.0.2.1]:25: SASL PLAIN authentication failed: , sasl_username=a@b",
        "warning: a.example[2001:db8::1]:unknown: SASL CRAM-MD5 authentication failed: x: y, z, sasl_username=u",
        "warning: [192.0.2.1]: SASL LOGIN authentication failed",
    ),
    "smtpd#6": (
        "4A6B321A0E2: client=unknown[192.0.2.1]:25, orig_queue_id=AA4F721A0DA, orig_client=unknown[127.0.0.90]",
        "4A6B321A0E2: client=unknown[192.0.2.1]:unknown, orig_queue_id=AA4F721A0DA, orig_client=x[::1]:7",
        "4A6B321A0E2: client=[192.0.2.1], orig_queue_id=AA4F721A0DA, orig_client=a",
    ),
    "smtpd:tls": (
        "TLS connection established from unknown[192.0.2.1]: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
        "Trusted TLS connection established from mx.example.net[2001:db8::1]:25: TLSv1.3 with cipher X (256/256 bits)",
        "Verified TLS connection established to mx.example.net[192.0.2.2]:unknown: TLSv1.3 with cipher Y",
        "Untrusted TLS connection established from a[192.0.2.3]: 25: odd",
    ),
    "disconnect": (
        "disconnect from unknown[192.0.2.1]:unknown",
        "disconnect from mx.example.net[2001:db8::1]:25 helo=1 auth=0/2 mail=1 rcpt=3/4 data=1 quit=1 commands=4/9",
        "disconnect from unknown[192.0.2.2] ehlo=1 rcpt=1 mail=2 commands=4",
        "disconnect from unknown[192.0.2.3] auth=1 bdat=2/3 rset=1 commands=4/6",
        "disconnect from unknown[unknown] commands=0",
    ),
}


@pytest.mark.parametrize("g,rule", RULES, ids=[f"{g.name}:{r.kind}" for g, r in RULES])
def test_extract_matches_pattern(g, rule):
    samples = rule.samples + EXTRA.get(_INDEX[id(rule)], EXTRA.get(f"{g.name}:{rule.kind}", EXTRA.get(rule.kind, ())))
    several = isinstance(rule.extract, tuple)
    full = re.compile(rule.pattern)
    passes = [re.compile(p) for p in (rule.extract if several else (rule.extract,))]
    names = [n for c in passes for n in c.groupindex]
    assert len(names) == len(set(names)), "a group in two passes"
    assert set(names) <= set(full.groupindex)
    if several:
        assert set(names) == set(full.groupindex), "passes must give every group"
        assert all(len(c.groupindex) <= 4 for c in passes), "RE2's one-pass matcher takes at most 4 groups"
    for s in samples:
        m = full.search(s)
        assert m, s
        for c in passes:
            cm = c.search(s)
            assert cm or several, s  # a row a pass misses is captured with the full pattern
            if cm:
                for name in c.groupindex:
                    assert cm.group(name) == m.group(name), (s, name)
    a, b = with_and_without(g, rule, samples, "extract")
    assert a == b


def test_passes_fall_back_to_the_full_pattern():
    """A row that one extract pass misses is captured with the rule's pattern."""
    rule = grammars.Rule("x", r"^(?P<detail>a|b)(?P<status>\d)$", extract=(r"^(?P<detail>a)", r"(?P<status>\d)$"))
    g = grammars.Grammar("x", frozenset({"x"}), (rule,))
    (t,), left = apply_grammar(g, pa.array(["a1", "b2", "c3", "a4"]), np.arange(4))
    assert t.column("_row").to_pylist() == [0, 1, 3]
    assert t.column("detail").to_pylist() == ["a", "b", "a"]
    assert t.column("status").to_pylist() == ["1", "2", "4"]
    assert list(left) == [2]
