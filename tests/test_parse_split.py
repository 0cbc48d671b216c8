"""Rules captured in parts (Rule.split) must give exactly what their full pattern gives.

The full pattern's lazy reply stops at the leftmost place where the trailer matches to the
end of the line; the split search must find the same place, also for replies that hold
';', 'from=<', '>' and trailers with fields missing, repeated or out of order.
"""
import random
import re

import pytest
from rule_compare import with_and_without

from logscope import grammars
from logscope.grammars import Grammar, Rule, Split

ALL = grammars.load()
RULES = [(g, r) for g in ALL for r in g.rules if r.split]


def _both(g: Grammar, rule: Rule, lines: list[str]) -> tuple[dict, dict]:
    return with_and_without(g, rule, lines, "split")


def _decision_lines(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    qids = ["NOQUEUE", "4F1A22C01A", "8E55721A1AC", "AbCdE"]
    actions = ["reject", "reject_warning", "defer", "hold", "discard", "milter-reject", "warn", "info", "permit"]
    stages = ["RCPT", "MAIL", "DATA", "END-OF-MESSAGE", "CONNECT", "EHLO", "BDAT", "XFOO"]
    clients = ["unknown[192.0.2.1]", "mx.example.net[2001:db8::1]:25", "[198.51.100.7]:unknown", "a;b[192.0.2.9]",
               "h[192.0.2.3]:2525", "x[ip;v]"]
    codes = ["", "554 ", "450 ", "55 ", "5544 ", "554 5.7.1 ", "5.7.1 ", "451 4.7.1 ", "250 2.0.0 ", "554 5.7.1"]
    words = ["Service unavailable", ";", "; ", "from=<a@b>", " from=<x>", ">", "<", " to=<y>", " proto=ESMTP",
             " helo=<h>", "Client host [192.0.2.1] blocked using zen.spamhaus.org", "; see http://x/?a;b",
             "<u@example.com>: Recipient address rejected", " sasl_method=PLAIN", " sasl_username=u", "é", ";;", "x>y<z"]
    fields = [" from=<{}>", " to=<{}>", " proto={}", " helo=<{}>", " sasl_method={}", " sasl_username={}", " sasl_sender={}"]
    values = ["a@example.com", "", "b>c", "x y", "ESMTP", "SMTP", "h.example", "<q>", "a;b", "PLAIN", "u@v"]
    out = []
    for _ in range(n):
        reply = "".join(rnd.choice(words) for _ in range(rnd.randint(0, 4)))
        trailer = ""
        if rnd.random() < 0.8:
            chosen = sorted(rnd.sample(range(len(fields)), rnd.randint(0, 4)))
            if rnd.random() < 0.1:
                rnd.shuffle(chosen)
            trailer = ";" + "".join(fields[i].format(rnd.choice(values)) for i in chosen)
        out.append(f"{rnd.choice(qids)}: {rnd.choice(actions)}: {rnd.choice(stages)} from {rnd.choice(clients)}: "
                   f"{rnd.choice(codes)}{reply}{trailer}")
    return out


@pytest.mark.parametrize("g,rule", RULES, ids=[f"{g.name}:{r.kind}" for g, r in RULES])
def test_split_matches_pattern(g, rule):
    lines = list(rule.samples) + _decision_lines(4000)
    taken = [s for s in lines if re.search(rule.pattern, s)]
    assert len(taken) > 1000  # the fuzz lines mostly fit the rule
    a, b = _both(g, rule, lines)
    assert a == b


@pytest.mark.parametrize("g,rule", RULES, ids=[f"{g.name}:{r.kind}" for g, r in RULES])
def test_split_groups(g, rule):
    full = set(re.compile(rule.pattern).groupindex)
    passes = [re.compile(p) for p in rule.split.passes]
    names = [n for c in passes for n in c.groupindex] + [
        n for n in re.compile(rule.split.trailer).groupindex if n != "_tail"]
    assert "_head" in names and "_tail" in re.compile(rule.split.trailer).groupindex
    assert rule.split.trailer.endswith("$")
    assert len(names) == len(set(names)), "a group in two passes"
    assert set(names) - {"_head"} | {"reply"} == full, "the passes and the trailer must give every group"
    assert all(len(c.groupindex) <= 4 for c in passes), "RE2's one-pass matcher takes at most 4 groups"
    for s in rule.samples:
        m = re.search(rule.pattern, s)
        head = next(c.search(s) for c in passes if "_head" in c.groupindex)
        tail = re.search(rule.split.trailer, s)
        assert s[head.end("_head"): tail.start("_tail") if tail else len(s)] == m.group("reply")


def test_split_falls_back_to_the_full_pattern():
    """A row a pass misses, or whose trailer would begin before the reply, takes the pattern."""
    rule = Rule(
        "x",
        r"^(?P<detail>[^:]+): (?P<reply>.*?)(?:;(?: from=(?P<sender><.*?>))?)?$",
        split=Split(passes=(r"^(?P<_head>(?P<detail>[a-z ;=<>]+): )",), trailer=r"(?P<_tail>;(?: from=(?P<sender><.*?>))?)$"),
    )
    g = Grammar("x", frozenset({"x"}), (rule,))
    lines = ["ab: hello; from=<a>", "a1: x", "ab: ;", "ab: ", "ab: r; s; from=<q> ", "a; from=<b>: c>", "1"]
    a, b = _both(g, rule, lines)
    assert a == b
    assert a["reply"] == ["hello", "x", None, None, "r; s; from=<q> ", "c>"]
    assert a["sender"] == ["<a>", None, None, None, None, None]
