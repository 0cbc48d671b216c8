"""amavis - amavisd-new content filter log lines.

NAME
    amavis - verdicts and other messages of amavisd-new (program names
    ``amavis``, ``amavisd``, ``amavisd-new``, also ``/usr/sbin/amavisd`` in
    amavis's own ``$LOGFILE``).

SUMMARY
    The verdict line, written once per message by amavisd's ``$log_templ``
    (amavisd-new 2.x, reference section 6)::

        (04711-01) Passed CLEAN {RelayedInbound}, [192.0.2.77]:41000 [192.0.2.77]
          <a@partner.example> -> <alice@example.org>, Queue-ID: 4F1A22C01A,
          Message-ID: <abc@partner.example>, mail_id: Ab1Cd2Ef3Gh4, Hits: -1.2,
          size: 5123, queued_as: 5B2C33D02B, 812 ms

KINDS AND FIELDS
    amavis
        The verdict. ``amavis_id`` (04711-01), ``status`` (Passed or Blocked),
        ``category`` (CLEAN, SPAM, SPAMMY, BANNED, INFECTED, BAD-HEADER-n,
        OVERSIZED, MTA-BLOCKED, UNCHECKED, OTHER, TEMPFAIL ...; null on very old
        lines that log ``Passed,`` alone), ``detail`` (the parenthesised part
        of BANNED and INFECTED, without the parentheses: the banned part or
        the virus names), ``action`` (the ``{...}`` disposition, e.g.
        ``DiscardedInbound,Quarantined``), ``client_ip``/``client_port`` (the
        SMTP client amavis saw, from XFORWARD; ``IPv6:`` tag removed),
        ``sender``, ``recipient`` (all recipients, comma-joined, no angle
        brackets), ``queue_id`` (Queue-ID: the Postfix message that went into
        amavis), ``message_id`` (without angle brackets), ``hits`` (float,
        null for ``Hits: -``), ``size`` (bytes), ``new_queue_id`` (queued_as:
        the Postfix queue id of the re-injected message), ``elapsed_ms``.
        Policy-bank names before the client (``MYNETS LOCAL``,
        ``ORIGINATING``), the originating ``[ip]`` from the Received header,
        ``mail_id``, ``quarantine:`` and ``dkim_sd=`` have no column.
    amavis_cont
        A continuation chunk, see BUGS: ``amavis_id``, ``detail`` (the chunk
        text) and whichever tail fields it carries (queue_id, message_id,
        hits, size, new_queue_id, elapsed_ms).
    amavis_spam
        SpamAssassin's per-message line (``SPAM, <s> -> <r>, Yes, score=...``
        and ``SPAM-TAG, ...``): ``category``, ``sender``, ``recipient``,
        ``hits``, ``detail`` (thresholds and tests).
    amavis_timing
        ``TIMING [total 5808 ms] - ...`` and ``TIMING-SA total 5478 ms - ...``:
        ``elapsed_ms`` and the breakdown in ``detail``.
    amavis_virus
        ``virus_scan: (names), detected by N scanners: ...``: ``category``
        INFECTED, ``detail`` the virus names.
    amavis_warning
        Alert-marked lines, ``(!)`` = severity warning, ``(!!)`` = error;
        ``TROUBLE ...`` and ``PANIC ...`` = error; ``WARN:``, ``_WARN:`` and
        ``SA warn:`` = warning. ``detail`` is the text after the mark.
    amavis_info
        Every other amavis line: start-up (``starting.``, ``Net::Server:``,
        ``No decoder for``, ``extra modules loaded``, ``SpamControl: ...``),
        ``NOTICE:``/``INFO:``, per-message chatter at higher log levels.
        ``amavis_id`` when the line has one, the text in ``detail``. A line
        without an id that reads like Postfix's ``warning: ...`` (also error,
        fatal, panic) is left to the generic ``diagnostic`` rule.

BUGS
    amavisd splits a log line longer than 980 characters (many recipients):
    the first chunk ends in ``...`` and each following chunk starts with
    ``(id) ...``. The first chunk still parses as ``amavis`` (its tail fields
    are missing, its recipient list may be cut short); the others are
    ``amavis_cont``. Join them on (host, amavis_id) to complete the verdict.
    Chunks are not merged here: the parser maps one line to one row.

SEE ALSO
    amavisd-new ``$log_templ`` and ``write_log`` (amavisd); reference
    section 6; postfix-lab ``amavis.log.sample``.
"""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from . import Grammar, Rule


