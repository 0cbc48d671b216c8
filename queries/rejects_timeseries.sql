-- Rejects over time, per restriction class: is a restriction suddenly firing more (or less)?
-- Grain: one row per (time bucket, restriction_class) with at least one decision.
-- Columns: bucket (start of the hour or day, UTC), restriction_class, events (decision lines),
--   refused (lines that refused mail), clients (distinct client IPs).
-- Parameters: $bucket ('hour' or 'day'; default 'hour'), $since, $until (timestamps, optional; UTC).
select
    date_trunc(coalesce($bucket, 'hour'), timezone('UTC', ts)) as bucket,
    restriction_class,
    count(*) as events,
    count(*) filter (where refused) as refused,
    count(distinct client_ip) as clients
from rejects
where ($since is null or ts >= $since) and ($until is null or ts < $until)
group by all
order by bucket, restriction_class
