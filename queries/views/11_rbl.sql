-- Views over DNS blocklist activity.
--
-- `rbl_hits`: rejects (and reject_warnings) that name a blocklist zone, from smtpd
--   (reject_rbl_client, reject_rhsbl_*) and postscreen (postscreen_dnsbl_sites).
--   Grain: one row per decision line. Columns: as `rejects` (ts UTC, client_ip, client_net,
--   rbl_zone, rbl_class, rbl_txt, action, refused, code ...).
--
-- `dnsbl_listings`: dnsblog's "addr IP listed by domain ZONE as A" lines (postscreen lookups).
--   Grain: one row per A record answered. Columns: ts (UTC), host, pid, source, line_no, client_ip,
--   client_net, rbl_zone, rbl_reply (the A record), error_code (true for 127.255.255.x: the list
--   refuses the query, e.g. Spamhaus through a public resolver).
--
-- `rbl_lookup_errors`: blocklist lookups that failed: smtpd "warning: <q>: RBL lookup error",
--   dnsblog "lookup error for DNS query", postscreen "dnsblog reply timeout Ns for ZONE".
--   Grain: one row per warning. Columns: ts (UTC), host, program, daemon, pid, source, line_no, kind,
--   client_ip (rebuilt from the query name; null for timeouts), rbl_zone, rbl_class,
--   error ('timeout' for postscreen timeouts, 'try_again' for "try again" (SERVFAIL or no answer),
--   'other'), detail.
-- Parameters: none.
create or replace view rbl_hits as
select * from rejects where rbl_zone is not null;

create or replace view dnsbl_listings as
select
    ts, host, pid, source, line_no, client_ip, ls_client_net(client_ip) as client_net,
    lower(rbl_zone) as rbl_zone, rbl_reply,
    coalesce(rbl_reply like '127.255.255.%', false) as error_code
from events
where kind = 'dnsbl_listing';

create or replace view rbl_lookup_errors as
select
    ts, host, program, daemon, pid, source, line_no, kind, client_ip, lower(rbl_zone) as rbl_zone, rbl_class,
    case
        when kind = 'rbl_timeout' then 'timeout'
        when detail ilike '%try again%' then 'try_again'
        else 'other'
    end as error,
    detail
from events
where kind in ('rbl_lookup_error', 'rbl_timeout');
