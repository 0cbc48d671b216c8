-- Refused mail over time per restriction class, in buckets of a chosen width (the report's chart).
-- Grain: one row per (bucket, restriction_class) with at least one refusing decision.
-- Columns: bucket (UTC start of the bucket), restriction_class, refused (decision lines that refused
--   mail: reject, defer, milter-reject ...), clients (distinct client IPs).
-- Parameters: $bucket_s (bucket width in seconds; default 3600), $since, $until (timestamps,
--   optional; UTC).
select
    time_bucket(to_seconds(coalesce($bucket_s, 3600)::bigint), ts, timestamptz '2000-01-01 00:00:00+00') as bucket,
    restriction_class,
    count(*) as refused,
    count(distinct client_ip) as clients
from rejects
where refused
  and ($since is null or ts >= $since) and ($until is null or ts < $until)
group by all
order by bucket, restriction_class;
