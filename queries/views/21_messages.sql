-- messages: one row per message, joined by queue id across smtpd, pickup, cleanup, qmgr,
-- the delivery agents (smtp, lmtp, local, virtual, pipe, error, discard), bounce and amavis.
--
-- Grain: one row per (host, queue_id, gen). Postfix reuses queue ids over time (short ids
-- come from the clock and the queue file's inode), so the lines of one queue id are cut into
-- generations: a new generation starts after qmgr's "removed" line, or when the queue id has
-- been silent for more than 6 hours (longer than any retry interval with Postfix's default
-- maximal_backoff_time of 4000 s; a message rejected by smtpd or cleanup never gets "removed").
-- amavis logs under its own host name (mx.example.com where Postfix says mx), so its verdict
-- is joined by Queue-ID alone, within [first line, last line + 1 hour] of the generation.
--
-- A content filter loop (amavis on 127.0.0.1:10024, re-injected on :10025) gives two rows:
-- the original (next_queue_id = the re-queued id) and the re-queued message (orig_queue_id =
-- the original, from the client= line's orig_queue_id= column). Count messages WHERE orig_queue_id IS
-- NULL to count each message once.
--
-- Views:
--   message_lines  every queue-id line (not amavis) with its gen
--   messages       the messages
--
-- messages columns:
--   message_key       host/queue_id/source:line_no of the first line (stable text key)
--   host, queue_id, gen, t_first, t_last (UTC)
--   origin            'smtpd' (client= line), 'pickup' (local submission), 'bounce' (a notification
--                     Postfix made itself: the new_queue_id of a bounce line), else null
--   smtpd_pid         pid of the smtpd that received it (joins sessions on host+pid+time)
--   client_host, client_ip, sasl_method, sasl_username   from the client= line
--   orig_queue_id     the queue id before a content filter (client=..., orig_queue_id=)
--   message_id        Message-ID header (cleanup)
--   sender            envelope sender (qmgr from=, else pickup/smtpd); '' = null sender <>
--   size (bytes), nrcpt   from qmgr
--   recipients        list of distinct recipients of delivery lines
--   n_sent, n_deferred, n_bounced   delivery lines by status (sent counts each recipient once)
--   relays            list of distinct relay= values
--   delivered_locally true when any delivery went to relay=local/virtual (or the local/virtual agent)
--   next_queue_id     "queued as" id from a delivery (content filter or next hop)
--   rejected          smtpd rejected it after the queue file was opened, or cleanup header/body
--                     checks rejected/discarded it
--   held              cleanup or smtpd put it on hold
--   expired, removed  qmgr lines seen
--   accepted          qmgr queued it (from=, size=, nrcpt= line) and neither smtpd nor cleanup rejected it
--   amavis_status (Passed/Blocked), amavis_category, amavis_hits, amavis_queued_as
--   src_first, line_first   provenance of the first line
-- Parameters: none (a view).
create or replace view message_lines as
with q as (
    select *,
        lag(kind) over w as prev_kind,
        lag(ts) over w as prev_ts
    from events
    where queue_id is not null and daemon <> 'amavis'
    window w as (partition by host, queue_id order by ts, source, line_no)
)
select * exclude (prev_kind, prev_ts),
    sum(case when prev_kind = 'removed' or ts - prev_ts > interval 6 hour then 1 else 0 end) over (
        partition by host, queue_id order by ts, source, line_no
        rows between unbounded preceding and current row) as gen
from q;

create or replace view messages as
with m as (
    select
        host, queue_id, gen,
        min(ts) as t_first,
        max(ts) as t_last,
        bool_or(daemon = 'smtpd' and kind = 'client') as from_smtpd,
        bool_or(daemon = 'pickup') as from_pickup,
        arg_min(pid, ts) filter (where daemon = 'smtpd' and kind = 'client') as smtpd_pid,
        arg_min(client_host, ts) filter (where daemon = 'smtpd' and kind = 'client') as client_host,
        arg_min(client_ip, ts) filter (where daemon = 'smtpd' and kind = 'client') as client_ip,
        arg_min(sasl_method, ts) filter (where daemon = 'smtpd' and kind = 'client') as sasl_method,
        arg_min(sasl_username, ts) filter (where daemon = 'smtpd' and kind = 'client') as sasl_username,
        arg_min(orig_queue_id, ts) filter (where daemon = 'smtpd' and kind = 'client') as orig_queue_id,
        arg_min(message_id, ts) filter (where kind = 'message_id') as message_id,
        coalesce(arg_min(sender, ts) filter (where daemon = 'qmgr' and kind = 'queued'),
                 arg_min(sender, ts) filter (where daemon = 'pickup'),
                 arg_min(sender, ts) filter (where daemon in ('smtpd', 'cleanup') and sender is not null)) as sender,
        arg_min(size, ts) filter (where daemon = 'qmgr' and kind = 'queued') as size,
        arg_min(nrcpt, ts) filter (where daemon = 'qmgr' and kind = 'queued') as nrcpt,
        list(distinct recipient) filter (where kind = 'delivery' and recipient is not null) as recipients,
        count(distinct recipient) filter (where kind = 'delivery' and status = 'sent') as n_sent,
        count(*) filter (where kind = 'delivery' and status = 'deferred') as n_deferred,
        count(*) filter (where kind = 'delivery' and status = 'bounced') as n_bounced,
        list(distinct relay) filter (where kind = 'delivery' and relay is not null) as relays,
        bool_or(kind = 'delivery' and (relay in ('local', 'virtual') or daemon in ('local', 'virtual'))) as delivered_locally,
        arg_min(new_queue_id, ts) filter (where kind = 'delivery' and new_queue_id is not null) as next_queue_id,
        bool_or((daemon = 'smtpd' and kind = 'decision' and action in ('reject', 'defer', 'discard', 'milter-reject'))
             or (daemon = 'cleanup' and action in ('reject', 'discard', 'milter-reject'))) as rejected,
        bool_or(action = 'hold') as held,
        bool_or(kind = 'expired') as expired,
        bool_or(kind = 'removed') as removed,
        bool_or(daemon = 'qmgr' and kind = 'queued') as queued,
        arg_min(source, (ts, line_no)) as src_first,
        arg_min(line_no, (ts, line_no)) as line_first
    from message_lines
    group by host, queue_id, gen
),
notif as (  -- queue ids that bounce(8) created: sender non-delivery/delay notifications
    select distinct host, new_queue_id as queue_id
    from events where daemon = 'bounce' and new_queue_id is not null
),
av as (
    select queue_id, ts, status, category, hits, new_queue_id
    from events where daemon = 'amavis' and kind = 'amavis' and queue_id is not null
),
joined as (
    select m.*, n.queue_id is not null as is_notification,
        a.status as amavis_status, a.category as amavis_category, a.hits as amavis_hits,
        a.new_queue_id as amavis_queued_as
    from m
    left join notif n on n.host = m.host and n.queue_id = m.queue_id
    left join av a on a.queue_id = m.queue_id and a.ts >= m.t_first - interval 1 minute
        and a.ts <= m.t_last + interval 1 hour
    qualify row_number() over (partition by m.host, m.queue_id, m.gen order by a.ts nulls last) = 1
)
select
    host || '/' || queue_id || '/' || src_first || ':' || line_first as message_key,
    host, queue_id, gen, t_first, t_last,
    case when from_smtpd then 'smtpd' when from_pickup then 'pickup' when is_notification then 'bounce' end as origin,
    smtpd_pid, client_host, client_ip, sasl_method, sasl_username, orig_queue_id,
    message_id, sender, size, nrcpt,
    coalesce(recipients, []) as recipients,
    n_sent, n_deferred, n_bounced,
    coalesce(relays, []) as relays,
    coalesce(delivered_locally, false) as delivered_locally,
    coalesce(next_queue_id, amavis_queued_as) as next_queue_id,
    coalesce(rejected, false) as rejected,
    coalesce(held, false) as held,
    coalesce(expired, false) as expired,
    coalesce(removed, false) as removed,
    coalesce(queued, false) and not coalesce(rejected, false) as accepted,
    amavis_status, amavis_category, amavis_hits, amavis_queued_as,
    src_first, line_first
from joined;
