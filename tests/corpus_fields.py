"""Outside corpora (../shared/corpus) as test cases: lines, upstream fields mapped to our columns.

Used by tests/test_corpus.py; ``python tests/corpus_fields.py`` prints the per-file
summary (parse rates, failures grouped by daemon and cause) without pytest.

A case is one log line: a ``.jsonl`` record (``message`` records get the envelope
``Jan  1 00:00:00 corpus-host <program>[1]: ``) or one line of a ``.log`` file.
Nothing here reads the corpus at import time.

Input fix-ups, each because of how upstream stored its samples, not because of Postfix:
- ``modoboa-mail.log`` is a template: ``%(day)s`` becomes ``Nov 16`` (its Message-IDs say 2017-11-16).
- ``sergeymakinen-exporter-mail.log``: ``#`` lines are section comments, not log lines.
- ``sekoia.jsonl``: eleven samples end in `` <number>``, the octet count of the next
  RFC 6587 frame glued on by their collector (``... commands=7 93``); it is cut off.
  No sekoia Postfix sample legitimately ends in a bare number.
- Records without a program (sekoia): the README says use ``postfix/smtpd``; where the
  message is one smtpd never writes, the program that writes it is used instead
  (:func:`writer`). The same for ``logwatch-postfix.jsonl`` records tagged
  ``postfix/smtpd``: logwatch's #TD generator tags every sample without a service
  code as smtpd (its ``DEF`` service), delivery and qmgr lines included.
- ``grok-patterns.jsonl`` records of kind ``fragment`` are inputs of grok sub-patterns
  (``ehlo=2 starttls=1 ...``, ``0.2/0.02/0.04/3.3``), not log lines: not cases.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PREFIX = "Jan  1 00:00:00 corpus-host {program}[1]: "
ANCHOR = dt.date(2026, 11, 27)

# ---------------------------------------------------------------------------------------
# Documented exceptions: records that are not Postfix output at all or are malformed.
# Keyed by the record's line text (the full line for .log files). Each is skipped with
# its reason. Keep this short; every entry says why no grammar should take the line.
# ---------------------------------------------------------------------------------------
_MALFORMED_HEADER = "upstream's deliberately malformed syslog header (postfix_exporter test log, 'Unsupported or malformed')"
_PLACEHOLDER = "upstream placeholder text, not a Postfix message (postfix_exporter test log)"
_NO_TO = "delivery line without 'to=<...>': log_adhoc.c always writes it; hand-made upstream sample"
_BARE_TAG = ("syslog tag cut to 'postfix' by upstream (sekoia): that is postfix(1)'s own tag, "
             "and postfix(1) never writes this smtp/smtpd message; the daemon is lost")
_TAG_IN_TEXT = "the message text repeats the syslog tag 'postfix/smtpd[24928]: ' (logwatch #TD sample)"
_SHORT_QID = "queue id '12' is a logwatch placeholder: Postfix queue ids have at least 6 characters"
_NO_COMMA = "'conn_use=2 delay=' lacks the ', ' that log_adhoc.c always writes: a typo in the logwatch sample"

EXCEPTIONS: dict[str, str] = {
    # sergeymakinen-exporter-mail.log
    "Jan: 1 00:00:00 hostname postfix/postscreen[12345]: foo": _MALFORMED_HEADER,
    "Jan 1 00:00:00 hostname postfix/postscreen[abcde]: foo": _MALFORMED_HEADER,
    "Jan 1 00:00:00 hostname postfix/postscreen[12345": _MALFORMED_HEADER,
    "Jan 1 00:00:00 hostname postfix/postscreen": _MALFORMED_HEADER,
    "Foo 1 00:00:00 hostname": _MALFORMED_HEADER,
    "Jan 1 00:00:00": _MALFORMED_HEADER,
    "Jan": _MALFORMED_HEADER,
    "Jan 1 00:00:00 hostname postfix/smtpd[12345]: NOQUEUE: reject: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/smtpd[12345]: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/lmtp[12345]: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/smtp[12345]: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/cleanup[12345]: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/qmgr[12345]: Unsupported": _PLACEHOLDER,
    "Jan 1 00:00:00 hostname postfix/smtp[12345]: 123456789AB: user@example.com, relay=example.com[123.45.67.89]:25, "
    "delay=2, delays=2/2/2/2, dsn=1.2.3, status=deferred (host example.com[123.45.67.89] said: 123-1.2.3 The recipient's "
    "inbox is out of storage space. Please direct the 123-1.2.3 recipient to 123 1.2.3  "
    "https://support.google.com/mail/?p=OverQuotaTemp 000-0000000000000000000000000000000000000000000.000 - gsmtp "
    "(in reply to RCPT TO command))": _NO_TO,
    "Jan 1 00:00:00 hostname postfix/smtp[12345]: 123456789AB: user@example.com, relay=example.com[123.45.67.89]:25, "
    "delay=2, delays=2/2/2/2, dsn=1.2.3, status=deferred (host example.com[123.45.67.89] said: 12 Malformed "
    "(in reply to RCPT TO command))": _NO_TO,
    # sekoia.jsonl, program "postfix" (each appears twice in the file)
    "7B082110A6E0: host smtp.office365.com[40.101.136.242] said: 432 4.3.2 Concurrent connections limit exceeded. "
    "Visit https://aka.ms/concurrent_sending for more information. [Hostname=EXAMPLE.PROD.OUTLOOK.COM] "
    "(in reply to end of DATA command)": _BARE_TAG,
    "01B3A96050: Used TLS for 10.19.65.1[10.19.65.1]:587": _BARE_TAG,
    "023069605C: Used TLS for smtp.example.org[163.172.55.8]:25": _BARE_TAG,
    "D2D459605C: Used TLS for smtp-in.example.com[5.6.7.8]:25": _BARE_TAG,
    "NOQUEUE: client=unknown[10.100.0.3]": _BARE_TAG,
    "0A90996059: to=<sms@mail2sms.smsbox.net>, relay=localhost[127.0.0.1]:10025, conn_use=3, delay=5.2, "
    "delays=0/0/0/5.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 0BF0C9605C)": _BARE_TAG,
    "proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as 7949396087; from=<jdoe@example.org> "
    "to=<jane.doe@example.org> proto=ESMTP helo=<mx.example.org>": _BARE_TAG,
    # logwatch-postfix.jsonl
    "postfix/smtpd[24928]: improper command pipelining after RCPT from unknown[192.168.0.1]": _TAG_IN_TEXT,
    "12: from=<anyone@example.com>, size=25302, nrcpt=2 (queue active)": _SHORT_QID,
    "552B6C20E: to=<to@sample.com>, relay=mail.example.net[10.0.0.1]:25, conn_use=2 delay=1021, "
    "delays=1020/0.04/0.56/0.78, dsn=2.0.0, status=sent (250 Ok: queued as 6EAC4719EB)": _NO_COMMA,
    'D8962E54: to=<anyone@example.com>, relay=local, conn_use=2 delay=0.21, delays=0.05/0.02/0/0.14, dsn=4.1.1, '
    'status=SOFTBOUNCE (unknown user: "to")': _NO_COMMA,
}

# Upstream fields deliberately not compared (no column of ours, or a different meaning):
# grok: postfix_message (free text; ours keeps the queue id in detail), postfix_status_message/_data
#   (reply text split differently from our reply), postfix_keyvalue_data uid=, postfix_milter_*,
#   postfix_prepend_*, postfix_bounce_recipient/_reason, postfix_version, postfix_config_path,
#   postfix_termination_signal, postfix_server_ip/_port, postfix_postscreen_access/_violation/
#   _violation_time/_toobusy_data/_cache_*, postfix_postsuper_*, postfix_scache_*, postfix_verify_*,
#   postfix_tls_* (ours is one tls summary), postfix_smtp(d)_lostconn_*, postfix_pix_workaround,
#   postfix_discarded_ehlo_keywords, postfix_proxy_message/_result, postfix_message_level "info" and
#   "warning" after a queue id (header_checks actions, not severities), postfix_smtp_stage of
#   smtp/lmtp lines (the remote's "in reply to RCPT TO" command, not an smtpd stage), *_response of
#   non-delivery lines.
# sekoia (ECS): event.*, network.*, related.*, log.*, file.* (attachment header text), action.outcome*,
#   action.type, destination.* (derived from the recipient's domain or reply text), source.address/
#   domain/port and source.ip outside smtpd/postscreen/anvil/cleanup (it is a reply's host there),
#   postfix.queue_id.remote (the next hop's queue id), postfix.headers.*, event.reason.
# crowdsec: Meta.* except machine, Parsed.message*, Parsed.reason, Parsed.smtp_return_codes,
#   Parsed.timestamp*, Parsed.logsource, Parsed.helo (it takes the <...> after the reply code, not
#   helo=; helo comes from kvItems), Parsed.command of non-reject lines (the client's text),
#   Parsed.time_attempt, Parsed.pregreet, amavis_quarantine, amavis_amavis_origin_ip.
# syslog-ng: postfix.header.*, postfix.relay.msg, postfix.result.msg, postfix.recipient2, postfix.uid,
#   postfix.bytes.


@dataclass
class Case:
    file: str
    key: str  # "grok-patterns.jsonl:17" (record number) or "modoboa-mail.log:L42" (line number)
    line: str  # the full syslog line given to the parser
    record_line: str  # the record's own text, as in the file
    program: str | None
    expected: dict = field(default_factory=dict)
    exception: str | None = None

    @property
    def id(self) -> str:
        return self.key

    @property
    def digest(self) -> str:
        return hashlib.sha1(self.record_line.encode()).hexdigest()[:10]


# ---------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------

_SEKOIA_FRAME_TRAILER = re.compile(r" \d+$")
_WRITERS = (  # messages smtpd never writes, and the Postfix program whose source does
    (re.compile(r"^[0-9A-Za-z]+: message-id="), "postfix/cleanup"),  # cleanup_message.c
    (re.compile(r"^[0-9A-Za-z]+: to=.*, relay=local, "), "postfix/local"),  # log_adhoc.c via local(8)
    (re.compile(r"^[0-9A-Za-z]+: to=.*, relay=none, "), "postfix/error"),  # error(8)
    (re.compile(r"^[0-9A-Za-z]+: to=.*, relay=[^,]*\[[^,]*, "), "postfix/smtp"),  # smtp(8)
    (re.compile(r"^[0-9A-Za-z]+: from=<.*>, size=\d+, nrcpt=\d+ \(queue active\)$"), "postfix/qmgr"),  # qmgr_message.c
    (re.compile(r"^Host offered STARTTLS: "), "postfix/smtp"),  # smtp_proto.c
    (re.compile(r"^(?:[A-Z][a-z]+ )?TLS connection established to "), "postfix/smtp"),  # tls_client.c
)


def writer(text: str) -> str | None:
    """The Postfix program that writes a message smtpd never writes, else None."""
    for pattern, program in _WRITERS:
        if pattern.search(text):
            return program
    return None


def files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".jsonl", ".log"))


@lru_cache(maxsize=None)
def load(name: str) -> tuple[Case, ...]:
    path = CORPUS / name
    text = path.read_text(encoding="utf-8")
    out: list[Case] = []
    if name.endswith(".jsonl"):
        for i, raw in enumerate(text.splitlines(), 1):
            rec = json.loads(raw)
            if rec.get("kind") == "fragment":
                continue
            body = rec["line"]
            if name == "sekoia.jsonl" and rec.get("program") not in ("spamd", "policyd-spf", "postgrey"):
                body = _SEKOIA_FRAME_TRAILER.sub("", body)
            program = rec.get("program")
            if rec.get("kind") == "full":
                line = body
            else:
                if program is None or (name == "logwatch-postfix.jsonl" and program == "postfix/smtpd"):
                    program = writer(body) or program or "postfix/smtpd"
                line = PREFIX.format(program=program) + body
            out.append(Case(name, f"{name}:{i}", line, rec["line"], program, rec.get("expected") or {},
                            EXCEPTIONS.get(rec["line"])))
    else:
        for i, raw in enumerate(text.splitlines(), 1):
            if not raw.strip() or raw.startswith("#"):
                continue
            line = raw.replace("%(day)s", "Nov 16")
            out.append(Case(name, f"{name}:L{i}", line, raw, None, {}, EXCEPTIONS.get(raw)))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# parsing: one batch per file, results per case
# ---------------------------------------------------------------------------------------

@dataclass
class Outcome:
    program: str | None
    daemon: str | None
    mail: bool  # Postfix or amavis program
    state: str  # "event", "unparsed" or "skipped"
    event: dict | None = None
    reason: str | None = None


@lru_cache(maxsize=None)
def outcomes(name: str) -> tuple[Outcome, ...]:
    from logscope import envelope, parse

    cases = load(name)
    lines = pa.array([c.line for c in cases], pa.string())
    r = parse.parse_lines(lines, source=name, first_line_no=1, tz="UTC", years=envelope.YearState(anchor=ANCHOR))
    env = envelope.parse(lines, "UTC", envelope.YearState(anchor=ANCHOR))
    programs = env.program.to_pylist()
    events = {e["line_no"]: e for e in r.events.to_pylist()}
    unparsed = dict(zip(r.unparsed.column("line_no").to_pylist(), r.unparsed.column("reason").to_pylist()))
    out = []
    for i, prog in enumerate(programs, 1):
        info = parse.classify_program(prog) if prog else None
        mail, daemon = (info.mail, info.daemon) if info else (False, None)
        if i in events:
            out.append(Outcome(prog, daemon, mail, "event", event=events[i]))
        elif i in unparsed:
            out.append(Outcome(prog, daemon, mail, "unparsed", reason=unparsed[i]))
        else:
            out.append(Outcome(prog, daemon, mail, "skipped"))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# expected fields -> our columns
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnyOf:
    values: tuple

    def __repr__(self) -> str:
        return " or ".join(map(repr, self.values))


def _addr(v: str) -> str:
    v = str(v)
    return v[1:-1] if v.startswith("<") and v.endswith(">") else v


def _qid(v):
    return None if v == "NOQUEUE" else v


_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _period(v: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", str(v))
    return int(m.group(1)) * _UNIT[m.group(2)]


def _client(v: str) -> dict:
    m = re.fullmatch(r"([^\[\]]*)\[([^\]]*)\](?::(\d+))?", v)
    if not m:
        return {}
    out = {"client_host": m.group(1), "client_ip": m.group(2)}
    if m.group(3):
        out["client_port"] = int(m.group(3))
    return out


_KV = re.compile(r"(?:^|[ ,])([a-z_]+)=(<[^>]*>|[^, ]*)")
_KV_COLUMNS = {"from": "sender", "to": "recipient", "orig_to": "orig_to", "proto": "proto", "helo": "helo",
               "relay": "relay", "delay": "delay", "dsn": "dsn", "size": "size", "nrcpt": "nrcpt",
               "conn_use": "conn_use", "sasl_method": "sasl_method", "sasl_username": "sasl_username", "tls": "tls"}


def keyvalues(data: str) -> dict:
    """Postfix's trailing ``key=value`` fields (grok keyvalue_data, crowdsec kvItems)."""
    out: dict = {}
    for k, v in _KV.findall(data):
        v = v.rstrip(",")
        if k in ("from", "to", "orig_to", "helo"):
            out[_KV_COLUMNS[k]] = _addr(v)
        elif k == "delays":
            parts = v.split("/")
            if len(parts) == 4:
                out.update(zip(("delay_before_qmgr", "delay_in_qmgr", "delay_conn", "delay_xmit"), parts))
        elif k == "client":
            out.update(_client(v))
        elif k in _KV_COLUMNS:
            out[_KV_COLUMNS[k]] = v
    return out


