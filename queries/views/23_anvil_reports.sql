-- anvil_reports: anvil's "statistics: max ..." lines with the interval each one covers.
--
-- anvil(8) keeps the peak of each metric since its last report and logs it every
-- anvil_status_update_time (default 600 s) and when it exits, then resets the peak to 0
-- (anvil.c anvil_status_dump). A line therefore covers (previous report of the same anvil
-- process, this report]. The first report of a process covers the time since the previous
-- anvil process's last report on that host (anvil starts on the first request after an exit),
-- or, when there is none, has interval_start null.
--
-- Grain: one row per anvil statistics line (cache_size lines included, client_ip null).
-- One report is the set of lines one dump wrote (lines of one anvil process less than 0.5 s
-- apart: syslog stamps them microseconds apart).
-- Columns: host, pid (anvil's), ts (report time: its first line, UTC), line_ts (this line), metric (connection_rate,
--   connection_count, message_rate, recipient_rate, newtls_rate, auth_rate, tlstrace_rate,
--   cache_size), value, rate_unit_s, anvil_service, client_ip, anvil_ts (the "at" time, UTC),
--   interval_start (UTC, exclusive), first_of_process (bool), source, line_no.
--
-- anvil_epochs: times after which anvil's state is gone (an anvil process was replaced):
--   host, t_end (UTC, the old process's last report). Events after t_end meet a fresh anvil.
-- Parameters: none (views).
create or replace view anvil_reports as
with a as (
    select host, pid, ts, metric, value, rate_unit_s, anvil_service, client_ip, anvil_ts, source, line_no
    from events
    where daemon = 'anvil' and kind = 'anvil'
),
c as (  -- one report = the lines one dump logged (syslog stamps them microseconds apart)
    select *, sum(case when gap is null or gap > interval 500 millisecond then 1 else 0 end) over (
        partition by host, pid order by ts, line_no rows between unbounded preceding and current row) as report_no
    from (select *, ts - lag(ts) over (partition by host, pid order by ts, line_no) as gap from a)
),
rt as (
    select host, pid, report_no, min(ts) as report_ts from c group by all
),
r as (
    select host, pid, report_no, report_ts,
        lag(report_ts) over (partition by host, pid order by report_ts) as prev_same,
        lag(report_ts) over (partition by host order by report_ts) as prev_any
    from rt
)
select a.host, a.pid, r.report_ts as ts, a.ts as line_ts, a.metric, a.value, a.rate_unit_s, a.anvil_service, a.client_ip, a.anvil_ts,
    coalesce(r.prev_same, r.prev_any) as interval_start,
    r.prev_same is null as first_of_process,
    a.source, a.line_no
from c a join r using (host, pid, report_no);

create or replace view anvil_epochs as
with p as (
    select host, pid, min(ts) as t_first, max(ts) as t_last
    from events where daemon = 'anvil' and kind = 'anvil'
    group by host, pid
)
select p.host, p.t_last as t_end
from p
where exists (select 1 from p q where q.host = p.host and q.t_first > p.t_last);
