-- tune_peaks: the highest anvil-model value per metric and client class, and who reached it.
-- Needs tune_val and tune_cls (logscope.insights.tune).
-- Grain: one row per (metric, class).
-- Columns: metric (connection_count, connection_rate, message_rate, recipient_rate, auth_rate),
--   class, peak (count, or events per anvil_rate_time_unit), client_ip (first client to reach
--   it), t_peak (UTC), clients (clients of the class with a non-zero value of that metric),
--   src, line (provenance of the connect line of the session that reached the peak).
-- Parameters: none.
with v as (
    select c.class, t.client_ip, t.ts, t.src, t.line,
        t.conn_count, t.conn_rate, t.mail_rate, t.rcpt_rate, t.auth_rate
    from tune_val t
    join tune_cls c using (client_ip)
),
u as (
    unpivot v on conn_count as 'connection_count', conn_rate as 'connection_rate', mail_rate as 'message_rate',
        rcpt_rate as 'recipient_rate', auth_rate as 'auth_rate'
    into name metric value v
)
select metric, class, v as peak,
    top.client_ip, top.ts as t_peak, clients, top.src, top.line
from (
    select metric, class, max(v) as v,
        -- the row that reached the peak first (ties: by client, then line)
        arg_max({'client_ip': client_ip, 'ts': ts, 'src': src, 'line': line}, (v, -epoch(ts), client_ip, src, line)) as top,
        count(distinct client_ip) as clients
    from u
    where v > 0
    group by metric, class
)
order by metric, class;