def counters(data: str) -> dict:
    """smtpd disconnect counters -> commands_ok/_total, n_mail, n_rcpt, n_auth_failed."""
    out: dict = {}
    for k, a, b in re.findall(r"(\w+)=(\d+)(?:/(\d+))?", data):
        ok, total = int(a), int(b) if b else int(a)
        if k == "commands":
            out["commands_ok"], out["commands_total"] = ok, total
        elif k == "mail":
            out["n_mail"] = ok
        elif k == "rcpt":
            out["n_rcpt"] = ok
        elif k == "auth":
            out["n_auth_failed"] = total - ok
    return out


def _body(case: Case) -> str:
    return case.line.split(": ", 1)[1] if ": " in case.line else ""


def _daemon(case: Case) -> str:
    return (case.program or "").rsplit("/", 1)[-1]


def map_grok(case: Case) -> dict:
    e, want = case.expected, {}
    body, daemon = _body(case), _daemon(case)
    simple = {
        "postfix_client_ip": "client_ip", "postfix_client_hostname": "client_host", "postfix_client_port": "client_port",
        "postfix_status": "status", "postfix_dnsbl_domain": "rbl_zone", "postfix_dnsbl_result": "rbl_reply",
        "postfix_action": "action", "postfix_status_code": "code", "postfix_status_code_enhanced": "dsn",
        "postfix_proxy_status_code": "code", "postfix_proxy_status_code_enhanced": "dsn",
        "postfix_proxy_smtp_stage": "stage", "postfix_bounce_queueid": "new_queue_id",
        "postfix_postscreen_dnsbl_rank": "value", "postfix_service": "anvil_service",
        "postfix_anvil_timestamp": "anvil_ts",
    }
    for k, col in simple.items():
        if k in e:
            want[col] = e[k]
    if "postfix_queueid" in e:
        want["queue_id"] = _qid(e["postfix_queueid"])
    if "postfix_client_ip_unknown" in e:  # unknown[unknown], (smtp:unknown)
        want["client_ip"] = AnyOf(("unknown", None))
    if "postfix_from" in e:
        want["sender"] = _addr(e["postfix_from"])
    if "postfix_message-id" in e:  # message-id=<> : empty is null in our columns
        want["message_id"] = _addr(e["postfix_message-id"]) or AnyOf(("", None))
    if "postfix_smtp_stage" in e and daemon not in ("smtp", "lmtp"):
        want["stage"] = e["postfix_smtp_stage"]
    lvl = e.get("postfix_message_level")
    if lvl in ("warning", "error", "fatal", "panic") and body.startswith(lvl + ": "):
        want["severity"] = lvl
    if "postfix_relay_hostname" in e and "postfix_relay_ip" in e:
        port = e.get("postfix_relay_port")
        want["relay"] = f"{e['postfix_relay_hostname']}[{e['postfix_relay_ip']}]" + (f":{port}" if port else "")
    for k, metric in (("postfix_anvil_conn_count", "connection_count"), ("postfix_anvil_conn_rate", "connection_rate"),
                      ("postfix_anvil_cache_size", "cache_size")):
        if k in e:
            want["metric"], want["value"] = metric, e[k]
    if "postfix_anvil_conn_period" in e:
        want["rate_unit_s"] = _period(e["postfix_anvil_conn_period"])
    if "postfix_keyvalue_data" in e:
        want.update({k: v for k, v in keyvalues(e["postfix_keyvalue_data"]).items() if k not in want})
    if "postfix_command_counter_data" in e:
        want.update(counters(e["postfix_command_counter_data"]))
    if ", status=" in body:
        for k in ("postfix_smtp_response", "postfix_error_response", "postfix_local_response", "postfix_pipe_response"):
            if k in e:
                want["reply"] = e[k]
    return want


