"""postscreen - the zombie blocker's verdicts, and its DNS helper dnsblog.

LINES (postscreen)
    CONNECT from [ip]:port to [ip]:port                  ps_connect (detail = server [ip]:port)
    PASS NEW|OLD [ip]:port                               ps_pass (status = NEW or OLD)
    DISCONNECT [ip]:port                                 ps_disconnect
    DNSBL rank N for [ip]:port                           ps_dnsbl_rank (value = N)
    PREGREET N after T from [ip]:port: text              ps_pregreet (value = N bytes, delay = T, detail = text)
    HANGUP after T from [ip]:port in test                ps_hangup (delay = T, detail = test)
    COMMAND PIPELINING from [ip]:port after CMD: text    ps_command_violation, status = the test label,
    NON-SMTP COMMAND from [ip]:port after STAGE: text      stage = the word after "after" (SMTP stage,
    COMMAND TIME|COUNT|LENGTH LIMIT from [ip]:port after STAGE   or the client's command for PIPELINING),
    BARE NEWLINE from [ip]:port after text                 detail = the escaped client text, stage = its first word
    DATA|BDAT without valid RCPT from [ip]:port
    ALLOWLISTED|WHITELISTED [ip]:port                    ps_allowlisted (status = the word logged)
    DENYLISTED|BLACKLISTED [ip]:port                     ps_denylisted (status = the word logged)
    ALLOWLIST VETO|WHITELIST VETO [ip]:port              ps_allowlist_veto
    NOQUEUE: reject: RCPT from [ip]:port: 550 5.7.1 Service unavailable; client [ip] blocked using ZONE;
        from=<s>, to=<r>, proto=ESMTP, helo=<h>          decision (see DECISIONS)
    NOQUEUE: reject: CONNECT from [ip]:port: too many connections
    NOQUEUE: reject: CONNECT from [ip]:port: all server ports busy
    reject: connect from [ip]:port: all screening ports busy          decision, stage CONNECT
    warning: dnsblog reply timeout 10s for ZONE          rbl_timeout (rbl_zone, value = seconds)
    cache btree:/path full|partial cleanup: retained=N dropped=M entries
                                                         ps_cache_cleanup (value = N, detail = the text)
    entering|leaving STRESS mode with N connections      ps_stress (status = entering/leaving, value = N)
    table X has changed - finishing in the background    table_changed (detail = X)
    warning|error|fatal|panic: ...                       diagnostic (generic rule)

LINES (dnsblog)
    addr IP listed by domain ZONE as 127.0.0.4           dnsbl_listing (client_ip, rbl_zone, rbl_reply)
    warning: dnsblog_query: lookup error for DNS query 5.113.0.203.ZONE: why
                                                         rbl_lookup_error (rbl_zone = the query minus 4
                                                         reversed IPv4 labels or 32 IPv6 nibbles,
                                                         client_ip = the address put back, detail = why)

DECISIONS
    postscreen's own RCPT reject separates its trailer with commas (smtpd uses spaces).
    kind = decision, action = reject, stage = RCPT, code, dsn, reply (text after the dsn),
    sender, recipient, proto, helo; restriction and restriction_class by reply text:
        Service unavailable; client [ip] blocked using ZONE   postscreen_dnsbl / rbl (rbl_zone, rbl_class rbl)
        Protocol error (5xx)                                   postscreen_protocol_error / protocol
                                     (pregreet, pipelining, non-SMTP or bare-newline test with action enforce)
        Service currently unavailable, 4xx                     postscreen_deep_protocol / greylist
                                     (the default reply after the after-220 tests: the client must come
                                     back in a new session, which works like greylisting)
        Service currently unavailable, 5xx                     postscreen_access_list / client
                                     (postscreen_denylist_action = enforce)
        anything else                                          postscreen / null
    With soft_bounce = yes a denylist reject reads 450 4.3.2 and is counted as postscreen_deep_protocol.
    CONNECT rejects carry the reply the client got (postscreen.c, not in the log): too many connections
    = 421 4.7.0, postscreen_client_connection_count_limit; all server ports busy = 421 4.3.2,
    postscreen_post_queue_limit; all screening ports busy = 421 4.3.2, postscreen_pre_queue_limit;
    restriction_class limit. Any other CONNECT reject text: restriction postscreen.

NOTES
    The elapsed time of PREGREET and HANGUP ("after T", seconds, may be negative after a clock step) goes to
    `delay`.

SOURCE
    src/postscreen/postscreen.c, postscreen_early.c, postscreen_smtpd.c, postscreen_misc.c,
    postscreen_dnsbl.c, postscreen_state.c; src/util/dict_cache.c; src/dnsblog/dnsblog.c.
"""
from __future__ import annotations

import ipaddress

