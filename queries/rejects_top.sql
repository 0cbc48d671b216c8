-- Top clients, senders, recipients and HELO names per restriction class.
-- Grain: one row per (restriction_class, what, value) among the $limit most frequent values of each.
-- Columns: restriction_class, what ('client' = host[ip], 'sender', 'recipient', 'helo'), value,
--   events (decision lines), refused, rank (1 = most frequent).
-- Parameters: $limit (per class and kind; default 5), $since, $until (timestamps, optional; UTC).
with r as (
    select restriction_class, refused,
        coalesce(client_host, 'unknown') || '[' || client_ip || ']' as client, sender, recipient, helo
    from rejects
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
u as (
    select restriction_class, 'client' as what, client as value, refused from r where client is not null
    union all
    select restriction_class, 'sender', case when sender = '' then '<>' else sender end, refused from r where sender is not null
    union all
    select restriction_class, 'recipient', recipient, refused from r where recipient is not null
    union all
    select restriction_class, 'helo', helo, refused from r where helo is not null
),
c as (
    select restriction_class, what, value, count(*) as events, count(*) filter (where refused) as refused
    from u group by all
)
select *, row_number() over (partition by restriction_class, what order by events desc, value) as rank
from c
qualify rank <= coalesce($limit, 5)
order by restriction_class, what, rank
