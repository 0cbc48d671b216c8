-- Per-client peak connection rate: the most smtpd connections one client opened within any window of
-- anvil_rate_time_unit seconds (sliding), for the distribution chart of the report.
-- anvil(8) uses fixed windows anchored at a client's first event, so its peaks can be lower; the
-- sliding peak is an upper bound. Clients in smtpd_client_event_limit_exceptions are not separated
-- here (the tune section does that).
-- Grain: one row per client IP that connected in the period.
-- Columns: client_ip, client_host (any name seen), connections (in the period), peak_rate (max
--   connections within $unit_s seconds), refused (connections refused by a connection count or
--   rate limit), accepted_mail (the client had mail accepted in the period).
-- Parameters: $unit_s (anvil_rate_time_unit in seconds; default 60), $since, $until (timestamps,
--   optional; UTC).
with c as (
    select client_ip, client_host, ts
    from events
    where kind = 'connect' and daemon = 'smtpd' and client_ip is not null
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
w as (
    select client_ip, client_host,
        count(*) over (
            partition by client_ip order by ts
            range between to_microseconds((coalesce($unit_s, 60) * 1000000 - 1)::bigint) preceding and current row
        ) as n
    from c
),
lim as (
    select client_ip, count(*) as refused
    from events
    where kind = 'limit_exceeded' and metric in ('connection_rate', 'connection_count')
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
    group by client_ip
),
acc as (
    select distinct client_ip from events
    where kind = 'client' and daemon = 'smtpd'
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
)
select w.client_ip, any_value(w.client_host) as client_host, count(*) as connections, max(w.n) as peak_rate,
    coalesce(any_value(lim.refused), 0) as refused,
    any_value(acc.client_ip) is not null as accepted_mail
from w
left join lim on lim.client_ip = w.client_ip
left join acc on acc.client_ip = w.client_ip
group by w.client_ip
order by peak_rate desc, connections desc, w.client_ip;
