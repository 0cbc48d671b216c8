-- Restriction names smtpd did not know: "warning: unknown smtpd restriction: "X"" (a typo such as
-- permit_mynetwork, or a restriction removed from Postfix). Each makes smtpd answer
-- "451 4.3.5 Server configuration error" to every client that reaches it.
-- Grain: one row per restriction name. Columns: restriction (the word as logged), warnings,
--   server_errors (decision lines in the period whose reply is "Server configuration error"; the
--   same for every row), first_ts, last_ts (UTC), example_source, example_line_no.
-- Parameters: $since, $until (timestamps, optional; UTC).
with w as (
    select regexp_extract(detail, '^unknown smtpd restriction: "(.*)"$', 1) as restriction, ts, source, line_no
    from events
    where kind = 'diagnostic' and detail like 'unknown smtpd restriction: %'
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
)
select
    restriction,
    count(*) as warnings,
    (select count(*) from rejects where reply like '%Server configuration error%'
        and ($since is null or ts >= $since) and ($until is null or ts < $until)) as server_errors,
    min(ts) as first_ts,
    max(ts) as last_ts,
    arg_min(source, ts) as example_source,
    arg_min(line_no, ts) as example_line_no
from w
group by restriction
order by warnings desc, restriction
