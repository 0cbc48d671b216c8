-- tune_warnings: anvil limit warnings smtpd logged, per client and limit.
-- Grain: one row per (client_ip, metric, service) with "<limit> limit exceeded" warnings in [since, until).
-- Columns: client_ip, client_host, metric (connection_count, connection_rate, message_rate,
--   recipient_rate, newtls_rate, auth_rate), service (anvil service from the warning),
--   warnings (lines), max_value (highest count/rate logged), first_ts, last_ts (UTC),
--   src, line (the first warning).
-- Parameters: $since, $until (timestamptz or NULL).
select client_ip, arg_max(client_host, ts) as client_host, metric, anvil_service as service,
    count(*) as warnings, max(value) as max_value, min(ts) as first_ts, max(ts) as last_ts,
    arg_min(source, (ts, line_no)) as src, arg_min(line_no, (ts, line_no)) as line
from events
where daemon = 'smtpd' and kind = 'limit_exceeded'
    and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
    and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
group by client_ip, metric, anvil_service
order by warnings desc, client_ip, metric;
