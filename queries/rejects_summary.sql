-- Rejects and other access decisions, summarised along each dimension in one pass.
-- Answers: which restrictions refuse mail, at which SMTP stage, with which reply codes and actions.
-- Grain: one row per group of one dimension (GROUPING SETS):
--   dimension = 'restriction' (restriction_class, restriction, action), 'restriction_code'
--   (restriction_class, restriction, code, dsn), 'restriction_stage' (restriction_class, restriction,
--   stage), 'class' (restriction_class),
--   'stage' (stage), 'code' (code, dsn), 'action' (action), 'total' (everything).
-- Columns: dimension, restriction_class, restriction, stage, code, dsn, action (null where not part of
--   the dimension), events (decision lines), refused (lines that refused mail: reject, defer,
--   milter-reject ...), clients (distinct client IPs), share (events / all events in the period,
--   0..1), first_ts, last_ts (UTC),
--   example_source, example_line_no (the first line of the group).
-- Parameters: $since, $until (timestamps, optional; UTC).
with r0 as (
    select * from rejects
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
r as (  -- first per client and full key: the grouping sets below then see ~half the rows
    select restriction_class, restriction, stage, code, dsn, action, client_ip,
        count(*) as n, count(*) filter (where refused) as n_refused,
        min(ts) as ts, max(ts) as ts_last, min({'ts': ts, 'source': source, 'line_no': line_no}) as first_line
    from r0
    group by all
),
g as (
    select
        case
            when grouping(restriction) = 0 and grouping(code) = 0 then 'restriction_code'
            when grouping(restriction) = 0 and grouping(stage) = 0 then 'restriction_stage'
            when grouping(restriction_class) = 0 and grouping(restriction) = 0 then 'restriction'
            when grouping(restriction_class) = 0 then 'class'
            when grouping(stage) = 0 then 'stage'
            when grouping(code) = 0 then 'code'
            when grouping(action) = 0 then 'action'
            else 'total'
        end as dimension,
        restriction_class, restriction, stage, code, dsn, action,
        sum(n) as events,
        sum(n_refused) as refused,
        count(distinct client_ip) as clients,
        min(ts) as first_ts,
        max(ts_last) as last_ts,
        min(first_line).source as example_source,  -- ties: the first line
        min(first_line).line_no as example_line_no
    from r
    group by grouping sets (
        (restriction_class, restriction, action),
        (restriction_class, restriction, code, dsn),
        (restriction_class, restriction, stage),
        (restriction_class),
        (stage),
        (code, dsn),
        (action),
        ()
    )
)
select
    dimension, restriction_class, restriction, stage, code, dsn, action,
    events, refused, clients,
    events / nullif(sum(events) filter (where dimension = 'total') over (), 0) as share,
    first_ts, last_ts, example_source, example_line_no
from g
order by dimension, events desc, restriction_class, restriction, stage, code, dsn, action
