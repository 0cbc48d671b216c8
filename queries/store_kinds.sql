-- What the store holds: events by daemon and kind.
-- Grain: one row per (daemon, kind). Columns: daemon, kind, events, first_ts, last_ts (UTC).
-- Parameters: $since, $until (timestamps, optional).
select
    daemon,
    kind,
    count(*) as events,
    min(ts) as first_ts,
    max(ts) as last_ts
from events
where ($since is null or ts >= $since)
  and ($until is null or ts < $until)
group by daemon, kind
order by events desc, daemon, kind
