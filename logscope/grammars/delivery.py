"""Delivery agents: smtp, lmtp, local, virtual, pipe, error/retry, discard, and bounce/defer/trace.

NAME
    delivery - grammar for the lines Postfix delivery agents write

LINES
    QID: to=<r>[, orig_to=<o>], relay=R, [conn_use=N, ]delay=D, delays=a/b/c/d, [tls=T, ]dsn=X.Y.Z, status=S (text)
        kind ``delivery``: recipient, orig_to, relay, conn_use, delay, delay_before_qmgr,
        delay_in_qmgr, delay_conn, delay_xmit, tls, dsn, status (sent, deferred, bounced,
        expired, undeliverable, deliverable, undeliverable-but-not-cached, 2.x SOFTBOUNCE ...), reply (the
        text in parentheses). Derived: code (the remote reply code, ``host x said: 550 ...``
        or ``250 2.0.0 Ok ...``), stage (the remote SMTP command the reply answered:
        ``in reply to RCPT TO command`` -> RCPT, ``end of DATA`` -> END-OF-MESSAGE),
        new_queue_id (``queued as NEWQID`` / ``forwarded as NEWQID``: the queue id the next
        hop gave the message; when that hop is our own content filter re-injection, e.g.
        relay 127.0.0.1[127.0.0.1]:10024, NEWQID shows up again as a queue_id on the same
        host: the amavis loop). Old (2.x) lines without delays=/dsn= are accepted.
        [global/log_adhoc.c]
    QID: sender non-delivery notification: NEWQID
        kind ``bounce``: new_queue_id, detail (the whole phrase), action (non-delivery,
        delay, delivery status); also ``postmaster ...``. [bounce/bounce_notify_service.c]
    QID: status=deferred (bounce failed)
        kind ``bounce_failed``: status, reply. [global/bounce.c]
    connect to host[ip]:port: Connection refused
        kind ``connect_error``: relay, detail. [smtp/smtp_connect.c]
    QID: host host[ip] said: 450 ... (in reply to RCPT TO command)
    QID: host host[ip] refused to talk to me: 554 ...
    QID: lost connection with host[ip] while sending MAIL FROM
    QID: conversation with host[ip] timed out while receiving the initial server greeting
        kind ``smtp_error``: relay, action (said, refused, lost_connection, timeout),
        reply or detail; code, dsn and stage derived as for ``delivery``. [smtp/smtp_trouble.c]
    QID: SASL [CACHED ]authentication failed; server host[ip] said: 535 ...
        kind ``sasl_error``: relay, reply, code, dsn. [smtp/smtp_sasl_glue.c]
    Untrusted|Trusted|Verified|Anonymous TLS connection established to host[ip]:port: TLSv1.3 with cipher ...
        kind ``tls``: status (the trust level; none before 2.5), relay, tls. Also ``QID: Used TLS for host[ip]:port``.
        [tls/tls_client.c]
    Host offered STARTTLS: [host]
        kind ``tls_offered``: relay.
    SSL_connect error to host[ip]:port: -1 / certificate verification failed for ... / QID: Cannot start TLS: ...
        kind ``tls_error``: relay, action (ssl_connect, certificate, starttls), detail.
    QID: enabling PIX workarounds: disable_esmtp delay_dotcrlf for host[ip]:port
        kind ``pix_workaround``: relay, detail.
    QID: replace: header From: ...   (smtp_header_checks, smtp_body_checks)
        kind ``check``: action, status (header/body), detail, restriction, restriction_class=content.
    warning: QID: text  /  QID: fatal: text
        kind ``diagnostic`` with queue_id; other ``warning:`` lines fall to the generic rule.

The ``delivery``, ``bounce_failed`` and queue-id diagnostic rules are shared with the
cleanup, qmgr and admin grammars (cleanup and qmgr also write recipient status lines).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from . import QID, Grammar, Rule

# host[ip] or host[ip]:port; the host part may be empty, the address IPv6
RELAY = r"[^\s\[\]]*\[[^\]\s]*\](?::\d+)?"
# the same, or a bare name (2.x logs, unix sockets)
RELAY_ANY = r"[^\s\[\],]*(?:\[[^\]\s]*\])?(?::\d+)?"
# a queue id that cannot be mistaken for a word: short (upper-case hex) or long (no vowels, 'z' separator)
_STRICT = r"[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]{8,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+"
STRICT_QID = "(?P<queue_id>" + _STRICT + ")"
_SEV = r"(?P<severity>warning|error|fatal|panic)"

DELIVERY = Rule(
    "delivery",
    "^" + QID + r": (?:to=)?(?P<recipient><[^>]*>|[^<>,\s]*), (?:orig_to=(?P<orig_to><[^>]*>|[^<>,\s]*), )?"
    r"relay=(?P<relay>[^,]*), (?:conn_use=(?P<conn_use>\d+), )?delay=(?P<delay>[0-9.]+), "
    r"(?:delays=(?P<delay_before_qmgr>[0-9.]+)/(?P<delay_in_qmgr>[0-9.]+)/(?P<delay_conn>[0-9.]+)/(?P<delay_xmit>[0-9.]+), )?"
    r"(?:tls=(?P<tls>[^,]*), )?(?:dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), )?status=(?P<status>[A-Za-z-]+)"
    r"(?: \((?P<reply>.*)\)[^)]*| (?P<detail>[^(].*))?$",
    samples=(
        "02B0A21A015: to=<bob@example.com>, relay=local, delay=0.02, delays=0.01/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
        "0F3EF21A015: to=<alice@example.com>, orig_to=<team@example.com>, relay=local, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
        "4778121A065: to=<later@greylist.example.net>, relay=127.0.0.1[127.0.0.1]:2626, delay=0.05, delays=0/0/0.04/0, dsn=4.7.1, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.7.1 <later@greylist.example.net>: Recipient address rejected: Greylisted at sink, try again later (in reply to RCPT TO command))",
        "AA4F721A0DA: to=<alice@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.37, delays=0.02/0.02/0.01/0.32, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 0905B21A0E5)",
        "CB4D821A069: to=<x@blackhole.example.net>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=5.1.1, status=bounced (This domain no longer accepts mail)",
        "2880E21A072: to=<friend@relay.example.net>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (sink)",
        "7EE668039: to=<user@example.com>, relay=mail.example.com[1.2.3.4]:25, delay=3.6, delays=0.08/0.02/0.85/0.14, tls=dane, dsn=2.1.5, status=sent (250 2.0.0 Ok: queued as 153053D)",
        "0A90996059: to=<sms@mail2sms.smsbox.net>, relay=localhost[127.0.0.1]:10025, conn_use=3, delay=5.2, delays=0/0/0/5.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 0BF0C9605C)",
        "DEADBEEF: to=<to@example.org>, relay=example.org[10.0.0.1], delay=48779, status=deferred (lost connection with mail.example.org[10.0.0.1] while sending MAIL FROM)",
        "C76431E2: to=<login@sample.net>, relay=local, delay=2, status=SOFTBOUNCE (host sample.net[192.168.0.1] said: 450 <login@sample.com>: User unknown in local recipient table (in reply to RCPT TO command))",
        "892A0205B6: to=ghdsgfhdslfh@localhost, relay=local, delay=0.05, delays=0.02/0/0/0.02, dsn=5.1.1, status=bounced (unknown user: \"ghdsgfhdslfh\")",
    ),
)

BOUNCE_FAILED = Rule(
    "bounce_failed",
    "^" + QID + r": status=(?P<status>deferred) \((?P<reply>bounce failed)\)$",
    samples=("DEADBEEF: status=deferred (bounce failed)",),
)

# "warning: QID: ..." (msg_warn with a queue id) and "QID: fatal: ..."
QUEUE_DIAGNOSTIC = Rule(
    "diagnostic",
    "^" + _SEV + ": " + STRICT_QID + r": (?P<detail>.*)$",
    samples=(
        "warning: 6B01A8DEF: non-ESMTP response from mail.example.com[192.168.0.1]:25:",
        "warning: 9BECF3F19D: sender_canonical_maps map lookup problem for sender@example.com -- message not accepted, try again later",
    ),
)
QUEUED_DIAGNOSTIC = Rule(
    "diagnostic",
    "^(?P<queue_id>NOQUEUE|" + _STRICT + "): " + _SEV + r": (?P<detail>.*)$",
    samples=("NOQUEUE: fatal: update queue file active/4B709F060E: File too large",),
)

SMTP_SAID = Rule(
    "smtp_error",
    "^" + QID + r": host (?P<relay>" + RELAY_ANY + r") said: (?P<reply>.*)$",
    const={"action": "said"},
    samples=("ED59C3D: host mail2.example.com[1.74.253.23] said: 450 4.7.1 <user@example.com>: Recipient address rejected: Greylisted for 5 minutes (in reply to RCPT TO command)",),
)

USED_TLS = Rule(
    "tls",
    "^" + QID + r": Used TLS for (?P<relay>" + RELAY + r")$",
    samples=("01B3A96050: Used TLS for 10.19.65.1[10.19.65.1]:587",),
)

SHARED = (DELIVERY, BOUNCE_FAILED, QUEUE_DIAGNOSTIC, QUEUED_DIAGNOSTIC)

RULES = (
    DELIVERY,
    Rule(
        "tls",
        r"^(?:(?P<status>Anonymous|Untrusted|Trusted|Verified) )?TLS connection established to (?P<relay>" + RELAY_ANY + r"): (?P<tls>.*)$",
        samples=(
            "Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:2626: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits)",
            "Verified TLS connection established to mx2.comcast.net[2001:558:fe21:2a::6]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
            "TLS connection established to example.com: TLSv1 with cipher AES256-SHA (256/256 bits)",
        ),
    ),
    Rule(
        "connect_error",
        r"^connect to (?P<relay>" + RELAY_ANY + r"): (?P<detail>.*)$",
        samples=(
            "connect to 127.0.0.1[127.0.0.1]:2699: Connection refused",
            "connect to aspmx.l.google.com[2a00:1450:400b:c02::1a]:25: Network is unreachable",
            "connect to example.org[10.0.0.1]: Connection refused (port 25)",
        ),
    ),
    Rule(
        "bounce",
        "^" + QID + r": (?P<detail>(?:sender|postmaster) (?P<action>non-delivery|delay|delivery status) notification): "
        r"(?P<new_queue_id>[0-9A-Za-z]{5,20})$",
        samples=(
            "3968321A0D1: sender non-delivery notification: 4715821A14F",
            "2BAB721A072: sender delay notification: 4A10821A0B5",
            "65AFB8B5: sender delivery status notification: 1DF35917",
            "482E4404AC8: postmaster non-delivery notification: 47335405A44",
        ),
    ),
    SMTP_SAID,
    Rule(
        "smtp_error",
        "^" + QID + r": host (?P<relay>" + RELAY_ANY + r") refused to talk to me: (?P<reply>.*)$",
        const={"action": "refused"},
        samples=("40197AA: host mg2.egov.bg[213.91.191.86] refused to talk to me: 450 4.3.2 try again later",),
    ),
    Rule(
        "smtp_error",
        "^" + QID + r": lost connection with (?P<relay>" + RELAY_ANY + r") (?P<detail>while .*)$",
        const={"action": "lost_connection"},
        samples=("745137AA: lost connection with hotmail-com.olc.protection.outlook.com[104.47.55.161] while sending RCPT TO",),
    ),
    Rule(
        "smtp_error",
        "^" + QID + r": conversation with (?P<relay>" + RELAY_ANY + r") (?P<detail>timed out while .*)$",
        const={"action": "timeout"},
        samples=("78D6B41: conversation with mx00.gmx.com[74.208.5.4] timed out while receiving the initial server greeting",),
    ),
    BOUNCE_FAILED,
    QUEUE_DIAGNOSTIC,
    QUEUED_DIAGNOSTIC,
    Rule(
        "sasl_error",
        "^" + QID + r": SASL (?:\[CACHED\] )?authentication failed; (?:cannot authenticate to )?server (?P<relay>" + RELAY_ANY
        + r")(?: said)?: (?P<reply>.*)$",
        samples=(
            "D0F29603B4: SASL authentication failed; server xyz.example.com[1.2.3.4] said: 535 5.7.8 Error: authentication failed: authentication failure",
            "DEADBEEF: SASL authentication failed; cannot authenticate to server smtp.example.com[10.0.0.1]: no mechanism available",
            "DEADBEEF: SASL [CACHED] authentication failed; server example.com[10.0.0.1] said: 535 Error: authentication failed",
        ),
    ),
    USED_TLS,
    Rule(
        "tls_offered",
        r"^Host offered STARTTLS: \[(?P<relay>[^\]]*)\]$",
        samples=("Host offered STARTTLS: [mx.example.net]",),
    ),
    Rule(
        "tls_error",
        r"^SSL_connect error to (?P<relay>" + RELAY_ANY + r"): (?P<detail>.*)$",
        const={"action": "ssl_connect"},
        samples=("SSL_connect error to mail.example.org[112.63.65.2]:25: -1", "SSL_connect error to mail.example.com: 0"),
    ),
    Rule(
        "tls_error",
        r"^(?:server )?certificate verification failed for (?P<relay>" + RELAY_ANY + r"): (?P<detail>.*)$",
        const={"action": "certificate"},
        samples=("certificate verification failed for mail.example.com[113.169.17.115]:25: self-signed certificate.",),
    ),
    Rule(
        "tls_error",
        "^" + QID + r": Cannot start TLS: (?P<detail>.*)$",
        const={"action": "starttls"},
        samples=("DEADBEEF: Cannot start TLS: handshake failure",),
    ),
    Rule(
        "pix_workaround",
        "^" + QID + r": enabling PIX (?P<detail>workarounds: .*|<CRLF>\.<CRLF> workaround) for (?P<relay>" + RELAY_ANY + r")$",
        samples=(
            "B0ADE20FC7: enabling PIX workarounds: disable_esmtp delay_dotcrlf for example.com[93.184.216.34]:25",
            "DEADBEEF: enabling PIX <CRLF>.<CRLF> workaround for example.com[192.168.0.1]",
        ),
    ),
    # smtp_header_checks / smtp_body_checks: "QID: action: header <line 60>[: text]" [smtp/smtp_proto.c]
    Rule(
        "check",
        "^" + QID + r": (?P<action>[a-z][a-z-]*): header (?P<detail>.*)$",
        const={"status": "header", "restriction": "smtp_header_checks", "restriction_class": "content"},
        samples=('DEADBEEF: replace: header From: "Postmaster" <postmaster@webmail.example.com>: From: "Postmaster" <postmaster@webmail.example.org>',),
    ),
    Rule(
        "check",
        "^" + QID + r": (?P<action>[a-z][a-z-]*): body (?P<detail>.*)$",
        const={"status": "body", "restriction": "smtp_body_checks", "restriction_class": "content"},
        samples=("DEADBEEF: discard: body Buy now: cheap stuff",),
    ),
)

# ---- derived columns ----------------------------------------------------

_CODE_RE = r"^(?:host \S+ (?:said|refused to talk to me): )?(?P<code>\d{3})(?:[ -](?P<dsn>\d\.\d{1,3}\.\d{1,3}))?(?:[ -]|$)"
_NEWQ_RE = r"(?:queued|forwarded) as (?P<q>[0-9A-Za-z]{5,20})\b"
_STAGE_RE = (
    r"(?:in reply to|while sending|while receiving|while performing) (?:the )?"
    r"(?P<p>RCPT TO|MAIL FROM|end of DATA|end of data|message body|initial server greeting|initial SMTP greeting|[A-Z]+)"
)
_STAGES = {
    "RCPT TO": "RCPT",
    "MAIL FROM": "MAIL",
    "end of DATA": "END-OF-MESSAGE",
    "end of data": "END-OF-MESSAGE",
    "message body": "DATA",
    "initial server greeting": "CONNECT",
    "initial SMTP greeting": "CONNECT",
}
REPLY_KINDS = frozenset({"delivery", "smtp_error", "sasl_error"})


def _null_empty(a: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)


def _set(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in t.column_names:
        return t.set_column(t.column_names.index(name), name, values)
    return t.append_column(name, values)


def _col(t: pa.Table, name: str) -> pa.Array:
    if name in t.column_names:
        return t.column(name).combine_chunks()
    return pa.nulls(len(t), pa.string())


def reply_fields(t: pa.Table) -> pa.Table:
    """code, dsn, stage and new_queue_id from the reply/detail text (vectorised)."""
    if not len(t):
        return t
    reply = _col(t, "reply")
    text = pc.fill_null(reply, "")
    m = pc.extract_regex(text, _CODE_RE)
    code = _null_empty(pc.struct_field(m, "code"))
    if "code" not in t.column_names:
        t = _set(t, "code", pc.cast(code, pa.int32()))
    dsn = _null_empty(pc.struct_field(m, "dsn"))
    t = _set(t, "dsn", pc.coalesce(_col(t, "dsn"), dsn))
    newq = _null_empty(pc.struct_field(pc.extract_regex(text, _NEWQ_RE), "q"))
    if newq.null_count < len(newq):
        t = _set(t, "new_queue_id", pc.coalesce(_col(t, "new_queue_id"), newq))
    where = pc.fill_null(pc.coalesce(reply, _col(t, "detail")), "")
    phrase = _null_empty(pc.struct_field(pc.extract_regex(where, _STAGE_RE), "p"))
    if phrase.null_count < len(phrase) and "stage" not in t.column_names:
        enc = pc.dictionary_encode(phrase)
        names = [_STAGES.get(p, p) for p in enc.dictionary.to_pylist()]
        t = _set(t, "stage", pa.array(names, pa.string()).take(enc.indices))
    return t


def finish(t: pa.Table) -> pa.Table:
    if not len(t) or "kind" not in t.column_names:
        return t
    if t.column("kind")[0].as_py() in REPLY_KINDS:
        t = reply_fields(t)
    return t


GRAMMAR = Grammar(
    "delivery",
    daemons=frozenset({"smtp", "lmtp", "local", "virtual", "pipe", "error", "retry", "discard", "bounce", "defer", "trace"}),
    rules=RULES,
    finish=finish,
)
