"""smtpd grammar: columns per line shape, restriction classification, and the lab's smtpd lines parse completely."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pytest

from logscope import envelope, parse
from logscope.grammars import smtpd

LAB = Path(__file__).parents[1] / ".." / "shared" / "postfix-lab"
SMTPD_LINE = re.compile(r" postfix[^\s\[]*/smtpd\[\d+\]: ")


def _parse(lines):
    r = parse.parse_lines(pa.array(lines), source="t", first_line_no=1, tz="UTC",
                          years=envelope.YearState(anchor=dt.date(2026, 11, 27)))
    return sorted(r.events.to_pylist(), key=lambda e: e["line_no"]), r.unparsed


def _line(body, program="postfix/smtpd"):
    return f"Nov 27 17:58:00 mx {program}[4242]: {body}"


def _one(body, program="postfix/smtpd"):
    events, unparsed = _parse([_line(body, program)])
    assert unparsed.num_rows == 0, unparsed.column("raw").to_pylist()
    assert len(events) == 1
    return events[0]


RBL_TXT = "Blocked; see https://bl.example.net/lookup?ip=192.0.2.9;type=spam (listed; 2 zones)"

CASES = [
    # ---- connect / disconnect, IPv6 and client ports
    ("connect from mail.example.net[192.0.2.10]",
     dict(kind="connect", client_host="mail.example.net", client_ip="192.0.2.10", client_port=None)),
    ("connect from unknown[2001:db8::25]", dict(kind="connect", client_host="unknown", client_ip="2001:db8::25")),
    ("connect from unknown[192.0.2.10]:49152", dict(kind="connect", client_ip="192.0.2.10", client_port=49152)),
    ("connect from unknown[unknown]", dict(kind="connect", client_host="unknown", client_ip=None)),
    ("disconnect from unknown[127.0.0.43] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
     dict(kind="disconnect", client_ip="127.0.0.43", commands="ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
          commands_ok=3, commands_total=4, n_mail=1, n_rcpt=0, n_auth_failed=0)),
    ("disconnect from localhost[127.0.0.1] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
     dict(commands_ok=7, commands_total=7, n_mail=1, n_rcpt=1, n_auth_failed=0)),
    ("disconnect from unknown[127.0.0.52] ehlo=1 mail=4/6 rcpt=4 data=4 quit=1 commands=14/16",
     dict(commands_ok=14, commands_total=16, n_mail=4, n_rcpt=4)),
    ("disconnect from unknown[127.0.0.54] ehlo=1 mail=1 rcpt=12/16 quit=1 commands=15/19", dict(n_rcpt=12)),
    ("disconnect from unknown[127.0.0.88] ehlo=1 auth=0/4 commands=1/5",
     dict(commands_ok=1, commands_total=5, n_mail=0, n_rcpt=0, n_auth_failed=4)),
    ("disconnect from unknown[192.0.2.41]:1025 ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8",
     dict(client_port=1025, n_auth_failed=0, n_mail=1)),
    ("disconnect from unknown[unknown] commands=0/0",
     dict(client_ip=None, commands="commands=0/0", commands_ok=0, commands_total=0, n_mail=0)),
    ("disconnect from sample.example.net[198.51.100.7]",
     dict(kind="disconnect", commands=None, commands_ok=None, n_mail=None, n_rcpt=None, n_auth_failed=None)),
    # a counter out of smtpd.c's order falls back to the per-word search
    ("disconnect from unknown[192.0.2.5] ehlo=1 newcmd=1 mail=2 rcpt=3/4 auth=1/3 commands=7/11",
     dict(n_mail=2, n_rcpt=3, n_auth_failed=2, commands_ok=7, commands_total=11)),
    ("disconnect from unknown[2001:db8::5] ehlo=1 quit=1 commands=2", dict(client_ip="2001:db8::5", commands_total=2)),
    # ---- client=
    ("02B0A21A015: client=localhost[127.0.0.1]", dict(kind="client", queue_id="02B0A21A015", client_ip="127.0.0.1")),
    ("4NrKx05Xbvz9sLr: client=unknown[127.0.0.40], sasl_method=PLAIN, sasl_username=alice@example.com",
     dict(kind="client", queue_id="4NrKx05Xbvz9sLr", sasl_method="PLAIN", sasl_username="alice@example.com", detail=None)),
    ("0905B21A0E5: client=localhost[127.0.0.1], orig_queue_id=AA4F721A0DA, orig_client=unknown[127.0.0.90]",
     dict(kind="client", client_ip="127.0.0.1", orig_queue_id="AA4F721A0DA", detail="unknown[127.0.0.90]")),
    ("DEADBEEF: client=unknown[192.0.2.1]:unknown", dict(kind="client", client_ip="192.0.2.1", client_port=None)),
    ("NOQUEUE: client=unknown[192.0.2.3]", dict(kind="client", queue_id=None, client_ip="192.0.2.3")),
    # ---- decisions: DNS blocklists, TXT with ';' and URLs
    (f"NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked "
     f"using zen.example.org; {RBL_TXT}; from=<spam@example.com> to=<alice@example.org> proto=ESMTP helo=<spam.example.com>",
     dict(kind="decision", queue_id=None, action="reject", stage="RCPT", code=554, dsn="5.7.1",
          reply=f"Service unavailable; Client host [192.0.2.9] blocked using zen.example.org; {RBL_TXT}",
          restriction="reject_rbl_client", restriction_class="rbl", rbl_zone="zen.example.org", rbl_class="rbl",
          detail=RBL_TXT, sender="spam@example.com", recipient="alice@example.org", proto="ESMTP",
          helo="spam.example.com")),
    ("NOQUEUE: reject: CONNECT from unknown[127.0.0.12]: 554 5.7.1 Service unavailable; Client host [127.0.0.12] blocked "
     "using rbl.test; Listed by RBL-TEST, see http://rbl.test/query/127.0.0.12; proto=SMTP",
     dict(stage="CONNECT", rbl_zone="rbl.test", detail="Listed by RBL-TEST, see http://rbl.test/query/127.0.0.12",
          proto="SMTP", sender=None, helo=None)),
    ("NOQUEUE: reject: RCPT from unknown[2001:db8::9]: 554 5.7.1 Service unavailable; Client host [2001:db8::9] blocked "
     "using bl.example.net; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<x.example.com>",
     dict(client_ip="2001:db8::9", restriction="reject_rbl_client", rbl_zone="bl.example.net", detail=None)),
    ("NOQUEUE: reject: RCPT from mx.example.com[192.0.2.4]: 554 5.7.1 Service unavailable; Client host [mx.example.com] "
     "blocked using dbl.example.net; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<mx.example.com>",
     dict(restriction="reject_rhsbl_client", restriction_class="rhsbl", rbl_class="rhsbl_client", rbl_zone="dbl.example.net")),
    ("NOQUEUE: reject: RCPT from news.example.com[192.0.2.58]: 554 5.7.1 Service unavailable; Helo command "
     "[news.example.com] blocked using dbl.spamhaus.org; https://www.spamhaus.org/query/dbl?domain=example.com; "
     "from=<m@example.com> to=<tom@example.org> proto=ESMTP helo=<news.example.com>",
     dict(restriction="reject_rhsbl_helo", rbl_class="rhsbl_helo", rbl_zone="dbl.spamhaus.org",
          detail="https://www.spamhaus.org/query/dbl?domain=example.com")),
    ("NOQUEUE: reject: MAIL from host26.outside.test[127.0.0.26]: 554 5.7.1 Service unavailable; Sender address "
     "[promo@spammer.test] blocked using rhsbl.test; Domain spammer.test is listed in rhsbl.test; "
     "from=<promo@spammer.test> proto=ESMTP helo=<host26.outside.test>",
     dict(stage="MAIL", restriction="reject_rhsbl_sender", rbl_class="rhsbl_sender", rbl_zone="rhsbl.test",
          detail="Domain spammer.test is listed in rhsbl.test", recipient=None)),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 Service unavailable; Recipient address [x@bad.example] "
     "blocked using rhsbl.example.net; from=<a@example.com> to=<x@bad.example> proto=ESMTP helo=<h.example.com>",
     dict(restriction="reject_rhsbl_recipient", rbl_class="rhsbl_recipient", rbl_zone="rhsbl.example.net")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 Service unavailable; Unverified Client host "
     "[ptr.bad.example] blocked using rhsbl.example.net; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<h>",
     dict(restriction="reject_rhsbl_reverse_client", rbl_class="rhsbl_reverse_client", rbl_zone="rhsbl.example.net")),
    ("reject: RCPT from example.com[192.0.2.2]: 554 Service unavailable; [192.0.2.2] blocked using bl.example.net, "
     "reason: Open relay. Please see http://bl.example.net/?192.0.2.2; from=<a@example.com> to=<b@example.net>",
     dict(queue_id=None, code=554, dsn=None, restriction="reject_rbl_client", rbl_zone="bl.example.net",
          detail="Open relay. Please see http://bl.example.net/?192.0.2.2", proto=None)),
    # ---- client host name
    ("NOQUEUE: reject: CONNECT from unknown[127.0.0.31]: 450 4.7.25 Client host rejected: cannot find your hostname, "
     "[127.0.0.31]; proto=SMTP",
     dict(restriction="reject_unknown_client_hostname", restriction_class="reverse_dns", code=450, dsn="4.7.25")),
    ("NOQUEUE: reject: CONNECT from unknown[127.0.0.49]: 450 4.7.1 Client host rejected: cannot find your reverse "
     "hostname, [127.0.0.49]; proto=SMTP",
     dict(restriction="reject_unknown_reverse_client_hostname", restriction_class="reverse_dns")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]",
     dict(restriction="reject_unknown_reverse_client_hostname", sender=None, proto=None,
          reply="Client host rejected: cannot find your reverse hostname, [192.0.2.9]")),
    # ---- HELO
    ("NOQUEUE: reject: EHLO from host26.outside.test[127.0.0.26]: 504 5.5.2 <localhost>: Helo command rejected: need "
     "fully-qualified hostname; proto=SMTP helo=<localhost>",
     dict(stage="EHLO", restriction="reject_non_fqdn_helo_hostname", restriction_class="helo", helo="localhost")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.43]: 501 5.5.2 <bad_helo!name>: Helo command rejected: Invalid name; "
     "from=<a@sender.test> to=<alice@example.com> proto=ESMTP helo=<bad_helo!name>",
     dict(restriction="reject_invalid_helo_hostname", helo="bad_helo!name")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.3]: 450 4.7.1 <nowhere.example>: Helo command rejected: Host not found; "
     "from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<nowhere.example>",
     dict(restriction="reject_unknown_helo_hostname", restriction_class="helo")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.43]: 554 5.7.1 <mx.example.com>: Helo command rejected: You are not me; "
     "from=<a@sender.test> to=<alice@example.com> proto=ESMTP helo=<mx.example.com>",
     dict(restriction="check_helo_access", restriction_class="helo")),
    # ---- sender
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.44]: 504 5.5.2 <joe>: Sender address rejected: need fully-qualified "
     "address; from=<joe> to=<bob@example.com> proto=ESMTP helo=<client44.outside.test>",
     dict(restriction="reject_non_fqdn_sender", restriction_class="sender", sender="joe")),
    ("NOQUEUE: reject: MAIL from host27.outside.test[127.0.0.27]: 450 4.1.8 <joe@nosuch-domain.test>: Sender address "
     "rejected: Domain not found; from=<joe@nosuch-domain.test> proto=ESMTP helo=<host27.outside.test>",
     dict(restriction="reject_unknown_sender_domain", code=450, dsn="4.1.8")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.40]: 553 5.7.1 <ceo@example.org>: Sender address rejected: not logged "
     "in; from=<ceo@example.org> to=<b@example.net> proto=ESMTP helo=<h.example.com>",
     dict(restriction="reject_sender_login_mismatch", restriction_class="sender")),
    ("NOQUEUE: reject_warning: RCPT from unknown[192.0.2.40]: 553 5.7.1 <ceo@example.org>: Sender address rejected: not "
     "owned by user bob; from=<ceo@example.org> to=<b@example.net> proto=ESMTP helo=<h> sasl_method=PLAIN sasl_username=bob",
     dict(action="reject_warning", restriction="reject_sender_login_mismatch", sasl_method="PLAIN", sasl_username="bob")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.44]: 554 5.7.1 <alice@example.com>: Sender address rejected: Forged "
     "local sender from outside client; from=<alice@example.com> to=<bob@example.com> proto=ESMTP helo=<c44>",
     dict(restriction="check_sender_access", restriction_class="sender")),
    # ---- recipient, relay, unknown users
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.47]: 504 5.5.2 <bob>: Recipient address rejected: need fully-qualified "
     "address; from=<joe@sender.test> to=<bob> proto=ESMTP helo=<client47.outside.test>",
     dict(restriction="reject_non_fqdn_recipient", restriction_class="recipient", recipient="bob")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.5]: 450 4.1.2 <x@nosuch.example>: Recipient address rejected: Domain "
     "not found; from=<a@example.com> to=<x@nosuch.example> proto=ESMTP helo=<h>",
     dict(restriction="reject_unknown_recipient_domain", restriction_class="recipient")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.46]: 554 5.7.1 <someone@elsewhere.test>: Relay access denied; "
     "from=<joe@sender.test> to=<someone@elsewhere.test> proto=ESMTP helo=<client46.outside.test>",
     dict(restriction="reject_unauth_destination", restriction_class="relay")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.46]: 550 5.1.1 <nosuchuser@example.com>: Recipient address rejected: "
     "User unknown in local recipient table; from=<joe@sender.test> to=<nosuchuser@example.com> proto=ESMTP helo=<c46>",
     dict(restriction="unknown_recipient", restriction_class="unknown_user", code=550)),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.6]: 450 4.1.1 <to@example.net>: Recipient address rejected: User "
     "unknown in virtual mailbox table; from=<a@example.com> to=<to@example.net> proto=ESMTP helo=<h>",
     dict(restriction="unknown_recipient", code=450)),
    ("NOQUEUE: reject: VRFY from unknown[127.0.0.85]: 550 5.1.1 <nosuchuser@example.com>: Recipient address rejected: "
     "User unknown in local recipient table; to=<nosuchuser@example.com> proto=ESMTP helo=<vrfy.outside.test>",
     dict(stage="VRFY", restriction="unknown_recipient", sender=None, recipient="nosuchuser@example.com")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.8]: 550 5.1.1 <u@example.net>: Recipient address rejected: "
     "undeliverable address: host mx.example.net[192.0.2.1] said: 550 5.1.1 No such user (in reply to RCPT TO command); "
     "from=<a@example.com> to=<u@example.net> proto=ESMTP helo=<h>",
     dict(restriction="reject_unverified_recipient", restriction_class="unknown_user")),
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.47]: 554 5.7.1 <closed@example.com>: Recipient address rejected: This "
     "mailbox is closed; from=<joe@sender.test> to=<closed@example.com> proto=ESMTP helo=<client47.outside.test>",
     dict(restriction="check_recipient_access", restriction_class="recipient")),
    # ---- protocol
    ("95F8921A1AC: reject: DATA from unknown[127.0.0.85]: 503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP "
     "command pipelining; from=<pipe@sender.test> to=<alice@example.com> proto=SMTP helo=<pipe.outside.test>",
     dict(queue_id="95F8921A1AC", stage="DATA", restriction="reject_unauth_pipelining", restriction_class="protocol")),
    ("8E55721A1AC: reject: DATA from unknown[127.0.0.84]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient "
     "bounce; from=<> proto=ESMTP helo=<bouncer.outside.test>",
     dict(restriction="reject_multi_recipient_bounce", restriction_class="protocol", sender="")),
    ("NOQUEUE: reject: MAIL from unknown[192.0.2.80]: 503 5.5.1 Error: send HELO/EHLO first; proto=SMTP",
     dict(restriction="smtpd_helo_required", restriction_class="protocol")),
    # ---- policy services
    ("NOQUEUE: reject: RCPT from unknown[127.0.0.45]: 450 4.7.1 <alice@example.com>: Recipient address rejected: "
     "Greylisted, see http://greylist.test/?client=127.0.0.45; from=<grey@sender.test> to=<alice@example.com> "
     "proto=ESMTP helo=<client45.outside.test>",
     dict(restriction="policy_service", restriction_class="policy",
          reply="<alice@example.com>: Recipient address rejected: Greylisted, see http://greylist.test/?client=127.0.0.45")),
    ("NOQUEUE: reject: RCPT from unknown[192.0.2.12]: 550 5.7.23 <u@example.org>: Recipient address rejected: Message "
     "rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=a@example.com;"
     "ip=192.0.2.12;r=<UNKNOWN>; from=<a@example.com> to=<u@example.org> proto=ESMTP helo=<h.example.com>",
     dict(restriction="policy_service", sender="a@example.com", helo="h.example.com")),
    ("NOQUEUE: reject: RCPT from host[192.0.2.1]: 451 4.3.5 Server configuration problem; from=<f@example.net> "
     "to=<e@example.com> proto=ESMTP helo=<example.net>",
     dict(restriction="policy_service", restriction_class="policy")),
    # ---- milter, size, resources
    ("NOQUEUE: milter-reject: RCPT from mx.example.com[192.0.2.8]: 451 4.7.1 Greylisting in action, please come back "
     "later; from=<s@example.com> to=<r@example.org> proto=ESMTP helo=<mx.example.com>",
     dict(action="milter-reject", restriction="milter", restriction_class="milter", code=451)),
    ("DEADBEEF: milter-reject: END-OF-MESSAGE from m.example.com[192.0.2.3]: 5.7.1 black listed URL host sample.com; "
     "from=<f@example.com> to=<t@example.net> proto=ESMTP helo=<example.com>",
     dict(stage="END-OF-MESSAGE", code=None, dsn="5.7.1", restriction="milter")),
    ("NOQUEUE: reject: MAIL from unknown[127.0.0.83]: 552 5.3.4 Message size exceeds fixed limit; from=<big@sender.test> "
     "proto=ESMTP helo=<big.outside.test>",
     dict(restriction="message_size_limit", restriction_class="size")),
    ("NOQUEUE: reject: RCPT from host[192.0.2.1]: 452 4.3.1 Insufficient system storage; from=<f@example.com> to=<t@example.net>",
     dict(restriction="queue_minfree", restriction_class="size", proto=None)),
    # ---- table actions without a reply code
    ("NOQUEUE: discard: RCPT from unknown[127.0.0.48]: <discard@sender.test>: Sender address triggers DISCARD action; "
     "from=<discard@sender.test> to=<alice@example.com> proto=ESMTP helo=<client48.outside.test>",
     dict(action="discard", code=None, dsn=None, restriction="check_sender_access",
          reply="<discard@sender.test>: Sender address triggers DISCARD action")),
    ("NOQUEUE: hold: RCPT from unknown[127.0.0.48]: <hold@sender.test>: Sender address held by sender_access; "
     "from=<hold@sender.test> to=<alice@example.com> proto=ESMTP helo=<client48.outside.test>",
     dict(action="hold", restriction="check_sender_access")),
    ("NOQUEUE: filter: RCPT from foo.example.com[192.0.2.1]: <foo.example.com[192.0.2.1]>: Client host triggers FILTER "
     "smtp:[127.0.0.1]:10025; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<foo.example.com>",
     dict(action="filter", restriction="check_client_access", restriction_class="client")),
    ("NOQUEUE: redirect: RCPT from h[192.0.2.1]: <t@example.com>: Recipient address triggers REDIRECT root@localhost; "
     "from=<f@example.net> to=<t@example.com> proto=ESMTP helo=<h>",
     dict(action="redirect", restriction="check_recipient_access")),
    ("NOQUEUE: reject: RCPT from unk[192.0.2.1]: 554 5.7.1 <unk[192.0.2.1]>: Unverified Client host rejected: Access "
     "denied; from=<f@example.net> to=<t@example.com> proto=SMTP helo=<example.net>",
     dict(restriction="check_reverse_client_hostname_access", restriction_class="client")),
    ("NOQUEUE: reject: ETRN from unknown[127.0.0.86]: 554 5.7.1 <example.com>: Etrn command rejected: Access denied; "
     "proto=ESMTP helo=<etrn.outside.test>",
     dict(stage="ETRN", restriction="check_etrn_access")),
    ("NOQUEUE: warn: RCPT from host[192.0.2.1]: ; from=<f@example.com> to=<t@example.net> proto=ESMTP helo=<example.net>",
     dict(action="warn", reply=None, restriction="unclassified", sender="f@example.com")),
    ("NOQUEUE: permit: RCPT from h[192.0.2.1]: action=permit_mynetworks for Client host=h[192.0.2.1]; "
     "from=<f@example.com> to=<t@example.net> proto=ESMTP helo=<h>",
     dict(action="permit", restriction="permit_mynetworks")),
    # ---- before-queue content filter
    ("NOQUEUE: proxy-accept: END-OF-MESSAGE: 250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as "
     "F39BCE00C3; from=<m@example.com> to=<u@example.org> proto=ESMTP helo=<mta1.example.com>",
     dict(action="proxy-accept", stage="END-OF-MESSAGE", code=250, new_queue_id="F39BCE00C3",
          restriction="smtpd_proxy_filter", restriction_class="content", recipient="u@example.org")),
    ("proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, id=31619-02 - spam; from=<> to=<u@example.org> proto=SMTP helo=<h>",
     dict(action="proxy-reject", code=554, dsn="5.7.0", reply="Reject, id=31619-02 - spam", new_queue_id=None)),
    # ---- lost connection, timeout, too many errors (Postfix 3.10+ adds the queue id)
    ("lost connection after DATA (38 bytes) from unknown[127.0.0.81]",
     dict(kind="lost_connection", stage="DATA", size=38, client_ip="127.0.0.81", queue_id=None)),
    ("lost connection after AUTH from unknown[127.0.0.88]", dict(kind="lost_connection", stage="AUTH", size=None)),
    ("NOQUEUE: lost connection after CONNECT from unknown[2001:db8::25]",
     dict(kind="lost_connection", stage="CONNECT", queue_id=None, client_ip="2001:db8::25")),
    ("4F1A22C01A: lost connection after BDAT (1024 bytes) from mx.example.net[192.0.2.3]:41234",
     dict(kind="lost_connection", queue_id="4F1A22C01A", stage="BDAT", size=1024, client_port=41234)),
    ("timeout after END-OF-MESSAGE from localhost[127.0.0.1]", dict(kind="timeout", stage="END-OF-MESSAGE")),
    ("NOQUEUE: timeout after EHLO from unknown[192.0.2.89]", dict(kind="timeout", stage="EHLO")),
    ("too many errors after RCPT from unknown[127.0.0.82]", dict(kind="too_many_errors", stage="RCPT")),
    ("lost connection after DATA (approximately 0 bytes) from example.com[192.0.2.1]", dict(size=0)),
    ("improper command pipelining after MAIL from unknown[127.0.0.85]: RCPT TO:<alice@example.com>\\r\\nDATA\\r\\n",
     dict(kind="improper_pipelining", stage="MAIL", detail="RCPT TO:<alice@example.com>\\r\\nDATA\\r\\n")),
    ("bare <LF> received after CONNECT from example.net[192.0.2.4]", dict(kind="bare_newline", stage="CONNECT")),
    # ---- limits
    ("warning: Connection concurrency limit exceeded: 51 from mail.example.com[192.0.2.1] for service smtp",
     dict(kind="limit_exceeded", severity="warning", metric="connection_count", value=51, detail="smtp",
          anvil_service="smtp", client_host="mail.example.com", client_ip="192.0.2.1")),
    ("warning: Connection rate limit exceeded: 11 from unknown[127.0.0.50] for service 127.0.0.1:2525",
     dict(metric="connection_rate", value=11, detail="127.0.0.1:2525")),
    ("warning: Message delivery request rate limit exceeded: 5 from unknown[127.0.0.52] for service 127.0.0.1:2525",
     dict(metric="message_rate", value=5)),
    ("warning: Recipient address rate limit exceeded: 13 from unknown[127.0.0.54] for service 127.0.0.1:2525",
     dict(metric="recipient_rate", value=13)),
    ("warning: New TLS session rate limit exceeded: 49 from example.com[192.0.2.1] for service smtp",
     dict(metric="newtls_rate", value=49)),
    ("warning: AUTH command rate limit exceeded: 6 from unknown[2001:db8::66] for service submission",
     dict(metric="auth_rate", value=6, detail="submission", client_ip="2001:db8::66")),
    # ---- SASL
    ("warning: unknown[127.0.0.88]: SASL LOGIN authentication failed: authentication failure, sasl_username=alice@example.com",
     dict(kind="sasl_failed", sasl_method="LOGIN", detail="authentication failure", sasl_username="alice@example.com",
          client_ip="127.0.0.88")),
    ("warning: unknown[192.0.2.77]: SASL PLAIN authentication failed: UGFzc3dvcmQ6",
     dict(kind="sasl_failed", sasl_method="PLAIN", detail="UGFzc3dvcmQ6", sasl_username=None)),
    ("warning: example.com[192.0.2.1]: SASL DIGEST-MD5 authentication failed",
     dict(kind="sasl_failed", sasl_method="DIGEST-MD5", detail=None)),
    ("warning: SASL authentication failure: Password verification failed",
     dict(kind="sasl_warning", detail="SASL authentication failure: Password verification failed")),
    # ---- reverse DNS
    ("warning: hostname nxptr.outside.test does not resolve to address 127.0.0.31: Name or service not known",
     dict(kind="rdns_warning", client_host="nxptr.outside.test", client_ip="127.0.0.31",
          detail="Name or service not known", status="not_resolved")),
    ("warning: hostname forged.outside.test does not resolve to address 127.0.0.30",
     dict(kind="rdns_warning", client_ip="127.0.0.30", detail=None)),
    ("warning: hostname mx.example.net does not resolve to address 2001:db8::5: Name or service not known",
     dict(client_ip="2001:db8::5", detail="Name or service not known")),
    ("warning: 192.0.2.1: hostname mail.example.com verification failed: Host not found",
     dict(kind="rdns_warning", client_ip="192.0.2.1", client_host="mail.example.com", status="verification_failed")),
    ("warning: 192.0.2.1: address not listed for hostname sample.example.net",
     dict(kind="rdns_warning", status="address_not_listed", client_host="sample.example.net")),
    # ---- RBL lookup errors: the zone is the query name minus the reversed address
    ("warning: 21.0.0.127.dead.test: RBL lookup error: Host or domain name not found. Name service error for "
     "name=21.0.0.127.dead.test type=A: Host not found, try again",
     dict(kind="rbl_lookup_error", rbl_zone="dead.test", rbl_class="rbl", client_ip="127.0.0.21",
          detail="Host or domain name not found. Name service error for name=21.0.0.127.dead.test type=A: Host not found, try again")),
    ("warning: 157.235.154.207.zen.spamhaus.org: RBL lookup error: Host or domain name not found. Name service error "
     "for name=157.235.154.207.zen.spamhaus.org type=A: Host not found, try again",
     dict(rbl_zone="zen.spamhaus.org", client_ip="207.154.235.157")),
    ("warning: 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example.org: RBL lookup error: "
     "Host or domain name not found. Name service error for name=... type=A: Host not found, try again",
     dict(rbl_zone="zen.example.org", rbl_class="rbl", client_ip="2001:db8::25")),
    ("warning: example.com.dbl.spamhaus.org: RBL lookup error: Host or domain name not found. Name service error for "
     "name=example.com.dbl.spamhaus.org type=A: Host not found, try again",
     dict(rbl_zone="dbl.spamhaus.org", rbl_class="rhsbl", client_ip=None)),
    ("warning: spammer.test.rhsbl.test: RBL lookup error: Host or domain name not found. Name service error for "
     "name=spammer.test.rhsbl.test type=A: Host not found, try again",
     dict(rbl_zone=None, rbl_class="rhsbl", client_ip=None)),
    # ---- TLS
    ("Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
     "(256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
     dict(kind="tls", tls="TLSv1.3 TLS_AES_256_GCM_SHA384", detail="Anonymous", client_ip="127.0.0.1")),
    ("Trusted TLS connection established from mail.example.com[192.0.2.1]: TLSv1.2 with cipher "
     "ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
     dict(kind="tls", tls="TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384", detail="Trusted")),
    ("Unverified: subject_CN=mail.example.com, issuer=Example CA",
     dict(kind="tls_peer", detail="Unverified: subject_CN=mail.example.com, issuer=Example CA", client_ip=None)),
    ("mail.example.com[192.0.2.1]: subject_CN=mail.example.com, issuer_CN=R3, fingerprint=AB:CD, pkey_fingerprint=EF:01",
     dict(kind="tls_peer", client_ip="192.0.2.1", detail="subject_CN=mail.example.com, issuer_CN=R3, fingerprint=AB:CD, pkey_fingerprint=EF:01")),
    ("SSL_accept error from unknown[127.0.0.87]: -1", dict(kind="tls_error", client_ip="127.0.0.87", detail="-1")),
    ("warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:350:",
     dict(kind="tls_error", severity="warning")),
    # ---- protocol abuse and other warnings
    ("warning: non-SMTP command from unknown[127.0.0.82]: GET / HTTP/1.0",
     dict(kind="non_smtp_command", detail="GET / HTTP/1.0", client_ip="127.0.0.82", severity="warning")),
    ("warning: example.com[192.0.2.1] sent message header instead of SMTP command: From: a <a@example.com>",
     dict(kind="non_smtp_command", detail="From: a <a@example.com>")),
    ("warning: Illegal address syntax from unknown[127.0.0.83] in MAIL command: <bad address@@sender.test>",
     dict(kind="illegal_address", stage="MAIL", detail="<bad address@@sender.test>", client_ip="127.0.0.83")),
    ("warning: 871B421A1AC: queue file size limit exceeded", dict(kind="message_size_exceeded", queue_id="871B421A1AC")),
    ("warning: connect to private/policy: Connection refused",
     dict(kind="service_error", detail="connect to private/policy: Connection refused")),
    ("warning: connect to Milter service inet:localhost:8891: Connection refused", dict(kind="milter_error")),
    ("table hash:/etc/postfix/helo_checks has changed -- restarting",
     dict(kind="table_changed", detail="hash:/etc/postfix/helo_checks")),
    ("discarding EHLO keywords: CHUNKING ETRN DSN 8BITMIME", dict(kind="ehlo_discarded", detail="CHUNKING ETRN DSN 8BITMIME")),
    ("warning: database /etc/postfix/access.db is older than source file /etc/postfix/access",
     dict(kind="diagnostic", severity="warning")),
]


@pytest.mark.parametrize("body,expected", CASES, ids=[f"{i}:{c[0][:50]}" for i, c in enumerate(CASES)])
def test_columns(body, expected):
    e = _one(body)
    assert e["daemon"] == "smtpd"
    got = {k: e[k] for k in expected}
    assert got == expected


@pytest.mark.parametrize("program", ["postfix/smtpd", "postfix/submission/smtpd", "postfix/sink/smtpd", "postfix-out/smtps/smtpd"])
def test_every_smtpd_service(program):
    e = _one("connect from unknown[192.0.2.1]", program)
    assert (e["kind"], e["daemon"], e["program"]) == ("connect", "smtpd", program)


def test_every_decision_is_classified_with_a_class():
    decisions = [b for b, exp in CASES if exp.get("kind", "decision") == "decision" and "restriction" in exp]
    events, _ = _parse([_line(b) for b in decisions])
    for e in events:
        assert e["restriction"] and e["restriction_class"], e


def test_classifier_tables_name_known_classes():
    classes = {"rbl", "rhsbl", "client", "reverse_dns", "helo", "sender", "recipient", "relay", "unknown_user",
               "protocol", "policy", "milter", "size", "content", "other"}
    assert {c for _, c in smtpd.LITERALS.values()} <= classes
    assert {c for _, c in smtpd.TABLE_CLASS.values()} <= classes
    assert {c for _, c, _ in smtpd.RBL_BY_WORD.values()} <= classes


def _lab_lines():
    if not LAB.is_dir():
        pytest.skip("../shared/postfix-lab is absent")
    lines = []
    for path in sorted(LAB.glob("maillog*.sample")):
        lines += [l.rstrip("\n") for l in path.open(encoding="utf-8", errors="replace") if SMTPD_LINE.search(l)]
    assert lines
    return lines


def test_lab_smtpd_lines_parse_completely():
    lines = _lab_lines()
    events, unparsed = _parse(lines)
    assert unparsed.num_rows == 0, unparsed.column("raw").to_pylist()[:10]
    assert len(events) == len(lines)
    kinds = {e["kind"] for e in events}
    assert "diagnostic" not in kinds, [e for e in events if e["kind"] == "diagnostic"][:5]
    assert {"connect", "disconnect", "client", "decision", "lost_connection", "timeout", "too_many_errors",
            "limit_exceeded", "sasl_failed", "rbl_lookup_error", "rdns_warning", "tls", "tls_error",
            "non_smtp_command", "illegal_address", "improper_pipelining"} <= kinds
    decisions = [e for e in events if e["kind"] == "decision"]
    assert all(e["restriction"] != "unclassified" for e in decisions), \
        [e["reply"] for e in decisions if e["restriction"] == "unclassified"]
    # every connect has its disconnect, and the counters are filled
    assert sum(e["kind"] == "connect" for e in events) == sum(e["kind"] == "disconnect" for e in events)
    assert all(e["commands_total"] is not None for e in events if e["kind"] == "disconnect")
    zones = {e["rbl_zone"] for e in events if e["kind"] == "rbl_lookup_error"}
    assert zones == {"dead.test", "servfail.test"}
