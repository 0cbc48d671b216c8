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
a as (  -- each session in the first report at or after its second, then one row per metric
    unpivot (
        select t.host, t.svc, t.client_ip, t.s, t.ts, rep.rs, t.conn_count, t.conn_rate, t.mail_rate, t.rcpt_rate, t.auth_rate
        from tune_val t asof join rep on t.host = rep.host and rep.rs >= t.s
    )
    on conn_count as 'connection_count', conn_rate as 'connection_rate', mail_rate as 'message_rate',
       rcpt_rate as 'recipient_rate', auth_rate as 'auth_rate'
    into name metric value v
),
w as (  -- per report interval and metric: the worst values over all clients
    select host, rs, metric,
        max(v) filter (where s < rs) as inner_max,
        max(v) filter (where s = rs) as end_max,
        arg_max(client_ip, (v, client_ip)) as top_client  -- ties: the same client every run
    from a
    where v > 0
    group by all
),
m as (  -- the line's own client, in its interval and on the interval's first second
    select l.id, a.svc = l.anvil_service as same, a.v, a.ts, a.s, a.rs = l.rs as cur, a.s < a.rs as inner_
    from line l
    join a on a.host = l.host and a.metric = l.metric and a.client_ip = l.client_ip
        and (a.rs = l.rs or (a.rs = l.prev_rs and a.s = a.rs))
    where a.v > 0
),
x as (
    select id,
        max(v) filter (where same) as c_closed_svc,
        max(v) filter (where same and cur and inner_) as c_open_svc,
        max(v) as c_closed_any,
        max(v) filter (where cur and inner_) as c_open_any,
        arg_max(ts, (v, -epoch(ts))) filter (where same) as t_svc,  -- ties: the first time
        arg_max(ts, (v, -epoch(ts))) as t_any
    from m
    group by id
),
wx as (
    select l.id,
        max(w.inner_max) filter (where w.rs = l.rs) as worst_open,
        greatest(max(w.inner_max) filter (where w.rs = l.rs), max(w.end_max)) as worst_closed,
        max(w.top_client) filter (where w.rs = l.rs) as worst_client
    from line l join w on w.host = l.host and w.metric = l.metric and (w.rs = l.rs or w.rs = l.prev_rs)
    group by l.id
),
y as (
    select l.*, x.* exclude (id), wx.* exclude (id),
        case when x.c_closed_svc is not null then coalesce(x.c_open_svc, 0) else coalesce(x.c_open_any, 0) end as client_open,
        coalesce(x.c_closed_svc, x.c_closed_any, 0) as client_closed
    from line l left join x using (id) left join wx using (id)
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
