-- Traffic totals for a period: pflogsumm's "Grand Totals", with a content-filter loop counted once.
-- Grain: one row.
-- Columns: received (messages: smtpd client= and pickup, re-injections not counted again), delivered,
--   forwarded, deferred (messages with at least one deferral), deferrals (deferral lines), bounced,
--   expired, rejected (refusing decisions), reject_warnings, held, discarded,
--   handoffs (deliveries to a content filter or to a next queue in the store), filtered (kept or
--   discarded by a content filter), reinjected (messages a filter put back), bytes_received,
--   bytes_delivered, senders (distinct envelope senders of received mail, '' = <>), sending_hosts
--   (distinct client host names of received mail), sending_domains, recipients (distinct recipients of
--   delivered/forwarded mail), recipient_domains, connections (smtpd connects), clients (distinct
--   connecting IPs), postscreen_connections, first_ts, last_ts (UTC, of counted lines).
-- Parameters: $since, $until (timestamps, optional; UTC; the period is [since, until)).
with t as (
    select * from traffic
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
rcv_senders as (  -- envelope senders of received mail (qmgr from=, pickup, or the refusing smtpd/cleanup line)
    select distinct q.sender
    from events q
    join (select host, queue_id from t where measure = 'received') r on r.host = q.host and r.queue_id = q.queue_id
    where q.sender is not null
),
hosts as (select distinct client_host from t where measure = 'received' and client_host is not null),
rcpts as (select distinct lower(recipient) as recipient from t where measure in ('delivered', 'forwarded') and recipient is not null),
conns as (
    select
        count(*) filter (where daemon = 'smtpd') as connections,
        count(distinct client_ip) filter (where daemon = 'smtpd') as clients,
        count(*) filter (where daemon = 'postscreen') as postscreen_connections
    from events
    where kind in ('connect', 'ps_connect')
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
)
select
    count(*) filter (where measure = 'received') as received,
    count(*) filter (where measure = 'delivered') as delivered,
    count(*) filter (where measure = 'forwarded') as forwarded,
    count(distinct host || '/' || queue_id) filter (where measure = 'deferred') as deferred,
    count(*) filter (where measure = 'deferred') as deferrals,
    count(*) filter (where measure = 'bounced') as bounced,
    count(*) filter (where measure = 'expired') as expired,
    count(*) filter (where measure = 'rejected') as rejected,
    count(*) filter (where measure = 'reject_warning') as reject_warnings,
    count(*) filter (where measure = 'held') as held,
    count(*) filter (where measure = 'discarded') as discarded,
    count(*) filter (where measure = 'handoff') as handoffs,
    count(*) filter (where measure = 'filtered') as filtered,
    count(*) filter (where measure = 'reinjected') as reinjected,
    coalesce(sum(size) filter (where measure = 'received'), 0) as bytes_received,
    coalesce(sum(size) filter (where measure in ('delivered', 'forwarded')), 0) as bytes_delivered,
    (select count(*) from rcv_senders) as senders,
    (select count(*) from hosts) as sending_hosts,
    (select count(distinct lower(regexp_extract(client_host, '([^.]+\.[^.]+)$', 1))) from hosts where client_host <> 'unknown') as sending_domains,
    (select count(*) from rcpts) as recipients,
    (select count(distinct split_part(recipient, '@', 2)) from rcpts where recipient like '%@%') as recipient_domains,
    any_value(c.connections) as connections,
    any_value(c.clients) as clients,
    any_value(c.postscreen_connections) as postscreen_connections,
    min(ts) as first_ts,
    max(ts) as last_ts
from t, conns c;
