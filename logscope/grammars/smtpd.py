"""smtpd - the Postfix SMTP server's log lines.

NAME
    smtpd - grammar for ``postfix/smtpd``, ``postfix/<service>/smtpd`` and any
    other syslog_name ending in ``/smtpd`` (submission, smtps, sink, 10025 ...).

SUMMARY
    One event row per line. Kinds, in rule order (most frequent first):

    connect            connect from <client>
    disconnect         disconnect from <client>[ <counters>]
                       commands = "ehlo=1 mail=1 rcpt=0/1 data=0 quit=1 commands=3/4";
                       commands_ok/commands_total from commands=N/M (commands=N: both N);
                       n_mail, n_rcpt = accepted MAIL and RCPT (the N of x=N/M, 0 when absent);
                       n_auth_failed = M-N of auth=N/M (0 when absent). All null on pre-3.0
                       lines that carry no counters.
    client             <QID>: client=<client>[, sasl_method=M, sasl_username=U][, ...]
                       the rest (sasl_sender=, orig_client=) goes to detail; orig_queue_id= has its column.
    decision           <QID|NOQUEUE>: <action>: <STAGE> from <client>: [<code> ][<dsn> ]<text>;
                       [ from=<s>][ to=<r>][ proto=P][ helo=<h>][ sasl_method=M][ sasl_username=U]
                       (smtpd_check.c log_whatsup; also milter-reject/-hold/-discard from
                       smtpd.c and proxy-accept/proxy-reject from smtpd_proxy.c).
                       action as logged; reply = the text; the trailer is matched from the
                       right, so a text (an RBL TXT record) may itself contain ';'.
                       Lines without a trailer, without a code or without a dsn also match,
                       and so do Postfix 1.x/2.0 lines without a queue id.
    lost_connection    [QID|NOQUEUE: ]lost connection after <STAGE>[ (N bytes)] from <client>[ text]
    timeout            [QID|NOQUEUE: ]timeout after ...      (same shape; Postfix 3.10+ adds
    too_many_errors    [QID|NOQUEUE: ]too many errors after ... the queue id prefix)
                       size = the byte count after DATA/BDAT; detail = any trailing text.
    improper_pipelining  improper command pipelining after <STAGE> from <client>: <text>
    bare_newline       [QID: ]bare <LF> received after <STAGE> from <client>
    limit_exceeded     warning: <Connection concurrency|Connection rate|Message delivery
                       request rate|Recipient address rate|New TLS session rate|AUTH command
                       rate> limit exceeded: N from <client> for service S
                       metric = connection_count / connection_rate / message_rate /
                       recipient_rate / newtls_rate / auth_rate; value = N;
                       detail = anvil_service = S.
    sasl_failed        warning: <client>: SASL <METHOD> authentication failed[: why][, sasl_username=U]
    sasl_warning       warning: SASL authentication failure: ... (the SASL library's own
                       line, which repeats the sasl_failed one), cyrus "looking for plugins"
    rdns_warning       warning: hostname H does not resolve to address A[: reason]
                       warning: A: hostname H verification failed: reason
                       warning: A: address not listed for hostname H
                       warning: numeric hostname: H
                       client_ip = A, client_host = H, detail = reason,
                       status = not_resolved / verification_failed / address_not_listed /
                       numeric_hostname.
    rbl_lookup_error   warning: <qname>: RBL lookup error: <why>
                       rbl_zone = qname minus the 4 reversed IPv4 labels or 32 IPv6 nibbles
                       (client_ip rebuilt from them, rbl_class "rbl"); for a domain query
                       (rhsbl, rbl_class "rhsbl") the zone is known only when it ends in one
                       of RHSBL_ZONES, else null. detail = why (it repeats the qname).
    tls                [Anonymous|Untrusted|Trusted|Verified ]TLS connection established
                       from <client>: TLSv1.3 with cipher C (...)   ("to <server>" when an
                       smtp client line is logged under an smtpd tag)
                       tls = "TLSv1.3 C"; detail = the trust level.
    tls_peer           [<client>: ][Verified|Unverified|Trusted|Untrusted: ]subject_CN=...
                       (peer certificate, smtpd_tls_loglevel >= 1 with client certificates);
                       detail = the text from the trust word on.
    tls_error          SSL_accept error from <client>: why; warning: TLS library problem: ...;
                       TLS handshake failed ...; cannot load ... certificate data; No
                       server certs available.
    non_smtp_command   warning: non-SMTP command from <client>: <text>
                       warning: <client> sent message header instead of SMTP command: <text>
    illegal_address    warning: Illegal address syntax from <client> in MAIL command: <addr>
    message_size_exceeded  warning: <QID>: queue file size limit exceeded
    service_error      warning: connect to <server>: ...; problem talking to server|service ...;
                       read TCP map reply from ... (policy servers, tcp tables, internal services)
    milter_error       warning: milter ...; warning: connect to Milter service ...
    All warning: lines with a kind of their own carry severity "warning".
    table_changed      table <type:name> has changed -- restarting
    ehlo_discarded     discarding EHLO keywords: <list>
    Other warning:/fatal:/panic: lines become "diagnostic" through the shared rule.

    client_host/client_ip/client_port come from "host[addr]" or "host[addr]:port"
    (smtpd_client_port_logging); an address logged as "unknown" becomes null.

RESTRICTIONS
    For decision rows, finish() classifies the reply text, vectorised, in this order (the
    first step that matches decides):
    1. the action: milter-* is "milter" (class milter), proxy-* "smtpd_proxy_filter"
       (content), permit takes the name in "action=NAME for ..." (other);
    2. "[<what>] blocked using ZONE": reject_rbl_client (rbl) when <what> is an address,
       reject_rhsbl_client/_helo/_sender/_recipient/_reverse_client (rhsbl) by the class
       word before it; rbl_zone = ZONE, rbl_class = rbl / rhsbl_client / rhsbl_helo /
       rhsbl_sender / rhsbl_recipient / rhsbl_reverse_client, detail = the TXT text
       (it may contain ';' and URLs);
    3. the built-in texts of smtpd_check.c (LITERALS, the leftmost in the reply wins):
       reject_unknown_(reverse_)client_hostname (reverse_dns), reject_non_fqdn_/invalid_/
       unknown_helo_hostname (helo), reject_non_fqdn_sender, reject_unknown_sender_domain,
       reject_sender_login_mismatch, reject_unverified_sender, reject_unlisted_sender
       (sender), reject_non_fqdn_recipient, reject_unknown_recipient_domain (recipient),
       unknown_recipient and reject_unverified_recipient (unknown_user),
       reject_unauth_destination (relay), reject_unauth_pipelining,
       reject_multi_recipient_bounce, smtpd_helo_required, reject_plaintext_session
       (protocol), message_size_limit, queue_minfree (size), policy_service for the
       policy client's default action "Server configuration problem" and "Policy
       rejection" (policy), temporary_lookup_failure, server_configuration_error,
       defer_if_permit, defer_if_reject (other);
    4. greylisting or SPF texts (POLICY_RE): policy_service (policy);
    5. an access-table hit, "<x>: <class word> rejected: text" or "<x>: <class word>
       triggers DISCARD action" and the like, named after the class word (TABLE_CLASS):
       check_client_access, check_reverse_client_hostname_access (client),
       check_helo_access (helo), check_sender_access (sender), check_recipient_access
       (recipient), check_etrn_access, smtpd_data_restrictions,
       smtpd_end_of_data_restrictions (other), check_sasl_access, check_ccert_access
       (client);
    6. anything else: "unclassified" (other).

KNOWN AMBIGUITIES
    A site's own access-table or policy-server text is indistinguishable from a built-in
    text it copies; a policy server's REJECT text reads like a check_recipient_access hit
    unless it mentions greylisting, SPF or "Policy rejection". The plain "reject"
    restriction and an access-table REJECT both say "Access denied" (classified as the
    table). A DNS lookup error on an RHSBL query does not say where the zone starts.

SOURCE
    src/smtpd/smtpd.c (connect, disconnect, client=, lost connection, limits, pipelining,
    non-SMTP command), src/smtpd/smtpd_check.c (log_whatsup, reply texts, RBL lookup
    error), src/smtpd/smtpd_peer.c (hostname verification), src/smtpd/smtpd_sasl_glue.c
    (SASL), src/smtpd/smtpd_proxy.c (proxy-accept/reject), src/tls/tls_server.c (TLS).
"""
from __future__ import annotations