def map_sekoia(case: Case) -> dict:
    e, want = case.expected, {}
    body, daemon = _body(case), _daemon(case)
    qid = e.get("postfix", {}).get("queue_id", {}).get("local")
    if qid:
        want["queue_id"] = qid
    if "orig_to" in e.get("postfix", {}):
        want["orig_to"] = e["postfix"]["orig_to"]
    email = e.get("email", {})
    for side, col in (("from", "sender"), ("to", "recipient")):  # from a header's text when the line has no from=/to=
        addrs = email.get(side, {}).get("address")
        if addrs and len(addrs) == 1 and re.search(rf"(?:^|[ ,]){side}=", body):
            want[col] = addrs[0]
    if "message_id" in email:
        want["message_id"] = _addr(email["message_id"])
    ip = e.get("source", {}).get("ip")
    if ip and daemon in ("smtpd", "postscreen", "anvil") or (ip and daemon == "cleanup" and f"[{ip}]; " in body):
        want["client_ip"] = ip
    name = e.get("action", {}).get("name")
    if name and ", status=" in body:
        want["status"] = name
    elif name and re.match(rf"^(?:NOQUEUE|[0-9A-Za-z]+): {re.escape(name)}: ", body):
        want["action"] = name
    return want


def map_crowdsec(case: Case) -> dict:
    parsed = {k.rsplit("/", 1)[1]: v for k, v in case.expected.items() if k.startswith("s01-parse/")}
    want: dict = {}
    simple = {
        "Parsed.remote_addr": "client_ip", "Parsed.remote_host": "client_host", "Parsed.action": "action",
        "Parsed.smtp_basic_status_code": "code", "Parsed.smtp_enhanced_status_code": "dsn", "Parsed.port": "client_port",
        "Parsed.count": "value", "Parsed.program": "program", "Parsed.pid": "pid", "Meta.machine": "host",
        "Parsed.amavis_action": "status", "Parsed.amavis_category": "category", "Parsed.amavis_acions": "action",
        "Parsed.amavis_id": "amavis_id", "Parsed.amavis_from": "sender", "Parsed.amavis_to": "recipient",
        "Parsed.amavis_relay_ip": "client_ip", "Parsed.src_port": "client_port", "Parsed.amavis_size": "size",
        "Parsed.amavis_elapsedtime": "elapsed_ms", "Parsed.amavis_match": "detail",
    }
    for k, col in simple.items():
        if k in parsed:
            want[col] = parsed[k]
    if "Parsed.command" in parsed and "Parsed.action" in parsed:
        want["stage"] = parsed["Parsed.command"]
    if "Parsed.kvItems" in parsed:
        want.update(keyvalues(parsed["Parsed.kvItems"]))
    return want


