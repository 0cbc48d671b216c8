"""What a main.cf says about restrictions and blocklists, for the rejects and rbl insights.

Reads :class:`logscope.postconf.MainCf` (``--main-cf``) as written (raw values, not
expanded), because the fixes logscope proposes are ``postconf -e`` edits of those very
values. Restriction lists are every parameter named ``*_restrictions`` (including custom
ones that master.cf ``-o`` overrides refer to, such as ``$early_client_restrictions``),
the classes in ``smtpd_restriction_classes``, and ``postscreen_dnsbl_sites``.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass

from . import postconf_edit

# restriction -> takes one argument (a table, a zone, a policy endpoint ...)
TAKES_ARG = {
    "check_client_access", "check_client_a_access", "check_client_mx_access", "check_client_ns_access",
    "check_reverse_client_hostname_access", "check_reverse_client_hostname_a_access",
    "check_reverse_client_hostname_mx_access", "check_reverse_client_hostname_ns_access",
    "check_helo_access", "check_helo_a_access", "check_helo_mx_access", "check_helo_ns_access",
    "check_sender_access", "check_sender_a_access", "check_sender_mx_access", "check_sender_ns_access",
    "check_recipient_access", "check_recipient_a_access", "check_recipient_mx_access", "check_recipient_ns_access",
    "check_etrn_access", "check_ccert_access", "check_sasl_access", "check_policy_service",
    "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_helo", "reject_rhsbl_sender",
    "reject_rhsbl_recipient", "reject_rhsbl_reverse_client", "permit_dnswl_client", "permit_rhswl_client",
    "reject_rbl",
}
RBL_RESTRICTIONS = (
    "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_helo", "reject_rhsbl_sender",
    "reject_rhsbl_recipient", "reject_rhsbl_reverse_client", "permit_dnswl_client", "permit_rhswl_client",
    "reject_rbl",
)
# restrictions that take no argument (Postfix 3.x smtpd_check.c and postconf(5))
NO_ARG = {
    "permit", "reject", "defer", "defer_if_permit", "defer_if_reject", "warn_if_reject", "sleep",
    "permit_mynetworks", "permit_sasl_authenticated", "permit_tls_clientcerts", "permit_tls_all_clientcerts",
    "permit_inet_interfaces", "permit_auth_destination", "permit_mx_backup", "permit_naked_ip_address",
    "reject_unauth_destination", "defer_unauth_destination", "reject_unauth_pipelining",
    "reject_multi_recipient_bounce", "reject_plaintext_session", "reject_unknown_client_hostname",
    "reject_unknown_reverse_client_hostname", "reject_unknown_forward_client_hostname", "reject_unknown_client",
    "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname", "reject_unknown_helo_hostname",
    "reject_invalid_hostname", "reject_non_fqdn_hostname", "reject_unknown_hostname",
    "reject_non_fqdn_sender", "reject_unknown_sender_domain", "reject_unlisted_sender",
    "reject_unverified_sender", "reject_sender_login_mismatch", "reject_authenticated_sender_login_mismatch",
    "reject_known_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch",
    "reject_non_fqdn_recipient", "reject_unknown_recipient_domain", "reject_unlisted_recipient",
    "reject_unverified_recipient", "check_relay_domains", "reject_maps_rbl",
}
KNOWN = NO_ARG | TAKES_ARG

# removed in Postfix 3.9 (DEPRECATION_README): they now log a warning and answer
# "451 4.3.5 Server configuration error"; before 3.9 they logged a deprecation warning.
REMOVED = {
    "check_relay_domains": "reject_unauth_destination (with permit_mynetworks, permit_sasl_authenticated before it)",
    "reject_maps_rbl": "reject_rbl_client <zone> (one per zone that maps_rbl_domains lists)",
    "permit_naked_ip_address": "nothing (HELO with a bare IP address violates the RFC; use permit_mynetworks or permit_sasl_authenticated for your own clients)",
}
# old names that still work
RENAMED = {
    "reject_unknown_client": "reject_unknown_client_hostname",
    "reject_invalid_hostname": "reject_invalid_helo_hostname",
    "reject_non_fqdn_hostname": "reject_non_fqdn_helo_hostname",
    "reject_unknown_hostname": "reject_unknown_helo_hostname",
    "reject_rbl": "reject_rbl_client",
    "permit_mx_backup": "relay_domains with a recipient table (permit_mx_backup logs a deprecation warning since Postfix 3.9)",
}
# parameters: misspelled -> right, obsolete -> replacement
PARAM_RENAMED = {
    "maps_rbl_domains": "reject_rbl_client <zone> in a restriction list (maps_rbl_domains is used only by the removed reject_maps_rbl)",
    "maps_rbl_reject_code": "rbl_reply_maps or default_rbl_reply",
    "smtpd_client_connection_limit_exceptions": "smtpd_client_event_limit_exceptions",
    "fallback_relay": "smtp_fallback_relay",
    "virtual_maps": "virtual_alias_maps",
    "disable_dns_lookups": "smtp_dns_support_level",
    "smtpd_use_tls": "smtpd_tls_security_level = may",
    "smtpd_enforce_tls": "smtpd_tls_security_level = encrypt",
    "smtp_use_tls": "smtp_tls_security_level = may",
    "smtp_enforce_tls": "smtp_tls_security_level = encrypt",
    "smtp_tls_per_site": "smtp_tls_policy_maps",
    "smtpd_tls_dh1024_param_file": "nothing (OpenSSL's built-in groups; remove the setting)",
}
_LIST_TYPO = re.compile(r"^smtpd_(client|helo|sender|recipient|relay|data|end_of_data|etrn)_restriction$")
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Site:
    """One blocklist as configured."""

    zone: str
    restriction: str  # reject_rbl_client ... or postscreen_dnsbl_sites
    reply_filter: str | None
    weight: int | None
    parameter: str
    line: int | None
    standard: bool  # a Postfix parameter (not a custom list that master.cf refers to)

    def as_dict(self) -> dict:
        return {
            "parameter": self.parameter,
            "restriction": self.restriction,
            "reply_filter": self.reply_filter,
            "weight": self.weight,
            "line": self.line,
            "custom_list": not self.standard,
        }


STANDARD_LISTS = {
    "smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
    "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions", "postscreen_dnsbl_sites",
}


def words(raw: str | None) -> list[str]:
    return [w for w in _SPLIT.split(raw or "") if w]


def restriction_lists(cf) -> dict[str, list[str]]:
    """Parameter -> its words (raw), for every list of restrictions in the file."""
    classes = set(words(cf.params.get("smtpd_restriction_classes")))
    out = {}
    for name, raw in cf.params.items():
        if name.endswith("_restrictions") or name in classes or _LIST_TYPO.match(name):
            out[name] = words(raw)
    return out


def sites(cf) -> list[Site]:
    out: list[Site] = []
    for name, ws in restriction_lists(cf).items():
        for i, w in enumerate(ws[:-1]):
            if w.lower() in RBL_RESTRICTIONS:
                zone, _, flt = ws[i + 1].partition("=")
                if zone.startswith("$"):
                    continue
                out.append(Site(zone.lower(), w.lower(), flt or None, None, name, cf.lines.get(name), name in STANDARD_LISTS))
    for w in words(cf.params.get("postscreen_dnsbl_sites")):
        m = re.match(r"^([^=*\s]+)(?:=([^*\s]+))?(?:\*(-?\d+))?$", w)
        if m and not m.group(1).startswith("$"):
            out.append(Site(m.group(1).lower(), "postscreen_dnsbl_sites", m.group(2), int(m.group(3) or 1),
                            "postscreen_dnsbl_sites", cf.lines.get("postscreen_dnsbl_sites"), True))
    return out


def inside_ranges(cf) -> tuple[list[int], list[int]]:
    """IPv4 ranges of mynetworks as (lo, hi) lists; 127.0.0.1 when no config."""
    nets = cf.mynetworks() if cf is not None else []
    lo, hi = [], []
    for n in nets:
        if isinstance(n, ipaddress.IPv4Network):
            lo.append(int(n.network_address))
            hi.append(int(n.broadcast_address))
    if not lo:
        lo, hi = [int(ipaddress.IPv4Address("127.0.0.1"))], [int(ipaddress.IPv4Address("127.0.0.1"))]
    return lo, hi


def items(ws: list[str]) -> list[list[str]]:
    """Group a list's words into restrictions with their argument: [[reject_rbl_client, zone], [permit]]."""
    out, i = [], 0
    while i < len(ws):
        if ws[i].lower() in TAKES_ARG and i + 1 < len(ws):
            out.append([ws[i], ws[i + 1]])
            i += 2
        else:
            out.append([ws[i]])
            i += 1
    return out