import pyarrow as pa
import pyarrow.compute as pc

from . import PS_CLIENT, Grammar, Rule

# elapsed time as psc_format_delta_time() prints it: "0", "0.5", "6.6", "63"
_AFTER = r"after (?P<delay>-?\d+(?:\.\d+)?)"
# the comma-separated trailer of postscreen's RCPT reject (postscreen_smtpd.c psc_rcpt_cmd)
_TRAILER = r"; from=(?P<sender><.*?>), to=(?P<recipient><.*?>), proto=(?P<proto>[A-Z]+), helo=<(?P<helo>.*)>$"
_NIBBLES = r"(?:[0-9A-Fa-f]\.){31}[0-9A-Fa-f]"

RULES = (
    Rule(
        "ps_connect",
        r"^CONNECT from " + PS_CLIENT + r" to (?P<detail>\[[^\]\s]*\]:\d+)$",
        samples=(
            "CONNECT from [127.0.0.13]:57421 to [127.0.0.1]:2527",
            "CONNECT from [2607:f8b0:4003:c01::23a]:36051 to [2001:db8::25]:25",
        ),
    ),
    Rule(
        "ps_pass",
        r"^PASS (?P<status>NEW|OLD) " + PS_CLIENT + "$",
        samples=("PASS NEW [127.0.0.61]:35533", "PASS OLD [127.0.0.61]:46025", "PASS OLD [2604:8d00:0:1::3]:52237"),
    ),
    Rule(
        "ps_disconnect",
        r"^DISCONNECT " + PS_CLIENT + "$",
        samples=("DISCONNECT [127.0.0.13]:57421",),
    ),
    Rule(
        "rbl_lookup_error",
        r"^warning: dnsblog_query: lookup error for DNS query (?P<client_ip>" + _NIBBLES + r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})"
        r"\.(?P<rbl_zone>[^\s:]+): (?P<detail>.*)$",
        const={"severity": "warning", "rbl_class": "rbl"},  # postscreen looks up client IPs only
        samples=(
            "warning: dnsblog_query: lookup error for DNS query 13.0.0.127.dead.test: Host or domain name not found. "
            "Name service error for name=13.0.0.127.dead.test type=A: Host not found, try again",
            "warning: dnsblog_query: lookup error for DNS query "
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org: Host or domain name not "
            "found. Name service error for name=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org "
            "type=A: Host not found, try again",
        ),
    ),
    Rule(
        "dnsbl_listing",
        r"^addr (?P<client_ip>[0-9A-Fa-f:.]+) listed by domain (?P<rbl_zone>\S+) as (?P<rbl_reply>\S+)$",
        samples=(
            "addr 127.0.0.13 listed by domain rbl.test as 127.0.0.2",
            "addr 2607:f8b0:4003:c01::23a listed by domain list.dnswl.org as 127.0.5.1",
        ),
    ),
    Rule(
        "ps_dnsbl_rank",
        r"^DNSBL rank (?P<value>-?\d+) for " + PS_CLIENT + "$",
        samples=("DNSBL rank 3 for [127.0.0.13]:57421",),
    ),
    Rule(
        "decision",
        r"^NOQUEUE: (?P<action>reject): RCPT from " + PS_CLIENT + r": (?P<code>\d{3}) (?P<dsn>\d\.\d{1,3}\.\d{1,3}) "
        r"(?P<reply>[^;]*(?:; client \[[^\]]*\] blocked using (?P<rbl_zone>[^;]+))?)" + _TRAILER,
        const={"stage": "RCPT"},
        samples=(
            "NOQUEUE: reject: RCPT from [127.0.0.13]:57421: 550 5.7.1 Service unavailable; client [127.0.0.13] blocked "
            "using rbl.test; from=<spam@sender.test>, to=<alice@example.com>, proto=ESMTP, helo=<spam13.outside.test>",
            "NOQUEUE: reject: RCPT from [127.0.0.61]:35533: 450 4.3.2 Service currently unavailable; from=<a@sender.test>, "
            "to=<alice@example.com>, proto=ESMTP, helo=<c61.outside.test>",
            "NOQUEUE: reject: RCPT from [127.0.0.62]:46501: 550 5.5.1 Protocol error; from=<pg@sender.test>, "
            "to=<alice@example.com>, proto=ESMTP, helo=<pregreet.outside.test>",
        ),
    ),
    Rule(
        "ps_hangup",
        r"^HANGUP " + _AFTER + " from " + PS_CLIENT + r" in (?P<detail>.*)$",
        samples=(
            "HANGUP after 0.5 from [127.0.0.63]:38121 in tests after SMTP handshake",
            "HANGUP after 0.5 from [127.0.0.65]:54611 in tests before SMTP handshake",
        ),
    ),
    Rule(
        "ps_pregreet",
        r"^PREGREET (?P<value>\d+) " + _AFTER + " from " + PS_CLIENT + r":(?: (?P<detail>.*))?$",
        samples=("PREGREET 28 after 0 from [127.0.0.62]:46501: EHLO pregreet.outside.test\\r\\n",),
    ),
    Rule(
        "ps_allowlisted",
        r"^(?P<status>ALLOWLISTED|WHITELISTED) " + PS_CLIENT + "$",
        samples=("ALLOWLISTED [127.0.0.60]:34399", "WHITELISTED [61.238.241.86]:53024"),
    ),
    Rule(
        "decision",
        r"^(?:NOQUEUE: )?(?P<action>reject): (?:CONNECT|connect) from " + PS_CLIENT + r": (?P<reply>[^;]*)$",
        const={"stage": "CONNECT"},
        samples=(
            "NOQUEUE: reject: CONNECT from [127.0.0.66]:44853: too many connections",
            "NOQUEUE: reject: CONNECT from [5.6.7.8]:1337: all server ports busy",
            "reject: connect from [192.0.2.7]:1337: all screening ports busy",
        ),
    ),
    Rule(
        "ps_command_violation",
        r"^(?P<status>COMMAND PIPELINING|NON-SMTP COMMAND) from " + PS_CLIENT + r" after (?P<stage>\S*?):(?: (?P<detail>.*))?$",
        samples=(
            "COMMAND PIPELINING from [127.0.0.63]:38121 after EHLO: MAIL FROM:<deep@sender.test>\\r\\n",
            "NON-SMTP COMMAND from [127.0.0.64]:35497 after EHLO: CONNECT proxy.test:80 HTTP/1.0",
            "COMMAND PIPELINING from [88.208.233.4]:42606 after .: \\n",
        ),
    ),
    Rule(
        "ps_command_violation",
        r"^(?P<status>BARE NEWLINE) from " + PS_CLIENT + r" after (?P<detail>(?P<stage>[^\s:]+)(?:[\s:].*)?)$",
        samples=("BARE NEWLINE from [127.0.0.63]:38121 after RCPT TO:<alice@example.com>",),
    ),
    Rule(
        "ps_command_violation",
        r"^(?P<status>COMMAND (?:TIME|COUNT|LENGTH) LIMIT) from " + PS_CLIENT + r" after (?P<stage>\S+)$",
        samples=(
            "COMMAND TIME LIMIT from [182.246.250.243]:51799 after CONNECT",
            "COMMAND COUNT LIMIT from [182.246.250.243]:51796 after RCPT",
            "COMMAND LENGTH LIMIT from [182.246.250.243]:51796 after RCPT",
        ),
    ),
    Rule(
        "ps_command_violation",
        r"^(?P<status>(?:DATA|BDAT) without valid RCPT) from " + PS_CLIENT + "$",
        samples=("DATA without valid RCPT from [123.45.67.89]:12345", "BDAT without valid RCPT from [123.45.67.89]:12345"),
    ),
    Rule(
        "ps_denylisted",
        r"^(?P<status>DENYLISTED|BLACKLISTED) " + PS_CLIENT + "$",
        samples=("DENYLISTED [127.0.0.70]:50111", "BLACKLISTED [61.238.241.86]:53024"),
    ),
    Rule(
        "ps_allowlist_veto",
        r"^(?P<status>ALLOWLIST VETO|WHITELIST VETO) " + PS_CLIENT + "$",
        samples=("ALLOWLIST VETO [61.238.241.86]:53024", "WHITELIST VETO [61.238.241.86]:53024"),
    ),
    Rule(
        "rbl_timeout",
        r"^warning: dnsblog reply timeout (?P<value>\d+)s for (?P<rbl_zone>\S+)$",
        const={"severity": "warning"},
        samples=("warning: dnsblog reply timeout 10s for zen.spamhaus.org",),
    ),
    Rule(
        "ps_cache_cleanup",
        r"^cache (?P<detail>\S+ (?:full|partial) cleanup: retained=(?P<value>\d+) dropped=\d+ entries)$",
        samples=(
            "cache btree:/tmp/postfix-lab/data/postscreen_cache full cleanup: retained=0 dropped=0 entries",
            "cache btree:/var/lib/postfix/postscreen_cache partial cleanup: retained=242 dropped=7 entries",
        ),
    ),
    Rule(
        "ps_stress",
        r"^(?P<status>entering|leaving) STRESS mode with (?P<value>\d+) connections$",
        samples=("entering STRESS mode with 90 connections", "leaving STRESS mode with 69 connections"),
    ),
    Rule(
        "table_changed",
        r"^table (?P<detail>\S+) has changed - finishing in the background$",
        samples=("table cidr:/etc/postfix/postscreen_access.cidr has changed - finishing in the background",),
    ),
)

