"""cleanup(8): message-id, header/body checks, milter actions.

NAME
    cleanup - grammar for the lines the cleanup daemon writes

LINES
    QID: message-id=<id>
        kind ``message_id``: message_id without the angle brackets. Postfix logs
        ``message-id=<>`` when the message has no Message-Id header: that gives the empty
        string (like the null sender), a bare ``message-id=`` gives null. Values that are
        not bracketed (encoded junk) are kept as logged. [cleanup/cleanup_message.c]
    QID: resent-message-id=<id>
        kind ``resent_message_id``: message_id (the Resent-Message-Id value).
    QID: <action>: header <line> from <origin>; from=<s> to=<r> proto=P helo=<h>[: <text>]
    QID: <action>: body <line> from <origin>; ...
        kind ``check`` (header_checks, body_checks, mime_header_checks and nested_header_checks,
        which Postfix all logs as ``header``; ``content`` is message_reject_characters;
        ``milter-header-<action>`` is milter_header_checks): action (reject, warning, hold,
        discard, filter, redirect, replace, prepend, info, bcc ...), status (header, body,
        content), detail (the matched line, at most 200 chars, may hold ``;`` and ``from``),
        client_host/client_ip/client_port (null when the origin is ``local``), sender,
        recipient, proto, helo, dsn and reply (the optional text: ``5.7.1 Spammy subject``
        -> dsn 5.7.1, reply ``Spammy subject``; for redirect/filter/prepend the target or the
        new text). restriction is set from status, restriction_class = content.
        The trailer fields are each optional; the matched line is taken up to the last
        `` from <origin>;`` that is followed by a well-formed trailer. [cleanup_act_log]
    QID: milter-reject: END-OF-MESSAGE from host[ip]: 5.7.1 text; from=<s> to=<r> proto=P helo=<h>
        kind ``milter``: action (milter-reject, milter-discard, milter-hold ...), stage,
        client_*, code (rare), dsn, reply, sender, recipient, proto, helo;
        restriction = milter, restriction_class = content. [cleanup/cleanup_milter.c]
    QID: to=<r>, relay=none, delay=..., status=bounced (...)
        kind ``delivery`` (recipients cleanup bounces itself), see the delivery grammar.
    warning: ...
        generic ``diagnostic``; ``warning: QID: ...`` keeps the queue_id.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from . import QID, STAGE, Grammar, Rule
from . import delivery

# the client the content came from: host[ip], or "local"/"unknown" (no client)
_ORIGIN = r"(?:(?P<client_host>[^\s\[\];]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d+))?|local|unknown)"
_TRAILER = (
    r"(?: from=(?P<sender><[^>]*>))?(?: to=(?P<recipient><[^>]*>))?(?: proto=(?P<proto>[A-Za-z]+))?"
    r"(?: helo=<(?P<helo>[^>]*)>)?"
)
_DSN = r"(?P<dsn>[245]\.\d{1,3}\.\d{1,3})"

RULES = (
    Rule(
        "message_id",
        "^" + QID + r": message-id=(?P<message_id>.*)$",
        samples=(
            "02B0A21A015: message-id=<20261127175748.025057@vm>",
            "623D221A022: message-id=<>",
            "246884008A: message-id==?utf-8?B?PDIwMjAwNjEzXzE0MzE1Ml8xMDcyZjVhZDdlZjU0M2Q0OWQ0?=",
        ),
    ),
    Rule(
        "check",
        "^" + QID + r": (?P<action>[a-z][a-z-]*): (?P<status>header|body|content|mime-header|nested-header) (?P<detail>.*) from "
        + _ORIGIN + ";" + _TRAILER + r"(?:: (?:" + _DSN + r" )?(?P<reply>.*))?$",
        const={"restriction_class": "content"},
        samples=(
            "688A621A1AA: reject: header Subject: cheap viagra now from host22.outside.test[127.0.0.22]; from=<promo@sender.test> to=<alice@example.com> proto=ESMTP helo=<host22.outside.test>: 5.7.1 Spammy subject detected",
            "8274421A1AA: reject: body Dear friend, click here to claim your prize today from host22.outside.test[127.0.0.22]; from=<promo@sender.test> to=<alice@example.com> proto=ESMTP helo=<host22.outside.test>: 5.7.1 Body spam phrase",
            "903D421A1AA: warning: header Subject: [warnme] newsletter from host23.outside.test[127.0.0.23]; from=<news@sender.test> to=<alice@example.com> proto=ESMTP helo=<host23.outside.test>: subject flagged",
            "9D27B21A06C: hold: header Subject: [holdme] suspicious from host23.outside.test[127.0.0.23]; from=<news@sender.test> to=<alice@example.com> proto=ESMTP helo=<host23.outside.test>: held for review",
            "B632421A06D: redirect: header Subject: [redirectme] for bob from host24.outside.test[127.0.0.24]; from=<news@sender.test> to=<alice@example.com> proto=ESMTP helo=<host24.outside.test>: bob@example.com",
            "CF76321A06D: prepend: header Subject: [prependme] prepend from host24.outside.test[127.0.0.24]; from=<news@sender.test> to=<alice@example.com> proto=ESMTP helo=<host24.outside.test>: X-Harness: prepended",
            "66BFB3C3487: warning: header Subject: [seapig-shop] Order confirmation from local; from=<shop@seapig-shop.tld>",
            "4104E3D: milter-header-redirect: header X-Spam-Status: Yes, score=39.3 required=5.0 tests=ADVANCE_FE from 061238241086.static.ctinets.com[61.238.241.86]; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>: tom@example.com",
        ),
    ),
    Rule(
        "milter",
        "^" + QID + r": (?P<action>milter-[a-z-]+): " + STAGE + r" from (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d+))?: "
        r"(?:(?P<code>\d{3}) )?(?:(?P<dsn>\d\.\d{1,3}\.\d{1,3}) )?(?P<reply>.*);" + _TRAILER + "$",
        const={"restriction": "milter", "restriction_class": "content"},
        samples=(
            "4104E3D: milter-reject: END-OF-MESSAGE from 061238241086.static.ctinets.com[61.238.241.86]: 5.7.1 Blocked by SpamAssassin; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>",
            "DEADBEEF: milter-discard: END-OF-MESSAGE from milterC.example.com[10.0.0.4]: milter triggers DISCARD action; from=<efrom@example.com> to=<eto@example.net> proto=ESMTP helo=<example.com>",
            "DEADBEEF: milter-reject: CONNECT from milterC.example.com[10.0.0.2]: 5.7.1 Some problem; proto=SMTP",
        ),
    ),
    delivery.DELIVERY,
    Rule(
        "resent_message_id",
        "^" + QID + r": resent-message-id=(?P<message_id>.*)$",
        samples=("DEADBEEF: resent-message-id=<ARF+DXZwLECdxm@mail.example.com>",),
    ),
    delivery.QUEUE_DIAGNOSTIC,
    delivery.QUEUED_DIAGNOSTIC,
    # A check line without a well-formed origin/trailer (mangled or truncated): the rest is the detail.
    Rule(
        "check",
        "^" + QID + r": (?P<action>[a-z][a-z-]*): (?P<status>header|body|content|mime-header|nested-header) (?P<detail>.*)$",
        const={"restriction_class": "content"},
        samples=(
            'DEADBEEF: replace: header From: "Example Help" <help@example.org: From: [help@example.org](mailto:help@example.org)',
            "DEADBEEF: reject: content Received: by example.com Postfix from example.com[10.0.0.1]; from=<efrom@example.com> to=<eto@sample.net> proto=ESMTP helo=.example.com>: 5.7.1 disallowed character",
        ),
    ),
    # Cyrus SASL plug-in trouble logged through Postfix
    Rule(
        "dlopen_error",
        r"^(?P<queue_id>NOQUEUE|[0-9A-Za-z]{5,20}): (?P<detail>unable to dlopen .*)$",
        const={"severity": "error"},
        samples=("NOQUEUE: unable to dlopen .../sasl2/libplain.so.2: .../sasl2/libplain.so.2: failed to map segment from shared object: Operation not permitted",),
    ),
)

_RESTRICTION = {
    "header": "header_checks",
    "body": "body_checks",
    "content": "message_reject_characters",
    "mime-header": "mime_header_checks",
    "nested-header": "nested_header_checks",
}


def _strip_id(a: pa.Array) -> pa.Array:
    bracketed = pc.and_(pc.starts_with(a, "<"), pc.ends_with(a, ">"))
    return pc.if_else(bracketed, pc.utf8_slice_codeunits(a, 1, -1), a)


def finish(t: pa.Table) -> pa.Table:
    if not len(t) or "kind" not in t.column_names:
        return t
    kind = t.column("kind")[0].as_py()
    names = t.column_names
    if kind in ("message_id", "resent_message_id") and "message_id" in names:
        t = t.set_column(names.index("message_id"), "message_id", _strip_id(t.column("message_id").combine_chunks()))
    elif kind == "check" and "status" in names and "restriction" not in names:
        status = t.column("status").combine_chunks()
        enc = pc.dictionary_encode(status)
        values = [_RESTRICTION.get(s) for s in enc.dictionary.to_pylist()]
        restriction = pa.array(values, pa.string()).take(enc.indices)
        action = t.column("action").combine_chunks()
        restriction = pc.if_else(pc.starts_with(action, "milter-"), "milter_header_checks", restriction)
        t = t.append_column("restriction", restriction)
    elif kind in delivery.REPLY_KINDS:
        t = delivery.reply_fields(t)
    return t


GRAMMAR = Grammar("cleanup", daemons=frozenset({"cleanup"}), rules=RULES, finish=finish)
