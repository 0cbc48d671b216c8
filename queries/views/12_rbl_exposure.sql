-- View `rbl_exposure`: the connections each blocklist zone was consulted for, as far as the log shows.
-- Postfix logs nothing for a lookup that found no listing, so the population a zone "sees" is inferred:
--   smtpd:      connect lines of the same smtpd process (host, pid) during the span in which that
--               process logged hits or lookup errors for the zone (spans split at 10-minute gaps, widened
--               by 60 s so the connect of the first hit's own session counts). A process serves one
--               master.cf service, so this finds zones set with `-o smtpd_client_restrictions=...` too.
--   postscreen: every postscreen CONNECT on a host where dnsblog or postscreen named the zone, except
--               clients that were only ever allowlisted or denylisted (they are not looked up).
-- Grain: one row per (zone, connection). Columns: rbl_zone, via ('smtpd' | 'postscreen'), host, pid,
--   ts (UTC, of the connect line), client_ip, client_net.
-- Parameters: none; filter on ts.
create or replace view rbl_exposure as
with zev as (
    select lower(rbl_zone) as rbl_zone, host, pid, ts from rbl_hits where daemon = 'smtpd'
    union all
    select rbl_zone, host, pid, ts from rbl_lookup_errors where daemon = 'smtpd' and rbl_zone is not null
),
gaps as (
    select *, case when ts - lag(ts) over (partition by rbl_zone, host, pid order by ts) > interval 10 minute then 1 else 0 end as new_span
    from zev
),
spans as (
    select *, sum(new_span) over (partition by rbl_zone, host, pid order by ts rows unbounded preceding) as span
    from gaps
),
windows as (
    select rbl_zone, host, pid, min(ts) - interval 60 second as t0, max(ts) + interval 60 second as t1
    from spans
    group by rbl_zone, host, pid, span
),
ps_zones as (
    select distinct rbl_zone, host from dnsbl_listings
    union
    select distinct rbl_zone, host from rbl_lookup_errors where daemon <> 'smtpd' and rbl_zone is not null
    union
    select distinct lower(rbl_zone), host from rbl_hits where daemon = 'postscreen'
),
ps_listed_only as (
    select host, client_ip from events where kind in ('ps_allowlisted', 'ps_denylisted')
    except
    select host, client_ip from events where kind in ('ps_pass', 'ps_dnsbl_rank', 'ps_pregreet', 'ps_hangup', 'ps_command_violation')
)
select w.rbl_zone, 'smtpd' as via, c.host, c.pid, c.ts, c.client_ip, ls_client_net(c.client_ip) as client_net
from events c
join windows w on c.host = w.host and c.pid = w.pid and c.ts between w.t0 and w.t1
where c.kind = 'connect' and c.daemon = 'smtpd'
union all
select z.rbl_zone, 'postscreen' as via, c.host, c.pid, c.ts, c.client_ip, ls_client_net(c.client_ip) as client_net
from events c
join ps_zones z on c.host = z.host
where c.kind = 'ps_connect'
  and not exists (select 1 from ps_listed_only o where o.host = c.host and o.client_ip = c.client_ip);

-- View `client_mail`: mail that smtpd accepted from a client (a queue file was created), with whether
-- the client had authenticated and whether that message was refused later (END-OF-MESSAGE, milter,
-- header/body checks).
-- Grain: one row per `<QID>: client=` line. Columns: ts (UTC), host, queue_id, client_host, client_ip,
--   client_net, sasl_username, authenticated, refused_later, accepted (not refused later).
create or replace view client_mail as
with refused_q as (
    select distinct queue_id from rejects where refused and queue_id is not null
)
select
    e.ts, e.host, e.queue_id, e.client_host, e.client_ip, ls_client_net(e.client_ip) as client_net,
    e.sasl_username, e.sasl_username is not null as authenticated,
    r.queue_id is not null as refused_later,
    r.queue_id is null as accepted
from events e
left join refused_q r on e.queue_id = r.queue_id
where e.kind = 'client' and e.daemon = 'smtpd' and e.queue_id is not null;
