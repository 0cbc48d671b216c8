-- reject_warning dry runs (warn_if_reject): what a restriction would have refused, and whether those
-- clients are ones that otherwise send accepted mail or authenticate (would be false positives).
-- Grain: one row per (restriction, rbl_zone). Columns: restriction, restriction_class, rbl_zone,
--   events (reject_warning lines), clients, clients_with_accepted_mail (clients that had mail
--   accepted or authenticated in the period), first_ts, last_ts (UTC), example_source, example_line_no.
-- Parameters: $since, $until (timestamps, optional; UTC).
with w as (
    select * from rejects
    where action = 'reject_warning' and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
good as (
    select distinct client_ip from client_mail
    where (accepted or authenticated) and ($since is null or ts >= $since) and ($until is null or ts < $until)
)
select
    w.restriction, w.restriction_class, w.rbl_zone,
    count(*) as events,
    count(distinct w.client_ip) as clients,
    count(distinct g.client_ip) as clients_with_accepted_mail,
    min(w.ts) as first_ts, max(w.ts) as last_ts,
    arg_min(w.source, (w.ts, w.source, w.line_no)) as example_source,
    arg_min(w.line_no, (w.ts, w.source, w.line_no)) as example_line_no
from w left join good g on w.client_ip = g.client_ip
group by all
-- ties broken by name: the same order on every run
order by events desc, w.restriction, w.restriction_class, w.rbl_zone nulls first
