-- sessions: one row per smtpd session, rebuilt from connect → disconnect of one smtpd process.
--
-- Grain: one row per (host, pid, session number). An smtpd process serves one client at a
-- time, so the lines of a pid between two "connect from" lines belong to one session; that
-- also handles pid reuse (a later process with the same pid simply starts a new session).
-- Order within a pid is (second, line number), so a session cut by log rotation (connect in
-- mail.log.1, disconnect in mail.log) is joined up as long as both files are in the store
-- (only a rotation inside one second of one process can be misordered).
-- "warning: hostname X does not resolve to address A" is logged *before* "connect from"
-- (smtpd_peer.c), so it is counted with the following session.
--
-- Views:
--   smtpd_tagged  every smtpd event row (the columns sessions need) plus ord (a sortable number:
--                 second, then line number) and sess_no (connect lines counted in host, pid, ord
--                 order: with host and pid, a session key)
--   sessions      the sessions
--
-- sessions columns:
--   session_id        host/pid/source:line_no of the session's first line (stable text key)
--   sess_no           session key within host+pid (see smtpd_tagged)
--   host, pid, program, service (syslog_name part before /smtpd: postfix, postfix/submission ...)
--   client_host, client_ip   from the connect line (else any line of the session)
--   t_start, t_end    UTC: the session's first line (its connect) and last line (its disconnect)
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
--   src_first, line_first, src_last, line_last   provenance of the first and last line
-- Parameters: none (a view).
create or replace view smtpd_tagged as
with e as (
    select host, pid, program, ts, source, line_no, kind, queue_id, client_host, client_ip,
        stage, action, restriction, rbl_zone, helo, sasl_method, sasl_username, tls, commands,
        metric, anvil_service, status,
        -- one sortable number: whole seconds since 2001-09-09, then the line number
        (cast(floor(epoch(ts)) as bigint) - 1000000000) * 4294967296 + line_no as ord
    from events
    where daemon = 'smtpd' and pid is not null
)
select *,
    -- connects so far in (host, pid, ord) order: with host and pid, a unique session key
    sum(case when kind = 'connect' then 1 else 0 end) over (
        order by host, pid, ord rows between unbounded preceding and current row)
    + case when kind = 'rdns_warning' then 1 else 0 end as sess_no
from e;

