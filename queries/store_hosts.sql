-- Which hosts logged, and over what time span.
-- Grain: one row per syslog host. Columns: host, events, first_ts, last_ts (UTC).
-- Parameters: none.
select
    host,
    count(*) as events,
    min(ts) as first_ts,
    max(ts) as last_ts
from events
group by host
order by events desc, host
