-- tune_model_values: step 4 of the anvil model: what anvil's counters read after each
-- session's connection and commands, into the temp table tune_val.
--
-- Grain: one row per tune_ev row (session).
-- Columns: g, o, host, svc, client_ip, client_host, session_id, ts, s, src, line,
--   conn_rate   connections in the current window, this one included (refused ones count:
--               anvil counts before smtpd compares with the limit);
--   conn_count  sessions of the group open at this connect, this one included;
--   mail_rate, rcpt_rate, auth_rate   the message/recipient/AUTH counters after this
--               session's commands; *_before: the same counter before them (so a limit X
--               refuses max(0, value - max(X, before)) of this session's commands).
-- Parameters: none (reads tune_ev, tune_rs, tune_start).
create or replace temp table tune_val as
with st as (
    select r.g, r.o,
        case when r.long_group then exists (select 1 from tune_start t where t.g = r.g and t.o = r.o)
             else r.burst_start end as is_start
    from tune_rs r
),
c as (
    select e.*, st.is_start,
        sum(w_mail) over w as cum_mail,
        sum(w_rcpt) over w as cum_rcpt,
        sum(w_auth) over w as cum_auth,
        sum(case when st.is_start then 1 else 0 end) over w as win_no,  -- which window (0: before the first start)
        -- a session that starts before an earlier one of the group ended: the group overlaps
        ord_start < max(ord_end) over (partition by g order by o rows between unbounded preceding and 1 preceding) as overlapping
    from tune_ev e join st using (g, o)
    window w as (partition by g order by o rows between unbounded preceding and current row)
),
b as (  -- each window's start row: the counters are cumulative (never decrease), so their
         -- values before the window are the smallest of the window's rows (a group-by, not a sort)
    select g, win_no, min(o) as start_o,
        min(cum_mail - w_mail) as base_mail,
        min(cum_rcpt - w_rcpt) as base_rcpt,
        min(cum_auth - w_auth) as base_auth
    from c
    where win_no > 0
    group by g, win_no
),
v as (
    select c.*, b.start_o, b.base_mail, b.base_rcpt, b.base_auth
    from c left join b using (g, win_no)
),
og as (  -- groups with overlapping sessions: only these need the count replayed
    select distinct g from c where overlapping
),
cc as (  -- connection count: +1 at each connect, -1 at each session's last line
    select g, o, sum(d) over (partition by g order by ord, d desc rows between unbounded preceding and current row) as n, d
    from (
        select g, o, ord_start as ord, 1 as d from tune_ev where g in (select g from og)
        union all
        select g, o, ord_end as ord, -1 as d from tune_ev where g in (select g from og)
    )
)
select v.g, v.o, host, svc, client_ip, client_host, session_id, ts, s, src, line,
    v.o - start_o + 1 as conn_rate,
    coalesce(cc.n, 1) as conn_count,
    cum_mail - base_mail as mail_rate, cum_mail - base_mail - w_mail as mail_before,
    cum_rcpt - base_rcpt as rcpt_rate, cum_rcpt - base_rcpt - w_rcpt as rcpt_before,
    cum_auth - base_auth as auth_rate, cum_auth - base_auth - w_auth as auth_before
from v
left join cc on cc.g = v.g and cc.o = v.o and cc.d = 1;
