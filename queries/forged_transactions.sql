-- forged_transactions: every envelope the forged-sender rules look at, into table forged_tx
-- (logscope.insights.forged). Not a TEMP table: the cursors of the connection share it, so the
-- two parts of forged_patterns can read it at once. Needs the temp table forged_inside(client_ip):
-- the clients in mynetworks, which the rules leave out.
--
-- Two sources:
--   reject    smtpd decision lines (reject, defer, warn, hold, discard ...; NOQUEUE or queue id):
--             they carry from=, to=, helo= and, for an authenticated session, sasl_username=;
--   accepted  messages smtpd received: the "QID: client=" line (client, SASL login) joined to
--             the qmgr "QID: from=<s>, size=, nrcpt=" line of the same host and queue id
--             within the hour after it, and to the recipients of the queue id's delivery lines (orig_to=
--             when aliased; a reused queue id may add the recipients of its other messages).
-- Grain: one row per (decision line) or (accepted message, recipient); an accepted message
--   without delivery lines yet gives one row with recipient NULL.
-- Columns: origin ('reject' | 'accepted'), ts (UTC), host, client_ip, client_host, sasl_username,
--   sender, recipient (lower case), sender_domain, local_part, recipient_domain, helo,
--   action, restriction, queue_id, src, line (the decision line, or the client= line).
-- Parameters: $since, $until (timestamptz or NULL).
create or replace table forged_tx as
with d as (
    select 'reject' as origin, ts, host, client_ip, client_host, sasl_username, sender, recipient, helo,
        action, restriction, queue_id, source as src, line_no as line
    from events
    where daemon = 'smtpd' and kind = 'decision' and action is not null and action not in ('permit')
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
),
c as (
    select ts, host, queue_id, client_ip, client_host, sasl_username, source as src, line_no as line
    from events
    where daemon = 'smtpd' and kind = 'client' and queue_id is not null and client_ip is not null
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
),
q as (
    select ts, host, queue_id, sender
    from events
    where daemon = 'qmgr' and kind = 'queued'
),
cq as (  -- the qmgr line of the same queue id that follows the client= line (within an hour)
    select c.*, q.sender
    from c join q on q.host = c.host and q.queue_id = c.queue_id
    where q.ts >= c.ts and q.ts <= c.ts + interval 1 hour
),
r as (
    select distinct host, queue_id, coalesce(orig_to, recipient) as recipient
    from events
    where kind = 'delivery' and queue_id is not null and recipient is not null
),
a as (
    select 'accepted' as origin, cq.ts, cq.host, cq.client_ip, cq.client_host, cq.sasl_username,
        cq.sender, r.recipient, null as helo, null as action, null as restriction, cq.queue_id, cq.src, cq.line
    from cq left join r on r.host = cq.host and r.queue_id = cq.queue_id
),
u as (
    select * from d
    union all
    select * from a
)
select origin, ts, host, client_ip, client_host, sasl_username,
    lower(sender) as sender, lower(recipient) as recipient,
    nullif(lower(split_part(sender, '@', 2)), '') as sender_domain,
    case when sender like '%@%' then lower(split_part(sender, '@', 1)) end as local_part,
    nullif(lower(split_part(recipient, '@', 2)), '') as recipient_domain,
    lower(helo) as helo, action, restriction, queue_id, src, line
from u
where client_ip is null or client_ip not in (select client_ip from forged_inside);
