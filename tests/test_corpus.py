"""Conformance with outside corpora (../shared/corpus; see its README.md).

For every record and every line of the whole logs:
(a) a Postfix or amavis line parses to an event, never to ``unparsed``; a line of
    another program (policyd-spf, postgrey, spamd, dovecot ...) is counted as skipped;
(b) where upstream gives expected fields, those that map to our columns are equal
    (the mapping, and the fields left out, are in tests/corpus_fields.py).

One parametrized case per record, so that a failure names the record, its daemon,
the unparsed reason or the differing columns. ``test_summary`` prints the parse
rate per file (``pytest -rP tests/test_corpus.py::test_summary``, or run
``python tests/corpus_fields.py``). Documented exceptions (malformed or not
Postfix at all) are skipped with their reason; there are no xfails.
"""
from __future__ import annotations

import pytest

import corpus_fields as cf

if not cf.CORPUS.is_dir():
    pytest.skip(f"corpus absent: {cf.CORPUS}", allow_module_level=True)

CASES = [(name, i) for name in cf.files() for i in range(len(cf.load(name)))]


def _id(param) -> str:
    name, i = param
    return cf.load(name)[i].key


@pytest.mark.parametrize("name,i", CASES, ids=[_id(p) for p in CASES])
def test_record(name, i):
    case = cf.load(name)[i]
    if case.exception:
        pytest.skip(f"documented exception: {case.exception}")
    out = cf.outcomes(name)[i]
    where = f"{case.line!r} (program {out.program}, daemon {out.daemon})"
    if not out.mail:
        assert out.state == "skipped", f"a line of another program must be skipped, got {out.state} ({out.reason}): {where}"
        return
    assert out.state == "event", f"{out.state}: {out.reason}: {where}"
    bad = cf.mismatches(case, out.event)
    assert not bad, f"kind {out.event['kind']}: " + "; ".join(
        f"{col}: expected {want!r}, got {got!r}" for col, want, got in bad
    ) + f" -- {where}"


def test_summary(capsys):
    """Prints parse rates per file and failures by daemon and cause; the records carry the assertions."""
    text = cf.summary()
    with capsys.disabled():
        print("\n" + text)
    empty = [name for name in cf.files() if not cf.load(name)]
    assert not empty, f"no cases read from {empty}"


def test_exceptions_exist():
    """Every documented exception still names a record of the corpus."""
    lines = {c.record_line for name in cf.files() for c in cf.load(name)}
    stale = [line for line in cf.EXCEPTIONS if line not in lines]
    assert not stale