def _not_starting_with(*words: str) -> str:
    """A pattern for text that starts with none of ``words`` (RE2 has no lookahead).

    Walks the trie of the words: at each node the text may end, go on with a
    character no word continues with, or follow a branch that is not yet a whole word.
    """

    def node(rests: list[str]) -> str | None:
        if "" in rests:
            return None  # a whole word: excluded
        heads = sorted({r[0] for r in rests})
        alts = ["[^" + "".join(re.escape(h) for h in heads) + "].*", ""]
        for h in heads:
            sub = node([r[1:] for r in rests if r[0] == h])
            if sub is not None:
                alts.append(re.escape(h) + sub)
        return "(?:" + "|".join(alts) + ")"

    return node(list(words)) or ""


# amavis log id "(04711-01)", with a child suffix "(04711-01-2)".
_ID = r"\((?P<amavis_id>[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+)\)"
_OPT_ID = r"(?:" + _ID + r" )?"

# Verdict head up to the recipients; the rest goes to a scratch column (reply) that
# _finish() slices into fields, because the tail's fields vary by version and config.
VERDICT = (
    r"^" + _ID + r" (?P<status>Passed|Blocked)"
    r"(?: (?P<category>[A-Z][A-Z0-9-]*)(?: \((?P<detail>.*?)\))?)?"
    r"(?: \{(?P<action>[^}]*)\})?, "
    # policy banks: LOCAL, MYNETS, ORIGINATING/MYNETS, AM.PDP ...
    r"(?:[A-Za-z][\w.-]*(?:/[\w.-]+)* )*"
    r"(?:\[(?:IPv6:)?(?P<client_ip>[^\]\s]+)\](?::(?P<client_port>\d+))? )?"
    # originating address(es) from the Received header
    r"(?:\[[^\]\s]*\] )*"
    r"(?P<sender><[^>]*>) -> (?P<recipient><[^>]*>(?:,<[^>]*>)*)"
    r"(?P<reply>.*)$"
)

