"""anvil - peak connection and rate statistics of postfix/anvil.

LINES
    statistics: max connection rate 12/60s for (smtp:203.0.113.9) at Nov  6 10:07:33
    statistics: max connection count 4 for (smtp:203.0.113.9) at Nov  6 10:02:10
    statistics: max message rate 3/60s for (smtp:203.0.113.9) at Nov  6 10:07:33
    statistics: max recipient rate 40/60s for (smtp:203.0.113.9) at Nov  6 10:07:33
    statistics: max newtls rate 2/60s for (smtp:203.0.113.9) at Nov  6 10:07:33
    statistics: max auth rate 5/60s for (submission:203.0.113.9) at Nov  6 10:07:33
    statistics: max tlstrace rate 1/60s for (smtp:203.0.113.9) at Nov  6 10:07:33   (3.12 snapshots)
    statistics: max cache size 17 at Nov  6 10:07:33
    warning: ...                                      (generic diagnostic rule)

FIELDS
    kind         anvil
    metric       connection_rate, connection_count, message_rate, recipient_rate,
                 newtls_rate, auth_rate, tlstrace_rate, cache_size
    value        the peak
    rate_unit_s  anvil_rate_time_unit from "/60s" (rate metrics only)
    anvil_service, client_ip
                 the identifier "service:address" split at the address
    anvil_ts     the stamp after "at" (ctime text, no year; the loop converts it)

THE IDENTIFIER
    anvil's identifier is "<service>:<address>" where the service is the
    master.cf service name as smtpd saw it: "smtp", "smtpd" (behind postscreen),
    "2525", "127.0.0.1:2525", "[::1]:2525". The address is an IPv4 dotted quad,
    an IPv6 address or "unknown" (client_ip null, as the smtpd grammar does).
    With an IPv4 or "unknown" address the split is exact: the address is what
    follows the last ':'. With IPv6 the text is ambiguous in principle (is
    "127.0.0.1:2525:2001:db8::1" service 127.0.0.1:2525 or service 127.0.0.1
    with address 2525:2001:db8::1?). We prefer, in this order, a service of
    the form "[v6]:port", "dotted.host:port", then a bare name or port number
    without ':'; the address is the rest. Only a dot-less host with a port in
    front of an IPv6 client ("localhost:2525:2001:db8::1") is split wrongly
    (service "localhost"), because Postfix's bare service names never look
    like hex groups while such a host:port does.

    Real anvil always writes the rate unit in seconds ("/60s"); m, h, d and w
    suffixes (seen in other tools' test data) are converted too.

SOURCE
    src/anvil/anvil.c anvil_status_dump(); the embedded time is
    ctime(&when) + 4 printed with %.15s.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from . import Grammar, Rule

_H = r"[0-9A-Fa-f]{1,4}"
IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
IPV6 = (
    rf"(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{6}}{IPV4}"
    rf"|(?:{_H}(?::{_H}){{0,6}})?::(?:(?:{_H}:){{0,5}}(?:{_H}|{IPV4}))?)"
    r"(?:%[0-9A-Za-z_.-]+)?"
)
# Service alternatives in order of preference (see THE IDENTIFIER); the last one
# is greedy and only matters for IPv4/unknown addresses behind a dot-less host:port.
_SERVICE = (
    r"(?P<anvil_service>\[[0-9A-Fa-f:.]+\]:[0-9A-Za-z_.-]+"
    r"|[0-9A-Za-z_-]*\.[0-9A-Za-z_.-]*:[0-9A-Za-z_-]+"
    r"|[^:()\s]+"
    r"|[^()\s]+)"
)
IDENT = r"\(" + _SERVICE + r":(?P<client_ip>" + IPV4 + r"|unknown|" + IPV6 + r")\)"
# ctime() + 4, %.15s: "Nov  6 10:07:33"
STAMP = r"(?P<anvil_ts>[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d)"

RULES = (
    Rule(
        "anvil",
        r"^statistics: max (?P<metric>connection|message|recipient|newtls|auth|tlstrace) rate (?P<value>\d+)"
        r"/(?P<rate_unit_s>\d+)(?:s|(?P<detail>[mhdw])) for " + IDENT + " at " + STAMP + "$",
        samples=(
            "statistics: max connection rate 4/60s for (127.0.0.1:2525:127.0.0.47) at Nov 27 17:57:51",
            "statistics: max message rate 4/60s for (127.0.0.1:2525:127.0.0.47) at Nov 27 17:57:51",
            "statistics: max recipient rate 4/60s for (127.0.0.1:2525:127.0.0.47) at Nov 27 17:57:51",
            "statistics: max connection rate 1/60s for (smtpd:192.254.112.99) at Nov 26 10:59:09",
            "statistics: max newtls rate 2/60s for (smtp:203.0.113.9) at Nov  6 10:07:33",
            "statistics: max auth rate 5/60s for (submission:2001:db8::25) at Nov  6 10:07:33",
            "statistics: max tlstrace rate 1/60s for (smtp:unknown) at Nov  6 10:07:33",
            "statistics: max connection rate 1/5m for (smtpd:2604:8d00:0:1::3) at Oct 26 17:46:59",
        ),
    ),
    Rule(
        "anvil",
        r"^statistics: max connection count (?P<value>\d+) for " + IDENT + " at " + STAMP + "$",
        const={"metric": "connection_count"},
        samples=(
            "statistics: max connection count 1 for (127.0.0.1:2525:127.0.0.20) at Nov 27 17:57:49",
            "statistics: max connection count 1 for (smtpd:2604:8d00:0:1::3) at Oct 26 17:46:59",
            "statistics: max connection count 1 for (smtp:unknown) at Sep 7 07:14:19",
        ),
    ),
    Rule(
        "anvil",
        r"^statistics: max cache size (?P<value>\d+) at " + STAMP + "$",
        const={"metric": "cache_size"},
        samples=("statistics: max cache size 49 at Nov 27 17:57:56",),
    ),
)

_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def finish(t: pa.Table) -> pa.Table:
    """Address "unknown" -> null; rate rows: metric "connection" -> "connection_rate", units -> seconds."""
    names = t.column_names
    if "client_ip" in names:  # like smtpd's unknown[unknown]: no address
        ip = t.column("client_ip")
        ip = pc.if_else(pc.equal(ip, "unknown"), pa.scalar(None, pa.string()), ip)
        t = t.set_column(names.index("client_ip"), "client_ip", ip)
    if "rate_unit_s" not in names or "metric" not in names:
        return t
    metric = pc.binary_join_element_wise(t.column("metric"), pa.scalar("rate"), "_")
    t = t.set_column(names.index("metric"), "metric", metric)
    if "detail" in names:
        unit = t.column("detail")
        if pc.any(unit.is_valid()).as_py():
            mult = pa.scalar(1, pa.int32())
            for suffix, seconds in _UNIT_S.items():
                mult = pc.if_else(pc.fill_null(pc.equal(unit, suffix), False), pa.scalar(seconds, pa.int32()), mult)
            rate = pc.cast(pc.multiply(t.column("rate_unit_s"), mult), pa.int32())
            t = t.set_column(t.column_names.index("rate_unit_s"), "rate_unit_s", rate)
        t = t.drop_columns(["detail"])
    return t


GRAMMAR = Grammar("anvil", daemons=frozenset({"anvil"}), rules=RULES, finish=finish)