import ipaddress
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import STAGE, Grammar, Rule, Split

# queue id or NOQUEUE (the loop nulls NOQUEUE)
_QID = r"(?P<queue_id>[0-9A-Za-z]{5,20})"
# host[addr] or host[addr]:port; Postfix may log the port as "unknown"
_CLIENT = r"(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d+)|:unknown)?"

# log_whatsup's trailer, each field optional, taken from the right of the line
_TRAILER = (
    r"(?:;(?: from=(?P<sender><.*?>))?(?: to=(?P<recipient><.*?>))?(?: proto=(?P<proto>[A-Za-z0-9]+))?"
    r"(?: helo=<(?P<helo>.*?)>)?(?: sasl_method=(?P<sasl_method>\S*))?(?: sasl_username=(?P<sasl_username>\S*))?"
    r"(?: sasl_sender=\S*)?)?$"
)
_REPLY = r"(?:(?P<code>\d{3}) )?(?:(?P<dsn>\d\.\d{1,3}\.\d{1,3}) )?(?P<reply>.*?)"
# disconnect counters, in smtpd.c's command-table order (helo ehlo xclient xforward starttls
# auth mail rcpt data bdat rset noop vrfy etrn quit unknown); n_mail/n_rcpt are captured here,
# finish() falls back to a search per word when a counter stands out of this order.
_COUNTERS = (
    r"(?:helo=\S+ )?(?:ehlo=\S+ )?(?:xclient=\S+ )?(?:xforward=\S+ )?(?:starttls=\S+ )?(?:auth=\S+ )?"
    r"(?:mail=(?P<n_mail>\d+)(?:/\d+)? )?(?:rcpt=(?P<n_rcpt>\d+)(?:/\d+)? )?(?:[a-z]+=\d+(?:/\d+)? )*"
    r"commands=(?P<commands_ok>\d+)(?:/(?P<commands_total>\d+))?"
)
# lost connection/timeout/too many errors; Postfix 3.10+ puts "<QID|NOQUEUE>: " before it
_LOST = (
    r"(?P<kind>lost connection|timeout|too many errors) after " + STAGE
    + r"(?: \((?:approximately )?(?P<size>\d+) bytes\))? from " + _CLIENT + r"(?: (?P<detail>.+))?$"
)
# what the disconnect rule captures (one-pass, 3x cheaper); finish() takes the counters
# from the commands text (commands=N/M at its end, the first mail=/rcpt= word)
_DISCONNECT = (
    r"^disconnect from (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?:(?P<client_port>\d+)|unknown))?"
    r"(?: (?P<commands>.*))?$"
)
# One-pass capture pieces for Rule.extract (RE2 takes its fast matcher only with at most 4
# groups and no choice that needs lookahead, hence ":port: | :unknown: | : " spelt out).
# STAGE as a plain word: the alternatives all are [A-Z][A-Z-]* words followed by a space.
_X_LOST = (
    r"(?P<kind>lost connection|timeout|too many errors) after (?P<stage>[A-Z][A-Z-]*) "
    r"(?:\((?:approximately )?(?P<size>\d+) bytes\) )?from "
)
# searched from the first " from ": nothing before it in these lines contains one
_X_FROM_CLIENT = (
    r" from (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?:(?P<client_port>\d+)|unknown))?"
    r"(?: (?P<detail>.+))?$"
)
# The decision rule captured in parts (~45% fewer instructions than its lazy reply): queue id,
# action and stage; the client; the line up to the reply with code and dsn (the first "]"
# is the client's: nothing before it has one); the trailer, searched.
_SPLIT_DECISION = Split(
    passes=(
        r"^(?P<queue_id>[0-9A-Za-z]{5,20}): (?P<action>[a-z_-]+): (?P<stage>[A-Z][A-Z-]*) from ",
        r" from (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\]:(?:(?P<client_port>\d+):|unknown:)? ",
        r"^(?P<_head>[^\]]*\]:(?:\d+:|unknown:)? (?:(?P<code>\d{3}) )?(?:(?P<dsn>\d\.\d{1,3}\.\d{1,3}) )?)",
    ),
    trailer="(?P<_tail>" + _TRAILER.removeprefix("(?:").removesuffix(")?$") + ")$",
)
_ACTIONS = r"(?P<action>reject|reject_warning|defer|hold|discard|filter|redirect|bcc|warn|info|hangup|delay|permit|milter-[a-z]+)"

