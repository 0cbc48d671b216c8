-- tune_errors: sessions that smtpd ended with "too many errors" (smtpd_hard_error_limit),
-- per client, with the client's class. Needs tune_cls (logscope.insights.tune).
-- Grain: one row per client with such sessions in [since, until).
-- Columns: client_ip, client_host, class, sessions (ending in too many errors), stages (list of
--   SMTP stages where it happened), src, line (the first "too many errors" line).
-- Parameters: $since, $until (timestamptz or NULL).
select e.client_ip, arg_max(e.client_host, e.ts) as client_host, any_value(c.class) as class,
    count(*) as sessions, list(distinct e.stage) as stages,
    arg_min(e.source, (e.ts, e.line_no)) as src, arg_min(e.line_no, (e.ts, e.line_no)) as line
from events e
left join tune_cls c using (client_ip)
where e.daemon = 'smtpd' and e.kind = 'too_many_errors'
    and (cast($since as timestamptz) is null or e.ts >= cast($since as timestamptz))
    and (cast($until as timestamptz) is null or e.ts < cast($until as timestamptz))
group by e.client_ip
order by sessions desc, e.client_ip;
