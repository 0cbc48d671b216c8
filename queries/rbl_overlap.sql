-- Overlap between blocklist zones: clients that several zones hit or listed.
-- Grain: one row per pair of zones (zone_a < zone_b) with at least one client in common.
-- Columns: zone_a, zone_b, clients_a, clients_b (distinct client IPs each zone hit or listed),
--   both (clients in common), jaccard (both / union, 0..1), same_lookup (clients dnsblog reported
--   listed by both zones within 60 s, i.e. in the same postscreen lookup).
-- Parameters: $since, $until (timestamps, optional; UTC).
with
hc as (
    select distinct lower(rbl_zone) as rbl_zone, client_ip from rbl_hits
    where client_ip is not null and ($since is null or ts >= $since) and ($until is null or ts < $until)
    union
    select distinct rbl_zone, client_ip from dnsbl_listings
    where not error_code and client_ip is not null and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
n as (select rbl_zone, count(*) as clients from hc group by rbl_zone),
pairs as (
    select a.rbl_zone as zone_a, b.rbl_zone as zone_b, count(*) as both
    from hc a join hc b on a.client_ip = b.client_ip and a.rbl_zone < b.rbl_zone
    group by all
),
lst as (
    select rbl_zone, client_ip, ts, host from dnsbl_listings
    where not error_code and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
same as (
    select a.rbl_zone as zone_a, b.rbl_zone as zone_b, count(distinct a.client_ip) as same_lookup
    from lst a join lst b
      on a.client_ip = b.client_ip and a.host = b.host and a.rbl_zone < b.rbl_zone
     and b.ts between a.ts - interval 60 second and a.ts + interval 60 second
    group by all
)
select
    p.zone_a, p.zone_b, na.clients as clients_a, nb.clients as clients_b, p.both,
    p.both / (na.clients + nb.clients - p.both) as jaccard,
    coalesce(s.same_lookup, 0) as same_lookup
from pairs p
join n na on na.rbl_zone = p.zone_a
join n nb on nb.rbl_zone = p.zone_b
left join same s on s.zone_a = p.zone_a and s.zone_b = p.zone_b
order by p.both desc, p.zone_a, p.zone_b