RULES = (
    Rule(
        "connect",
        r"^connect from " + _CLIENT + "$",
        samples=(
            "connect from localhost[127.0.0.1]",
            "connect from mail.example.com[2001:db8::1]",
            "connect from unknown[192.0.2.10]:49152",
        ),
    ),
    Rule(
        "disconnect",
        r"^disconnect from " + _CLIENT + r"(?: (?P<commands>" + _COUNTERS + "))?$",
        extract=_DISCONNECT,
        samples=(
            "disconnect from unknown[127.0.0.43] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
            "disconnect from localhost[127.0.0.1] commands=0/0",
            "disconnect from sample.example.net[198.51.100.7]",
        ),
    ),
    Rule(
        "client",
        r"^" + _QID + r": client=" + _CLIENT + "$",
        samples=("02B0A21A015: client=localhost[127.0.0.1]",),
    ),
    Rule(
        "decision",
        r"^" + _QID + r": " + _ACTIONS + r": " + STAGE + r" from " + _CLIENT + r": " + _REPLY + _TRAILER,
        split=_SPLIT_DECISION,
        samples=(
            "NOQUEUE: reject: RCPT from unknown[127.0.0.10]: 554 5.7.1 Service unavailable; Client host [127.0.0.10] "
            "blocked using rbl.test; Listed by RBL-TEST, see http://rbl.test/query/127.0.0.10; from=<spam@sender.test> "
            "to=<alice@example.com> proto=ESMTP helo=<spam10.outside.test>",
            "NOQUEUE: discard: RCPT from unknown[127.0.0.48]: <discard@sender.test>: Sender address triggers DISCARD action; "
            "from=<discard@sender.test> to=<alice@example.com> proto=ESMTP helo=<client48.outside.test>",
            "8E55721A1AC: reject: DATA from unknown[127.0.0.84]: 550 5.5.3 <DATA>: Data command rejected: "
            "Multi-recipient bounce; from=<> proto=ESMTP helo=<bouncer.outside.test>",
            "NOQUEUE: milter-reject: RCPT from mx.example.net[192.0.2.8]: 451 4.7.1 Greylisting in action, please come "
            "back later; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<mx.example.net>",
            "NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]",
        ),
    ),
    Rule(
        None,
        r"^" + _LOST,
        extract=(r"^" + _X_LOST, _X_FROM_CLIENT),  # 3.3 -> 2.0 us a line
        samples=(
            "lost connection after AUTH from unknown[127.0.0.88]",
            "lost connection after DATA (38 bytes) from unknown[127.0.0.81]",
            "timeout after EHLO from unknown[127.0.0.89]",
            "too many errors after RCPT from unknown[127.0.0.82]",
        ),
    ),
    Rule(
        None,
        r"^" + _QID + ": " + _LOST,
        extract=(r"^(?P<queue_id>[0-9A-Za-z]{5,20}): " + _X_LOST, _X_FROM_CLIENT),  # 3.7 -> 1.1 us a line
        samples=(
            "NOQUEUE: lost connection after CONNECT from unknown[2001:db8::25]",
            "4F1A22C01A: timeout after END-OF-MESSAGE from localhost[127.0.0.1]",
            "NOQUEUE: too many errors after AUTH from unknown[192.0.2.61]:53211",
        ),
    ),
    Rule(
        "client",
        r"^" + _QID + r": client=" + _CLIENT + r", orig_queue_id=(?P<orig_queue_id>[0-9A-Za-z]+), orig_client=(?P<detail>\S+)$",
        extract=(  # two one-pass captures: 3.6 -> 1.3 us a line
            r"^(?P<queue_id>[0-9A-Za-z]{5,20}): client=(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\]",
            r"^[0-9A-Za-z]{5,20}: client=[^\s\[\]]*\[[^\]\s]*\](?::(?:(?P<client_port>\d+)|unknown))?, "
            r"orig_queue_id=(?P<orig_queue_id>[0-9A-Za-z]+), orig_client=(?P<detail>\S+)$",
        ),
        samples=("0905B21A0E5: client=localhost[127.0.0.1], orig_queue_id=AA4F721A0DA, orig_client=unknown[127.0.0.90]",),
    ),
    Rule(
        "client",
        r"^(?:" + _QID + r": )?client=" + _CLIENT + r"(?:, sasl_method=(?P<sasl_method>[^,\s]*))?"
        r"(?:, sasl_username=(?P<sasl_username>[^,]*))?(?:, (?P<detail>.*))?$",
        extract=(  # 4.3 -> 3.1 us a line; the second is searched from the client's "]", the first in the line
            r"^(?:(?P<queue_id>[0-9A-Za-z]{5,20}): )?client=(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\]"
            r"(?::(?:(?P<client_port>\d+)|unknown))?",
            r"\](?::\d+|:unknown)?(?:, sasl_method=(?P<sasl_method>[^,\s]*))?(?:, sasl_username=(?P<sasl_username>[^,]*))?"
            r"(?:, (?P<detail>.*))?$",
        ),
        samples=(
            "4A6B321A0E2: client=unknown[127.0.0.40], sasl_method=PLAIN, sasl_username=alice@example.com",
            "client=example.com[192.0.2.1], helo=example.com",
        ),
    ),
    Rule(
        "tls",
        r"^(?:(?P<detail>Anonymous|Untrusted|Trusted|Verified) )?TLS connection established (?:from|to) " + _CLIENT
        + r": (?P<tls>.*)$",
        # two one-pass captures (the second a search from " from "/" to "): 2.9 -> 1.6 us a line
        extract=(
            r"^(?:(?P<detail>Anonymous|Untrusted|Trusted|Verified) )?TLS ",
            r" (?:from|to) (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\]:(?:(?P<client_port>\d+):|unknown:)? (?P<tls>.*)$",
        ),
        samples=(
            "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits)",
        ),
    ),
    Rule(
        "decision",
        r"^(?:" + _QID + r": )?(?P<action>proxy-accept|proxy-reject): " + STAGE + r": " + _REPLY + _TRAILER,
        samples=(
            "NOQUEUE: proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, id=11912-03 - INFECTED: Eicar-Test-Signature; "
            "from=<root@example.com> to=<root@example.net> proto=ESMTP helo=<example.com>",
            "proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as 9BE3547AFE; from=<a@example.com> "
            "to=<b@example.net> proto=ESMTP helo=<client.example.com>",
        ),
    ),
    Rule(
        "decision",
        r"^" + _ACTIONS + r": " + STAGE + r" from " + _CLIENT + r": " + _REPLY + _TRAILER,
        samples=(
            "reject: RCPT from example.com[192.0.2.2]: 554 Service unavailable; [192.0.2.2] blocked using "
            "bl.example.net, reason: Open relay. Please see http://bl.example.net/?192.0.2.2; from=<a@example.com> to=<b@example.net>",
        ),
    ),
    Rule(
        "limit_exceeded",
        r"^warning: (?P<metric>Connection concurrency|Connection rate|Message delivery request rate|Recipient address rate"
        r"|New TLS session rate|AUTH command rate) limit exceeded: (?P<value>\d+) from " + _CLIENT
        + r" for service (?P<detail>\S+)$",
        const={"severity": "warning"},
        samples=(
            "warning: Connection concurrency limit exceeded: 4 from unknown[127.0.0.51] for service 127.0.0.1:2525",
            "warning: Connection rate limit exceeded: 11 from unknown[127.0.0.50] for service 127.0.0.1:2525",
            "warning: AUTH command rate limit exceeded: 6 from unknown[192.0.2.66] for service submission",
        ),
    ),
    Rule(
        "sasl_failed",
        r"^warning: " + _CLIENT + r": SASL (?P<sasl_method>[A-Za-z0-9_-]+) authentication failed"
        r"(?:: (?P<detail>.*?))?(?:, sasl_username=(?P<sasl_username>.*))?$",
        extract=(  # 4.1 -> 2.0 us a line; " authentication failed" is searched (its first place in the line)
            r"^warning: (?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\]:(?:(?P<client_port>\d+):|unknown:)? "
            r"SASL (?P<sasl_method>[A-Za-z0-9_-]+) ",
            r" authentication failed(?:: (?P<detail>.*?))?(?:, sasl_username=(?P<sasl_username>.*))?$",
        ),
        const={"severity": "warning"},
        samples=(
            "warning: unknown[127.0.0.88]: SASL LOGIN authentication failed: authentication failure, sasl_username=alice@example.com",
            "warning: unknown[192.0.2.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            "warning: example.com[198.51.100.1]: SASL DIGEST-MD5 authentication failed",
        ),
    ),
    Rule(
        "rbl_lookup_error",
        r"^warning: (?P<rbl_zone>[^\s:]+): RBL lookup error: (?P<detail>.*)$",
        const={"severity": "warning"},
        samples=(
            "warning: 21.0.0.127.dead.test: RBL lookup error: Host or domain name not found. Name service error for "
            "name=21.0.0.127.dead.test type=A: Host not found, try again",
        ),
    ),
    Rule(
        "rdns_warning",
        r"^warning: hostname (?P<client_host>\S+) does not resolve to address (?P<client_ip>[0-9A-Fa-f:.]+?)(?:: (?P<detail>.*))?$",
        const={"status": "not_resolved", "severity": "warning"},
        samples=(
            "warning: hostname nxptr.outside.test does not resolve to address 127.0.0.31: Name or service not known",
            "warning: hostname forged.outside.test does not resolve to address 127.0.0.30",
            "warning: hostname mx.example.net does not resolve to address 2001:db8::5: Name or service not known",
        ),
    ),
    Rule(
        "rdns_warning",
        r"^warning: (?:smtpd_peer_init: )?(?P<client_ip>[0-9A-Fa-f:.]+): hostname (?P<client_host>\S+) verification failed: (?P<detail>.*)$",
        const={"status": "verification_failed", "severity": "warning"},
        samples=("warning: 192.0.2.1: hostname mail.example.com verification failed: Host not found",),
    ),
    Rule(
        "rdns_warning",
        r"^warning: (?:smtpd_peer_init: )?(?P<client_ip>[0-9A-Fa-f:.]+): address not listed for hostname (?P<client_host>\S+)$",
        const={"status": "address_not_listed", "severity": "warning"},
        samples=("warning: 192.0.2.1: address not listed for hostname sample.example.net",),
    ),
    Rule(
        "rdns_warning",
        r"^warning: numeric hostname: (?P<client_host>\S+)$",
        const={"status": "numeric_hostname", "severity": "warning"},
        samples=("warning: numeric hostname: 192.0.2.44",),
    ),
    Rule(
        "non_smtp_command",
        r"^warning: non-SMTP command from " + _CLIENT + r": (?P<detail>.*)$",
        const={"severity": "warning"},
        samples=("warning: non-SMTP command from unknown[127.0.0.82]: GET / HTTP/1.0",),
    ),
    Rule(
        "non_smtp_command",
        r"^warning: " + _CLIENT + r" sent message header instead of SMTP command: (?P<detail>.*)$",
        const={"severity": "warning"},
        samples=('warning: example.com[192.0.2.1] sent message header instead of SMTP command: From: "Someone" <a@example.com>',),
    ),
    Rule(
        "improper_pipelining",
        r"^improper command pipelining after " + STAGE + r" from " + _CLIENT + r"(?:: (?P<detail>.*))?$",
        samples=("improper command pipelining after MAIL from unknown[127.0.0.85]: RCPT TO:<alice@example.com>\\r\\nDATA\\r\\n",),
    ),
    Rule(
        "illegal_address",
        r"^warning: Illegal address syntax from " + _CLIENT + r" in (?P<stage>[A-Z]+) command: (?P<detail>.*)$",
        const={"severity": "warning"},
        samples=("warning: Illegal address syntax from unknown[127.0.0.83] in MAIL command: <bad address@@sender.test>",),
    ),
    Rule(
        "bare_newline",
        r"^(?:" + _QID + r": )?bare <LF> received after " + STAGE + r" from " + _CLIENT + r"(?: (?P<detail>.+))?$",
        samples=("bare <LF> received after CONNECT from example.net[192.0.2.4]",),
    ),
    Rule(
        "tls_error",
        r"^SSL_accept error from " + _CLIENT + r": (?P<detail>.*)$",
        samples=("SSL_accept error from unknown[127.0.0.87]: -1", "SSL_accept error from unknown[192.0.2.7]: lost connection"),
    ),
    Rule(
        "tls_error",
        r"^(?:(?P<severity>warning): )?(?P<detail>TLS library problem: .*|TLS handshake failed.*|cannot load .*"
        r"|No server certs available.*|Read failed in network_biopair_interop.*)$",
        samples=(
            "warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:350:",
            "cannot load Certificate Authority data",
        ),
    ),
    Rule(
        "tls_peer",
        r"^(?:" + _CLIENT + r": )?(?P<detail>(?:(?:Verified|Unverified|Trusted|Untrusted): )?subject_CN=.*)$",
        samples=(
            "Unverified: subject_CN=mail.example.com, issuer=Example CA",
            "mail.example.com[192.0.2.1]: subject_CN=mail.example.com, issuer_CN=R3, fingerprint=AB:CD, pkey_fingerprint=EF:01",
        ),
    ),
    Rule(
        "message_size_exceeded",
        r"^warning: " + _QID + r": queue file size limit exceeded$",
        const={"severity": "warning"},
        samples=("warning: 871B421A1AC: queue file size limit exceeded",),
    ),
    Rule(
        "sasl_warning",
        r"^(?:(?P<severity>warning): )?(?P<detail>SASL authentication (?:failure|problem): .*|SASL: .*|looking for plugins in .*)$",
        samples=(
            "warning: SASL authentication failure: Password verification failed",
            "looking for plugins in '/usr/lib/sasl2', failed to open directory, error: No such file or directory",
        ),
    ),
    Rule(
        "milter_error",
        r"^(?P<severity>warning): (?P<detail>(?:milter |Milter |connect to Milter service ).*)$",
        samples=("warning: connect to Milter service inet:localhost:8891: Connection refused",),
    ),
    Rule(
        "service_error",
        r"^(?P<severity>warning): (?P<detail>(?:connect to |problem talking to (?:server|service) |read TCP map reply from ).*)$",
        samples=(
            "warning: connect to private/policy: Connection refused",
            "warning: problem talking to server private/policy: Connection refused",
        ),
    ),
    Rule(
        "table_changed",
        r"^table (?P<detail>\S+) has changed -- restarting$",
        samples=("table hash:/etc/postfix/helo_checks has changed -- restarting",),
    ),
    Rule(
        "ehlo_discarded",
        r"^discarding EHLO keywords: (?P<detail>.*)$",
        samples=("discarding EHLO keywords: CHUNKING ETRN DSN 8BITMIME",),
    ),
)

