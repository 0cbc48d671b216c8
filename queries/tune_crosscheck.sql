-- tune_crosscheck: each anvil "statistics: max ..." line next to the rebuilt anvil model for
-- the same interval. Needs tune_val (logscope.insights.tune).
--
-- A report covers (previous report, this report] on its host (view anvil_reports). Events in
-- a report's own second may fall on either side of it (smtpd logs "connect from" just before
-- it asks anvil; anvil's timer can fire within that second), so the model gives two maxima:
-- over the seconds strictly inside the interval ("open") and over the interval with both end
-- seconds ("closed"). A line agrees when open <= anvil's value <= closed. The client's own
-- maximum uses its sessions of the line's service when the model has any (session_services),
-- else all the client's sessions.
-- Grain: one row per anvil statistics line of a modelled metric (connection_rate,
--   connection_count, message_rate, recipient_rate, auth_rate) in [since, until).
-- Columns: host, ts (report, UTC), interval_start (UTC), metric, anvil_service, client_ip,
--   value (anvil's), anvil_ts (anvil's "at", UTC), client_open, client_closed (model, that
--   client), t_client (UTC, when the model's client maximum was reached), same_service (bool:
--   the model had sessions of that service), worst_open, worst_closed (model, any client),
--   worst_client (a client that reached worst_closed), agree (bool), worst_agree (bool),
--   source, line_no (the anvil line).
-- Parameters: $since, $until (timestamptz or NULL).
with line as (
    select row_number() over (order by ts, line_no) as id, *,
        cast(floor(epoch(ts)) as bigint) as rs,
        cast(floor(epoch(interval_start)) as bigint) as prev_rs
    from anvil_reports
    where client_ip is not null
        and metric in ('connection_rate', 'connection_count', 'message_rate', 'recipient_rate', 'auth_rate')
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
),
rep as (  -- report seconds per host
    select distinct host, cast(floor(epoch(ts)) as bigint) as rs from anvil_reports
),
v as (
    unpivot (select host, svc, client_ip, s, ts, conn_count, conn_rate, mail_rate, rcpt_rate, auth_rate from tune_val)
    on conn_count as 'connection_count', conn_rate as 'connection_rate', mail_rate as 'message_rate',
       rcpt_rate as 'recipient_rate', auth_rate as 'auth_rate'
    into name metric value v
),
a as (  -- each event in the first report at or after its second
    select v.*, rep.rs
    from v asof join rep on v.host = rep.host and rep.rs >= v.s
    where v.v > 0
),
g as (
    select host, rs, metric, client_ip, svc,
        max(v) filter (where s < rs) as inner_max,
        max(v) filter (where s = rs) as end_max,
        arg_max(ts, v) as t_max
    from a
    group by all
),
u as (
    select l.id, g.client_ip = l.client_ip as mine, g.svc = l.anvil_service as same, g.client_ip,
        g.inner_max as open_v, greatest(g.inner_max, g.end_max) as closed_v, g.t_max
    from line l join g on g.host = l.host and g.rs = l.rs and g.metric = l.metric
    union all
    select l.id, g.client_ip = l.client_ip, g.svc = l.anvil_service, g.client_ip,
        null, g.end_max, g.t_max
    from line l join g on g.host = l.host and g.rs = l.prev_rs and g.metric = l.metric
    where g.end_max is not null
),
x as (
    select id,
        max(closed_v) filter (where mine and same) as c_closed_svc,
        max(open_v) filter (where mine and same) as c_open_svc,
        max(closed_v) filter (where mine) as c_closed_any,
        max(open_v) filter (where mine) as c_open_any,
        arg_max(t_max, closed_v) filter (where mine and same) as t_svc,
        arg_max(t_max, closed_v) filter (where mine) as t_any,
        max(closed_v) as worst_closed,
        max(open_v) as worst_open,
        arg_max(client_ip, closed_v) as worst_client
    from u
    group by id
),
y as (
    select l.*, x.* exclude (id),
        case when x.c_closed_svc is not null then coalesce(x.c_open_svc, 0) else coalesce(x.c_open_any, 0) end as client_open,
        coalesce(x.c_closed_svc, x.c_closed_any, 0) as client_closed
    from line l left join x using (id)
)
select host, ts, interval_start, metric, anvil_service, client_ip, value, anvil_ts,
    client_open, client_closed,
    case when c_closed_svc is not null then t_svc else t_any end as t_client,
    c_closed_svc is not null as same_service,
    coalesce(worst_open, 0) as worst_open,
    coalesce(worst_closed, 0) as worst_closed,
    worst_client,
    value between client_open and client_closed as agree,
    value between coalesce(worst_open, 0) and coalesce(worst_closed, 0) as worst_agree,
    source, line_no
from y
order by ts, line_no;
