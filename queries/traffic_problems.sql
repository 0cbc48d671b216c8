-- Why mail was not delivered, and what daemons complained about: pflogsumm's "message deferral
-- detail", "message bounce detail", "message reject detail" and "Warnings/Fatal Errors/Panics".
-- Grain: one row per (kind, daemon, reason), at most $limit rows per kind, most frequent first.
-- Kinds: deferred and bounced (delivery status text with <addresses>, [IPs], queue ids and numbers masked,
--   per delivering service), rejected (per restriction class and reply, masked the same way),
--   warning/error/fatal/panic (msg_warn-style diagnostics, masked).
-- Columns: kind, via (relay host for deliveries, restriction class for rejects, program for
--   diagnostics), reason, events, first_ts, last_ts (UTC),
--   example_source, example_line_no, rank.
-- Parameters: $since, $until (timestamps, optional; UTC), $limit (rows per kind; default 10).
create temp macro if not exists ls_mask(s) as
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(s,
        '<[^>]*>', '<…>', 'g'),
        '\[[0-9A-Fa-f.:]+\](:\d+)?', '[…]', 'g'),
        '\b\d{1,3}(\.\d{1,3}){3}\b', 'IP', 'g'),
        '\b[0-9A-F]{6,}\b|\b[0-9BCDFGHJ-NP-TV-Zbcdfghj-np-tv-z]{10,}\b', 'QID', 'g'),
        '\b\d+\b', 'N', 'g');
with p as (  -- group the raw texts first, then mask each distinct text once
    select kind, via, raw, count(*) as events, min(ts) as first_ts, max(ts) as last_ts,
        arg_min(source, (ts, line_no)) as example_source, arg_min(line_no, (ts, line_no)) as example_line_no
    from (
        select measure as kind, coalesce(reply, '') as raw, ts, source, line_no,
            case when measure = 'rejected' then coalesce(restriction_class, 'other')
                 else coalesce(nullif(regexp_extract(relay, '^([^\[]+)', 1), ''), relay, '') end as via
        from traffic
        where measure in ('deferred', 'bounced', 'rejected')
          and ($since is null or ts >= $since) and ($until is null or ts < $until)
        union all
        select severity,
            case when kind = 'diagnostic' then coalesce(detail, '')
                 else kind || coalesce(' ' || metric, '') || coalesce(': ' || detail, '') end,
            ts, source, line_no, program
        from events
        where severity is not null
          and ($since is null or ts >= $since) and ($until is null or ts < $until)
    )
    group by kind, via, raw
),
g as (
    select kind, via, ls_mask(raw) as reason, sum(events)::bigint as events, min(first_ts) as first_ts, max(last_ts) as last_ts,
        arg_min(example_source, (first_ts, example_line_no)) as example_source,
        arg_min(example_line_no, (first_ts, example_line_no)) as example_line_no
    from p group by kind, via, ls_mask(raw)
)
select *, row_number() over (partition by kind order by events desc, reason) as rank
from g
qualify rank <= coalesce($limit, 10)
order by kind, rank;