# ---------------------------------------------------------------------------
# finish: vectorised derived columns

# Built-in reply texts (smtpd_check.c, 3.x defaults) -> (restriction, restriction_class).
# Matched as literals in one pass; the leftmost literal in the reply wins, and at one
# position the first listed (so a longer text is listed before its prefix).
LITERALS: dict[str, tuple[str, str]] = {
    "Client host rejected: cannot find your reverse hostname": ("reject_unknown_reverse_client_hostname", "reverse_dns"),
    "Client host rejected: cannot find your hostname": ("reject_unknown_client_hostname", "reverse_dns"),
    "Improper use of SMTP command pipelining": ("reject_unauth_pipelining", "protocol"),
    "Multi-recipient bounce": ("reject_multi_recipient_bounce", "protocol"),
    "Error: send HELO/EHLO first": ("smtpd_helo_required", "protocol"),
    "Session encryption is required": ("reject_plaintext_session", "protocol"),
    "Helo command rejected: need fully-qualified hostname": ("reject_non_fqdn_helo_hostname", "helo"),
    "Helo command rejected: need fully-qualifiedhostname": ("reject_non_fqdn_helo_hostname", "helo"),
    "Helo command rejected: Invalid name": ("reject_invalid_helo_hostname", "helo"),
    "Helo command rejected: invalid ip address": ("reject_invalid_helo_hostname", "helo"),
    "Helo command rejected: Host not found": ("reject_unknown_helo_hostname", "helo"),
    "Helo command rejected: Malformed DNS server reply": ("reject_unknown_helo_hostname", "helo"),
    "Sender address rejected: need fully-qualified address": ("reject_non_fqdn_sender", "sender"),
    "Sender address rejected: Domain not found": ("reject_unknown_sender_domain", "sender"),
    "Sender address rejected: Malformed DNS server reply": ("reject_unknown_sender_domain", "sender"),
    "Sender address rejected: Domain ": ("reject_unknown_sender_domain", "sender"),  # ... does not accept mail (nullMX)
    "Sender address rejected: not logged in": ("reject_sender_login_mismatch", "sender"),
    "Sender address rejected: not owned by user": ("reject_sender_login_mismatch", "sender"),
    "Sender address rejected: undeliverable address": ("reject_unverified_sender", "sender"),
    "Sender address rejected: unverified address": ("reject_unverified_sender", "sender"),
    "Sender address rejected: address verification problem": ("reject_unverified_sender", "sender"),
    "Sender address rejected: User unknown": ("reject_unlisted_sender", "sender"),
    "Recipient address rejected: need fully-qualified address": ("reject_non_fqdn_recipient", "recipient"),
    "Recipient address rejected: Domain not found": ("reject_unknown_recipient_domain", "recipient"),
    "Recipient address rejected: Malformed DNS server reply": ("reject_unknown_recipient_domain", "recipient"),
    "Recipient address rejected: Domain ": ("reject_unknown_recipient_domain", "recipient"),  # nullMX
    "Recipient address rejected: User unknown": ("unknown_recipient", "unknown_user"),
    "Recipient address rejected: undeliverable address": ("reject_unverified_recipient", "unknown_user"),
    "Recipient address rejected: unverified address": ("reject_unverified_recipient", "unknown_user"),
    "Recipient address rejected: address verification problem": ("reject_unverified_recipient", "unknown_user"),
    "Relay access denied": ("reject_unauth_destination", "relay"),
    "Message size exceeds fixed limit": ("message_size_limit", "size"),
    "Insufficient system storage": ("queue_minfree", "size"),
    "Temporary lookup failure": ("temporary_lookup_failure", "other"),
    "Server configuration error": ("server_configuration_error", "other"),
    "Server configuration problem": ("policy_service", "policy"),  # smtpd_policy_service_default_action
    "Policy rejection": ("policy_service", "policy"),
    "defer_if_permit requested": ("defer_if_permit", "other"),
    "defer_if_reject requested": ("defer_if_reject", "other"),
}
# Looser policy-service texts: greylisting (postgrey and look-alikes) and SPF policy daemons.
POLICY_RE = r"(?i)greylist|openspf|spf\.pobox\.com|\bSPF\b"

