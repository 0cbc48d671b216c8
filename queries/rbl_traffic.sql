-- How much traffic the blocklists had a chance to act on (the "many connections" behind `silent`).
-- Grain: one row. Columns: smtpd_connections (smtpd "connect from" lines), smtpd_clients (distinct
--   IPs), postscreen_connections (postscreen CONNECT lines), postscreen_clients, first_ts, last_ts
--   (UTC, of the first and last connection in the period).
-- Parameters: $since, $until (timestamps, optional; UTC).
select
    count(*) filter (where service <> 'postscreen') as smtpd_connections,
    count(distinct client_ip) filter (where service <> 'postscreen') as smtpd_clients,
    count(*) filter (where service = 'postscreen') as postscreen_connections,
    count(distinct client_ip) filter (where service = 'postscreen') as postscreen_clients,
    min(ts) as first_ts,
    max(ts) as last_ts
from rbl_population
where ($since is null or ts >= $since) and ($until is null or ts < $until)
