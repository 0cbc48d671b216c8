-- Views for the traffic summary (pflogsumm's counts, with a content-filter loop counted once).
--
-- `traffic_handoffs`: deliveries that handed a message to another queue we also logged: status=sent
--   with "queued as NEWQID" (new_queue_id) where NEWQID shows up as a received queue id (smtpd client=,
--   pickup, qmgr from=, cleanup message-id) within [-10 min, +1 h] of the delivery, on any host of the
--   store. That is a content filter (amavis :10024 -> :10025), or a relay to a host whose log is in
--   the store too. A "queued as" from a remote MX whose log we do not hold stays a delivery.
--   Grain: one row per delivery line. Columns: ts (UTC), host, queue_id, new_queue_id, relay.
--
-- `traffic`: every line that counts toward the traffic summary, with its measure:
--   received        smtpd "QID: client=" or pickup "uid=/sender=" line, not a re-injection
--   reinjected      the same for a queue id a hand-off created: the message was counted when it was first
--                   received (the orig_queue_id column is not read, so that stores written before it
--                   existed keep working; the hand-off line links the two queue ids anyway)
--   delivered       delivery status=sent to a final destination (not "forwarded as", not a filter)
--   forwarded       status=sent with "forwarded as" (local(8) .forward or alias to a remote address)
--   handoff         status=sent to a content filter / next queue we logged (see above)
--   filtered        status=sent to a relay that takes hand-offs, without a re-queue: the filter kept
--                   or discarded the message ("250 2.7.0 Ok, discarded")
--   deferred        delivery status=deferred (one row per deferral)
--   bounced         delivery status=bounced
--   expired         qmgr "status=expired, returned to sender"
--   rejected        smtpd/postscreen/cleanup decisions that refused mail (view `rejects`, refused)
--   reject_warning  reject_warning dry runs
--   held, discarded hold and discard actions (smtpd access maps, header/body checks)
--   Grain: one row per counted line. Columns: ts (UTC), host, measure, queue_id, sender, recipient,
--   client_host, client_ip, relay, size (the message's qmgr size= for received/delivered/forwarded,
--   else null), delay (s), reply, restriction_class, source, line_no.
-- Parameters: none (views); named queries filter on ts.
create or replace view traffic_handoffs as
with cand as (
    select ts, host, queue_id, new_queue_id, relay
    from events
    where kind = 'delivery' and status = 'sent' and new_queue_id is not null
),
seen as (
    select queue_id, ts
    from events
    where kind in ('client', 'pickup', 'queued', 'message_id')
      and queue_id in (select new_queue_id from cand)
)
select c.ts, c.host, c.queue_id, c.new_queue_id, c.relay
from cand c
where exists (
    select 1 from seen s
    where s.queue_id = c.new_queue_id
      and s.ts between c.ts - interval 10 minute and c.ts + interval 1 hour
);

create or replace view traffic as
with ho as (select distinct host, queue_id, new_queue_id, ts, relay from traffic_handoffs),
requeued as (select distinct new_queue_id as queue_id from ho),
filter_relays as (select distinct relay from ho),
sizes as (
    select host, queue_id, max(size) as size
    from events
    where kind = 'queued' and daemon = 'qmgr' and size is not null
    group by host, queue_id
),
lines as (
    select
        e.ts, e.host,
        case
            when e.kind = 'client' and e.daemon = 'smtpd' and e.queue_id is not null then
                case when rq.queue_id is not null or e.detail like '%orig\_queue\_id=%' escape '\'
                     then 'reinjected' else 'received' end
            when e.kind = 'pickup' then
                case when rq.queue_id is not null then 'reinjected' else 'received' end
            when e.kind = 'delivery' and e.status = 'sent' then
                case
                    when h.queue_id is not null then 'handoff'
                    when fr.relay is not null then 'filtered'
                    when e.reply like '%forwarded as %' then 'forwarded'
                    else 'delivered'
                end
            when e.kind = 'delivery' and e.status = 'deferred' then 'deferred'
            when e.kind = 'delivery' and e.status = 'bounced' then 'bounced'
            when e.kind = 'expired' then 'expired'
        end as measure,
        e.queue_id, e.sender, e.recipient, e.client_host, e.client_ip, e.relay,
        e.delay, e.reply, null::varchar as restriction_class, e.source, e.line_no
    from events e
    left join requeued rq on rq.queue_id = e.queue_id and e.kind in ('client', 'pickup')
    left join ho h on h.host = e.host and h.queue_id = e.queue_id and h.new_queue_id = e.new_queue_id and h.ts = e.ts
    left join filter_relays fr on fr.relay = e.relay and e.kind = 'delivery'
    where e.kind in ('client', 'pickup', 'delivery', 'expired')
)
select l.ts, l.host, l.measure, l.queue_id, l.sender, l.recipient, l.client_host, l.client_ip, l.relay,
    case when l.measure in ('received', 'delivered', 'forwarded') then s.size end as size,
    l.delay, l.reply, l.restriction_class, l.source, l.line_no
from lines l
left join sizes s on s.host = l.host and s.queue_id = l.queue_id and l.measure in ('received', 'delivered', 'forwarded')
where l.measure is not null
union all
select ts, host,
    case
        when refused then 'rejected'
        when action = 'reject_warning' then 'reject_warning'
        when action = 'hold' then 'held'
        when action = 'discard' then 'discarded'
    end as measure,
    queue_id, sender, recipient, client_host, client_ip, null as relay, null as size, null as delay,
    reply, restriction_class, source, line_no
from rejects
where refused or action in ('reject_warning', 'hold', 'discard');