def _join(its: list[list[str]]) -> str:
    return ", ".join(" ".join(it) for it in its)


def _is_zone(parameter: str, it: list[str], zone: str) -> bool:
    if parameter == "postscreen_dnsbl_sites":
        return re.split(r"[=*]", it[0], maxsplit=1)[0].lower() == zone
    return len(it) == 2 and it[0].lower() in RBL_RESTRICTIONS and it[1].partition("=")[0].lower() == zone


def edit_without(cf, parameter: str, zone: str) -> str | None:
    """``postconf -e`` that removes the zone (and its restriction word) from ``parameter``."""
    raw = cf.params.get(parameter)
    if raw is None:
        return None
    its = items(words(raw))
    kept = [it for it in its if not _is_zone(parameter, it, zone)]
    if len(kept) == len(its):
        return None
    return postconf_edit(parameter, _join(kept))


def edit_with_filter(cf, parameter: str, zone: str, reply_filter: str) -> str | None:
    """``postconf -e`` that adds ``=reply_filter`` to the zone in ``parameter``."""
    raw = cf.params.get(parameter)
    if raw is None:
        return None
    its = items(words(raw))
    changed = False
    for it in its:
        if not _is_zone(parameter, it, zone):
            continue
        if parameter == "postscreen_dnsbl_sites":
            m = re.match(r"^([^=*\s]+)(?:=([^*\s]+))?(\*-?\d+)?$", it[0])
            it[0] = f"{m.group(1)}={reply_filter}{m.group(3) or ''}"
        else:
            it[1] = f"{it[1].partition('=')[0]}={reply_filter}"
        changed = True
    return postconf_edit(parameter, _join(its)) if changed else None


