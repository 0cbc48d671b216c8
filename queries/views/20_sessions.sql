-- sessions: one row per smtpd session, rebuilt from connect → disconnect of one smtpd process.
--
-- Grain: one row per session. An smtpd process serves one client at a time, so a pid's
-- "connect from" line and its next "disconnect from" line (same client) bound a session, and
-- every other line of that pid belongs to the last connect before it; that also handles pid
-- reuse (a later process with the same pid simply starts a new session). Lines are ordered by
-- ord = (second, line number), so a session cut by log rotation (connect in mail.log.1,
-- disconnect in mail.log) is joined up as long as both files are in the store (only a
-- rotation inside one second of one process can be misordered). A disconnect without its
-- connect (the file before is missing) is a session of its own (cut = 'no_connect'); lines
-- before the first connect of a pid are not attached. "warning: hostname X does not resolve
-- to address A" is logged *before* "connect from" (smtpd_peer.c): it belongs to the next connect.
--
-- Views:
--   session_bounds  the sessions from connect/disconnect lines alone (cheap: what the anvil
--                   model needs); columns session_id .. auth_cmds, n_auth_failed,
--                   authenticated_auth (auth=N/M with N > 0), src_first .. line_last, ord_first,
--                   ord_last below, and prev_t (UTC: the pid's previous connect/disconnect line)
--   smtpd_tagged    every other smtpd line (the columns sessions need) with ord and sess_ord
--                   (the ord of its session's connect line; null before a pid's first connect)
--   sessions        session_bounds plus what the other lines say
--
-- sessions columns:
--   session_id        host/pid/source:line_no of the session's first line (stable text key)
--   sess_ord, ord_first, ord_last   sortable (second, line) numbers of the connect (session key
--                     within host+pid), first and last line
--   host, pid, program, service (syslog_name part before /smtpd: postfix, postfix/submission ...)
--   client_host, client_ip   from the connect line (else any line of the session)
--   t_start, t_end    UTC: the connect and disconnect lines (the one there is, when cut)
--   duration_s        t_end - t_start, seconds (double)
--   has_connect, has_disconnect   false when the session is cut (file missing, log lost)
--   cut               null | 'no_connect' (began before the store) | 'no_disconnect'
--   commands          disconnect counters as logged ("ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4")
--   commands_ok, commands_total   accepted and issued commands (commands=N/M)
--   mail_cmds, rcpt_cmds, auth_cmds   MAIL/RCPT/AUTH commands issued (M of x=N/M), the events
--                     anvil counts for the message/recipient/auth rate limits
--   n_auth_failed     failed AUTH commands (M-N of auth=N/M)
--   n_queued          queue files opened (QID: client= lines)
--   n_accepted        n_queued minus queue ids smtpd itself then rejected (DATA/END-OF-MESSAGE)
--   n_rejects         reject/defer decisions (NOQUEUE or QID) in the session
--   n_reject_rbl      of those, reject_rbl_client / reject_rhsbl_* decisions
--   helo              HELO name from the first decision line that carries one (null if none)
--   tls               TLS protocol and cipher when STARTTLS succeeded
--   sasl_method, sasl_username   from client= lines (successful AUTH)
--   authenticated     true when the session authenticated (client= with sasl_username or auth=N/M, N>0)
--   n_sasl_failed     "SASL ... authentication failed" warnings
--   lost, timeout, too_many_errors   the session ended that way
--   n_protocol        improper pipelining, non-SMTP commands, illegal address syntax, bare LF
--   limit_metric      first anvil limit exceeded in the session (connection_count, connection_rate,
--                     message_rate, recipient_rate, newtls_rate, auth_rate); null if none
--   limit_refused     the connection was refused by a connection count or rate limit
--   limit_service     the service named by the session's first limit warning ("for service S")
--   reject_keys       distinct 'restriction|zone|stage' of the session's rejects and RBL lookup
--                     errors (which restrictions the session's service applies)
--   rdns              'unknown' client with a hostname warning: 'not_resolved' / 'verification_failed' /
--                     'address_not_listed' / 'numeric_hostname'; 'no_ptr' for unknown without warning;
--                     'ok' for a named client
--   outcome           refused_limit | accepted | auth_failed | rejected | too_many_errors |
--                     timeout | lost | no_mail (first that applies, in this order)
--   src_first, line_first, src_last, line_last   provenance of the connect and disconnect lines
-- Parameters: none (a view).
create or replace view session_bounds as
with cd as (
    select host, pid, program, ts, source, line_no, kind, client_host, client_ip, commands, commands_ok, commands_total,
        -- one sortable number: whole seconds since 2001-09-09, then the line number
        (cast(floor(epoch(ts)) as bigint) - 1000000000) * 4294967296 + line_no as ord
    from events
    where daemon = 'smtpd' and pid is not null and kind in ('connect', 'disconnect')
),
w as (
    select *,
        lead(kind) over w as n_kind, lead(ts) over w as n_ts, lead(commands) over w as n_commands,
        lead(commands_ok) over w as n_commands_ok, lead(commands_total) over w as n_commands_total,
        lead(source) over w as n_src, lead(ord) over w as n_ord, lead(client_ip) over w as n_ip,
        lag(kind) over w as p_kind, lag(client_ip) over w as p_ip, lag(ts) over w as p_ts
    from cd
    window w as (partition by host, pid order by ord)
),
p as (  -- a connect with the disconnect that follows it; a disconnect without its connect
    select *,
        kind = 'connect' and n_kind = 'disconnect' and n_ip is not distinct from client_ip as paired
    from w
    where kind = 'connect' or not (p_kind = 'connect' and p_ip is not distinct from client_ip)
),
b as (
    select host, pid, program, client_host, client_ip, ts as t_start, source as src_first, line_no as line_first,
        ord as ord_first, p_ts as prev_t,
        kind = 'connect' as has_connect,
        paired or kind = 'disconnect' as has_disconnect,
        case when paired then n_ts else ts end as t_end,
        case when paired then n_commands when kind = 'disconnect' then commands end as commands,
        case when paired then n_commands_ok when kind = 'disconnect' then commands_ok end as commands_ok,
        case when paired then n_commands_total when kind = 'disconnect' then commands_total end as commands_total,
        case when paired then n_src else source end as src_last,
        case when paired then n_ord % 4294967296 else line_no end as line_last,
        case when paired then n_ord else ord end as ord_last
    from p
)
select
    host || '/' || pid || '/' || src_first || ':' || line_first as session_id,
    host, pid, program,
    case when program like '%/smtpd' then left(program, length(program) - 6) end as service,
    client_host, client_ip, t_start, t_end,
    epoch(t_end) - epoch(t_start) as duration_s,
    has_connect, has_disconnect,
    case when not has_connect then 'no_connect' when not has_disconnect then 'no_disconnect' end as cut,
    commands,
    commands_ok, commands_total,
    coalesce(cast(nullif(split_part(x.m, '/', -1), '') as integer), 0) as mail_cmds,
    coalesce(cast(nullif(split_part(x.r, '/', -1), '') as integer), 0) as rcpt_cmds,
    coalesce(cast(nullif(split_part(x.a, '/', -1), '') as integer), 0) as auth_cmds,
    coalesce(cast(nullif(split_part(x.a, '/', -1), '') as integer) - cast(nullif(split_part(x.a, '/', 1), '') as integer), 0) as n_auth_failed,
    coalesce(cast(nullif(split_part(x.a, '/', 1), '') as integer), 0) > 0 as authenticated_auth,
    src_first, line_first, src_last, line_last, ord_first, ord_last, prev_t
from (
    select *,
        -- "x=N/M" or "x=N" of the counters, as text (string functions: cheaper than regexes here);
        -- commands=N/M is parsed at ingest (columns commands_ok, commands_total)
        {'m': split_part(split_part(commands, ' mail=', 2), ' ', 1),
         'r': split_part(split_part(commands, ' rcpt=', 2), ' ', 1),
         'a': split_part(split_part(commands, ' auth=', 2), ' ', 1)} as x
    from b
);

create or replace view smtpd_tagged as
with o as (
    select host, pid, ts, source, line_no, kind, queue_id, client_host, client_ip,
        stage, action, restriction, rbl_zone, helo, sasl_method, sasl_username, tls,
        metric, anvil_service, status,
        (cast(floor(epoch(ts)) as bigint) - 1000000000) * 4294967296 + line_no as ord
    from events
    where daemon = 'smtpd' and pid is not null and kind not in ('connect', 'disconnect')
),
c as (
    select host, pid, (cast(floor(epoch(ts)) as bigint) - 1000000000) * 4294967296 + line_no as ord
    from events
    where daemon = 'smtpd' and pid is not null and kind = 'connect'
)
select o.*, c.ord as sess_ord
from o asof left join c on o.host = c.host and o.pid = c.pid and o.ord >= c.ord
where o.kind <> 'rdns_warning'
union all
select o.*, c.ord as sess_ord
from o asof left join c on o.host = c.host and o.pid = c.pid and c.ord > o.ord
where o.kind = 'rdns_warning';

create or replace view sessions as
with x as (
    select host, pid, sess_ord,
        count(*) filter (where kind = 'client') as n_queued,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer', 'discard') and queue_id is not null) as n_qid_rejected,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer')) as n_rejects,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer') and restriction like 'reject\_%bl\_%' escape '\') as n_reject_rbl,
        arg_min(helo, ord) filter (where helo is not null) as helo,
        min(tls) filter (where kind = 'tls') as tls,
        arg_min(sasl_method, ord) filter (where kind = 'client' and sasl_username is not null) as sasl_method,
        arg_min(sasl_username, ord) filter (where kind = 'client' and sasl_username is not null) as sasl_username,
        count(*) filter (where kind = 'sasl_failed') as n_sasl_failed,
        -- flags: 4 lost connection, 8 timeout, 16 too many errors, 32 refused by a connection limit
        bit_or(case kind when 'lost_connection' then 4 when 'timeout' then 8 when 'too_many_errors' then 16
            when 'limit_exceeded' then (case when metric in ('connection_count', 'connection_rate') then 32 else 0 end)
            else 0 end) as flags,
        count(*) filter (where kind in ('improper_pipelining', 'non_smtp_command', 'illegal_address', 'bare_newline')) as n_protocol,
        arg_min(metric, ord) filter (where kind = 'limit_exceeded') as limit_metric,
        arg_min(anvil_service, ord) filter (where kind = 'limit_exceeded') as limit_service,
        arg_min(status, ord) filter (where kind = 'rdns_warning') as rdns_warning,
        list(coalesce(restriction, kind) || '|' || coalesce(rbl_zone, '') || '|' || coalesce(stage, ''))
            filter (where (kind = 'decision' and action in ('reject', 'defer')) or kind = 'rbl_lookup_error') as reject_keys
    from smtpd_tagged
    where sess_ord is not null
    group by host, pid, sess_ord
),
j as (
    select b.*, x.* exclude (host, pid), coalesce(x.flags, 0) as f
    from session_bounds b
    left join x on x.host = b.host and x.pid = b.pid and x.sess_ord = b.ord_first and b.has_connect
)
select
    session_id, sess_ord, host, pid, program, service, client_host, client_ip, t_start, t_end, duration_s,
    has_connect, has_disconnect, cut, commands, commands_ok, commands_total, mail_cmds, rcpt_cmds, auth_cmds,
    n_auth_failed,
    coalesce(n_queued, 0) as n_queued,
    greatest(coalesce(n_queued, 0) - coalesce(n_qid_rejected, 0), 0) as n_accepted,
    coalesce(n_rejects, 0) as n_rejects,
    coalesce(n_reject_rbl, 0) as n_reject_rbl,
    helo, tls, sasl_method, sasl_username,
    sasl_username is not null or authenticated_auth as authenticated,
    coalesce(n_sasl_failed, 0) as n_sasl_failed,
    f & 4 > 0 as lost,
    f & 8 > 0 as timeout,
    f & 16 > 0 as too_many_errors,
    coalesce(n_protocol, 0) as n_protocol,
    limit_metric,
    f & 32 > 0 as limit_refused,
    limit_service,
    list_distinct(coalesce(reject_keys, [])) as reject_keys,
    case
        when rdns_warning is not null then rdns_warning
        when client_host = 'unknown' then 'no_ptr'
        when client_host is null then null
        else 'ok'
    end as rdns,
    case
        when f & 32 > 0 then 'refused_limit'
        when coalesce(n_queued, 0) > coalesce(n_qid_rejected, 0) then 'accepted'
        when n_auth_failed > 0 or coalesce(n_sasl_failed, 0) > 0 then 'auth_failed'
        when coalesce(n_rejects, 0) > 0 then 'rejected'
        when f & 16 > 0 then 'too_many_errors'
        when f & 8 > 0 then 'timeout'
        when f & 4 > 0 then 'lost'
        else 'no_mail'
    end as outcome,
    src_first, line_first, src_last, line_last, ord_first, ord_last
from j;
