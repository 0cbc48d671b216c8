-- Top talkers: pflogsumm's "Senders/Recipients by message count and size" and "Host/Domain Summary".
-- Grain: one row per (dimension, key), at most $limit rows per dimension, largest first.
-- Dimensions:
--   sender            envelope senders of received mail (qmgr from=; '' = the null sender <>)
--   sender_domain     their domains
--   recipient         recipients of delivered or forwarded mail
--   recipient_domain  recipient domains, with deferrals, bounces and delivery delays
--   client            connecting SMTP clients: connections, mail received, rejects (clients that only
--                     re-inject content-filter output are left out)
-- Columns: dimension, key, detail (client host name for `client`), messages (received for senders and
--   clients, delivered for recipients), bytes, deferred (deferral lines), bounced, rejected (refusing
--   decisions), connections, avg_delay_s, max_delay_s, rank (1 = largest).
-- Parameters: $since, $until (timestamps, optional; UTC), $limit (rows per dimension; default 10).
with t as (
    select * from traffic
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
rq as (select host, queue_id, size, ts from t where measure = 'received'),
senders as (  -- qmgr from=, else the sender smtpd or cleanup logged when it refused the message
    select host, queue_id,
        coalesce(arg_min(sender, ts) filter (where kind = 'queued' and daemon = 'qmgr'),
                 arg_min(sender, ts) filter (where sender is not null)) as sender
    from events
    where queue_id in (select queue_id from rq) and sender is not null
    group by host, queue_id
),
rcv as (
    select r.host, r.queue_id, r.size, s.sender
    from rq r left join senders s on s.host = r.host and s.queue_id = r.queue_id
),
dlv as (
    select lower(recipient) as recipient, lower(split_part(recipient, '@', 2)) as domain, measure, size, delay
    from t where measure in ('delivered', 'forwarded', 'deferred', 'bounced') and recipient is not null
),
conns as (
    select client_ip, any_value(client_host) as client_host, count(*) as connections
    from events
    where kind = 'connect' and daemon = 'smtpd'
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
    group by client_ip
),
cl as (
    select client_ip,
        count(*) filter (where measure = 'received') as messages,
        count(*) filter (where measure = 'reinjected') as reinjected,
        coalesce(sum(size) filter (where measure = 'received'), 0) as bytes,
        count(*) filter (where measure = 'rejected') as rejected
    from t where client_ip is not null
    group by client_ip
),
g as (
    select 'sender' as dimension, coalesce(sender, '?') as key, null as detail, count(*) as messages,
        coalesce(sum(size), 0) as bytes, null::bigint as deferred, null::bigint as bounced, null::bigint as rejected,
        null::bigint as connections, null::double as avg_delay_s, null::double as max_delay_s
    from rcv group by all
    union all
    select 'sender_domain', case when sender = '' then '<>' else coalesce(lower(nullif(split_part(sender, '@', 2), '')), '?') end,
        null, count(*), coalesce(sum(size), 0), null, null, null, null, null, null
    from rcv group by all
    union all
    select 'recipient', recipient, null,
        count(*) filter (where measure in ('delivered', 'forwarded')),
        coalesce(sum(size) filter (where measure in ('delivered', 'forwarded')), 0),
        count(*) filter (where measure = 'deferred'), count(*) filter (where measure = 'bounced'), null, null,
        avg(delay) filter (where measure in ('delivered', 'forwarded')), max(delay) filter (where measure in ('delivered', 'forwarded'))
    from dlv group by all
    union all
    select 'recipient_domain', domain, null,
        count(*) filter (where measure in ('delivered', 'forwarded')),
        coalesce(sum(size) filter (where measure in ('delivered', 'forwarded')), 0),
        count(*) filter (where measure = 'deferred'), count(*) filter (where measure = 'bounced'), null, null,
        avg(delay) filter (where measure in ('delivered', 'forwarded')), max(delay) filter (where measure in ('delivered', 'forwarded'))
    from dlv where domain <> '' group by all
    union all
    select 'client', coalesce(c.client_ip, k.client_ip), k.client_host,
        coalesce(c.messages, 0), coalesce(c.bytes, 0), null, null, coalesce(c.rejected, 0), coalesce(k.connections, 0), null, null
    from cl c full outer join conns k on k.client_ip = c.client_ip
    where not (coalesce(c.reinjected, 0) > 0 and coalesce(c.messages, 0) = 0 and coalesce(c.rejected, 0) = 0)
)
select *, row_number() over (
        partition by dimension
        order by coalesce(connections, 0) + messages + coalesce(deferred, 0) + coalesce(bounced, 0) + coalesce(rejected, 0) desc,
                 bytes desc, key) as rank
from g
qualify rank <= coalesce($limit, 10)
order by dimension, rank;