# Access-table hits (and the plain reject/defer restrictions), by the reply's class word:
# "<x>: Client host rejected: text", "<x>: Sender address triggers DISCARD action" ...
TABLE_CLASS = {
    "Unverified Client host": ("check_reverse_client_hostname_access", "client"),
    "Client host": ("check_client_access", "client"),
    "Helo command": ("check_helo_access", "helo"),
    "Sender address": ("check_sender_access", "sender"),
    "Recipient address": ("check_recipient_access", "recipient"),
    "Etrn command": ("check_etrn_access", "other"),
    "SASL login name": ("check_sasl_access", "client"),
    "Client certificate": ("check_ccert_access", "client"),
    "Data command": ("smtpd_data_restrictions", "other"),
    "End-of-data": ("smtpd_end_of_data_restrictions", "other"),
}

# DNS blocklist replies: "Service unavailable; <class> [<what>] blocked using ZONE[; TXT]"
# (Postfix 1.x/2.0: "[ip] blocked using ZONE, reason: TXT").
RBL_RE = (
    r"(?:(?P<w>Unverified Client host|Client host|Helo command|Sender address|Recipient address) )?"
    r"\[(?P<what>[^\]]*)\] blocked using (?P<rest>.*)$"
)
RBL_BY_WORD = {
    "": ("reject_rbl_client", "rbl", "rbl"),
    "Client host": ("reject_rbl_client", "rbl", "rbl"),  # or rhsbl_client when <what> is a name
    "Unverified Client host": ("reject_rhsbl_reverse_client", "rhsbl", "rhsbl_reverse_client"),
    "Helo command": ("reject_rhsbl_helo", "rhsbl", "rhsbl_helo"),
    "Sender address": ("reject_rhsbl_sender", "rhsbl", "rhsbl_sender"),
    "Recipient address": ("reject_rhsbl_recipient", "rhsbl", "rhsbl_recipient"),
}
ZONE_RE = r"^(?P<zone>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+)(?:(?:; |, reason: )(?P<txt>.*)|[;,]?)$"

