-- The period a rejects report covers, and how many SMTP sessions it had.
-- Grain: one row. Columns: smtpd_connections (smtpd "connect from" lines), postscreen_connections
--   (postscreen CONNECT lines), first_ts, last_ts (UTC, of the first and last connection or
--   decision in the period).
-- Parameters: $since, $until (timestamps, optional; UTC).
select
    count(*) filter (where kind = 'connect' and daemon = 'smtpd') as smtpd_connections,
    count(*) filter (where kind = 'ps_connect') as postscreen_connections,
    min(ts) as first_ts,
    max(ts) as last_ts
from events
where kind in ('connect', 'ps_connect', 'decision', 'check', 'milter')
  and ($since is null or ts >= $since) and ($until is null or ts < $until)
