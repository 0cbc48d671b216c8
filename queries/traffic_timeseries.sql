-- Traffic per time bucket: pflogsumm's per-day and per-hour traffic summaries.
-- Grain: one row per bucket that has traffic.
-- Columns: bucket (start of the UTC hour or day; for 'hour_of_day' the hour 0-23 as an integer in
--   `hour` and bucket null), hour, received, delivered, forwarded, deferred (deferral lines), bounced,
--   expired, rejected, reject_warnings, held, discarded.
-- Parameters: $bucket ('hour', 'day' or 'hour_of_day'; default 'hour'), $since, $until (timestamps,
--   optional; UTC).
select
    case when coalesce($bucket, 'hour') <> 'hour_of_day'
         then date_trunc(case when $bucket = 'day' then 'day' else 'hour' end, timezone('UTC', ts)) end as bucket,
    case when coalesce($bucket, 'hour') = 'hour_of_day' then hour(timezone('UTC', ts)) end as hour,
    count(*) filter (where measure = 'received') as received,
    count(*) filter (where measure = 'delivered') as delivered,
    count(*) filter (where measure = 'forwarded') as forwarded,
    count(*) filter (where measure = 'deferred') as deferred,
    count(*) filter (where measure = 'bounced') as bounced,
    count(*) filter (where measure = 'expired') as expired,
    count(*) filter (where measure = 'rejected') as rejected,
    count(*) filter (where measure = 'reject_warning') as reject_warnings,
    count(*) filter (where measure = 'held') as held,
    count(*) filter (where measure = 'discarded') as discarded
from traffic
where ($since is null or ts >= $since) and ($until is null or ts < $until)
group by all
order by all;