create or replace view sessions as
with s as (
    select
        host, pid, sess_no,
        any_value(program) as program,
        -- the connect line comes first; rdns warnings and RBL lookup errors name other hosts
        arg_min(client_host, ord) filter (where kind not in ('rdns_warning', 'rbl_lookup_error')) as client_host,
        arg_min(client_ip, ord) filter (where kind not in ('rdns_warning', 'rbl_lookup_error')) as client_ip,
        min(ts) as t_start,
        max(ts) as t_end,
        -- flags: 1 connect, 2 disconnect, 4 lost connection, 8 timeout, 16 too many errors,
        -- 32 refused by a connection limit
        bit_or(case kind when 'connect' then 1 when 'disconnect' then 2 when 'lost_connection' then 4
            when 'timeout' then 8 when 'too_many_errors' then 16
            when 'limit_exceeded' then (case when metric in ('connection_count', 'connection_rate') then 32 else 0 end)
            else 0 end) as flags,
        arg_min(commands, ord) filter (where kind = 'disconnect') as commands,
        count(*) filter (where kind = 'client') as n_queued,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer', 'discard') and queue_id is not null) as n_qid_rejected,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer')) as n_rejects,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer') and restriction like 'reject\_%bl\_%' escape '\') as n_reject_rbl,
        arg_min(helo, ord) filter (where helo is not null) as helo,
        min(tls) filter (where kind = 'tls') as tls,
        arg_min(sasl_method, ord) filter (where kind = 'client' and sasl_username is not null) as sasl_method,
        arg_min(sasl_username, ord) filter (where kind = 'client' and sasl_username is not null) as sasl_username,
        count(*) filter (where kind = 'sasl_failed') as n_sasl_failed,
        count(*) filter (where kind in ('improper_pipelining', 'non_smtp_command', 'illegal_address', 'bare_newline')) as n_protocol,
        arg_min(metric, ord) filter (where kind = 'limit_exceeded') as limit_metric,
        arg_min(anvil_service, ord) filter (where kind = 'limit_exceeded') as limit_service,
        arg_min(status, ord) filter (where kind = 'rdns_warning') as rdns_warning,
        list(coalesce(restriction, kind) || '|' || coalesce(rbl_zone, '') || '|' || coalesce(stage, ''))
            filter (where (kind = 'decision' and action in ('reject', 'defer')) or kind = 'rbl_lookup_error') as reject_keys,
        arg_min(source, ord) as src_first,
        min(ord) as ord_first,
        arg_max(source, ord) as src_last,
        max(ord) as ord_last
    from smtpd_tagged
    group by host, pid, sess_no
)
select
    host || '/' || pid || '/' || src_first || ':' || (ord_first % 4294967296) as session_id,
    sess_no, host, pid, program,
    nullif(regexp_extract(program, '^(.*)/[^/]+$', 1), '') as service,
    client_host, client_ip, t_start, t_end,
    epoch(t_end) - epoch(t_start) as duration_s,
    flags & 1 > 0 as has_connect,
    flags & 2 > 0 as has_disconnect,
    case when flags & 1 = 0 then 'no_connect' when flags & 2 = 0 then 'no_disconnect' end as cut,
    commands,
    cast(nullif(c.ok, '') as integer) as commands_ok,
    cast(coalesce(nullif(c.total, ''), nullif(c.ok, '')) as integer) as commands_total,
    coalesce(try_cast(regexp_extract(commands, '(?:^| )mail=(?:\d+/)?(\d+)', 1) as integer), 0) as mail_cmds,
    coalesce(try_cast(regexp_extract(commands, '(?:^| )rcpt=(?:\d+/)?(\d+)', 1) as integer), 0) as rcpt_cmds,
    coalesce(cast(nullif(a.total, '') as integer), cast(nullif(a.ok, '') as integer), 0) as auth_cmds,
    coalesce(cast(nullif(a.total, '') as integer) - cast(nullif(a.ok, '') as integer), 0) as n_auth_failed,
    n_queued,
    greatest(n_queued - n_qid_rejected, 0) as n_accepted,
    n_rejects, n_reject_rbl,
    helo, tls, sasl_method, sasl_username,
    sasl_username is not null or coalesce(cast(nullif(a.ok, '') as integer), 0) > 0 as authenticated,
    n_sasl_failed,
    flags & 4 > 0 as lost,
    flags & 8 > 0 as timeout,
    flags & 16 > 0 as too_many_errors,
    n_protocol,
    limit_metric,
    flags & 32 > 0 as limit_refused,
    limit_service,
    list_distinct(coalesce(reject_keys, [])) as reject_keys,
    case
        when rdns_warning is not null then rdns_warning
        when client_host = 'unknown' then 'no_ptr'
        when client_host is null then null
        else 'ok'
    end as rdns,
    case
        when flags & 32 > 0 then 'refused_limit'
        when n_queued > n_qid_rejected then 'accepted'
        when coalesce(cast(nullif(a.total, '') as integer) - cast(nullif(a.ok, '') as integer), 0) > 0
            or n_sasl_failed > 0 then 'auth_failed'
        when n_rejects > 0 then 'rejected'
        when flags & 16 > 0 then 'too_many_errors'
        when flags & 8 > 0 then 'timeout'
        when flags & 4 > 0 then 'lost'
        else 'no_mail'
    end as outcome,
    src_first, ord_first % 4294967296 as line_first, src_last, ord_last % 4294967296 as line_last
from (
    select *,
        regexp_extract(commands, '(?:^| )commands=(\d+)(?:/(\d+))?', ['ok', 'total']) as c,
        regexp_extract(commands, '(?:^| )auth=(\d+)(?:/(\d+))?', ['ok', 'total']) as a
    from s
);
