"""qmgr(8) (also nqmgr, oqmgr) and pickup(8).

NAME
    qmgr - grammar for the queue manager and the pickup daemon

LINES
    QID: from=<s>, size=N, nrcpt=N (queue active)
        kind ``queued``: sender, size, nrcpt. One per message per delivery attempt
        (a deferred message is logged again each time it re-enters the active queue).
        [qmgr/qmgr_message.c]
    QID: removed
        kind ``removed``: the queue file is gone (all recipients done). [qmgr/qmgr_active.c]
    QID: uid=N from=<s>[ orig_id=OLDQID]
        kind ``pickup`` (daemon pickup): sender, detail = the submitting uid.
        [pickup/pickup.c]
    QID: from=<s>, status=expired, returned to sender
        kind ``expired``: sender, status = expired (maximal_queue_lifetime reached).
    QID: skipped, still being delivered
        kind ``skipped``.
    QID: to=<r>, relay=none, ..., status=deferred (delivery temporarily suspended: ...)
        kind ``delivery``: recipients the queue manager defers or bounces itself (see the
        delivery grammar); ``QID: status=deferred (bounce failed)`` -> ``bounce_failed``.
    warning: ...
        generic ``diagnostic``; ``warning: QID: ...`` keeps the queue_id.
"""
from __future__ import annotations

from . import QID, Grammar, Rule
from . import delivery

RULES = (
    Rule(
        "queued",
        "^" + QID + r": from=(?P<sender><[^>]*>)>?, size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+) \(queue [a-z]+\)$",
        samples=(
            "02B0A21A015: from=<alice@example.com>, size=417, nrcpt=1 (queue active)",
            "672E821A14F: from=<>, size=2528, nrcpt=1 (queue active)",
        ),
    ),
    Rule(
        "removed",
        "^" + QID + r": removed$",
        samples=("02B0A21A015: removed", "4NrKx05Xbvz9sLr: removed"),
    ),
    Rule(
        "pickup",
        "^" + QID + r": uid=(?P<detail>\d+) from=(?P<sender><[^>]*>)(?: orig_id=[0-9A-Za-z]+)?$",
        samples=("C524E21A162: uid=0 from=<root>", "CABB4B2007: uid=108 from=<nagios>"),
    ),
    Rule(
        "expired",
        "^" + QID + r": from=(?P<sender><[^>]*>)>?, status=(?P<status>expired), returned to sender$",
        samples=(
            "CD93E21A06A: from=<alice@example.com>, status=expired, returned to sender",
            "123456789AB: from=<user@example.com>>, status=expired, returned to sender",
        ),
    ),
    Rule(
        "skipped",
        # wider than QID: long queue ids can exceed 20 characters (64-bit inode numbers)
        r"^(?P<queue_id>[0-9A-Za-z]{5,24}): skipped, still being delivered$",
        samples=("85382214625: skipped, still being delivered", "ED06590130AA1C9D6D862: skipped, still being delivered"),
    ),
) + delivery.SHARED


def finish(t):
    if len(t) and "kind" in t.column_names and t.column("kind")[0].as_py() in delivery.REPLY_KINDS:
        t = delivery.reply_fields(t)
    return t


GRAMMAR = Grammar("qmgr", daemons=frozenset({"qmgr", "nqmgr", "oqmgr", "pickup"}), rules=RULES, finish=finish)
