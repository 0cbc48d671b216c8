-- Views for the population each blocklist zone was consulted for, as far as the log shows.
-- Postfix logs nothing for a lookup that found no listing, so who a zone "saw" is inferred:
--   smtpd:      connections of the same syslog program (postfix/smtpd, postfix/submission/smtpd ...) on
--               the same host, in process-hours (host, program, pid, hour) that either logged a hit or a
--               lookup error for the zone, or logged nothing about any zone (a clean process-hour).
--               Process-hours that logged other zones but never this one belong to another service
--               (a listener with its own `-o smtpd_client_restrictions=...`) and are left out. A process
--               serves one master.cf service, so zones set in master.cf are found from the log alone.
--               Clients that hung up or were refused before the zone's restriction count as seen:
--               hit rates err on the low side.
--   postscreen: postscreen CONNECTs on a host where dnsblog or postscreen named the zone, except
--               clients that were only ever allowlisted or denylisted (they are not looked up).
-- Zones are numbered (`rbl_zone_index.bit`, 0..61) so that a process-hour's zones fit in one BIGINT
-- mask; zones beyond the 62nd are not excluded from other services' process-hours.
-- These views read `events` directly (few nested references keep binding cheap).
--
-- `rbl_zone_events`: smtpd lines that show a zone at work in a process: rbl_zone, host, service
--   (the program), pid, ts (UTC). (Hits and lookup errors.)
-- `rbl_zone_scope`: (rbl_zone, host, service) where the zone acts; service is the smtpd program
--   name or 'postscreen'.
-- `rbl_zone_index`: (rbl_zone, bit).
-- `rbl_population`: one row per smtpd "connect from" and postscreen CONNECT: service (program, or
--   'postscreen'), host, pid, ts (UTC), client_ip, client_net, mask (bits of the zones its
--   process-hour logged; for postscreen the host's postscreen zones; 0 = none), screened (false for
--   postscreen clients that were only allowlisted or denylisted: not looked up).
-- The named query rbl_exposure lists one row per (zone, connection it was consulted for).
-- Parameters: none; filter on ts.
-- (Every view here reads `events` once: binding a nested view re-reads the Parquet footers of every
-- file of the store, so deep nesting makes logscope.open() slow on stores with many files.)
create or replace view rbl_zone_events as
select lower(rbl_zone) as rbl_zone, host, program as service, pid, ts
from events
where daemon = 'smtpd' and rbl_zone is not null
  and ((kind = 'decision' and action is not null and action <> 'permit') or kind = 'rbl_lookup_error');

create or replace view rbl_zone_scope as
select distinct lower(rbl_zone) as rbl_zone, host, case when daemon = 'smtpd' then program else 'postscreen' end as service
from events
where rbl_zone is not null
  and ((kind = 'decision' and daemon in ('smtpd', 'postscreen') and action is not null and action <> 'permit')
       or kind in ('rbl_lookup_error', 'rbl_timeout', 'dnsbl_listing'));

create or replace view rbl_zone_index as
select rbl_zone, cast(dense_rank() over (order by rbl_zone) - 1 as bigint) as bit
from (select distinct rbl_zone from rbl_zone_scope);

create or replace view rbl_population as
with idx as materialized (
    select * from rbl_zone_index
),
unit_masks as (
    select z.host, z.service, z.pid, epoch_us(z.ts) // 3600000000 as hour, bit_or(cast(1 as bigint) << i.bit) as mask
    from rbl_zone_events z join idx i on i.rbl_zone = z.rbl_zone and i.bit < 62
    group by all
),
ps_masks as (
    select s.host, bit_or(cast(1 as bigint) << i.bit) as mask
    from rbl_zone_scope s join idx i on i.rbl_zone = s.rbl_zone and i.bit < 62
    where s.service = 'postscreen'
    group by s.host
),
c as (
    select kind, program, host, pid, ts, client_ip from events
    where (kind = 'connect' and daemon = 'smtpd')
       or kind in ('ps_connect', 'ps_allowlisted', 'ps_denylisted', 'ps_pass', 'ps_dnsbl_rank', 'ps_pregreet',
                   'ps_hangup', 'ps_command_violation')
),
ps_listed_only as (
    select host, client_ip from c where kind in ('ps_allowlisted', 'ps_denylisted')
    except
    select host, client_ip from c where kind in ('ps_pass', 'ps_dnsbl_rank', 'ps_pregreet', 'ps_hangup', 'ps_command_violation')
)
select c.program as service, c.host, c.pid, c.ts, c.client_ip, ls_client_net(c.client_ip) as client_net,
    coalesce(u.mask, 0) as mask, true as screened
from c
left join unit_masks u on u.host = c.host and u.service = c.program and u.pid = c.pid and u.hour = epoch_us(c.ts) // 3600000000
where c.kind = 'connect'
union all
select 'postscreen', c.host, c.pid, c.ts, c.client_ip, ls_client_net(c.client_ip), coalesce(m.mask, 0), o.client_ip is null
from c
left join ps_masks m on m.host = c.host
left join ps_listed_only o on o.host = c.host and o.client_ip = c.client_ip
where c.kind = 'ps_connect';

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