_STR = pa.string()
_CONNECT_REJECTS = {
    # logged text: (code, dsn, restriction)  [postscreen.c psc_endpt_lookup_done]
    "too many connections": (421, "4.7.0", "postscreen_client_connection_count_limit"),
    "all server ports busy": (421, "4.3.2", "postscreen_post_queue_limit"),
    "all screening ports busy": (421, "4.3.2", "postscreen_pre_queue_limit"),
}


def _set(t: pa.Table, name: str, arr) -> pa.Table:
    if name in t.column_names:
        return t.set_column(t.column_names.index(name), name, arr)
    return t.append_column(name, arr)


def _when(cond, value, otherwise, typ=_STR):
    return pc.if_else(pc.fill_null(cond, False), pa.scalar(value, typ), otherwise)


def _rcpt_decision(t: pa.Table) -> pa.Table:
    """Classify postscreen's RCPT rejects by their (fixed) reply texts."""
    reply = pc.fill_null(t.column("reply"), "")
    code = t.column("code")
    is_rbl = t.column("rbl_zone").is_valid() if "rbl_zone" in t.column_names else pa.repeat(False, len(t))
    is_proto = pc.starts_with(reply, "Protocol error")
    unavail = pc.starts_with(reply, "Service currently unavailable")
    temp = pc.fill_null(pc.less(code, 500), False)
    null = pa.scalar(None, _STR)
    r = pa.scalar("postscreen", _STR)
    c = null
    for cond, restriction, klass in (
        (pc.and_(unavail, pc.invert(temp)), "postscreen_access_list", "client"),
        (pc.and_(unavail, temp), "postscreen_deep_protocol", "greylist"),
        (is_proto, "postscreen_protocol_error", "protocol"),
        (is_rbl, "postscreen_dnsbl", "rbl"),
    ):
        r = _when(cond, restriction, r)
        c = _when(cond, klass, c)
    t = _set(t, "restriction", r)
    t = _set(t, "restriction_class", c)
    return _set(t, "rbl_class", _when(is_rbl, "rbl", null))


