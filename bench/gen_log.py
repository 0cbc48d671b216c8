"""gen_log: a seeded, synthetic but realistic Postfix mail log for benchmarks.

SYNOPSIS
    python bench/gen_log.py [--lines N] [--seed S] [--start 2026-11-01] [-o FILE]

DESCRIPTION
    Writes N lines (default 2,000,000) of a central syslog file with two
    Postfix hosts, in traditional ``Nov  6 10:00:01`` stamps, about 500,000
    lines per simulated day (so the default spans four days):

    - mx1 runs Postfix 3.11 with postscreen/dnsblog in front of smtpd:
      ``tls=`` in delivery lines, ``NOQUEUE:`` before lost connection, timeout
      and too many errors, ALLOWLISTED/DENYLISTED wording.
    - mx2 runs Postfix 3.7 without postscreen (older shapes).

    Traffic: inbound mail through amavis (``postfix/amavis/smtp`` → amavis
    ``Passed``/``Blocked`` → ``postfix/10025/smtpd`` re-injection → lmtp or
    virtual delivery), NOQUEUE rejects of about twenty restriction kinds (RBL
    with and without TXT, RHSBL, rDNS, HELO, sender/recipient checks,
    greylisting, access maps), RBL lookup errors, header/body checks,
    submission with SASL, outbound smtp sent/deferred/bounced with non-delivery
    notifications, lost connections, timeouts, SASL failures, anvil limit
    warnings and ``statistics:`` lines every 600 s, postscreen tests,
    dnsblog replies and errors, pickup/local mail, master/postfix-script/
    postsuper, plus dovecot and CRON lines that a parser must skip.

    Line shapes follow /work/shared/postfix-lab/maillog*.sample and
    reference/postfix-logs.md. Addresses are documentation ranges only:
    192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
    The output is a pure function of (lines, seed, start); the file's mtime is
    set to just after its last stamp so year inference is reproducible.
"""
from __future__ import annotations

import argparse
import calendar
import os
import random
import sys
import time

VERSION = 3  # bump when the output for a given seed changes
LINES_PER_DAY = 500_000
MON = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

LOCAL_DOMAINS = ("example.org", "example.com", "mail.example.org")
USERS = tuple(
    "alice bob carol dave erin frank grace heidi ivan judy mallory nina oscar peggy rupert sybil trent "
    "victor walter info sales support billing postmaster abuse hr noreply jobs office admin".split()
)
REMOTE_DOMAINS = tuple(f"{w}.example" for w in (
    "partner acme globex initech umbrella hooli vandelay wayne stark tyrell cyberdyne soylent "
    "massive-dynamic aperture oscorp wonka gringotts dunder-mifflin pied-piper bluth"
).split()) + ("example.net", "mailer.example.com", "news.example.net", "lists.example.org")
SPAM_DOMAINS = tuple(f"{w}.invalid" for w in "promo-deals cheap-meds win-big crypto-gains hot-offers".split()) + (
    "bulk.example.net", "spammy.example")
RBL_TXT = (  # reject_rbl_client zones, with the TXT the site returns (None = no TXT)
    ("zen.spamhaus.org", "https://www.spamhaus.org/query/ip/{ip}", 25),
    ("bl.spamcop.net", "Blocked - see https://www.spamcop.net/bl.shtml?{ip}", 8),
    ("b.barracudacentral.org", None, 5),
    ("psbl.surriel.com", "Listed in PSBL, see https://psbl.org/listing?ip={ip}", 3),
    ("dnsbl.example.net", "Listed by EXAMPLE-DNSBL; see http://dnsbl.example.net/q?{ip}", 2),
)
DEAD_ZONES = ("dnsbl.sorbs.net", "dnsbl.example.net", "bl.dead.example")
TLS_IN = ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
          "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256",
          "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)")
TLS_OUT_FIELD = ("TLSv1.3/TLS_AES_256_GCM_SHA384", "TLSv1.3/TLS_AES_128_GCM_SHA256", "TLSv1.2/ECDHE-RSA-AES256-GCM-SHA384")
SUBJECTS = ("cheap meds online", "You have WON $1,000,000", "Re: invoice overdue", "crypto gains 500%", "hot singles near you")
HELO_BAD = ("localhost", "User", "[192.168.1.2]", "ylmf-pc", "WIN-7QF3", "mail", "host")


def fmt_num(x: float) -> str:
    """Postfix-style delay: 0, 0.02, 4.3, 1234."""
    if x < 0.005:
        return "0"
    if x < 10:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    if x < 100:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return str(int(x))


