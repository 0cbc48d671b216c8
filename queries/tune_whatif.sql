-- tune_whatif: at limit X, which connections (or MAIL/RCPT/AUTH commands) would the anvil
-- limits have refused, by client class. Needs tune_val, tune_cls and tune_candidates
-- (metric, value) (logscope.insights.tune).
--
-- Refused at limit X: for connection_count, connections that found more than X sessions of
-- the client open (themselves included); for connection_rate, connections that took the
-- window's count above X; for the command rates, the commands of a session that took the
-- counter above X (a session that moved it from b to v loses max(0, v - max(X, b))).
-- Refused connections still count for anvil, so the rates do not depend on X. For the count
-- this is an upper bound: a refused session ends at once and frees its slot sooner than the
-- logged one did.
-- Grain: one row per (metric, value) of tune_candidates.
-- Columns: metric, value, refused_legitimate, clients_legitimate, refused_abusive,
--   clients_abusive, refused_unknown, clients_unknown (refused events and distinct clients).
-- Parameters: none.
with v as (
    select c.class, t.client_ip,
        t.conn_count, t.conn_count - 1 as conn_count_b, t.conn_rate, t.conn_rate - 1 as conn_rate_b,
        t.mail_rate, t.mail_before, t.rcpt_rate, t.rcpt_before, t.auth_rate, t.auth_before
    from tune_val t
    join tune_cls c using (client_ip)
),
u as (
    select class, client_ip, 'connection_count' as metric, conn_count as v, conn_count_b as b from v
    union all select class, client_ip, 'connection_rate', conn_rate, conn_rate_b from v
    union all select class, client_ip, 'message_rate', mail_rate, mail_before from v where mail_rate > mail_before
    union all select class, client_ip, 'recipient_rate', rcpt_rate, rcpt_before from v where rcpt_rate > rcpt_before
    union all select class, client_ip, 'auth_rate', auth_rate, auth_before from v where auth_rate > auth_before
),
h as (  -- histogram: the candidates only need (v, b) counts and each client's maximum
    select metric, class, v, b, count(*) as n from u where v > 1 group by all
),
m as (
    select metric, class, client_ip, max(v) as top from u where v > 1 group by all
),
r as (
    select k.metric, k.value, h.class, sum(h.n * greatest(0, h.v - greatest(k.value, h.b))) as refused
    from tune_candidates k join h on h.metric = k.metric and h.v > k.value
    group by all
),
c as (
    select k.metric, k.value, m.class, count(*) as clients
    from tune_candidates k join m on m.metric = k.metric and m.top > k.value
    group by all
)
select k.metric, k.value,
    coalesce(max(r.refused) filter (where r.class = 'legitimate'), 0) as refused_legitimate,
    coalesce(max(c.clients) filter (where c.class = 'legitimate'), 0) as clients_legitimate,
    coalesce(max(r.refused) filter (where r.class = 'abusive'), 0) as refused_abusive,
    coalesce(max(c.clients) filter (where c.class = 'abusive'), 0) as clients_abusive,
    coalesce(max(r.refused) filter (where r.class = 'unknown'), 0) as refused_unknown,
    coalesce(max(c.clients) filter (where c.class = 'unknown'), 0) as clients_unknown
from tune_candidates k
left join r on r.metric = k.metric and r.value = k.value
left join c on c.metric = k.metric and c.value = k.value and c.class = r.class
group by k.metric, k.value
order by k.metric, k.value;