def map_syslog_ng(case: Case) -> dict:
    e, want = case.expected, {}
    simple = {
        "postfix.qid": "queue_id", "postfix.client.hostname": "client_host", "postfix.client.ip": "client_ip",
        "postfix.proto": "proto", "postfix.helo": "helo", "postfix.result.code": "code", "postfix.result.dsn": "dsn",
        "postfix.command": "stage", "postfix.orig_to": "orig_to", "postfix.relay": "relay", "postfix.delay": "delay",
        "postfix.delays.1": "delay_before_qmgr", "postfix.delays.2": "delay_in_qmgr", "postfix.delays.3": "delay_conn",
        "postfix.delays.4": "delay_xmit", "postfix.dsn": "dsn", "postfix.statusmsg": "reply",
        "postfix.anvil.date": "anvil_ts", "postfix.anvil.proto": "anvil_service",
    }
    for k, col in simple.items():
        if k in e:
            want[col] = e[k]
    for k in ("postfix.sender", "postfix.recipient", "postfix.to"):
        if k in e:
            want["sender" if k == "postfix.sender" else "recipient"] = _addr(e[k])
    if "postfix.status" in e:  # "expired, returned to sender" -> expired
        want["status"] = e["postfix.status"].split(",")[0]
    if "postfix.relay.hostname" in e and "postfix.relay.ip" in e:
        want["relay"] = f"{e['postfix.relay.hostname']}[{e['postfix.relay.ip']}]"
    if "postfix.server.ip" in e and "postfix.server.port" in e:
        want["anvil_service"] = f"{e['postfix.server.ip']}:{e['postfix.server.port']}"
    if "postfix.anvil.connrate" in e:
        n, unit = e["postfix.anvil.connrate"].split("/")
        want.update(metric="connection_rate", value=n, rate_unit_s=_period(unit))
    if "postfix.anvil.conncount" in e:
        want.update(metric="connection_count", value=e["postfix.anvil.conncount"])
    if "postfix.anvil.cachesize" in e:
        want.update(metric="cache_size", value=e["postfix.anvil.cachesize"])
    return want


