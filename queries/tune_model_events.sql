-- tune_model_events: step 1 of the anvil model (logscope.insights.tune): one row per session
-- that anvil would have counted, into the temp table tune_ev.
--
-- anvil counts per (service, client); a group `g` is (host, anvil service, client, anvil
-- epoch). Each session brings one connection and the MAIL/RCPT/AUTH commands it issued (the
-- disconnect counters, x=N/M: M). The log gives those counts per session, not each
-- command's time, so they are counted at the session's connect: exact for the short sessions
-- of rate-limit questions, early by the session's length otherwise. Sessions without a
-- connect line (begun before the store) and clients in the temp table tune_exempt
-- (smtpd_client_event_limit_exceptions: anvil never hears of them) are left out. A group
-- restarts after anvil_epochs.t_end (a replaced anvil process lost its state).
-- Grain: one row per session.
-- Columns: g (ubigint group id), o (order within g, 1-based), host, svc, client_ip,
--   client_host, session_id, ts (UTC), s (whole epoch seconds of the connect),
--   ord_start, ord_end (sortable second-and-line numbers of the first and last line),
--   w_mail, w_rcpt, w_auth (commands issued), src, line (provenance of the connect line).
-- Parameters: $since, $until (timestamptz or NULL: sessions starting in [since, until)).
create or replace temp table tune_ev as
with s as (
    select s.session_id, s.host, ss.anvil_service as svc, s.client_ip, s.client_host,
        s.t_start, s.t_end, s.mail_cmds, s.rcpt_cmds, s.auth_cmds,
        s.src_first, s.line_first, s.line_last
    from session_bounds s
    join session_services ss using (session_id)
    where s.has_connect and s.client_ip is not null
        and (cast($since as timestamptz) is null or s.t_start >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or s.t_start < cast($until as timestamptz))
        and s.client_ip not in (select client_ip from tune_exempt)
),
e as (
    select s.*, coalesce(x.epoch, 0) as epoch
    from s
    left join (
        select s.session_id, count(*) as epoch
        from s join anvil_epochs a on a.host = s.host and a.t_end < s.t_start
        group by s.session_id
    ) x using (session_id)
)
select
    g,
    -- partitioned by the hash (one integer), not by the four columns: a cheaper sort
    row_number() over (partition by g order by t_start, src_first, line_first) as o,
    host, svc, client_ip, client_host, session_id, t_start as ts,
    cast(floor(epoch(t_start)) as bigint) as s,
    (cast(floor(epoch(t_start)) as bigint) - 1000000000) * 4294967296 + line_first as ord_start,
    (cast(floor(epoch(t_end)) as bigint) - 1000000000) * 4294967296 + line_last as ord_end,
    mail_cmds as w_mail, rcpt_cmds as w_rcpt, auth_cmds as w_auth,
    src_first as src, line_first as line
from (select *, hash(host, svc, client_ip, epoch) as g from e);