RULES = (
    Rule(
        "amavis",
        VERDICT,
        samples=(
            "(04711-01) Passed CLEAN {RelayedInbound}, [192.0.2.77]:41000 [192.0.2.77] <a@partner.example> -> "
            "<alice@example.org>, Queue-ID: 4F1A22C01A, Message-ID: <abc@partner.example>, mail_id: Ab1Cd2Ef3Gh4, "
            "Hits: -1.2, size: 5123, queued_as: 5B2C33D02B, 812 ms",
            "(04711-02) Blocked SPAM {DiscardedInbound,Quarantined}, [198.51.100.99]:5555 [198.51.100.99] "
            "<promo@spammy.example> -> <alice@example.org>, quarantine: spam-Zz9Yy8Xx, Queue-ID: 6C3D44E03C, "
            "Message-ID: <x1@spammy.example>, mail_id: Zz9Yy8Xx, Hits: 12.5, size: 20480, 1500 ms",
            "(23793-03) Blocked BANNED (application/x-msdownload,.asc,invoice.exe) {RejectedInbound,Quarantined}, "
            "[127.0.0.91]:40501 <joe@sender.test> -> <alice@example.com>, Queue-ID: 2852C21A173, "
            "Message-ID: <20261127175642.024474@vm>, mail_id: HrzTcqMqfsfC, Hits: -, size: 855, 70 ms",
            # old: no {...}, no port, policy banks, several recipients
            "(9999-99) Passed SPAMMY, ORIGINATING/MYNETS LOCAL [10.0.0.1] [10.0.0.1] <from@example.com> -> "
            "<to1@sample.net>,<to2@sample.net>, quarantine: spam-EzEbE9W, Message-ID: <11780394@example.com>, "
            "mail_id: EzEbE9W, Hits: 6.364, size: 16493, 6292 ms",
            "(9999-99) Passed, <from@example.com> -> <to@sample.net>, Message-ID: <B5C@example.com>, Hits: -",
        ),
    ),
    Rule(
        "amavis_cont",
        r"^" + _ID + r" \.\.\.(?P<reply>.*)$",
        samples=(
            "(04711-05) ...<x99@example.org>, Queue-ID: 4F1A22C01A, Message-ID: <m@e.example>, mail_id: Ab1, "
            "Hits: 2.1, size: 5123, queued_as: 5B2C33D02B, 812 ms",
        ),
    ),
    Rule(
        "amavis_timing",
        r"^" + _OPT_ID + r"TIMING(?:-SA)? \[?total (?P<elapsed_ms>\d+) ms\]? - (?P<detail>.*)$",
        samples=(
            "(9999-99) TIMING [total 5808 ms] - SMTP greeting: 5 (0%)0, SMTP LHLO: 1 (0%)0, SMTP DATA: 34 (1%)1",
            "(9999-99) TIMING-SA total 5478 ms - parse: 1.69 (0.0%), check_bayes: 17 (0.3%)",
        ),
    ),
    Rule(
        "amavis_spam",
        r"^" + _ID + r" (?P<category>SPAM|SPAM-TAG), (?P<sender><[^>]*>) -> (?P<recipient>\S*?), (?:Yes|No), "
        r"(?:score|hits)=(?P<hits>-?\d+(?:\.\d+)?)(?: (?P<detail>.*))?$",
        samples=(
            "(9999-99) SPAM, <from@example.com> -> <to@sample.com>, Yes, score=17.709 tag=-10 tag2=6.31 kill=6.31 "
            "tests=[AWL=-0.678, BAYES_99=4], autolearn=spam, quarantine Cc4+GUJhgpqh (spam-quarantine)",
            "(9999-99) SPAM-TAG, <from@example.com> -> <to@sample.net>, No, score=-0.069 tagged_above=-10 "
            "required=6.31 tests=[BAYES_00=-2.599, FROM_ENDS_IN_NUMS=2.53]",
        ),
    ),
    Rule(
        "amavis_virus",
        r"^" + _OPT_ID + r"virus_scan: \((?P<detail>.*)\), detected by ",
        const={"category": "INFECTED"},
        samples=("(9999-99) virus_scan: (Worm.SomeFool.D, Worm.SomeFool.D), detected by 1 scanners: ClamAV-clamd",),
    ),
    Rule(
        "amavis_warning",
        r"^" + _OPT_ID + r"\(!!\) ?(?P<detail>.*)$",
        const={"severity": "error"},
        samples=(
            "(9999-99) (!!)TROUBLE in process_request: Can't create file /var/amavis/tmp/amavis-98/email.txt: File exists",
            "(!!)ClamAV-clamd av-scanner FAILED: CODE(0x804fa08) Too many retries to talk to /var/run/clamav/clamd.socket",
        ),
    ),
    Rule(
        "amavis_warning",
        r"^" + _OPT_ID + r"\(!\) ?(?P<detail>.*)$",
        const={"severity": "warning"},
        samples=(
            "(9999-99) (!)ClamAV-clamd: Can't connect to UNIX socket /var/run/clamav/clamd: Connection refused, retrying (2)",
            "(9999-99) (!) policy protocol: INVALID ATTRIBUTE LINE: /var/spool/courier/tmp/114528/D967099\\n",
        ),
    ),
    Rule(
        "amavis_warning",
        r"^" + _OPT_ID + r"(?P<detail>(?:TROUBLE|PANIC)\b.*)$",
        const={"severity": "error"},
        samples=(
            "(9999-99) TROUBLE in check_mail: spam_scan FAILED: DBD::mysql::st execute failed: MySQL server has gone away",
            "(9999-99) PANIC, PANIC, SA produced a clone process of [19122], TERMINATING CLONE [19123]",
        ),
    ),
    Rule(
        "amavis_warning",
        r"^" + _OPT_ID + r"(?:_?WARN|SA warn): ?(?P<detail>.*)$",
        const={"severity": "warning"},
        samples=(
            "(9999-99) WARN: address modified (sender): <root> -> <root@>",
            "(9999-99) SA warn: FuzzyOcr: Cannot find executable for gocr",
        ),
    ),
    Rule(
        "amavis_info",
        r"^" + _ID + r" (?P<detail>.+)$",
        samples=(
            "(9999-99) extra modules loaded: PerlIO.pm, PerlIO/scalar.pm",
            "(9999-99) NOTICE: Not sending DSN, spam level exceeds DSN cutoff level for all recips, mail intentionally dropped",
            "(9999-99) Quarantined message release: hiyPJOsD2m9Z <from@sample.net> -> <to@example.com>",
        ),
    ),
    # Lines without an id are the daemon's own (start-up, Net::Server, decoders).
    # Postfix-style "warning: ..." is left to the generic diagnostic rule.
    Rule(
        "amavis_info",
        r"^(?P<detail>" + _not_starting_with("warning: ", "error: ", "fatal: ", "panic: ") + r")$",
        samples=(
            'starting. /usr/sbin/amavisd at mx.example.com amavis-2.13.0 (20230106), Unicode aware, LANG="C.UTF-8"',
            "Net::Server: Group Not Defined.  Defaulting to EGID '993 993'",
            "No decoder for       .7z  ",
            "perl=5.036000, user=, EUID: 993 (993);  group=(), EGID: 993 993 (993 993)",
        ),
    ),
)

