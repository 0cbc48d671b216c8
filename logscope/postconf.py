"""The site's Postfix configuration: a ``main.cf`` or the output of ``postconf -n``.

Both are ``name = value`` lines; main.cf also has comments and continuation
lines (a line that starts with whitespace continues the previous one).
``$name`` and ``${name}`` references are expanded from the file itself and
Postfix's defaults, as far as they can be known without the machine.

Only what logscope uses is interpreted: the restriction lists (with their
``reject_rbl_client`` zones and reply filters), ``mynetworks``, the local
domains, and the anvil and error limits.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

# Postfix defaults for what logscope reads (postconf -d, Postfix 3.7).
DEFAULTS = {
    "smtpd_client_connection_count_limit": "50",
    "smtpd_client_connection_rate_limit": "0",
    "smtpd_client_message_rate_limit": "0",
    "smtpd_client_recipient_rate_limit": "0",
    "smtpd_client_new_tls_session_rate_limit": "0",
    "smtpd_client_auth_rate_limit": "0",
    "smtpd_client_event_limit_exceptions": "${smtpd_client_connection_limit_exceptions:$mynetworks}",
    "anvil_rate_time_unit": "60s",
    "anvil_status_update_time": "600s",
    "smtpd_soft_error_limit": "10",
    "smtpd_hard_error_limit": "${stress?{1}:{20}}",
    "smtpd_error_sleep_time": "1s",
    "smtpd_junk_command_limit": "${stress?{1}:{100}}",
    "unknown_local_recipient_reject_code": "550",
    "smtpd_delay_reject": "yes",
    "mydestination": "$myhostname, localhost.$mydomain, localhost",
    "mynetworks_style": "host",
}

RESTRICTION_LISTS = (
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions",
    "smtpd_etrn_restrictions",
    "postscreen_dnsbl_sites",
)
_RBL_RESTRICTIONS = (
    "reject_rbl_client",
    "reject_rhsbl_client",
    "reject_rhsbl_helo",
    "reject_rhsbl_sender",
    "reject_rhsbl_recipient",
    "reject_rhsbl_reverse_client",
    "permit_dnswl_client",
    "permit_rhswl_client",
    "warn_if_reject",
)
_REF = re.compile(r"\$\{?([A-Za-z0-9_]+)\}?")


@dataclass(frozen=True)
class RblSite:
    """One DNS list as configured: ``reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]``."""

    restriction: str  # reject_rbl_client, reject_rhsbl_sender, postscreen_dnsbl_sites ...
    zone: str
    reply_filter: str | None  # the part after '=' (127.0.0.[2..11])
    parameter: str  # the restriction list it appears in
    weight: int | None = None  # postscreen_dnsbl_sites *N


@dataclass
class MainCf:
    path: str
    params: dict[str, str] = field(default_factory=dict)  # as written, unexpanded
    lines: dict[str, int] = field(default_factory=dict)  # parameter -> line number

    def get(self, name: str, default: str | None = None) -> str | None:
        """A parameter with ``$references`` expanded; Postfix's default when unset."""
        raw = self.params.get(name, DEFAULTS.get(name, default))
        return None if raw is None else self.expand(raw)

    def expand(self, value: str, depth: int = 0) -> str:
        if depth > 10:
            return value
        # ${name?{a}:{b}} conditionals are kept as written except the stress one
        value = re.sub(r"\$\{stress\?\{?([^}:]*)\}?:\{?([^}]*)\}?\}", r"\2", value)
        value = re.sub(r"\$\{([A-Za-z0-9_]+):(\$?[A-Za-z0-9_]+)\}", lambda m: "$" + m.group(1) if m.group(1) in self.params else m.group(2), value)
        return _REF.sub(lambda m: self.expand(self.params.get(m.group(1), DEFAULTS.get(m.group(1), "")), depth + 1), value)

    def set(self) -> set[str]:
        return set(self.params)

    def restrictions(self, name: str) -> list[str]:
        """A restriction list split into words (commas and whitespace separate)."""
        return [w for w in re.split(r"[\s,]+", self.get(name, "") or "") if w]

    def rbl_sites(self) -> list[RblSite]:
        out = []
        for param in RESTRICTION_LISTS:
            words = self.restrictions(param)
            if param == "postscreen_dnsbl_sites":
                for w in words:
                    m = re.match(r"^([^=*\s]+)(?:=([^*\s]+))?(?:\*(-?\d+))?$", w)
                    if m:
                        out.append(RblSite("postscreen_dnsbl_sites", m.group(1), m.group(2), param, int(m.group(3) or 1)))
                continue
            for i, w in enumerate(words[:-1]):
                if w in _RBL_RESTRICTIONS and w != "warn_if_reject":
                    zone, _, flt = words[i + 1].partition("=")
                    out.append(RblSite(w, zone, flt or None, param))
        return out

    def mynetworks(self) -> list[ipaddress._BaseNetwork]:
        nets = []
        for w in re.split(r"[\s,]+", self.get("mynetworks", "") or ""):
            w = w.strip("[]").replace("]/", "/").replace("[", "")
            try:
                nets.append(ipaddress.ip_network(w, strict=False))
            except ValueError:
                continue  # hash:/cidr: tables cannot be read from here
        return nets

    def local_domains(self) -> set[str]:
        """mydestination, virtual_mailbox_domains, virtual_alias_domains, relay_domains and mydomain."""
        out: set[str] = set()
        for p in ("mydestination", "virtual_mailbox_domains", "virtual_alias_domains", "relay_domains"):
            for w in re.split(r"[\s,]+", self.get(p, "") or ""):
                if w and ":" not in w and "/" not in w:
                    out.add(w.lower())
        for p in ("mydomain", "myhostname"):
            v = self.get(p)
            if v:
                out.add(v.lower())
        return out


def load(path: str | Path) -> MainCf:
    """Read a main.cf or ``postconf -n`` output."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror}). Pass /etc/postfix/main.cf or the output of 'postconf -n'.") from exc
    return parse(text, str(p))


def parse(text: str, path: str = "<main.cf>") -> MainCf:
    cf = MainCf(path)
    current: str | None = None
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if current is None:
                raise ConfigError(f"{path}:{no}: continuation line without a parameter before it")
            cf.params[current] += " " + line.strip()
            continue
        name, eq, value = line.partition("=")
        if not eq:
            raise ConfigError(f"{path}:{no}: expected 'name = value', got {line.strip()[:60]!r}")
        current = name.strip()
        cf.params[current] = value.strip()
        cf.lines[current] = no
    if not cf.params:
        raise ConfigError(f"{path}: no 'name = value' lines; is this a main.cf or 'postconf -n' output?")
    return cf
