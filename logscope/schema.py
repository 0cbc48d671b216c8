"""The fixed Arrow schemas of the store: ``events`` and ``unparsed``.

One ``events`` row per understood log line. Every column is nullable; a grammar
fills the columns its line carries. Column names follow Postfix's own words
(``queue_id``, ``relay``, ``dsn``, ``delays``...). The README documents them.

Types are named here as DuckDB types; ``EVENTS``, ``UNPARSED`` and ``TS`` (the Arrow
forms) are built on first use, so that the query commands start without pyarrow.
"""
from __future__ import annotations

from functools import lru_cache

SCHEMA_VERSION = 1

_S = "varchar"
_I32 = "integer"
_I64 = "bigint"
_F64 = "double"
_TS = "timestamptz"  # microseconds, UTC

# (name, DuckDB type, description) — the README table is generated from this list.
EVENT_COLUMNS: list[tuple[str, str, str]] = [
    # envelope and provenance
    ("ts", _TS, "time of the line, UTC"),
    ("host", _S, "syslog host name"),
    ("program", _S, "syslog tag, e.g. postfix/submission/smtpd"),
    ("service", _S, "master.cf service or syslog_name part before the daemon (postfix, postfix/submission)"),
    ("daemon", _S, "last element of the program: smtpd, qmgr, anvil, amavis ..."),
    ("pid", _I32, "process id"),
    ("source", _S, "id of the ingested source (see manifest)"),
    ("line_no", _I64, "1-based line number within the source"),
    # common
    ("kind", _S, "event kind, e.g. connect, reject, delivery (see README)"),
    ("severity", _S, "warning, error, fatal or panic for msg_warn-style lines"),
    ("queue_id", _S, "Postfix queue id; null for NOQUEUE"),
    ("client_host", _S, "client host name ('unknown' when rDNS failed)"),
    ("client_ip", _S, "client IP address"),
    ("client_port", _I32, "client TCP port"),
    # smtpd / postscreen decisions
    ("stage", _S, "SMTP stage: CONNECT, HELO, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE ..."),
    ("action", _S, "reject, reject_warning, hold, discard, defer, warn, milter-reject ..."),
    ("code", _I32, "SMTP reply code"),
    ("dsn", _S, "enhanced status code X.Y.Z"),
    ("reply", _S, "reply text after code and dsn, or the status text of a delivery"),
    ("restriction", _S, "classified cause: reject_rbl_client, check_sender_access ..."),
    ("restriction_class", _S, "client, helo, sender, recipient, rbl, rhsbl, protocol, content, policy, unknown_user, relay ..."),
    ("rbl_zone", _S, "DNS blocklist zone"),
    ("rbl_class", _S, "rbl (client IP) or rhsbl_client/rhsbl_helo/rhsbl_sender/rhsbl_recipient/rhsbl_reverse_client"),
    ("rbl_reply", _S, "A record a blocklist answered, e.g. 127.0.0.2"),
    ("sender", _S, "envelope sender (from=); empty string for the null sender <>"),
    ("recipient", _S, "envelope recipient (to=)"),
    ("orig_to", _S, "original recipient before aliasing"),
    ("helo", _S, "HELO/EHLO name"),
    ("proto", _S, "SMTP or ESMTP"),
    ("sasl_method", _S, "SASL mechanism"),
    ("sasl_username", _S, "SASL user name"),
    ("tls", _S, "TLS summary: protocol and cipher, or the tls= field of a delivery"),
    # smtpd disconnect counters
    ("commands", _S, "disconnect counters as logged: ehlo=1 mail=1 rcpt=0/1 ..."),
    ("commands_ok", _I32, "accepted commands (commands=N/M: N)"),
    ("commands_total", _I32, "issued commands (commands=N/M: M)"),
    ("n_mail", _I32, "accepted MAIL commands in the session"),
    ("n_rcpt", _I32, "accepted RCPT commands in the session"),
    ("n_auth_failed", _I32, "failed AUTH commands in the session"),
    # anvil, limits, postscreen rank
    ("metric", _S, "anvil metric or limit: connection_rate, connection_count, message_rate, recipient_rate, newtls_rate, auth_rate, tlstrace_rate, cache_size"),
    ("value", _I64, "the number that goes with metric (anvil peak, limit count, DNSBL rank, PREGREET bytes)"),
    ("rate_unit_s", _I32, "anvil_rate_time_unit in seconds"),
    ("anvil_service", _S, "anvil identifier's service part, e.g. smtp or 127.0.0.1:2525"),
    ("anvil_ts", _TS, "time stamp embedded in an anvil statistics line, UTC"),
    # queue and delivery
    ("message_id", _S, "Message-ID header value"),
    ("size", _I64, "message size in bytes"),
    ("nrcpt", _I32, "number of recipients"),
    ("relay", _S, "relay=, e.g. mx.example.net[192.0.2.1]:25, local, none"),
    ("delay", _F64, "total delay in seconds"),
    ("delay_before_qmgr", _F64, "delays=a: before the queue manager (s)"),
    ("delay_in_qmgr", _F64, "delays=b: in the queue manager (s)"),
    ("delay_conn", _F64, "delays=c: connection setup incl. DNS, HELO, TLS (s)"),
    ("delay_xmit", _F64, "delays=d: message transmission (s)"),
    ("conn_use", _I32, "conn_use= connection reuse count"),
    ("status", _S, "sent, deferred, bounced, expired, ... ; for amavis Passed/Blocked"),
    ("new_queue_id", _S, "queue id created from this one (content filter re-queue, bounce notification)"),
    ("orig_queue_id", _S, "queue id this message was re-injected from (after-filter smtpd: orig_queue_id=)"),
    # amavis
    ("amavis_id", _S, "amavis log id, e.g. 04711-01"),
    ("category", _S, "amavis category: CLEAN, SPAM, BANNED, INFECTED ..."),
    ("hits", _F64, "SpamAssassin score"),
    ("elapsed_ms", _I64, "amavis processing time (ms)"),
    # free text
    ("detail", _S, "the rest of the line that has no column of its own (warning text, matched header, test name ...)"),
]

UNPARSED_COLUMNS: list[tuple[str, str]] = [
    ("ts", _TS),
    ("host", _S),
    ("program", _S),
    ("source", _S),
    ("line_no", _I64),
    ("reason", _S),
    ("raw", _S),
]

# each dataset's (column, DuckDB type), in file order: what the store writes and open() reads
TABLES: dict[str, list[tuple[str, str]]] = {"events": [(n, t) for n, t, _ in EVENT_COLUMNS], "unparsed": UNPARSED_COLUMNS}


@lru_cache(maxsize=None)
def _arrow() -> dict:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types = {_S: pa.string(), _I32: pa.int32(), _I64: pa.int64(), _F64: pa.float64(), _TS: ts}
    return {
        "TS": ts,
        "EVENTS": pa.schema([pa.field(n, types[t]) for n, t in TABLES["events"]]),
        "UNPARSED": pa.schema([pa.field(n, types[t]) for n, t in TABLES["unparsed"]]),
    }


def __getattr__(name: str):  # EVENTS, UNPARSED, TS: pyarrow is imported on first use
    if name in ("EVENTS", "UNPARSED", "TS"):
        return _arrow()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