def suggest(word: str, vocabulary=KNOWN) -> str | None:
    m = difflib.get_close_matches(word.lower(), sorted(vocabulary), n=1, cutoff=0.75)
    return m[0] if m else None


def param_problems(cf) -> list[dict]:
    """Misspelled or obsolete parameter names: [{parameter, line, problem, replacement}]."""
    out = []
    for name in cf.params:
        if _LIST_TYPO.match(name):
            out.append({"parameter": name, "line": cf.lines.get(name), "problem": "misspelled", "replacement": name + "s"})
        elif name in PARAM_RENAMED:
            out.append({"parameter": name, "line": cf.lines.get(name), "problem": "obsolete", "replacement": PARAM_RENAMED[name]})
    return out


def restriction_problems(cf) -> list[dict]:
    """Unknown, removed and renamed restriction names in the restriction lists.

    [{parameter, line, word, problem (unknown | removed | renamed), replacement}]
    """
    classes = set(words(cf.params.get("smtpd_restriction_classes")))
    out = []
    for name, ws in restriction_lists(cf).items():
        if name == "postscreen_dnsbl_sites":
            continue
        i = 0
        while i < len(ws):
            w = ws[i]
            lw = w.lower()
            if lw in TAKES_ARG:
                i += 2
                continue
            i += 1
            if w.startswith("$") or ":" in w or w in classes or lw in ("warn_if_reject",):
                continue
            if lw in REMOVED:
                out.append({"parameter": name, "line": cf.lines.get(name), "word": w, "problem": "removed", "replacement": REMOVED[lw]})
            elif lw in RENAMED:
                out.append({"parameter": name, "line": cf.lines.get(name), "word": w, "problem": "renamed", "replacement": RENAMED[lw]})
            elif lw not in KNOWN:
                out.append({"parameter": name, "line": cf.lines.get(name), "word": w, "problem": "unknown", "replacement": suggest(lw)})
    return out


def replace_word(cf, parameter: str, word: str, replacement: str | None) -> str | None:
    """``postconf -e`` that replaces (or, with None, removes) one word of a restriction list."""
    raw = cf.params.get(parameter)
    if raw is None:
        return None
    out = []
    for it in items(words(raw)):
        if it[0] == word:
            if replacement:
                out.append([replacement] + it[1:])
            continue
        out.append(it)
    return postconf_edit(parameter, _join(out))


def combined_edits(cf, remove: set[str], filters: dict[str, str]) -> list[str]:
    """One ``postconf -e`` per parameter applying every removal and reply filter at once
    (the per-zone edits each start from the file as it is, so they must not be chained)."""
    out = []
    for name, raw in cf.params.items():
        if not (name.endswith("_restrictions") or name == "postscreen_dnsbl_sites"
                or name in set(words(cf.params.get("smtpd_restriction_classes")))):
            continue
        its = items(words(raw))
        new = []
        changed = False
        for it in its:
            zone = next((z for z in remove if _is_zone(name, it, z)), None)
            if zone is not None:
                changed = True
                continue
            zone = next((z for z in filters if _is_zone(name, it, z)), None)
            if zone is not None:
                it = list(it)
                if name == "postscreen_dnsbl_sites":
                    m = re.match(r"^([^=*\s]+)(?:=([^*\s]+))?(\*-?\d+)?$", it[0])
                    it[0] = f"{m.group(1)}={filters[zone]}{m.group(3) or ''}"
                else:
                    it[1] = f"{it[1].partition('=')[0]}={filters[zone]}"
                changed = True
            new.append(it)
        if changed:
            out.append(postconf_edit(name, _join(new)))
    return out