# Fields of the verdict tail, found one by one so that their order and the
# optional fields in between (quarantine:, mail_id:, dkim_sd= ...) do not matter.
_TAIL = (
    ("queue_id", r"Queue-ID: (?P<v>[^,\s]+)", pa.string()),
    ("message_id", r"Message-ID: <(?P<v>[^>]*)>", pa.string()),
    ("hits", r"Hits: (?P<v>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", pa.float64()),
    ("size", r"size: (?P<v>\d+)", pa.int64()),
    ("new_queue_id", r"queued_as: (?P<v>[^,\s]+)", pa.string()),
    ("elapsed_ms", r"(?:^|, )(?P<v>\d+) ms$", pa.int64()),
)


def _recipients(a: pa.ChunkedArray) -> pa.ChunkedArray:
    """``<a>,<b>`` -> ``a,b``; the loop strips brackets only around a single address."""
    a = pc.replace_substring(a, ">,<", ",")
    return pc.replace_substring_regex(a, r"^<|>$", "")


def _finish(t: pa.Table) -> pa.Table:
    names = t.column_names
    if "recipient" in names:
        t = t.set_column(names.index("recipient"), "recipient", _recipients(t.column("recipient")))
    if "reply" not in names:
        return t
    tail = t.column("reply")
    for name, pattern, typ in _TAIL:
        if name in t.column_names:
            continue
        v = pc.struct_field(pc.extract_regex(tail, pattern), "v")
        t = t.append_column(name, v if typ == pa.string() else pc.cast(v, typ))
    if "detail" not in t.column_names:  # amavis_cont keeps its chunk text
        t = t.append_column("detail", tail)
    return t.drop_columns(["reply"])


GRAMMAR = Grammar("amavis", daemons=frozenset({"amavis"}), rules=RULES, finish=_finish)