# Well-known domain-based blocklists, to find the zone in an RHSBL lookup error.
RHSBL_ZONES = (
    "dbl.spamhaus.org", "dbl.dq.spamhaus.net", "zrd.dq.spamhaus.net",
    "multi.surbl.org", "multi.uribl.com", "black.uribl.com", "grey.uribl.com", "red.uribl.com",
    "rhsbl.sorbs.net", "nomail.rhsbl.sorbs.net", "badconf.rhsbl.sorbs.net",
    "fresh.spameatingmonkey.net", "fresh10.spameatingmonkey.net", "fresh15.spameatingmonkey.net",
    "uribl.spameatingmonkey.net", "urired.spameatingmonkey.net", "dbl.nordspam.com", "dbl.suomispam.net",
    "rhsbl.ahbl.org", "dsn.rfc-ignorant.org", "postmaster.rfc-ignorant.org", "abuse.rfc-ignorant.org",
    "bogusmx.rfc-ignorant.org", "rhsbl.scientificspam.net", "hostkarma.junkemailfilter.com",
)

METRICS = {
    "Connection concurrency": "connection_count",
    "Connection rate": "connection_rate",
    "Message delivery request rate": "message_rate",
    "Recipient address rate": "recipient_rate",
    "New TLS session rate": "newtls_rate",
    "AUTH command rate": "auth_rate",
}
KINDS = {"lost connection": "lost_connection", "timeout": "timeout", "too many errors": "too_many_errors"}

_STR = pa.string()
_I32 = pa.int32()
_NULL_STR = pa.scalar(None, _STR)


def _literal_re(words) -> str:
    return "(?P<k>" + "|".join(re.escape(w) for w in words) + ")"


_LITERALS_RE = _literal_re(LITERALS)
_TABLE_RE = r"(?:^|>: )" + _literal_re(TABLE_CLASS) + " "


