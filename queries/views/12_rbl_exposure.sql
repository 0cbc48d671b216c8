-- View `rbl_exposure`: the connections each blocklist zone was consulted for, as far as the log shows.
-- Postfix logs nothing for a lookup that found no listing, so the population a zone "sees" is inferred:
--   smtpd:      every connection handled by an smtpd process (host, pid) that logged a hit or a lookup
--               error for the zone during its lifetime. A process serves one master.cf service, so all
--               its clients went through the same restriction lists; this finds zones set with
--               `-o smtpd_client_restrictions=...` too. A process lifetime is the run of its connect
--               lines without a gap over 10 minutes (smtpd exits after max_idle = 100 s; a later
--               process with the same pid starts a new lifetime). Clients that hung up or were
--               refused before the zone's restriction count as seen: hit rates err on the low side.
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
conn as (
    select host, pid, ts, client_ip,
        case when ts - lag(ts) over (partition by host, pid order by ts) > interval 10 minute then 1 else 0 end as brk
    from events
    where kind = 'connect' and daemon = 'smtpd'
),
lives as (
    select *, sum(brk) over (partition by host, pid order by ts rows unbounded preceding) as life from conn
),
spans as (
    select host, pid, life, min(ts) as t0, max(ts) as t1 from lives group by host, pid, life
),
zone_lives as (
    select distinct z.rbl_zone, s.host, s.pid, s.life
    from zev z join spans s on z.host = s.host and z.pid = s.pid and z.ts between s.t0 and s.t1 + interval 10 minute
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
select z.rbl_zone, 'smtpd' as via, c.host, c.pid, c.ts, c.client_ip, ls_client_net(c.client_ip) as client_net
from lives c
join zone_lives z on c.host = z.host and c.pid = z.pid and c.life = z.life
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
