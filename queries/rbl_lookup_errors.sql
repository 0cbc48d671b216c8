-- Blocklist lookups that failed, per zone (pflogsumm drops the zone name; this keeps it).
-- Grain: one row per (zone, daemon, error). Columns: rbl_zone, daemon (smtpd | dnsblog | postscreen),
--   error ('try_again': SERVFAIL or no answer; 'timeout': postscreen gave up waiting for dnsblog;
--   'other'), errors (warning lines), clients (distinct client IPs whose lookup failed), first_ts,
--   last_ts (UTC), example_source, example_line_no, example (the warning text).
-- Parameters: $since, $until (timestamps, optional; UTC).
select
    rbl_zone, daemon, error,
    count(*) as errors,
    count(distinct client_ip) as clients,
    min(ts) as first_ts,
    max(ts) as last_ts,
    arg_min(source, ts) as example_source,
    arg_min(line_no, ts) as example_line_no,
    arg_min(detail, ts) as example
from rbl_lookup_errors
where ($since is null or ts >= $since) and ($until is null or ts < $until)
group by all
order by errors desc, rbl_zone, daemon, error