class Gen:
    def __init__(self, seed: int, start_epoch: int, rate: float):
        self.r = random.Random(seed)
        self.t = float(start_epoch)
        self.rate = rate  # lines per simulated second
        self.out: list[str] = []
        self._stamp_sec = -1
        self._stamp = ""
        self.qid_n = self.r.getrandbits(40)
        self.msg_n = 0
        self.next_anvil = {"mx1": self.t + 300, "mx2": self.t + 420}
        self.next_hour = (int(self.t) // 3600 + 1) * 3600
        self.next_day = (int(self.t) // 86400 + 1) * 86400 + 6 * 3600 + 25 * 60
        self._build_pools()

    # -- pools ------------------------------------------------------------
    def _build_pools(self) -> None:
        r = self.r
        v4 = [f"{net}.{h}" for net in ("192.0.2", "198.51.100", "203.0.113") for h in range(1, 255)]
        # spam/bot clients: all documentation IPv4 plus many IPv6 ones
        self.bots = []
        for ip in v4[254:]:  # 198.51.100/24 and 203.0.113/24
            self.bots.append((self._bot_name(ip), ip))
        for _ in range(12000):
            ip = f"2001:db8:{r.randrange(0x10, 0xffff):x}:{r.randrange(0, 0xffff):x}::{r.randrange(1, 0xffff):x}"
            self.bots.append(("unknown" if r.random() < 0.6 else f"host-{r.randrange(10**6)}.dyn.example.net", ip))
        # legitimate sending MTAs: 192.0.2/24 and some IPv6
        self.mtas = []
        for i, ip in enumerate(v4[:254]):
            d = REMOTE_DOMAINS[i % len(REMOTE_DOMAINS)]
            self.mtas.append((f"mail{i % 7}.{d}", ip, d))
        for i in range(400):
            d = REMOTE_DOMAINS[i % len(REMOTE_DOMAINS)]
            ip = f"2001:db8:{0x4000 + i:x}::{r.randrange(1, 0xfff):x}"
            self.mtas.append((f"mx{i % 3}.{d}", ip, d))
        # our users submitting from anywhere (dynamic v4 and v6)
        self.subm = [(h, ip) for h, ip in self.bots[::37]] + [("unknown", f"2001:db8:beef:{i:x}::{i * 7 % 997:x}") for i in range(300)]
        # remote MX for outbound
        self.rmx = [(f"mx{i % 2}.{d}", f"203.0.113.{10 + i}" if i % 3 else f"2001:db8:25::{i:x}", d) for i, d in enumerate(REMOTE_DOMAINS * 2)]
        self.reject_table = self._weights([
            (self.rej_rbl, 43), (self.rej_rhsbl_sender, 4), (self.rej_rhsbl_helo, 1), (self.rej_unknown_client, 6),
            (self.rej_unknown_reverse, 4), (self.rej_helo_nonfqdn, 4), (self.rej_helo_invalid, 1), (self.rej_helo_notfound, 2),
            (self.rej_sender_nonfqdn, 1), (self.rej_sender_domain, 5), (self.rej_sender_login, 1), (self.rej_rcpt_nonfqdn, 1),
            (self.rej_rcpt_domain, 1), (self.rej_relay, 6), (self.rej_user_unknown, 12), (self.rej_greylist, 8),
            (self.rej_client_access, 3), (self.rej_sender_access, 2),
        ])
        self.session_table = self._weights([
            (self.s_inbound, 30), (self.s_reject, 30), (self.s_submission, 7), (self.s_lost, 8), (self.s_sasl_fail, 4),
            (self.s_postscreen_block, 8), (self.s_rbl_error, 2), (self.s_header_check, 2), (self.s_limit, 1),
            (self.s_dovecot, 9), (self.s_misc_warning, 2), (self.s_pickup, 1),
        ])

    @staticmethod
    def _weights(pairs):
        table = []
        for fn, w in pairs:
            table.extend([fn] * w)
        return table

    def _bot_name(self, ip: str) -> str:
        x = self.r.random()
        if x < 0.55:
            return "unknown"
        if x < 0.85:
            return "host-" + ip.replace(".", "-") + ".dyn.example.net"
        return f"ip{ip.rsplit('.', 1)[1]}.isp.example.com"

    # -- primitives -------------------------------------------------------
    def pick(self, seq):
        return seq[int(self.r.random() * len(seq))]

    def stamp(self, t: float) -> str:
        s = int(t)
        if s != self._stamp_sec:
            tm = time.gmtime(s)
            self._stamp = f"{MON[tm.tm_mon]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
            self._stamp_sec = s
        return self._stamp

    def qid(self) -> str:
        self.qid_n = (self.qid_n + 0x9E3779B1) & 0xFFFFFFFFFFF
        return f"{self.qid_n:011X}"

    def addr(self, domains=LOCAL_DOMAINS) -> str:
        return f"{self.pick(USERS)}@{self.pick(domains)}"

    def sender_addr(self, d: str) -> str:
        r = self.r.random()
        if r < 0.1:
            return ""
        if r < 0.3:
            return f"bounce-{self.r.getrandbits(32):x}@{d}"
        return f"{self.pick(USERS)}@{d}"

    def msgid(self, d: str) -> str:
        self.msg_n += 1
        return f"<{self.msg_n:x}.{self.r.getrandbits(36):09x}@{d}>"

    def delays(self):
        a, b, c, d = self.r.random() * 0.3, self.r.random() * 0.05, self.r.random() * 0.4, self.r.random() * 1.2
        return fmt_num(a + b + c + d), f"{fmt_num(a)}/{fmt_num(b)}/{fmt_num(c)}/{fmt_num(d)}"

    def emit(self, lines):
        """lines: list of (host, program_with_pid, body); spread over the session's share of time."""
        n = len(lines)
        dur = n / self.rate * (0.5 + self.r.random())
        t0 = self.t
        step = dur / n
        out = self.out
        for i, (host, prog, body) in enumerate(lines):
            out.append(f"{self.stamp(t0 + i * step)} {host} {prog}: {body}\n")
        self.t = t0 + dur
        self.periodic()

    # -- periodic lines ---------------------------------------------------
    def periodic(self) -> None:
        for host, due in self.next_anvil.items():
            if self.t >= due:
                self.next_anvil[host] = due + 600
                self.anvil(host)
        if self.t >= self.next_hour:
            self.next_hour += 3600
            self.hourly()
        if self.t >= self.next_day:
            self.next_day += 86400
            self.daily()

    def anvil(self, host: str) -> None:
        pid = 3100 if host == "mx1" else 4100
        prog = f"postfix/anvil[{pid}]"
        at = self.stamp(self.t - self.r.random() * 500)
        bot = self.pick(self.bots)[1]
        svc = "smtp" if self.r.random() < 0.9 else "submission"
        rows = [
            (host, prog, f"statistics: max connection rate {self.r.randrange(2, 40)}/60s for ({svc}:{bot}) at {at}"),
            (host, prog, f"statistics: max connection count {self.r.randrange(1, 12)} for ({svc}:{self.pick(self.bots)[1]}) at {at}"),
        ]
        if self.r.random() < 0.6:
            rows.append((host, prog, f"statistics: max message rate {self.r.randrange(1, 20)}/60s for (smtp:{self.pick(self.mtas)[1]}) at {at}"))
            rows.append((host, prog, f"statistics: max recipient rate {self.r.randrange(1, 60)}/60s for (smtp:{self.pick(self.mtas)[1]}) at {at}"))
        if self.r.random() < 0.3:
            rows.append((host, prog, f"statistics: max newtls rate {self.r.randrange(1, 9)}/60s for (smtp:{self.pick(self.mtas)[1]}) at {at}"))
        if self.r.random() < 0.2:
            rows.append((host, prog, f"statistics: max auth rate {self.r.randrange(1, 30)}/60s for (submission:{self.pick(self.subm)[1]}) at {at}"))
        if host == "mx1" and self.r.random() < 0.1:
            rows.append((host, prog, f"statistics: max connection rate 3/60s for (127.0.0.1:10025:127.0.0.1) at {at}"))
        rows.append((host, prog, f"statistics: max cache size {self.r.randrange(5, 400)} at {at}"))
        self.emit(rows)

    def hourly(self) -> None:
        pid = self.r.randrange(20000, 60000)
        rows = [(h, f"CRON[{pid + i}]", "(root) CMD (cd / && run-parts --report /etc/cron.hourly)") for i, h in enumerate(("mx1", "mx2"))]
        rows.append(("mx1", "CRON[%d]" % (pid + 5), "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"))
        rows.append(("mx1", "postfix/postscreen[3200]",
                     f"cache btree:/var/lib/postfix/postscreen_cache full cleanup: retained={self.r.randrange(200, 3000)} dropped={self.r.randrange(0, 400)} entries"))
        rows.append(("mx1", "postfix/postscreen[3200]", "cache btree:/var/lib/postfix/postscreen_cache full cleanup: retained=0 dropped=0 entries"))
        self.emit(rows)
        self.s_pickup()

    def daily(self) -> None:
        rows = []
        for host, ver in (("mx1", "3.11.0"), ("mx2", "3.7.11")):
            rows.append((host, f"postfix/postfix-script[{self.r.randrange(9000, 9999)}]", "refreshing the Postfix mail system"))
            rows.append((host, "postfix/master[1201]", f"reload -- version {ver}, configuration /etc/postfix"))
        rows.append(("mx1", f"postfix/postsuper[{self.r.randrange(9000, 9999)}]", f"Deleted: {self.r.randrange(1, 40)} messages"))
        self.emit(rows)

    def start(self) -> None:
        rows = []
        for host, ver in (("mx1", "3.11.0"), ("mx2", "3.7.11")):
            rows.append((host, "postfix/postfix-script[1190]", "starting the Postfix mail system"))
            rows.append((host, "postfix/master[1201]", f"daemon started -- version {ver}, configuration /etc/postfix"))
        self.emit(rows)

    # -- helpers for sessions ----------------------------------------------
    def host(self):
        """(host, is_3_11)"""
        return ("mx1", True) if self.r.random() < 0.65 else ("mx2", False)

    def smtpd(self, host: str, service: str = "") -> str:
        base = 5000 if host == "mx1" else 7000
        return f"postfix/{service + '/' if service else ''}smtpd[{base + int(self.r.random() * 60)}]"

    def postscreen_front(self, rows, host, ip, port, verdict="PASS OLD"):
        if host == "mx1":
            ps = "postfix/postscreen[3200]"
            rows.append((host, ps, f"CONNECT from [{ip}]:{port} to [198.51.100.25]:25"))
            rows.append((host, ps, f"{verdict} [{ip}]:{port}"))

    def reject_line(self, v311, stage, client, code, text, sender, rcpt, helo, proto="ESMTP", qid="NOQUEUE"):
        tail = []
        if sender is not None:
            tail.append(f"from=<{sender}>")
        if rcpt is not None:
            tail.append(f"to=<{rcpt}>")
        tail.append(f"proto={proto}")
        if helo is not None:
            tail.append(f"helo=<{helo}>")
        return f"{qid}: reject: {stage} from {client}: {code} {text}; {' '.join(tail)}"

    def disconnect(self, client, cmds):
        acc = tot = 0
        parts = []
        for name, a, t in cmds:
            acc += a
            tot += t
            parts.append(f"{name}={a}" if a == t else f"{name}={a}/{t}")
        if not parts:
            return f"disconnect from {client} commands=0/0"
        summary = f"commands={acc}" if acc == tot else f"commands={acc}/{tot}"
        return f"disconnect from {client} {' '.join(parts)} {summary}"

    # -- reject kinds: return (stage, code, text, sender, rcpt, helo) -------
    def rej_rbl(self, name, ip, helo, sender, rcpt):
        zones = RBL_TXT
        z = self.pick(self._rbl_pool)
        zone, txt, _ = zones[z]
        t = f"Service unavailable; Client host [{ip}] blocked using {zone}"
        if txt:
            t += "; " + txt.format(ip=ip)
        code = "554 5.7.1"
        return "RCPT", code, t, sender, rcpt, helo

    def rej_rhsbl_sender(self, name, ip, helo, sender, rcpt):
        d = sender.rsplit("@", 1)[-1]
        return "RCPT", "554 5.7.1", f"Service unavailable; Sender address [{sender}] blocked using dbl.spamhaus.org; https://www.spamhaus.org/query/domain/{d}", sender, rcpt, helo

    def rej_rhsbl_helo(self, name, ip, helo, sender, rcpt):
        return "RCPT", "554 5.7.1", f"Service unavailable; Helo command [{helo}] blocked using dbl.spamhaus.org", sender, rcpt, helo

    def rej_unknown_client(self, name, ip, helo, sender, rcpt):
        return "RCPT", "450 4.7.1", f"Client host rejected: cannot find your hostname, [{ip}]", sender, rcpt, helo

    def rej_unknown_reverse(self, name, ip, helo, sender, rcpt):
        return "RCPT", "450 4.7.25", f"Client host rejected: cannot find your reverse hostname, [{ip}]", sender, rcpt, helo

    def rej_helo_nonfqdn(self, name, ip, helo, sender, rcpt):
        h = self.pick(HELO_BAD[:2] + HELO_BAD[3:])
        return "RCPT", "504 5.5.2", f"<{h}>: Helo command rejected: need fully-qualified hostname", sender, rcpt, h

    def rej_helo_invalid(self, name, ip, helo, sender, rcpt):
        h = "[192.168.1.2" if self.r.random() < 0.5 else "mail_server"
        return "RCPT", "501 5.5.2", f"<{h}>: Helo command rejected: Invalid name", sender, rcpt, h

    def rej_helo_notfound(self, name, ip, helo, sender, rcpt):
        h = f"mail{self.r.randrange(99)}.nxdomain.invalid"
        return "RCPT", "450 4.7.1", f"<{h}>: Helo command rejected: Host not found", sender, rcpt, h

    def rej_sender_nonfqdn(self, name, ip, helo, sender, rcpt):
        s = self.pick(USERS)
        return "RCPT", "504 5.5.2", f"<{s}>: Sender address rejected: need fully-qualified address", s, rcpt, helo

    def rej_sender_domain(self, name, ip, helo, sender, rcpt):
        s = f"{self.pick(USERS)}@nx{self.r.randrange(999)}.invalid"
        return "RCPT", "450 4.1.8", f"<{s}>: Sender address rejected: Domain not found", s, rcpt, helo

    def rej_sender_login(self, name, ip, helo, sender, rcpt):
        s = self.addr()
        return "RCPT", "553 5.7.1", f"<{s}>: Sender address rejected: not logged in", s, rcpt, helo

    def rej_rcpt_nonfqdn(self, name, ip, helo, sender, rcpt):
        r = self.pick(USERS)
        return "RCPT", "504 5.5.2", f"<{r}>: Recipient address rejected: need fully-qualified address", sender, r, helo

    def rej_rcpt_domain(self, name, ip, helo, sender, rcpt):
        r = f"{self.pick(USERS)}@nx{self.r.randrange(99)}.invalid"
        return "RCPT", "450 4.1.2", f"<{r}>: Recipient address rejected: Domain not found", sender, r, helo

    def rej_relay(self, name, ip, helo, sender, rcpt):
        r = f"{self.pick(USERS)}@{self.pick(REMOTE_DOMAINS)}"
        return "RCPT", "454 4.7.1", f"<{r}>: Relay access denied", sender, r, helo

    def rej_user_unknown(self, name, ip, helo, sender, rcpt):
        r = f"{self.pick(USERS)}{self.r.randrange(1000)}@{self.pick(LOCAL_DOMAINS)}"
        table = "virtual mailbox" if self.r.random() < 0.7 else "local recipient"
        return "RCPT", "550 5.1.1", f"<{r}>: Recipient address rejected: User unknown in {table} table", sender, r, helo

    def rej_greylist(self, name, ip, helo, sender, rcpt):
        d = rcpt.rsplit("@", 1)[-1]
        return "RCPT", "450 4.2.0", f"<{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/{d}.html", sender, rcpt, helo

    def rej_client_access(self, name, ip, helo, sender, rcpt):
        return "RCPT", "554 5.7.1", f"<{name}[{ip}]>: Client host rejected: Access denied", sender, rcpt, helo

    def rej_sender_access(self, name, ip, helo, sender, rcpt):
        return "RCPT", "550 5.7.1", f"<{sender}>: Sender address rejected: Spam source, go away", sender, rcpt, helo

    # -- sessions -----------------------------------------------------------
    def s_inbound(self) -> None:
        """A message from a legitimate MTA, through amavis, to a mailbox."""
        r = self.r
        host, v311 = self.host()
        name, ip, dom = self.pick(self.mtas)
        client = f"{name}[{ip}]"
        port = r.randrange(1024, 65535)
        sd = self.smtpd(host)
        rows = []
        self.postscreen_front(rows, host, ip, port)
        rows.append((host, sd, f"connect from {client}"))
        tls = r.random() < 0.75
        if tls:
            rows.append((host, sd, f"Anonymous TLS connection established from {client}: {self.pick(TLS_IN)}"))
        q = self.qid()
        sender = self.sender_addr(dom)
        nrcpt = 1 if r.random() < 0.8 else r.randrange(2, 5)
        rcpts = [self.addr() for _ in range(nrcpt)]
        # a recipient-level reject sometimes precedes the accepted one
        extra = []
        if r.random() < 0.08:
            stage, code, text, s, rc, h = self.rej_user_unknown(name, ip, name, sender, rcpts[0])
            extra.append((host, sd, self.reject_line(v311, stage, client, code, text, sender, rc, name)))
        rows.append((host, sd, f"{q}: client={client}"))
        rows.extend(extra)
        mid = self.msgid(dom)
        size = int(r.lognormvariate(8.5, 1.2)) + 400
        rows.append((host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]", f"{q}: message-id={mid}"))
        if r.random() < 0.03:
            rows.append((host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]",
                         f"{q}: warning: header Subject: {self.pick(SUBJECTS)} from {client}; from=<{sender}> to=<{rcpts[0]}> proto=ESMTP helo=<{name}>: subject flagged"))
        qm = f"postfix/qmgr[{3000 if host == 'mx1' else 4000}]"
        rows.append((host, qm, f"{q}: from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)"))
        cmds = [("ehlo", 2 if tls else 1, 2 if tls else 1)] + ([("starttls", 1, 1)] if tls else []) + [
            ("mail", 1, 1), ("rcpt", nrcpt, nrcpt + len(extra)), ("data", 1, 1), ("quit", 1, 1)]
        rows.append((host, sd, self.disconnect(client, cmds)))
        # content filter leg
        verdict = r.random()
        am_pid = 8000 + int(r.random() * 6)
        am_id = f"({am_pid:05d}-{r.randrange(1, 99):02d})"
        mail_id = f"{r.getrandbits(60):015x}"[:12]
        amsmtp = f"postfix/amavis/smtp[{6100 + int(r.random() * 20)}]"
        ms = r.randrange(80, 3000)
        rcpt_list = ",".join(f"<{x}>" for x in rcpts)
        delay, delays = self.delays()
        if verdict < 0.90:
            q2 = self.qid()
            for rc in rcpts:
                rows.append((host, amsmtp, f"{q}: to=<{rc}>, relay=127.0.0.1[127.0.0.1]:10024, delay={delay}, delays={delays}, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {q2})"))
            cat, hits = ("CLEAN", f"{r.uniform(-5, 4):.1f}") if verdict < 0.85 else ("SPAMMY", f"{r.uniform(5, 6.3):.1f}")
            rows.append((host, f"amavis[{am_pid}]",
                         f"{am_id} Passed {cat} {{RelayedInbound}}, [{ip}]:{port} [{ip}] <{sender}> -> {rcpt_list}, Queue-ID: {q}, Message-ID: {mid}, mail_id: {mail_id}, Hits: {hits}, size: {size}, queued_as: {q2}, {ms} ms"))
            f10 = f"postfix/10025/smtpd[{6200 + int(r.random() * 20)}]"
            rows.append((host, f10, "connect from localhost[127.0.0.1]"))
            rows.append((host, f10, f"{q2}: client=localhost[127.0.0.1], orig_queue_id={q}, orig_client={client}"))
            rows.append((host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]", f"{q2}: message-id={mid}"))
            rows.append((host, qm, f"{q2}: from=<{sender}>, size={size + 900}, nrcpt={nrcpt} (queue active)"))
            rows.append((host, f10, f"disconnect from localhost[127.0.0.1] ehlo=1 xforward=1 mail=1 rcpt={nrcpt} data=1 quit=1 commands={5 + nrcpt}"))
            rows.append((host, qm, f"{q}: removed"))
            for rc in rcpts:
                delay, delays = self.delays()
                if host == "mx1":
                    rows.append((host, f"postfix/lmtp[{6300 + int(r.random() * 20)}]",
                                 f"{q2}: to=<{rc}>, relay=mail.example.org[private/dovecot-lmtp], delay={delay}, delays={delays}, dsn=2.0.0, status=sent (250 2.0.0 <{rc}> {r.getrandbits(64):016x} Saved)"))
                    rows.append((host, "dovecot", f"lmtp({rc})<{r.randrange(10000, 99999)}><{r.getrandbits(48):012x}>: msgid={mid}: saved mail to INBOX"))
                else:
                    rows.append((host, f"postfix/virtual[{7300 + int(r.random() * 20)}]",
                                 f"{q2}: to=<{rc}>, relay=virtual, delay={delay}, delays={delays}, dsn=2.0.0, status=sent (delivered to maildir)"))
            rows.append((host, qm, f"{q2}: removed"))
        elif verdict < 0.97:
            for rc in rcpts:
                rows.append((host, amsmtp, f"{q}: to=<{rc}>, relay=127.0.0.1[127.0.0.1]:10024, delay={delay}, delays={delays}, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, id={am_id[1:-1]} - spam)"))
            rows.append((host, f"amavis[{am_pid}]",
                         f"{am_id} Blocked SPAM {{DiscardedInbound,Quarantined}}, [{ip}]:{port} [{ip}] <{sender}> -> {rcpt_list}, quarantine: spam-{mail_id}, Queue-ID: {q}, Message-ID: {mid}, mail_id: {mail_id}, Hits: {r.uniform(6.3, 40):.1f}, size: {size}, {ms} ms"))
            rows.append((host, qm, f"{q}: removed"))
        else:
            banned = r.random() < 0.7
            what = "BANNED (application/x-msdownload,.exe,invoice.exe)" if banned else "INFECTED (Eicar-Signature)"
            reason = "BANNED: application/x-msdownload,.exe,invoice.exe" if banned else "INFECTED: Eicar-Signature"
            for rc in rcpts:
                rows.append((host, amsmtp, f"{q}: to=<{rc}>, relay=127.0.0.1[127.0.0.1]:10024, delay={delay}, delays={delays}, dsn=5.7.0, status=bounced (host 127.0.0.1[127.0.0.1] said: 554 5.7.0 Reject, id={am_id[1:-1]} - {reason} (in reply to end of DATA command))"))
            rows.append((host, f"amavis[{am_pid}]",
                         f"{am_id} Blocked {what} {{RejectedInbound,Quarantined}}, [{ip}]:{port} [{ip}] <{sender}> -> {rcpt_list}, quarantine: {'banned' if banned else 'virus'}-{mail_id}, Queue-ID: {q}, Message-ID: {mid}, mail_id: {mail_id}, Hits: -, size: {size}, {ms} ms"))
            if sender:
                self.ndn(rows, host, q, sender, remote=True)
            rows.append((host, qm, f"{q}: removed"))
        self.emit(rows)

    def ndn(self, rows, host, q, sender, remote):
        """bounce(8) notification for q back to sender, delivered by smtp."""
        r = self.r
        q3 = self.qid()
        qm = f"postfix/qmgr[{3000 if host == 'mx1' else 4000}]"
        rows.append((host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]", f"{q3}: message-id=<{q3}.{r.getrandbits(20)}@{host}.example.org>"))
        rows.append((host, f"postfix/bounce[{6400 + int(r.random() * 10)}]", f"{q}: sender non-delivery notification: {q3}"))
        rows.append((host, qm, f"{q3}: from=<>, size={r.randrange(2500, 9000)}, nrcpt=1 (queue active)"))
        if remote:
            rname, rip, _ = self.pick(self.rmx)
            delay, delays = self.delays()
            tls = f"tls={self.pick(TLS_OUT_FIELD)}, " if host == "mx1" else ""
            rows.append((host, f"postfix/smtp[{6500 + int(r.random() * 30)}]",
                         f"{q3}: to=<{sender}>, relay={rname}[{rip}]:25, delay={delay}, delays={delays}, {tls}dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {r.getrandbits(40):010X})"))
        else:
            delay, delays = self.delays()
            rows.append((host, f"postfix/virtual[{7300 + int(r.random() * 20)}]",
                         f"{q3}: to=<{sender}>, relay=virtual, delay={delay}, delays={delays}, dsn=2.0.0, status=sent (delivered to maildir)"))
        rows.append((host, qm, f"{q3}: removed"))

    def s_reject(self) -> None:
        """A bot or spammer: one to three NOQUEUE rejects, then disconnect."""
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        port = r.randrange(1024, 65535)
        sd = self.smtpd(host)
        rows = []
        self.postscreen_front(rows, host, ip, port, "PASS NEW" if r.random() < 0.3 else "PASS OLD")
        if name != "unknown" and r.random() < 0.15:
            rows.append((host, sd, f"warning: hostname {name} does not resolve to address {ip}" + (": Name or service not known" if r.random() < 0.5 else "")))
        rows.append((host, sd, f"connect from {client}"))
        helo = name if name != "unknown" else f"[{ip}]" if r.random() < 0.2 else f"mail.{self.pick(SPAM_DOMAINS)}"
        sender = f"{self.pick(USERS)}@{self.pick(SPAM_DOMAINS)}"
        n = 1 if r.random() < 0.75 else r.randrange(2, 4)
        kind = self.pick(self.reject_table)
        for _ in range(n):
            rcpt = self.addr()
            stage, code, text, s, rc, h = kind(name, ip, helo, sender, rcpt)
            if r.random() < 0.02:
                rows.append((host, sd, self.reject_line(v311, stage, client, code, text, s, rc, h).replace(": reject: ", ": reject_warning: ", 1)))
            else:
                rows.append((host, sd, self.reject_line(v311, stage, client, code, text, s, rc, h)))
        x = r.random()
        if x < 0.1:
            lc = "lost connection after RCPT from " + client
            rows.append((host, sd, ("NOQUEUE: " if v311 else "") + lc))
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, n)])))
        elif x < 0.2:
            rows.append((host, sd, self.reject_line(v311, "DATA", client, "554 5.5.1", "Error: no valid recipients", sender, None, helo)))
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, n), ("data", 0, 1), ("quit", 1, 1)])))
        else:
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, n), ("quit", 1, 1)])))
        self.emit(rows)

    def s_submission(self) -> None:
        """An authenticated user sends out: submission smtpd, then smtp delivery with TLS."""
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.subm)
        client = f"{name}[{ip}]"
        svc = "submission" if r.random() < 0.8 else "smtps"
        sd = self.smtpd(host, svc)
        user = self.addr(LOCAL_DOMAINS[:2])
        q = self.qid()
        rows = [(host, sd, f"connect from {client}")]
        if svc == "submission":
            rows.append((host, sd, f"Anonymous TLS connection established from {client}: {self.pick(TLS_IN)}"))
        rows.append((host, sd, f"{q}: client={client}, sasl_method={'PLAIN' if r.random() < 0.7 else 'LOGIN'}, sasl_username={user}"))
        rname, rip, rdom = self.pick(self.rmx)
        nrcpt = 1 if r.random() < 0.85 else 2
        rcpts = [f"{self.pick(USERS)}@{rdom}" for _ in range(nrcpt)]
        size = int(r.lognormvariate(8.8, 1.3)) + 500
        rows.append((host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]", f"{q}: message-id={self.msgid(user.split('@')[1])}"))
        qm = f"postfix/qmgr[{3000 if host == 'mx1' else 4000}]"
        rows.append((host, qm, f"{q}: from=<{user}>, size={size}, nrcpt={nrcpt} (queue active)"))
        cmds = ([("ehlo", 2, 2), ("starttls", 1, 1)] if svc == "submission" else [("ehlo", 1, 1)]) + [
            ("auth", 1, 1), ("mail", 1, 1), ("rcpt", nrcpt, nrcpt), ("data", 1, 1), ("quit", 1, 1)]
        rows.append((host, sd, self.disconnect(client, cmds)))
        smtp = f"postfix/smtp[{6500 + int(r.random() * 30)}]"
        tlsv = self.pick(TLS_OUT_FIELD)
        rows.append((host, smtp, f"{'Trusted' if r.random() < 0.6 else 'Untrusted'} TLS connection established to {rname}[{rip}]:25: {self.pick(TLS_IN)}"))
        tlsf = f"tls={tlsv}, " if v311 else ""
        conn_use = f"conn_use={r.randrange(2, 9)}, " if r.random() < 0.1 else ""
        bounced = False
        for rc in rcpts:
            x = r.random()
            delay, delays = self.delays()
            if x < 0.9:
                rows.append((host, smtp, f"{q}: to=<{rc}>, relay={rname}[{rip}]:25, {conn_use}delay={delay}, delays={delays}, {tlsf}dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {r.getrandbits(40):010X})"))
            elif x < 0.96:
                if r.random() < 0.5:
                    rows.append((host, smtp, f"connect to {rname}[{rip}]:25: Connection timed out"))
                    rows.append((host, smtp, f"{q}: to=<{rc}>, relay=none, delay={fmt_num(30 + r.random() * 3000)}, delays=0.1/0.01/30/0, dsn=4.4.1, status=deferred (connect to {rname}[{rip}]:25: Connection timed out)"))
                else:
                    rows.append((host, smtp, f"{q}: to=<{rc}>, relay={rname}[{rip}]:25, delay={delay}, delays={delays}, {tlsf}dsn=4.7.1, status=deferred (host {rname}[{rip}] said: 450 4.7.1 <{rc}>: Recipient address rejected: Greylisted, try again later (in reply to RCPT TO command))"))
            else:
                bounced = True
                rows.append((host, smtp, f"{q}: to=<{rc}>, relay={rname}[{rip}]:25, delay={delay}, delays={delays}, {tlsf}dsn=5.1.1, status=bounced (host {rname}[{rip}] said: 550 5.1.1 <{rc}>: Recipient address rejected: User unknown (in reply to RCPT TO command))"))
        if bounced:
            self.ndn(rows, host, q, user, remote=False)
        if r.random() < 0.01:
            rows.append((host, qm, f"{q}: from=<{user}>, status=expired, returned to sender"))
        rows.append((host, qm, f"{q}: removed"))
        self.emit(rows)

    def s_lost(self) -> None:
        """Lost connection, timeout, too many errors, SSL errors, pipelining."""
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        sd = self.smtpd(host)
        pre = "NOQUEUE: " if v311 else ""
        rows = []
        self.postscreen_front(rows, host, ip, r.randrange(1024, 65535))
        rows.append((host, sd, f"connect from {client}"))
        x = r.random()
        if x < 0.35:
            stage = self.pick(("CONNECT", "EHLO", "EHLO", "AUTH", "STARTTLS", "RCPT", "MAIL"))
            rows.append((host, sd, f"{pre}lost connection after {stage} from {client}"))
            cmds = {"CONNECT": [], "EHLO": [("ehlo", 1, 1)], "AUTH": [("ehlo", 1, 1), ("auth", 0, 1)],
                    "STARTTLS": [("ehlo", 1, 1), ("starttls", 0, 1)], "RCPT": [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, 1)],
                    "MAIL": [("ehlo", 1, 1), ("mail", 0, 1)]}[stage]
        elif x < 0.45:
            rows.append((host, sd, f"{pre}lost connection after DATA ({r.randrange(0, 90000)} bytes) from {client}"))
            cmds = [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 1, 1), ("data", 0, 1)]
        elif x < 0.65:
            stage = self.pick(("CONNECT", "EHLO", "END-OF-MESSAGE"))
            rows.append((host, sd, f"{pre}timeout after {stage} from {client}"))
            cmds = [] if stage == "CONNECT" else [("ehlo", 1, 1)]
        elif x < 0.75:
            rows.append((host, sd, f"{pre}too many errors after RCPT from {client}"))
            cmds = [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, 21)]
        elif x < 0.88:
            rows.append((host, sd, f"SSL_accept error from {client}: {'-1' if r.random() < 0.5 else 'lost connection'}"))
            rows.append((host, sd, f"{pre}lost connection after STARTTLS from {client}"))
            cmds = [("ehlo", 1, 1), ("starttls", 0, 1)]
        elif x < 0.95:
            rows.append((host, sd, f"improper command pipelining after CONNECT from {client}: EHLO {self.pick(HELO_BAD)}\\r\\n"))
            rows.append((host, sd, f"{pre}lost connection after EHLO from {client}"))
            cmds = [("ehlo", 1, 1)]
        else:
            rows.append((host, sd, f"warning: non-SMTP command from {client}: GET / HTTP/1.1"))
            cmds = [("unknown", 0, 1)]
        rows.append((host, sd, self.disconnect(client, cmds)))
        self.emit(rows)

    def s_sasl_fail(self) -> None:
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        svc = self.pick(("", "submission", "submission", "smtps"))
        sd = self.smtpd(host, svc)
        rows = [(host, sd, f"connect from {client}")]
        n = r.randrange(1, 4)
        for _ in range(n):
            mech = "LOGIN" if r.random() < 0.7 else "PLAIN"
            u = self.addr() if r.random() < 0.6 else self.pick(USERS)
            if r.random() < 0.3:
                rows.append((host, sd, "warning: SASL authentication failure: Password verification failed"))
            if r.random() < 0.5:
                rows.append((host, sd, f"warning: {client}: SASL {mech} authentication failed: authentication failure, sasl_username={u}"))
            else:
                rows.append((host, sd, f"warning: {client}: SASL {mech} authentication failed: UGFzc3dvcmQ6"))
        if r.random() < 0.5:
            rows.append((host, sd, f"{'NOQUEUE: ' if v311 else ''}lost connection after AUTH from {client}"))
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("auth", 0, n)])))
        else:
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("auth", 0, n), ("rset", 1, 1), ("quit", 1, 1)])))
        self.emit(rows)

    def s_postscreen_block(self) -> None:
        """postscreen on mx1: DNSBL score, protocol tests, dnsblog replies."""
        r = self.r
        host = "mx1"
        ps = "postfix/postscreen[3200]"
        name, ip = self.pick(self.bots)
        port = r.randrange(1024, 65535)
        cl = f"[{ip}]:{port}"
        rows = [(host, ps, f"CONNECT from {cl} to [198.51.100.25]:25")]
        x = r.random()
        dnsblog = f"postfix/dnsblog[{3300 + int(r.random() * 5)}]"
        if x < 0.5:
            zones = [("zen.spamhaus.org", "127.0.0." + self.pick(("2", "3", "4", "9", "10", "11")))]
            if r.random() < 0.4:
                zones.append(("b.barracudacentral.org", "127.0.0.2"))
            if r.random() < 0.2:
                zones.append(("bl.spamcop.net", "127.0.0.2"))
            for z, a in zones:
                rows.append((host, dnsblog, f"addr {ip} listed by domain {z} as {a}"))
            rows.append((host, ps, f"DNSBL rank {2 + 2 * len(zones)} for {cl}"))
            helo = name if name != "unknown" else f"[{ip}]"
            rows.append((host, ps, f"NOQUEUE: reject: RCPT from {cl}: 550 5.7.1 Service unavailable; client [{ip}] blocked using zen.spamhaus.org; from=<{self.pick(USERS)}@{self.pick(SPAM_DOMAINS)}>, to=<{self.addr()}>, proto=ESMTP, helo=<{helo}>"))
        elif x < 0.65:
            rows.append((host, ps, f"PREGREET {r.randrange(11, 40)} after {r.random() * 2:.2f} from {cl}: EHLO {self.pick(HELO_BAD)}\\r\\n"))
        elif x < 0.77:
            rows.append((host, ps, f"HANGUP after {r.random() * 8:.1f} from {cl} in tests before SMTP handshake"))
        elif x < 0.85:
            rows.append((host, ps, f"DENYLISTED {cl}"))
        elif x < 0.9:
            rows.append((host, ps, f"ALLOWLISTED {cl}"))
        elif x < 0.93:
            rows.append((host, ps, f"COMMAND PIPELINING from {cl} after EHLO: MAIL FROM:<x@{self.pick(SPAM_DOMAINS)}>\\r\\n"))
            rows.append((host, ps, f"NOQUEUE: reject: RCPT from {cl}: 450 4.3.2 Service currently unavailable; from=<x@{self.pick(SPAM_DOMAINS)}>, to=<{self.addr()}>, proto=ESMTP, helo=<{name}>"))
        elif x < 0.95:
            rows.append((host, ps, f"NON-SMTP COMMAND from {cl} after CONNECT: GET / HTTP/1.1"))
        elif x < 0.97:
            rows.append((host, ps, f"NOQUEUE: reject: CONNECT from {cl}: too many connections"))
        else:
            z = self.pick(DEAD_ZONES)
            rows.append((host, dnsblog, f"warning: dnsblog_query: lookup error for DNS query {self.rev(ip)}.{z}: Host or domain name not found. Name service error for name={self.rev(ip)}.{z} type=A: Host not found, try again"))
            if r.random() < 0.5:
                rows.append((host, ps, f"warning: dnsblog reply timeout 10s for {z}"))
            rows.append((host, ps, f"PASS NEW {cl}"))
        rows.append((host, ps, f"DISCONNECT {cl}"))
        self.emit(rows)

    @staticmethod
    def rev(ip: str) -> str:
        if ":" not in ip:
            return ".".join(reversed(ip.split(".")))
        # expand IPv6 to 32 nibbles
        head, _, tail = ip.partition("::")
        h = head.split(":") if head else []
        t = tail.split(":") if tail else []
        groups = h + ["0"] * (8 - len(h) - len(t)) + t
        nib = "".join(g.rjust(4, "0") for g in groups)
        return ".".join(reversed(nib))

    def s_rbl_error(self) -> None:
        """An RBL that times out: warnings, then the mail is accepted or rejected otherwise."""
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        sd = self.smtpd(host)
        rows = [(host, sd, f"connect from {client}")]
        for z in DEAD_ZONES[: r.randrange(1, 3)]:
            qn = f"{self.rev(ip)}.{z}"
            rows.append((host, sd, f"warning: {qn}: RBL lookup error: Host or domain name not found. Name service error for name={qn} type=A: Host not found, try again"))
        sender = f"{self.pick(USERS)}@{self.pick(SPAM_DOMAINS)}"
        stage, code, text, s, rc, h = self.rej_user_unknown(name, ip, name, sender, self.addr())
        rows.append((host, sd, self.reject_line(v311, stage, client, code, text, s, rc, name)))
        rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, 1), ("quit", 1, 1)])))
        self.emit(rows)

    def s_header_check(self) -> None:
        """cleanup header/body checks rejecting or holding a message."""
        r = self.r
        host, v311 = self.host()
        name, ip, dom = self.pick(self.mtas)
        client = f"{name}[{ip}]"
        sd = self.smtpd(host)
        q = self.qid()
        sender = self.sender_addr(dom)
        rcpt = self.addr()
        cu = f"postfix/cleanup[{6000 + int(r.random() * 20)}]"
        rows = []
        self.postscreen_front(rows, host, ip, r.randrange(1024, 65535))
        rows.append((host, sd, f"connect from {client}"))
        rows.append((host, sd, f"{q}: client={client}"))
        tail = f"from {client}; from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{name}>"
        x = r.random()
        if x < 0.6:
            rows.append((host, cu, f"{q}: reject: header Subject: {self.pick(SUBJECTS)} {tail}: 5.7.1 Spammy subject detected"))
            ok = False
        elif x < 0.75:
            rows.append((host, cu, f"{q}: reject: body Click here to claim your prize today {tail}: 5.7.1 Body spam phrase"))
            ok = False
        elif x < 0.85:
            rows.append((host, cu, f"{q}: milter-reject: END-OF-MESSAGE from {client}: 5.7.1 rejected by DMARC policy for {dom}; from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{name}>"))
            ok = False
        else:
            rows.append((host, cu, f"{q}: message-id={self.msgid(dom)}"))
            rows.append((host, cu, f"{q}: hold: header X-Mailer: BulkMailer 3.1 {tail}: held for review"))
            ok = True
        if ok:
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 1, 1), ("data", 1, 1), ("quit", 1, 1)])))
        else:
            rows.append((host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 1, 1), ("data", 0, 1), ("quit", 1, 1)])))
        self.emit(rows)

    def s_limit(self) -> None:
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        sd = self.smtpd(host)
        what, n = self.pick((("Connection rate limit exceeded", 31), ("Connection rate limit exceeded", 31),
                             ("Connection concurrency limit exceeded", 51), ("Message delivery request rate limit exceeded", 101),
                             ("Recipient address rate limit exceeded", 201), ("New TLS session rate limit exceeded", 21),
                             ("AUTH command rate limit exceeded", 11)))
        svc = "submission" if what.startswith("AUTH") else "smtp"
        rows = [(host, sd, f"connect from {client}"), (host, sd, f"warning: {what}: {n + r.randrange(0, 30)} from {client} for service {svc}"),
                (host, sd, self.disconnect(client, [("ehlo", 1, 1), ("mail", 0, 1), ("quit", 1, 1)]) if what.startswith(("Message", "Recipient")) else self.disconnect(client, []))]
        self.emit(rows)

    def s_dovecot(self) -> None:
        r = self.r
        host = "mx1" if r.random() < 0.7 else "mx2"
        prog = "dovecot" if r.random() < 0.7 else f"dovecot[{900 + int(r.random() * 4)}]"
        user = self.addr(LOCAL_DOMAINS[:2])
        _, ip = self.pick(self.subm)
        sess = f"{r.getrandbits(64):016x}"[:16]
        mpid = r.randrange(10000, 99999)
        proto = "imap" if r.random() < 0.85 else "pop3"
        if r.random() < 0.8:
            rows = [(host, prog, f"{proto}-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=198.51.100.25, mpid={mpid}, TLS, session=<{sess}>"),
                    (host, prog, f"{proto}({user})<{mpid}><{sess}>: Disconnected: Logged out in={r.randrange(100, 9000)} out={r.randrange(500, 900000)} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0")]
        else:
            rows = [(host, prog, f"auth: passwd-file({self.pick(USERS)},{ip},<{sess}>): unknown user"),
                    (host, prog, f"{proto}-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<{self.pick(USERS)}>, method=PLAIN, rip={ip}, lip=198.51.100.25, TLS, session=<{sess}>")]
        self.emit(rows)

    def s_misc_warning(self) -> None:
        r = self.r
        host, v311 = self.host()
        name, ip = self.pick(self.bots)
        client = f"{name}[{ip}]"
        sd = self.smtpd(host)
        x = r.random()
        rows = [(host, sd, f"connect from {client}")]
        if x < 0.4:
            rows.append((host, sd, f"warning: Illegal address syntax from {client} in MAIL command: <x@@{self.pick(SPAM_DOMAINS)}>"))
            cmds = [("ehlo", 1, 1), ("mail", 0, 1), ("quit", 1, 1)]
        elif x < 0.7:
            rows.append((host, sd, self.reject_line(v311, "EHLO" if r.random() < 0.5 else "CONNECT", client, "554 5.7.1",
                                                    f"<{client}>: Client host rejected: Access denied", None, None, "x" if r.random() < 0.5 else None, proto="SMTP")))
            cmds = [("ehlo", 0, 1), ("quit", 1, 1)]
        else:
            rows.append((host, sd, f"warning: TLS library problem: error:0A000412:SSL routines::sslv3 alert bad certificate:../ssl/record/rec_layer_s3.c:1586:SSL alert number 42:"))
            rows.append((host, sd, f"{'NOQUEUE: ' if v311 else ''}lost connection after STARTTLS from {client}"))
            cmds = [("ehlo", 1, 1), ("starttls", 0, 1)]
        rows.append((host, sd, self.disconnect(client, cmds)))
        self.emit(rows)

    def s_pickup(self) -> None:
        """Local mail (cron output) through pickup to local(8)."""
        r = self.r
        host = "mx1" if r.random() < 0.5 else "mx2"
        q = self.qid()
        qm = f"postfix/qmgr[{3000 if host == 'mx1' else 4000}]"
        delay, delays = self.delays()
        rows = [(host, f"postfix/pickup[{3050 if host == 'mx1' else 4050}]", f"{q}: uid=0 from=<root>"),
                (host, f"postfix/cleanup[{6000 + int(r.random() * 20)}]", f"{q}: message-id=<{q}.{r.getrandbits(20)}@{host}.example.org>"),
                (host, qm, f"{q}: from=<root@{host}.example.org>, size={r.randrange(500, 4000)}, nrcpt=1 (queue active)"),
                (host, f"postfix/local[{6600 + int(r.random() * 10)}]",
                 f"{q}: to=<admin@example.org>, orig_to=<root>, relay=local, delay={delay}, delays={delays}, dsn=2.0.0, status=sent (delivered to mailbox)"),
                (host, qm, f"{q}: removed")]
        self.emit(rows)

    def run(self, n_lines: int, fh) -> int:
        self._rbl_pool = [i for i, (_, _, w) in enumerate(RBL_TXT) for _ in range(w)]
        self.start()
        table = self.session_table
        written = 0
        out = self.out
        while written + len(out) < n_lines:
            self.pick(table)()
            if len(out) >= 20000:
                fh.writelines(out)
                written += len(out)
                out.clear()
        take = n_lines - written
        fh.writelines(out[:take])
        written += min(take, len(out))
        out.clear()
        return written


def generate(path: str, lines: int = 2_000_000, seed: int = 1, start: str = "2026-11-01") -> dict:
    """Write the log to path; returns facts about it (lines, bytes, last stamp epoch)."""
    start_epoch = calendar.timegm(time.strptime(start, "%Y-%m-%d"))
    g = Gen(seed, start_epoch, LINES_PER_DAY / 86400)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        n = g.run(lines, fh)
    os.replace(tmp, path)
    end = int(g.t) + 60
    os.utime(path, (end, end))  # year inference anchors on mtime
    return {"lines": n, "bytes": os.path.getsize(path), "seed": seed, "start": start, "end_epoch": end, "version": VERSION}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2026-11-01", help="first day (UTC), YYYY-MM-DD")
    ap.add_argument("-o", "--output", default="bench/out/maillog-bench.log")
    a = ap.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    t = time.perf_counter()
    info = generate(a.output, a.lines, a.seed, a.start)
    dt = time.perf_counter() - t
    print(f"{a.output}: {info['lines']:,} lines, {info['bytes'] / 1e6:.1f} MB in {dt:.1f} s ({info['lines'] / dt:,.0f} lines/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
