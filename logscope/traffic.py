"""traffic: what the mail system moved in a period, pflogsumm-style, with a content filter counted once.

Reads the views ``traffic`` and ``traffic_handoffs`` (``queries/views/30_traffic.sql``) through the
named queries ``traffic_summary``, ``traffic_timeseries``, ``traffic_top`` and ``traffic_problems``.

Counts (see the view for the exact line shapes):

- received: smtpd ``QID: client=`` (smtpd_proto.c) and pickup ``QID: uid=N from=<…>`` (pickup.c) lines;
  a message a content filter put back (its queue id is the ``queued as`` of a hand-off, or the
  ``client=`` line carries ``orig_queue_id=``) is not received again.
- delivered / forwarded / deferred / bounced: delivery agents' ``status=`` lines (smtp, lmtp, local,
  virtual, pipe, error, discard: ``global/log_adhoc.c``); ``forwarded as`` is forwarded, a status=sent
  whose ``queued as NEWQID`` reappears in the store is a hand-off (content filter or next hop we
  also logged), not a delivery.
- expired: qmgr ``status=expired, returned to sender``.
- rejected, reject_warning, held, discarded: the ``rejects`` view (smtpd, postscreen, cleanup).

Every time is UTC. :func:`summary` returns JSON-serialisable data only.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

from . import queries

MEASURES = ("received", "delivered", "forwarded", "deferred", "bounced", "expired", "rejected", "reject_warnings", "held", "discarded")
TOP_DIMENSIONS = ("sender", "sender_domain", "recipient", "recipient_domain", "client")


def _clean(v: Any) -> Any:
    """A JSON-friendly scalar: timestamps as ISO 8601 text, NaN as None, decimals as numbers."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).isoformat() if v.tzinfo else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 3)
    if hasattr(v, "__int__") and type(v).__name__ in ("Decimal", "int128"):
        return int(v)
    if type(v).__name__ == "Decimal":
        return float(v)
    return v


def records(rel) -> list[dict[str, Any]]:
    """Rows of a DuckDB relation as dicts of clean scalars."""
    cols = rel.columns
    return [{c: _clean(v) for c, v in zip(cols, row)} for row in rel.fetchall()]


def summary(con, since: dt.datetime | None = None, until: dt.datetime | None = None, *, limit: int = 10) -> dict[str, Any]:
    """Traffic in [since, until): totals, per day, per hour, hour-of-day profile, top talkers, problems.

    ``con`` is a connection from :func:`logscope.open`.
    """
    p = {"since": since, "until": until}
    # the period's traffic rows once, as a temp table that shadows the view for the queries
    # below; the view reads the period's lines and a margin (hand-offs, sizes) only
    with queries.events_near(con, since, until):
        con.execute(
            "create or replace temp table traffic as select * from memory.main.traffic"
            " where ($since is null or ts >= $since) and ($until is null or ts < $until)",
            p,
        )
    try:
        return _summary(con, p, limit)
    finally:
        con.execute("drop table if exists temp.main.traffic")


def _summary(con, p: dict, limit: int) -> dict[str, Any]:
    since, until = p["since"], p["until"]
    totals = records(queries.run(con, "traffic_summary", **p))[0]
    for k, v in totals.items():
        if k not in ("first_ts", "last_ts") and v is None:
            totals[k] = 0
    # pflogsumm's percentages: rejected of (delivered + rejected), discarded of received
    denom = totals["delivered"] + totals["forwarded"] + totals["rejected"]
    totals["rejected_pct"] = round(100.0 * totals["rejected"] / denom, 1) if denom else 0.0
    totals["discarded_pct"] = round(100.0 * totals["discarded"] / totals["received"], 1) if totals["received"] else 0.0
    per_day = records(queries.run(con, "traffic_timeseries", bucket="day", **p))
    per_hour = records(queries.run(con, "traffic_timeseries", bucket="hour", **p))
    profile = records(queries.run(con, "traffic_timeseries", bucket="hour_of_day", **p))
    for rows in (per_day, per_hour):
        for r in rows:
            r.pop("hour", None)
    for r in profile:
        r.pop("bucket", None)
    top: dict[str, list[dict]] = {d: [] for d in TOP_DIMENSIONS}
    for r in records(queries.run(con, "traffic_top", limit=limit, **p)):
        top.setdefault(r.pop("dimension"), []).append(r)
    problems: dict[str, list[dict]] = {}
    for r in records(queries.run(con, "traffic_problems", limit=limit, **p)):
        problems.setdefault(r.pop("kind"), []).append(r)
    return {
        "period": {"since": _clean(since), "until": _clean(until)},
        "totals": totals,
        "per_day": per_day,
        "per_hour": per_hour,
        "hour_of_day": profile,
        "top": top,
        "problems": problems,
    }


__all__ = ["MEASURES", "TOP_DIMENSIONS", "records", "summary"]
