"""Administrative programs and small daemons: master, postfix-script, postsuper, scache, verify ...

NAME
    admin - grammar for master(8), postfix(1), postsuper(1) and the other commands and
    helper daemons (postqueue, postdrop, sendmail, postmap, postalias, postlogd, postlog,
    postmulti, scache, tlsmgr, tlsproxy, proxymap, proxywrite, verify, trivial-rewrite,
    showq, spawn, flush, qmqpd, postkick, postlock, postcat, postconf)

LINES
    daemon started -- version 3.7.11, configuration /etc/postfix
        kind ``master_start``: detail = the Postfix version. [master/master.c]
    reload -- version 3.7.11, configuration /etc/postfix   (2.x: reload configuration /etc/postfix)
        kind ``master_reload``: detail = the version (null on 2.x).
    terminating on signal 15
        kind ``master_stop``: value = the signal.
    warning: process /usr/lib/postfix/sbin/smtpd pid 4711 exit status 1 / killed by signal 11
        kind ``process_exit``: detail = the program, action = exit | signal, value.
        [master/master_spawn.c]
    warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling
        kind ``throttle``: detail = the program.
    warning: service "smtp" (25) has reached its process limit "100": new clients may experience noticeable delays
        kind ``process_limit``: detail = the service, metric = process_limit, value = the limit.
    starting|stopping|refreshing|aborting the Postfix mail system
    waiting for the Postfix mail system to terminate
    the Postfix mail system is running: PID: N / is not running
    warning: stopping the Postfix mail system with force
        kind ``postfix_script``: action = starting, stopping, refreshing, aborting, waiting,
        running, not running; value = the master PID. [conf/postfix-script]
    Postfix is running with backwards-compatible default settings (and its two follow-up lines)
        kind ``compatibility``: detail. [postfix/postfix.c]
    QID: removed | requeued | placed on hold | released from hold | expired
        kind ``postsuper``: action = removed, requeued, held, released, expired. [postsuper/postsuper.c]
    Deleted: N messages | Requeued: N | Placed on hold: N | Released from hold: N | Expired: N
        kind ``postsuper``: action = deleted, requeued, held, released, expired; value = N.
    statistics: start interval Nov 27 17:54:37
    statistics: domain lookup hits=0 miss=2 success=0%   (also address lookup, max simultaneous)
        kind ``scache_stats``: metric = start_interval, domain_lookup, address_lookup,
        max_simultaneous; detail = the counters as logged; anvil_ts = the start stamp.
        [scache/scache.c]
    cache lmdb:/var/lib/postfix/verify_cache full cleanup: retained=724 dropped=6 entries
        kind ``cache_cleanup``: detail. [util/dict_cache.c]
    CONNECT from [ip]:port / DISCONNECT [ip]:port            (tlsproxy)
    connect from host[ip] / disconnect from host[ip]          (qmqpd)
        kind ``connect`` / ``disconnect``: client_*.
    QID: client=host[ip]                                      (qmqpd)
        kind ``client``: client_*.
    Anonymous TLS connection established from host[ip]:port: TLSv1.3 with cipher ...   (tlsproxy)
        kind ``tls``: status (trust level), client_*, tls.
    [QID: ]proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as NEWQID; from=<s> to=<r> proto=ESMTP helo=<h>
        kind ``proxy``: action, stage, code, dsn, reply, new_queue_id, sender, recipient, proto, helo.
    Lines of a bare ``postfix`` syslog tag (a cut program name) may be any daemon's: the
    delivery, smtp_error, Used-TLS and diagnostic rules of the delivery grammar also apply.
    warning|error|fatal|panic: ...
        generic ``diagnostic`` (postmap, postdrop, sendmail, tlsmgr, trivial-rewrite ... log little else);
        ``warning: QID: ...`` keeps the queue_id.

BUGS
    postlog(1) writes free text under any tag; only its diagnostics are understood.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from . import CLIENT, PS_CLIENT, QID, Grammar, Rule
from . import delivery

_VERSION = r"(?P<detail>[0-9][^,\s]*)"

RULES = (
    Rule(
        "master_start",
        r"^daemon started -- version " + _VERSION + r", configuration \S+$",
        samples=("daemon started -- version 3.7.11, configuration /tmp/postfix-lab/etc", "daemon started -- version 2.11.0, configuration /etc/postfix"),
    ),
    Rule(
        "master_reload",
        r"^reload (?:-- version " + _VERSION + r", )?configuration \S+$",
        samples=("reload -- version 3.7.11, configuration /tmp/postfix-lab/etc", "reload configuration /etc/postfix"),
    ),
    Rule(
        "master_stop",
        r"^terminating on signal (?P<value>\d+)$",
        samples=("terminating on signal 15",),
    ),
    Rule(
        "postfix_script",
        r"^(?P<action>starting|stopping|refreshing|aborting) the Postfix mail system$",
        samples=("starting the Postfix mail system", "refreshing the Postfix mail system", "stopping the Postfix mail system"),
    ),
    Rule(
        "postfix_script",
        r"^(?P<action>waiting) for the Postfix mail system to terminate$",
        samples=("waiting for the Postfix mail system to terminate",),
    ),
    Rule(
        "postfix_script",
        r"^the Postfix mail system is (?P<action>running|not running)(?:: PID: (?P<value>\d+))?$",
        samples=("the Postfix mail system is running: PID: 25041", "the Postfix mail system is not running"),
    ),
    Rule(
        "postfix_script",
        r"^(?P<severity>warning): (?P<action>stopping) the Postfix mail system with force$",
        samples=("warning: stopping the Postfix mail system with force",),
    ),
    Rule(
        "postsuper",
        "^" + QID + r": (?P<action>removed|requeued|placed on hold|released from hold|expired)$",
        samples=("D4F2023DB: removed", "D4F2023DB: requeued", "D4F2023DB: placed on hold", "D4F2023DB: released from hold"),
    ),
    Rule(
        "postsuper",
        r"^(?P<action>Deleted|Requeued|Placed on hold|Released from hold|Expired): (?P<value>\d+) messages?$",
        samples=("Deleted: 2 messages", "Requeued: 1 message", "Placed on hold: 67 messages", "Released from hold: 13 messages"),
    ),
    Rule(
        "process_exit",
        r"^(?P<severity>warning): process (?P<detail>\S+) pid \d+ (?P<action>exit status|killed by signal) (?P<value>\d+)$",
        samples=(
            "warning: process /usr/lib/postfix/sbin/smtpd pid 22527 exit status 1",
            "warning: process /usr/local/libexec/postfix/smtpd pid 46234 killed by signal 11",
        ),
    ),
    Rule(
        "throttle",
        r"^(?P<severity>warning): (?P<detail>\S+): bad command startup -- throttling$",
        samples=("warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling",),
    ),
    Rule(
        "process_limit",
        r'^(?P<severity>warning): service "(?P<detail>[^"]*)" \([^)]*\) has reached its process limit "(?P<value>\d+)": new clients may experience noticeable delays$',
        const={"metric": "process_limit"},
        samples=('warning: service "smtp" (25) has reached its process limit "100": new clients may experience noticeable delays',),
    ),
    Rule(
        "compatibility",
        r"^(?P<detail>Postfix is (?:running with|using) backwards-compatible default settings"
        r"|See http://www\.postfix\.org/COMPATIBILITY_README\.html for details|To disable backwards compatibility use .*)$",
        samples=(
            "Postfix is running with backwards-compatible default settings",
            "See http://www.postfix.org/COMPATIBILITY_README.html for details",
            'To disable backwards compatibility use "postconf compatibility_level=2" and "postfix reload"',
        ),
    ),
    Rule(
        "scache_stats",
        r"^statistics: start interval (?P<anvil_ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)$",
        const={"metric": "start_interval"},
        samples=("statistics: start interval Nov 27 17:54:37", "statistics: start interval Dec  6 21:20:35"),
    ),
    Rule(
        "scache_stats",
        r"^statistics: (?P<metric>domain lookup|address lookup) (?P<detail>hits=\d+ miss=\d+ success=\d+%)$",
        samples=("statistics: domain lookup hits=0 miss=2 success=0%", "statistics: address lookup hits=0 miss=2 success=0%"),
    ),
    Rule(
        "scache_stats",
        r"^statistics: max simultaneous (?P<detail>domains=\d+ addresses=\d+ connection=\d+)$",
        const={"metric": "max_simultaneous"},
        samples=("statistics: max simultaneous domains=1 addresses=1 connection=1",),
    ),
    Rule(
        "cache_cleanup",
        r"^cache (?P<detail>\S+ (?:full|partial) cleanup: retained=\d+ dropped=\d+ entries)$",
        samples=("cache lmdb:/var/lib/postfix/verify_cache full cleanup: retained=724 dropped=6 entries",),
    ),
    Rule(
        "connect",
        r"^CONNECT from " + PS_CLIENT + "$",
        samples=("CONNECT from [82.118.17.142]:51637",),
    ),
    Rule(
        "disconnect",
        r"^DISCONNECT " + PS_CLIENT + "$",
        samples=("DISCONNECT [82.118.17.142]:51637",),
    ),
    Rule(
        None,
        r"^(?P<kind>connect|disconnect) from " + CLIENT + "$",
        samples=("connect from localhost[127.0.0.1]", "disconnect from unknown[192.0.2.7]"),
    ),
    Rule(
        "client",
        "^" + QID + r": client=" + CLIENT + "$",
        samples=("NOQUEUE: client=unknown[10.100.0.3]", "4F1A22C01A: client=mx.example.net[192.0.2.1]"),
    ),
    Rule(
        "tls",
        r"^(?P<status>Anonymous|Untrusted|Trusted|Verified) TLS connection established from " + CLIENT + r": (?P<tls>.*)$",
        samples=("Anonymous TLS connection established from [192.0.2.7]:41000: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",),
    ),
    Rule(
        "proxy",
        r"^(?:" + QID + r": )?(?P<action>proxy-accept|proxy-reject): (?P<stage>[A-Z][A-Z-]*): (?P<code>\d{3}) "
        r"(?:(?P<dsn>\d\.\d{1,3}\.\d{1,3}) )?(?P<reply>.*);(?: from=(?P<sender><[^>]*>))?(?: to=(?P<recipient><[^>]*>))?"
        r"(?: proto=(?P<proto>[A-Za-z]+))?(?: helo=<(?P<helo>[^>]*)>)?$",
        samples=("proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as 7949396087; from=<jdoe@example.org> to=<jane.doe@example.org> proto=ESMTP helo=<mx.example.org>",),
    ),
    # a bare "postfix" tag: lines of any delivery agent
    delivery.DELIVERY,
    delivery.SMTP_SAID,
    delivery.USED_TLS,
    delivery.BOUNCE_FAILED,
    delivery.QUEUE_DIAGNOSTIC,
    delivery.QUEUED_DIAGNOSTIC,
)

_ACTIONS = {
    "placed on hold": "held",
    "released from hold": "released",
    "Deleted": "deleted",
    "Requeued": "requeued",
    "Placed on hold": "held",
    "Released from hold": "released",
    "Expired": "expired",
    "exit status": "exit",
    "killed by signal": "signal",
}
_METRICS = {"domain lookup": "domain_lookup", "address lookup": "address_lookup"}


def _map(a: pa.Array, table: dict[str, str]) -> pa.Array:
    enc = pc.dictionary_encode(a)
    values = [table.get(v, v) for v in enc.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(enc.indices)


def finish(t: pa.Table) -> pa.Table:
    if not len(t) or "kind" not in t.column_names:
        return t
    kind = t.column("kind")[0].as_py()
    for name, table in (("action", _ACTIONS), ("metric", _METRICS)):
        if name in t.column_names and kind in ("postsuper", "process_exit", "scache_stats"):
            t = t.set_column(t.column_names.index(name), name, _map(t.column(name).combine_chunks(), table))
    if kind in delivery.REPLY_KINDS or kind == "proxy":
        t = delivery.reply_fields(t)
    return t


GRAMMAR = Grammar(
    "admin",
    daemons=frozenset(
        "master postfix-script postfix postsuper postqueue postdrop sendmail postmap postalias postlogd postlog "
        "postmulti scache tlsmgr tlsproxy proxymap proxywrite verify trivial-rewrite showq spawn flush qmqpd "
        "postkick postlock postcat postconf".split()
    ),
    rules=RULES,
    finish=finish,
)
