"""Ground truth of the postfix-lab traffic, for tests/test_lab.py.

Every number here is derived by reading the lab's definition, never from logscope's output:
  - ``../shared/postfix-lab/run_harness.sh``: the main.cf/master.cf it writes (restriction lists per
    listener, access tables, header/body checks, limits) and its traffic section (which client sends
    what to which port: one ``SW``/``RAW`` call = one SMTP session unless noted);
  - ``smtpraw.py``: how many connections/commands each raw scenario sends;
  - ``scenarios.json``: what each client address is for, the site's domains and networks, the limits;
  - ``dnsd.py``: which addresses and names the private DNS lists and which have a PTR;
  - Postfix 3.7 defaults for reply codes (postconf(5): access_map_reject_code 554,
    maps_rbl_reject_code 554, unknown_address_reject_code 450, non_fqdn_reject_code 504,
    invalid_hostname_reject_code 501, relay_domains_reject_code 554,
    unknown_local_recipient_reject_code 550, unknown_client_reject_code 450, defer_code 450,
    reject_code 554, multi_recipient_bounce_reject_code 550, unauth_pipelining 503 5.5.0,
    message_size_limit 552 5.3.4, postscreen_dnsbl_reply 550, postscreen deep tests 450 4.3.2).

The restriction *class* vocabulary is logscope's (README `restriction_class`, the smtpd and
postscreen grammar docstrings); which restriction fired is the lab's truth.

Where the log text cannot tell two restrictions apart, the truth lists every class the text allows
(see KNOWN AMBIGUITIES in logscope/grammars/smtpd.py): a site's own text after "Recipient address
rejected:" reads the same whether an access table, a policy server or an error:/retry: transport
(reject_unlisted_recipient) produced it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

# scenarios.json "site", "limits"
MYHOSTNAME = "mx.example.com"
LOCAL_DOMAINS = ("mx.example.com", "example.com", "localhost")
MYNETWORKS_IP = "127.0.0.1"  # mynetworks = 127.0.0.1/32
LIMITS = {  # main.cf anvil section == scenarios.json "limits"
    "connection_rate": 10,  # smtpd_client_connection_rate_limit
    "connection_count": 3,  # smtpd_client_connection_count_limit
    "message_rate": 4,  # smtpd_client_message_rate_limit
    "recipient_rate": 12,  # smtpd_client_recipient_rate_limit
}
ANVIL_RATE_TIME_UNIT_S = 60
MAIN_SERVICE = "127.0.0.1:2525"  # master.cf: the main smtpd listener; anvil names services this way

# "Recipient address rejected: <site text>": check_recipient_access, check_policy_service or an
# error:/retry: transport (smtpd's unlisted-recipient check) - the log cannot say which.
SITE_TEXT_RCPT = frozenset({"recipient", "policy", "unknown_user"})
# "Etrn command rejected: Access denied": the plain `reject` of smtpd_etrn_restrictions; an access
# table REJECT without text says the same. logscope files both under "other".
ETRN_ACCESS_DENIED = frozenset({"other"})


@dataclass(frozen=True)
class Reject:
    client: str
    port: int  # listener: 2525 main, 2526 delay_reject=no, 2527 postscreen, 2528 all.test, 2529 dead.test
    stage: str | None  # SMTP stage logged; None for cleanup's header/body checks (no stage logged)
    code: int | None  # reply code; None where Postfix logs none (cleanup, postscreen CONNECT)
    restriction: str  # what fired, in Postfix's words (documentation; see classes)
    classes: frozenset[str]  # restriction_class values the log text allows
    why: str
    daemon: str = "smtpd"


def _r(client, port, stage, code, restriction, classes, why, daemon="smtpd") -> Reject:
    if isinstance(classes, str):
        classes = frozenset({classes})
    return Reject("127.0.0." + str(client), port, stage, code, restriction, frozenset(classes), why, daemon)


# Every refusing decision (reject or defer) of the mx instance, one entry per logged line.
# Order follows the harness's traffic section.
REJECTS: tuple[Reject, ...] = (
    # --- "normal deliveries" from mynetworks: permitted everywhere, but smtpd's unlisted-recipient
    # check refuses domains routed to error:/retry: (transport_maps), at RCPT
    _r(1, 2525, "RCPT", 550, "reject_unlisted_recipient", SITE_TEXT_RCPT, "x@blackhole.example.net -> error:5.1.1"),
    _r(1, 2525, "RCPT", 450, "reject_unlisted_recipient", SITE_TEXT_RCPT, "y@tempfail.example.net -> retry:4.4.1"),
    # --- RBL / RHSBL / access maps on 2525 (smtpd_delay_reject=yes: everything at RCPT)
    _r(10, 2525, "RCPT", 554, "reject_rbl_client", "rbl", "rbl.test lists .10"),
    _r(11, 2525, "RCPT", 554, "reject_rbl_client", "rbl", "rbl.test lists .11"),
    _r(15, 2525, "RCPT", 554, "reject_rbl_client", "rbl", "rbl.test lists .15 (A 127.0.0.4, no TXT)"),
    _r(2, 2525, "RCPT", 554, "reject_rbl_client", "rbl", "rbl.test lists .2"),
    _r(42, 2525, "RCPT", 554, "reject_rhsbl_sender", "rhsbl", "from promo@spammer.test"),
    _r(42, 2525, "RCPT", 554, "reject_rhsbl_helo", "rhsbl", "helo bad.test"),
    _r(70, 2525, "RCPT", 554, "check_client_access", "client", "client_access.cidr REJECT"),
    _r(71, 2525, "RCPT", 550, "check_client_access", "client", "client_access.cidr 550 custom"),
    _r(72, 2525, "RCPT", 450, "check_client_access", "client", "client_access.cidr DEFER_IF_PERMIT"),
    # --- helo / sender / recipient
    _r(43, 2525, "RCPT", 501, "reject_invalid_helo_hostname", "helo", "helo bad_helo!name"),
    _r(43, 2525, "RCPT", 504, "reject_non_fqdn_helo_hostname", "helo", "helo localhost"),
    _r(43, 2525, "RCPT", 554, "check_helo_access", "helo", "helo mx.example.com: You are not me"),
    _r(44, 2525, "RCPT", 554, "check_sender_access", "sender", "FORGED: from alice@example.com"),
    _r(44, 2525, "RCPT", 504, "reject_non_fqdn_sender", "sender", "from joe"),
    _r(44, 2525, "RCPT", 450, "reject_unknown_sender_domain", "sender", "from joe@nosuch-domain.test (NXDOMAIN)"),
    _r(46, 2525, "RCPT", 450, "reject_unknown_sender_domain", "sender", "from joe@servfail.test (SERVFAIL)"),
    _r(46, 2525, "RCPT", 554, "reject_unauth_destination", "relay", "to someone@elsewhere.test"),
    _r(46, 2525, "RCPT", 550, "reject_unlisted_recipient", "unknown_user", "to nosuchuser@example.com"),
    _r(47, 2525, "RCPT", 554, "check_recipient_access", SITE_TEXT_RCPT, "to closed@example.com"),
    _r(47, 2525, "RCPT", 554, "check_policy_service", SITE_TEXT_RCPT, "to spamtrap@example.com (policyd REJECT)"),
    _r(47, 2525, "RCPT", 504, "reject_non_fqdn_recipient", "recipient", "to bob"),
    _r(47, 2525, "RCPT", 554, "reject_unauth_destination", "relay", "to bob@nosuch-domain.test (relay check first)"),
    _r(45, 2525, "RCPT", 450, "check_policy_service", SITE_TEXT_RCPT, "policyd DEFER_IF_PERMIT greylisting"),
    _r(48, 2525, "END-OF-MESSAGE", 554, "check_sender_access", "sender", "eod_access: from eod@sender.test"),
    # --- header/body checks (cleanup), REJECT actions only
    _r(22, 2525, None, None, "header_checks", "content", "Subject: cheap viagra now", "cleanup"),
    _r(22, 2525, None, None, "header_checks", "content", "X-Mailer: EvilMailer", "cleanup"),
    _r(22, 2525, None, None, "body_checks", "content", "click here to claim your prize", "cleanup"),
    # --- raw protocol abuse (smtpraw.py)
    _r(83, 2525, "MAIL", 552, "message_size_limit", "size", "sizelimit: MAIL SIZE=99999999"),
    _r(84, 2525, "DATA", 550, "reject_multi_recipient_bounce", "protocol", "multibounce: MAIL FROM:<> + 2 RCPT"),
    _r(85, 2525, "DATA", 503, "reject_unauth_pipelining", "protocol", "unauthpipe: HELO then pipelined MAIL/RCPT/DATA"),
    _r(85, 2525, "VRFY", 550, "reject_unlisted_recipient", "unknown_user", "vrfy nosuchuser@example.com"),
    _r(86, 2525, "ETRN", 554, "reject", ETRN_ACCESS_DENIED, "etrn: smtpd_etrn_restrictions = permit_mynetworks, reject"),
    # --- 2526: smtpd_delay_reject=no, early_client_restrictions
    _r(12, 2526, "CONNECT", 554, "reject_rbl_client", "rbl", "rbl.test lists .12"),
    _r(70, 2526, "CONNECT", 554, "check_client_access", "client", "client_access.cidr REJECT"),
    _r(49, 2526, "CONNECT", 450, "reject_unknown_reverse_client_hostname", "reverse_dns", "no PTR for .49 (dnsd.py)"),
    _r(31, 2526, "CONNECT", 450, "reject_unknown_client_hostname", "reverse_dns", "PTR nxptr.outside.test has no A"),
    # swaks falls back to HELO when EHLO is refused: two lines for one session (checked against the raw log too)
    _r(26, 2526, "EHLO", 504, "reject_non_fqdn_helo_hostname", "helo", "EHLO localhost"),
    _r(26, 2526, "HELO", 504, "reject_non_fqdn_helo_hostname", "helo", "HELO localhost (swaks retry)"),
    _r(26, 2526, "MAIL", 504, "reject_non_fqdn_sender", "sender", "from joe"),
    _r(26, 2526, "MAIL", 554, "reject_rhsbl_sender", "rhsbl", "from promo@spammer.test"),
    _r(27, 2526, "MAIL", 450, "reject_unknown_sender_domain", "sender", "from joe@nosuch-domain.test"),
    _r(27, 2526, "MAIL", 554, "check_sender_access", "sender", "FORGED: from alice@example.com"),
    _r(27, 2526, "RCPT", 554, "reject_unauth_destination", "relay", "to someone@elsewhere.test"),
    # --- 2528: reject_rbl_client all.test (lists everything); .1 is permit_mynetworks
    _r(20, 2528, "RCPT", 554, "reject_rbl_client", "rbl", "all.test"),
    _r(40, 2528, "RCPT", 554, "reject_rbl_client", "rbl", "all.test"),
    _r(41, 2528, "RCPT", 554, "reject_rbl_client", "rbl", "all.test"),
    _r(50, 2528, "RCPT", 554, "reject_rbl_client", "rbl", "all.test"),
    # --- 2527 postscreen (dnsbl threshold 3, rbl.test weight 3; deep tests enabled, action enforce)
    _r(13, 2527, "RCPT", 550, "postscreen_dnsbl_sites", "rbl", "rbl.test=127.0.0.[2..4]*3 reaches threshold 3", "postscreen"),
    _r(61, 2527, "RCPT", 450, "postscreen deep protocol tests", "greylist", "first session of a new client", "postscreen"),
    _r(62, 2527, "RCPT", 550, "postscreen_greet_action enforce", "protocol", "PREGREET", "postscreen"),
    _r(63, 2527, "RCPT", 550, "postscreen_pipelining_action enforce", "protocol", "COMMAND PIPELINING", "postscreen"),
    # 5 concurrent connections, postscreen_client_connection_count_limit = 2: 3 refused
    *(_r(66, 2527, "CONNECT", None, "postscreen_client_connection_count_limit", "limit", "too many connections", "postscreen")
      for _ in range(5 - 2)),
)


def rejects_by_client() -> dict[str, list[Reject]]:
    out: dict[str, list[Reject]] = {}
    for r in REJECTS:
        out.setdefault(r.client, []).append(r)
    return out


# RBL rejects per zone (smtpd reject_rbl_client / reject_rhsbl_*, postscreen dnsbl)
RBL_REJECTS = {
    "rbl.test": Counter({"127.0.0.2": 1, "127.0.0.10": 1, "127.0.0.11": 1, "127.0.0.15": 1, "127.0.0.12": 1, "127.0.0.13": 1}),
    "rhsbl.test": Counter({"127.0.0.42": 2, "127.0.0.26": 1}),
    "all.test": Counter({"127.0.0.20": 1, "127.0.0.40": 1, "127.0.0.41": 1, "127.0.0.50": 1}),
}
RHSBL_CLASSES = Counter({"rhsbl_sender": 2, "rhsbl_helo": 1})  # .42 sender + helo, .26 sender

# harness: `for i in 20 40 41 50; do SW 127.0.0.$i 2528 ...` and `SW 127.0.0.1 2528` (mynetworks)
ALLTEST_OUTSIDE = frozenset({"127.0.0.20", "127.0.0.40", "127.0.0.41", "127.0.0.50"})

# DNS lookup errors (fail-open, no rejects). smtpd on 2529 looks up dead.test and servfail.test once
# per session (`for i in 21 42 43`). postscreen looks up every zone of postscreen_dnsbl_sites for each
# new client it screens: not .70 (denylisted), .60 and .1 (allowlisted), not .61's second session
# (PASS OLD); .66's five connections: three refused before any lookup, two share one lookup.
DEAD_ZONES = ("dead.test", "servfail.test")
LOOKUP_ERRORS_SMTPD = frozenset({"127.0.0.21", "127.0.0.42", "127.0.0.43"})
LOOKUP_ERRORS_POSTSCREEN = frozenset({"127.0.0.13", "127.0.0.61", "127.0.0.62", "127.0.0.63", "127.0.0.64", "127.0.0.65", "127.0.0.66"})
LOOKUP_ERRORS_EXACT_ONE = LOOKUP_ERRORS_SMTPD | (LOOKUP_ERRORS_POSTSCREEN - {"127.0.0.66"})  # .66: timing, >= 1

# postscreen: DNSBL rank of .13 = rbl.test weight 3 (dead/servfail add nothing); dnsd.py answers 127.0.0.2
PS_DNSBL_RANK = {"127.0.0.13": 3}
PS_LISTING = ("127.0.0.13", "rbl.test", "127.0.0.2")


# Forged local sender: envelope sender in a local domain from an unauthenticated outside client,
# refused by check_sender_access (sender_access: "example.com REJECT Forged local sender ...").
@dataclass(frozen=True)
class Forged:
    client: str
    stage: str
    sender: str
    recipient: str | None


FORGED = (
    Forged("127.0.0.44", "RCPT", "alice@example.com", "bob@example.com"),  # 2525, delay_reject: at RCPT
    Forged("127.0.0.27", "MAIL", "alice@example.com", None),  # 2526, delay_reject=no: at MAIL, no to=
)


# Anvil limit warnings (smtpd "warning: <what> limit exceeded: N from ..."): anvil counts the current
# event, so the first refused one is limit+1.
@dataclass(frozen=True)
class LimitRun:
    client: str
    metric: str
    sent: int  # events the client produced within anvil_rate_time_unit (or held at once)
    exact_values: bool  # False where timing decides the logged count

    @property
    def limit(self) -> int:
        return LIMITS[self.metric]

    @property
    def refused(self) -> int:
        return self.sent - self.limit

    @property
    def values(self) -> list[int]:  # rates: limit+1 .. sent
        return list(range(self.limit + 1, self.sent + 1))


LIMIT_RUNS = (
    LimitRun("127.0.0.50", "connection_rate", 16, True),  # smtpraw sc_burst(n=16)
    # sc_concurrent(n=5): 5 held at once, 2 refused; each refused one sees 3 held + itself = 4
    # (5 if the previous refused one has not gone yet)
    LimitRun("127.0.0.51", "connection_count", 5, False),
    LimitRun("127.0.0.52", "message_rate", 6, True),  # sc_msgrate: 6 MAIL commands
    LimitRun("127.0.0.54", "recipient_rate", 16, True),  # sc_rcptrate: 16 RCPT commands
)

# anvil statistics: the run's peak per metric (anvil reports peaks every anvil_status_update_time and
# at `postfix reload`), each on the main listener, for the abusive client of that metric.
ANVIL_PEAKS = {
    "connection_rate": ("127.0.0.50", 16),
    "connection_count": ("127.0.0.51", (4, 5)),  # see sc_concurrent above
    "message_rate": ("127.0.0.52", 6),
    "recipient_rate": ("127.0.0.54", 16),
}

# cleanup actions that do not refuse (header_checks/body_checks WARN HOLD DISCARD REDIRECT INFO PREPEND
# FILTER, logged by cleanup as the lower-case word, WARN as "warning") and smtpd sender_access
# DISCARD/HOLD. Client -> Counter of action.
CONTENT_ACTIONS = {
    "127.0.0.23": Counter({"warning": 1, "hold": 1, "discard": 1}),
    "127.0.0.24": Counter({"redirect": 1, "info": 1, "prepend": 1}),
    "127.0.0.25": Counter({"filter": 1, "discard": 1, "warning": 1}),
}
SENDER_ACCESS_NONREFUSING = {"127.0.0.48": Counter({"discard": 1, "hold": 1})}

# The loopback "remote MX" (master.cf 2626, syslog_name postfix/sink): sink_recipient_access refuses
# bounce.example.net once (then the mail bounces) and greylist.example.net on every retry until the
# message expires (maximal_queue_lifetime 40s; how many retries depends on queue-run timing).
SINK_SERVICE = "postfix/sink"
SINK_BOUNCE = ("gone@bounce.example.net", 554)
SINK_GREYLIST = ("later@greylist.example.net", 450)

# amavis run (WITH_AMAVIS=1): three messages into 127.0.0.1:2530, content_filter smtp-amavis.
# amavisd.conf: spam -> D_DISCARD, banned -> D_REJECT, clean -> passed and re-injected on :10025.
AMAVIS_VERDICTS = Counter({
    ("127.0.0.90", "Passed", "CLEAN", "alice@example.com"): 1,
    ("127.0.0.90", "Blocked", "SPAM", "bob@example.com"): 1,  # GTUBE body
    ("127.0.0.91", "Blocked", "BANNED", "alice@example.com"): 1,  # invoice.exe
})
AMAVIS_REINJECTED = ("127.0.0.90", "alice@example.com")  # only the clean one comes back through :10025