def _set(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in t.column_names:
        return t.set_column(t.column_names.index(name), name, values)
    return t.append_column(name, values)


def _col(t: pa.Table, name: str) -> pa.Array:
    return t.column(name).combine_chunks()


def _map(values: pa.Array, mapping: dict[str, str]) -> pa.Array:
    idx = pc.index_in(values, value_set=pa.array(list(mapping), _STR))
    return pa.array(list(mapping.values()), _STR).take(idx)


def _field(m: pa.StructArray, name: str) -> pa.Array:
    """A group of an extract_regex result: null where the regex or the group did not match."""
    g = pc.if_else(m.is_valid(), m.field(name), _NULL_STR)
    return pc.if_else(pc.equal(g, ""), _NULL_STR, g)


def _group(a: pa.Array, pattern: str, name: str = "g") -> pa.Array:
    return _field(pc.extract_regex(a, pattern), name)


def _int(a: pa.Array) -> pa.Array:
    return pc.cast(a, _I32)


def _counters(t: pa.Table) -> pa.Table:
    """Complete the counters the disconnect rule captured; n_auth_failed = M-N of auth=N/M."""
    cmd = _col(t, "commands")
    has = cmd.is_valid()
    zero = pa.scalar(0, _I32)
    none = pa.scalar(None, _I32)
    got = {k: _col(t, k) if k in t.column_names else pa.nulls(len(t), _I32) for k in ("n_mail", "n_rcpt")}
    for name, word in (("n_mail", "mail="), ("n_rcpt", "rcpt=")):  # a counter out of the expected order
        miss = pc.and_(pc.fill_null(pc.match_substring(cmd, word), False), got[name].is_null())
        if pc.any(miss).as_py():
            v = _int(_group(pc.if_else(miss, cmd, _NULL_STR), r"(?:^| )" + word + r"(?P<g>\d+)"))
            got[name] = pc.if_else(miss, v, got[name])
    failed = pa.nulls(len(t), _I32)
    has_auth = pc.fill_null(pc.match_substring(cmd, "auth="), False)
    if pc.any(has_auth).as_py():
        m = pc.extract_regex(pc.if_else(has_auth, cmd, _NULL_STR), r"(?:^| )auth=(?P<ok>\d+)(?:/(?P<total>\d+))?")
        ok = _int(_field(m, "ok"))
        failed = pc.subtract(pc.coalesce(_int(_field(m, "total")), ok), ok)
    if "commands_ok" in t.column_names:
        ok = _col(t, "commands_ok")
        total = _col(t, "commands_total") if "commands_total" in t.column_names else pa.nulls(len(t), _I32)
    else:  # captured by _DISCONNECT: the last word is commands=N[/M]
        m = pc.extract_regex(cmd, r"commands=(?P<ok>\d+)(?:/(?P<total>\d+))?$")
        ok, total = _int(_field(m, "ok")), _int(_field(m, "total"))
        t = _set(t, "commands_ok", ok)
    t = _set(t, "commands_total", pc.coalesce(total, ok))
    for name, values in (("n_mail", got["n_mail"]), ("n_rcpt", got["n_rcpt"]), ("n_auth_failed", failed)):
        t = _set(t, name, pc.if_else(has, pc.coalesce(values, zero), none))
    return t


_COUNTER_COLUMNS = ("commands_ok", "commands_total", "n_mail", "n_rcpt", "n_auth_failed")


def _counters_by_text(t: pa.Table) -> pa.Table:
    """:func:`_counters` once per distinct commands text (a few dozen in thousands of
    disconnect lines), spread back to the rows by dictionary index."""
    d = pc.dictionary_encode(_col(t, "commands"))
    u = _counters(pa.table({"commands": d.dictionary}))
    for name in _COUNTER_COLUMNS:
        t = _set(t, name, _col(u, name).take(d.indices))
    return t


class _Classes:
    """restriction/restriction_class being filled, first assignment wins."""

    def __init__(self, n: int):
        self.restriction = pa.nulls(n, _STR)
        self.rclass = pa.nulls(n, _STR)

    def put(self, mask: pa.Array, name, cls) -> None:
        todo = pc.and_(pc.fill_null(mask, False), self.restriction.is_null())
        name = pa.scalar(name, _STR) if isinstance(name, str) else name
        cls = pa.scalar(cls, _STR) if isinstance(cls, str) else cls
        self.restriction = pc.if_else(todo, name, self.restriction)
        self.rclass = pc.if_else(todo, cls, self.rclass)

    def done(self) -> bool:
        return self.restriction.null_count == 0

    def pending(self, text: pa.Array) -> pa.Array:
        """``text`` where no restriction is set yet, else null (regex kernels skip nulls)."""
        return pc.if_else(self.restriction.is_null(), text, _NULL_STR)


def classify(reply: pa.Array, action: pa.Array) -> dict[str, pa.Array]:
    """restriction, restriction_class, rbl_zone, rbl_class, detail (the RBL TXT) of decision rows."""
    n = len(reply)
    text = pc.fill_null(reply, "")
    act = pc.fill_null(action, "")
    c = _Classes(n)
    c.put(pc.starts_with(act, "milter-"), "milter", "milter")
    c.put(pc.starts_with(act, "proxy-"), "smtpd_proxy_filter", "content")
    is_permit = pc.equal(act, "permit")
    if pc.any(is_permit).as_py():
        permit_name = _group(pc.if_else(is_permit, text, _NULL_STR), r"^action=(?P<g>\S+) for ")
        c.put(permit_name.is_valid(), permit_name, "other")

    out = {"rbl_zone": pa.nulls(n, _STR), "rbl_class": pa.nulls(n, _STR), "detail": pa.nulls(n, _STR)}
    is_rbl = pc.fill_null(pc.match_substring(c.pending(text), "] blocked using "), False)
    if pc.any(is_rbl).as_py():
        m = pc.extract_regex(pc.if_else(is_rbl, text, _NULL_STR), RBL_RE)
        word = pc.fill_null(_field(m, "w"), "")
        rest = _field(m, "rest")
        names = {k: v[0] for k, v in RBL_BY_WORD.items()}
        classes = {k: v[2] for k, v in RBL_BY_WORD.items()}
        restriction, rbl_class = _map(word, names), _map(word, classes)
        # "Client host [name]" is reject_rhsbl_client; "Client host [address]" reject_rbl_client
        by_name = pc.and_(pc.equal(word, "Client host"),
                          pc.invert(pc.match_substring_regex(pc.fill_null(_field(m, "what"), ""), r"^[0-9A-Fa-f.:]+$")))
        restriction = pc.if_else(by_name, pa.scalar("reject_rhsbl_client"), restriction)
        rbl_class = pc.if_else(by_name, pa.scalar("rhsbl_client"), rbl_class)
        hit = pc.and_(m.is_valid(), rest.is_valid())
        c.put(hit, restriction, pc.if_else(pc.equal(rbl_class, "rbl"), pa.scalar("rbl"), pa.scalar("rhsbl")))
        z = pc.extract_regex(rest, ZONE_RE)
        out["rbl_zone"] = pc.if_else(hit, _field(z, "zone"), _NULL_STR)
        out["rbl_class"] = pc.if_else(hit, rbl_class, _NULL_STR)
        out["detail"] = pc.if_else(hit, _field(z, "txt"), _NULL_STR)
    if not c.done():
        key = _group(c.pending(text), _LITERALS_RE, "k")
        if pc.any(key.is_valid()).as_py():
            c.put(key.is_valid(), _map(key, {k: v[0] for k, v in LITERALS.items()}),
                  _map(key, {k: v[1] for k, v in LITERALS.items()}))
    if not c.done():
        c.put(pc.match_substring_regex(c.pending(text), POLICY_RE), "policy_service", "policy")
    if not c.done():
        word = _group(c.pending(text), _TABLE_RE, "k")
        c.put(word.is_valid(), _map(word, {k: v[0] for k, v in TABLE_CLASS.items()}),
              _map(word, {k: v[1] for k, v in TABLE_CLASS.items()}))
    out["restriction"] = pc.coalesce(c.restriction, pa.scalar("unclassified"))
    out["restriction_class"] = pc.coalesce(c.rclass, pa.scalar("other"))
    return out


def _classify_distinct(reply: pa.Array, action: pa.Array) -> dict[str, pa.Array]:
    """:func:`classify` once per distinct (reply, action) pair (about 2 in 3 rows are one:
    replies name the client or the recipient), spread back to the rows."""
    r = pc.dictionary_encode(reply)
    a = pc.dictionary_encode(action)
    ri = np.asarray(pc.fill_null(r.indices, -1), np.int64) + 1
    ai = np.asarray(pc.fill_null(a.indices, -1), np.int64) + 1
    _, first, back = np.unique(ri * (len(a.dictionary) + 1) + ai, return_index=True, return_inverse=True)
    if len(first) == len(reply):
        return classify(reply, action)
    pick, spread = pa.array(first), pa.array(back.reshape(-1))
    return {name: values.take(spread) for name, values in classify(reply.take(pick), action.take(pick)).items()}


def _decisions(t: pa.Table) -> pa.Table:
    reply = _col(t, "reply")
    action = _col(t, "action")
    for name, values in _classify_distinct(reply, action).items():
        if values.null_count < len(values) or name.startswith("restriction"):
            t = _set(t, name, values)
    # proxy-accept names the queue file that the before-queue filter's MTA created
    is_accept = pc.fill_null(pc.equal(action, "proxy-accept"), False)
    if pc.any(is_accept).as_py():
        queued = _group(pc.if_else(is_accept, reply, _NULL_STR), r"queued as (?P<g>[0-9A-Za-z]+)")
        t = _set(t, "new_queue_id", queued)
    return t


def _lookup_errors(t: pa.Table) -> pa.Table:
    """Split an RBL query name into zone and client address."""
    q = pc.fill_null(_col(t, "rbl_zone"), "")
    n = len(q)
    v4 = pc.extract_regex(q, r"^(?P<a>\d{1,3})\.(?P<b>\d{1,3})\.(?P<c>\d{1,3})\.(?P<d>\d{1,3})\.(?P<zone>.+)$")
    v6 = pc.extract_regex(q, r"^(?P<nibbles>(?:[0-9A-Fa-f]\.){32})(?P<zone>.+)$")
    is6 = v6.is_valid()
    is4 = pc.and_(v4.is_valid(), pc.invert(is6))  # 32 nibbles also start with four digit labels
    ip = pc.if_else(is4, pc.binary_join_element_wise(v4.field("d"), v4.field("c"), v4.field("b"), v4.field("a"), "."),
                    _NULL_STR)
    if pc.any(is6).as_py():  # rebuild the canonical IPv6 text, once per distinct address
        nibbles = pc.dictionary_encode(v6.field("nibbles").filter(is6))
        hexes = pc.utf8_reverse(pc.replace_substring(nibbles.dictionary, ".", ""))
        text6 = pa.array([str(ipaddress.IPv6Address(int(h, 16))) for h in hexes.to_pylist()], _STR)
        ip = pc.coalesce(ip, pc.replace_with_mask(pa.nulls(n, _STR), is6, text6.take(nibbles.indices)))
    # a domain query (RHSBL): the zone is known only when it is a well-known one
    known = pa.nulls(n, _STR)
    if not pc.all(pc.or_(is4, is6)).as_py():  # usually every query is an address
        for z in RHSBL_ZONES:
            hit = pc.and_(pc.ends_with(q, "." + z), known.is_null())
            known = pc.if_else(hit, pa.scalar(z, _STR), known)
    zone = pc.if_else(is4, _field(v4, "zone"), pc.if_else(is6, _field(v6, "zone"), known))
    t = _set(t, "rbl_zone", zone)
    t = _set(t, "rbl_class", pc.if_else(pc.or_(is4, is6), pa.scalar("rbl"), pa.scalar("rhsbl")))
    t = _set(t, "client_ip", ip)
    return t


def _tls_summary(tls: pa.Array) -> pa.Array:
    m = pc.extract_regex(tls, r"^(?P<v>\S+) with cipher (?P<c>\S+)")
    return pc.if_else(m.is_valid(), pc.binary_join_element_wise(m.field("v"), m.field("c"), " "), tls)


def _per_value(a: pa.Array, fn) -> pa.Array:
    """``fn`` (a row-wise function) run once per distinct value of ``a``, spread back by index."""
    d = pc.dictionary_encode(a)
    return fn(d.dictionary).take(d.indices)


def finish(t: pa.Table) -> pa.Table:
    """Derived columns for one rule's matched rows; robust to absent columns."""
    if not len(t):
        return t
    names = t.column_names
    kind = _col(t, "kind")
    if "client_ip" in names:  # "unknown[unknown]": no address
        ip = _col(t, "client_ip")
        if pc.any(pc.equal(ip, "unknown")).as_py():
            t = _set(t, "client_ip", pc.if_else(pc.equal(ip, "unknown"), _NULL_STR, ip))
    first = kind[0].as_py()
    if first in KINDS:  # the lost connection/timeout/too many errors rule names its kind
        t = _set(t, "kind", pc.coalesce(_map(kind, KINDS), kind))
    elif first == "disconnect" and "commands" in names:
        # the cheap extract captures only the text: derive the counters per distinct text
        t = _counters(t) if "commands_ok" in names else _counters_by_text(t)
    elif first == "decision" and "reply" in names:
        t = _decisions(t)
    elif first == "limit_exceeded" and "metric" in names:
        t = _set(t, "metric", _map(_col(t, "metric"), METRICS))
        t = _set(t, "anvil_service", _col(t, "detail"))
    elif first == "rbl_lookup_error" and "rbl_zone" in names:
        t = _lookup_errors(t)
    elif first == "tls" and "tls" in names:
        # "TLSv1.3 with cipher C (...)" -> "TLSv1.3 C"; a search without the tail is 4x cheaper than a replace
        t = _set(t, "tls", _per_value(_col(t, "tls"), _tls_summary))
    return t


GRAMMAR = Grammar("smtpd", daemons=frozenset({"smtpd"}), rules=RULES, finish=finish)
