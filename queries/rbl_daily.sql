-- Blocklist hit rate per zone and day: does a zone suddenly list (nearly) everyone?
-- Grain: one row per (zone, UTC day) with exposure. Columns: rbl_zone, day (date, UTC),
--   seen_clients (outside clients the zone was consulted for that day, see view rbl_population and query rbl_exposure),
--   hit_clients (of those, clients it hit or listed that day), hit_rate (0..1).
-- Parameters: $since, $until (timestamps, optional; UTC), $inside_lo, $inside_hi (lists of BIGINT:
--   IPv4 ranges of inside clients; default 127.0.0.1 only).
with
inside_ranges as (
    select unnest(coalesce($inside_lo, [2130706433::bigint])) as lo, unnest(coalesce($inside_hi, [2130706433::bigint])) as hi
),
pop as (
    select distinct service, host, mask, client_ip, cast(epoch_us(ts) // 86400000000 as integer) as dayno from rbl_population
    where screened and client_ip is not null and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
expo as materialized (
    select distinct s.rbl_zone, date '1970-01-01' + p.dayno as day, p.client_ip
    from pop p
    join rbl_zone_scope s on s.host = p.host and s.service = p.service
    join rbl_zone_index i on i.rbl_zone = s.rbl_zone
    where p.mask = 0 or i.bit >= 62 or ((p.mask >> i.bit) & 1) = 1
),
hit as (
    select distinct lower(rbl_zone) as rbl_zone, date '1970-01-01' + cast(epoch_us(ts) // 86400000000 as integer) as day, client_ip from rbl_hits
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
    union
    select distinct rbl_zone, date '1970-01-01' + cast(epoch_us(ts) // 86400000000 as integer) as day, client_ip from dnsbl_listings
    where not error_code and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
outside as (
    select client_ip from (select distinct client_ip from expo)
    where client_ip <> '::1' and not exists (select 1 from inside_ranges r where ls_ip4_int(client_ip) between r.lo and r.hi)
)
select
    x.rbl_zone, x.day,
    count(distinct x.client_ip) as seen_clients,
    count(distinct h.client_ip) as hit_clients,
    count(distinct h.client_ip) / count(distinct x.client_ip) as hit_rate
from expo x
join outside o on x.client_ip = o.client_ip
left join hit h on h.rbl_zone = x.rbl_zone and h.day = x.day and h.client_ip = x.client_ip
group by x.rbl_zone, x.day
order by x.rbl_zone, x.day