def _connect_decision(t: pa.Table) -> pa.Table:
    """CONNECT rejects: the reply the client got and the limit that fired."""
    reply = t.column("reply")
    code = pa.scalar(None, pa.int32())
    dsn = klass = pa.scalar(None, _STR)
    restriction = pa.repeat(pa.scalar("postscreen", _STR), len(t))
    for text, (c, d, r) in _CONNECT_REJECTS.items():
        hit = pc.equal(reply, text)
        code = _when(hit, c, code, pa.int32())
        dsn = _when(hit, d, dsn)
        restriction = _when(hit, r, restriction)
        klass = _when(hit, "limit", klass)
    for name, arr in (("code", code), ("dsn", dsn), ("restriction", restriction), ("restriction_class", klass)):
        t = _set(t, name, arr)
    return t


def _client_from_query(t: pa.Table) -> pa.Table:
    """dnsblog query names: put the reversed IPv4 labels or IPv6 nibbles back into an address."""
    q = t.column("client_ip")
    is_v4 = pc.match_substring_regex(q, r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    ip = pc.replace_substring_regex(q, r"^(\d+)\.(\d+)\.(\d+)\.(\d+)$", r"\4.\3.\2.\1")
    if not pc.all(pc.fill_null(is_v4, True)).as_py():
        # IPv6 (rare): convert each distinct query once, to Postfix's compressed form
        enc = pc.dictionary_encode(q.combine_chunks() if isinstance(q, pa.ChunkedArray) else q)
        words = enc.dictionary.to_pylist()
        conv = [
            w if "." not in w or len(w) != 63 else ipaddress.IPv6Address(int(w.replace(".", "")[::-1], 16)).compressed
            for w in words
        ]
        v6 = pa.array(conv, _STR).take(enc.indices)
        ip = pc.if_else(pc.fill_null(is_v4, False), ip, v6)
    return _set(t, "client_ip", ip)


def finish(t: pa.Table) -> pa.Table:
    if "kind" not in t.column_names or len(t) == 0:
        return t
    kind = t.column("kind")[0].as_py()
    if kind == "decision" and "reply" in t.column_names and "stage" in t.column_names:
        stage = t.column("stage")[0].as_py()
        return _rcpt_decision(t) if stage == "RCPT" else _connect_decision(t)
    if kind == "rbl_lookup_error" and "client_ip" in t.column_names:
        return _client_from_query(t)
    return t


GRAMMAR = Grammar("postscreen", daemons=frozenset({"postscreen", "dnsblog"}), rules=RULES, finish=finish)