MAPPERS = {
    "grok-patterns.jsonl": map_grok,
    "sekoia.jsonl": map_sekoia,
    "crowdsec-hub.jsonl": map_crowdsec,
    "syslog-ng-patterndb.jsonl": map_syslog_ng,
}


def wanted(case: Case) -> dict:
    mapper = MAPPERS.get(case.file)
    return mapper(case) if mapper and case.expected else {}


# ---------------------------------------------------------------------------------------
# comparison, typed by our schema
# ---------------------------------------------------------------------------------------

def _norm(col: str, v):
    from logscope.schema import EVENTS

    if v is None:
        return None
    typ = EVENTS.field(col).type
    if col == "anvil_ts":  # compare month, day and time; the year is inferred
        if isinstance(v, dt.datetime):
            return f"{v:%b} {v.day} {v:%H:%M:%S}"
        m = re.fullmatch(r"(\w{3})\s+0?(\d+)\s+(\d\d:\d\d:\d\d)", str(v).strip())
        return f"{m.group(1)} {m.group(2)} {m.group(3)}" if m else str(v)
    if col == "message_id":
        return _addr(v)
    if pa.types.is_integer(typ):
        return int(float(v))
    if pa.types.is_floating(typ):
        return float(v)
    return str(v)


def _same(col: str, want, got) -> bool:
    if isinstance(want, AnyOf):
        return any(_same(col, w, got) for w in want.values)
    a, b = _norm(col, want), _norm(col, got)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def mismatches(case: Case, event: dict) -> list[tuple[str, object, object]]:
    return [(col, w, event.get(col)) for col, w in wanted(case).items() if not _same(col, w, event.get(col))]


