-- postscreen DNSBL rank: which dnsblog listings made up each "DNSBL rank N for [ip]:port".
-- Grain: one row per zone that listed at least one ranked client. Columns: rbl_zone,
--   ranked_clients (distinct clients postscreen ranked, all zones), ranks (rank lines whose client
--   this zone listed in the 60 s before), rank_sum (sum of those ranks), max_rank, min_rank,
--   replies (distinct A records it answered for them), only_zone (rank lines where it was the only
--   listing zone), inferred_weight (the most frequent rank when it was the only listing zone: its
--   weight in postscreen_dnsbl_sites), total_rank_sum (sum of all rank lines, every zone),
--   postscreen_rejects (postscreen rejects naming the zone: the top contributor).
--   With the zone weights from postscreen_dnsbl_sites, weight * ranks / rank_sum is the zone's
--   share of the total rank (logscope rbl computes it when --main-cf is given).
-- Parameters: $since, $until (timestamps, optional; UTC).
with
rk as (
    select host, client_ip, ts, value as rank from events
    where kind = 'ps_dnsbl_rank' and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
lst as (
    select host, client_ip, ts, rbl_zone, rbl_reply from dnsbl_listings
    where not error_code
      and ($since is null or ts >= cast($since as timestamptz) - interval 60 second) and ($until is null or ts < $until)
),
m as (
    select rk.host, rk.client_ip, rk.ts, rk.rank, l.rbl_zone, l.rbl_reply
    from rk join lst l
      on l.host = rk.host and l.client_ip = rk.client_ip and l.ts between rk.ts - interval 60 second and rk.ts
),
per_rank as (
    select host, client_ip, ts, count(distinct rbl_zone) as zones from m group by all
),
ps as (
    select lower(rbl_zone) as rbl_zone, count(*) as postscreen_rejects from rbl_hits
    where daemon = 'postscreen' and refused and ($since is null or ts >= $since) and ($until is null or ts < $until)
    group by 1
)
select
    m.rbl_zone,
    (select count(distinct client_ip) from rk) as ranked_clients,
    count(distinct (m.host, m.client_ip, m.ts)) as ranks,
    sum(m.rank) filter (where m.first_of_rank) as rank_sum,
    max(m.rank) as max_rank,
    min(m.rank) as min_rank,
    list(distinct m.rbl_reply) as replies,
    count(distinct (m.host, m.client_ip, m.ts)) filter (where p.zones = 1) as only_zone,
    mode(m.rank) filter (where p.zones = 1 and m.first_of_rank) as inferred_weight,
    (select sum(rank) from rk) as total_rank_sum,
    coalesce(any_value(ps.postscreen_rejects), 0) as postscreen_rejects
from (
    select *, row_number() over (partition by host, client_ip, ts, rbl_zone order by rbl_reply) = 1 as first_of_rank from m
) m
join per_rank p on p.host = m.host and p.client_ip = m.client_ip and p.ts = m.ts
left join ps on ps.rbl_zone = m.rbl_zone
group by m.rbl_zone
order by ranks desc, m.rbl_zone
