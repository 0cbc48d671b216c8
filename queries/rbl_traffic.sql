-- How much traffic the blocklists had a chance to act on (the "many connections" behind `silent`).
-- Grain: one row. Columns: smtpd_connections (smtpd "connect from" lines), smtpd_clients (distinct
--   IPs), postscreen_connections (postscreen CONNECT lines), postscreen_clients, first_ts, last_ts
--   (UTC, of the first and last connection in the period).
-- Parameters: $since, $until (timestamps, optional; UTC).
-- Reads the connect lines directly (the connections of view rbl_population, without its zone masks).
select
    count(*) filter (where kind = 'connect') as smtpd_connections,
    count(distinct client_ip) filter (where kind = 'connect') as smtpd_clients,
    count(*) filter (where kind = 'ps_connect') as postscreen_connections,
    count(distinct client_ip) filter (where kind = 'ps_connect') as postscreen_clients,
    min(ts) as first_ts,
    max(ts) as last_ts
from events
where ((kind = 'connect' and daemon = 'smtpd') or kind = 'ps_connect')
  and ($since is null or ts >= $since) and ($until is null or ts < $until)