# ---------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------

def summary() -> str:
    rows, causes = [], defaultdict(list)
    for name in files():
        cases, outs = load(name), outcomes(name)
        n = Counter()
        for c, o in zip(cases, outs):
            n["lines"] += 1
            if c.exception:
                n["exceptions"] += 1
                continue
            if not o.mail:
                n["not postfix"] += 1
                if o.state != "skipped":
                    causes[(name, o.daemon or "?", f"non-Postfix line {o.state}: {o.reason}")].append(c.key)
                continue
            n["postfix/amavis"] += 1
            if o.state != "event":
                causes[(name, o.daemon, o.reason)].append(c.key)
                continue
            n["parsed"] += 1
            bad = mismatches(c, o.event)
            if wanted(c):
                n["with expected"] += 1
            if bad:
                n["mismatched"] += 1
                for col, _, _ in bad:
                    causes[(name, o.daemon, f"field {col} ({o.event['kind']})")].append(c.key)
        rows.append((name, n))
    out = ["file                               lines  except  other  pfx/amv  parsed  rate   expected  mismatched"]
    for name, n in rows:
        rate = f"{100 * n['parsed'] / n['postfix/amavis']:.0f}%" if n["postfix/amavis"] else "-"
        out.append(f"{name:34s} {n['lines']:5d}  {n['exceptions']:6d}  {n['not postfix']:5d}  {n['postfix/amavis']:7d}  "
                   f"{n['parsed']:6d}  {rate:>5s}  {n['with expected']:8d}  {n['mismatched']:10d}")
    out.append("")
    out.append("failures by file, daemon and cause (count: first cases)")
    for (name, daemon, cause), keys in sorted(causes.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", -len(kv[1]))):
        out.append(f"  {name} | {daemon} | {cause}: {len(keys)}  e.g. {', '.join(k.split(':', 1)[1] for k in keys[:6])}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(summary())
