-- sessions: one row per smtpd session, rebuilt from connect → disconnect of one smtpd process.
--
-- Grain: one row per (host, pid, session number). An smtpd process serves one client at a
-- time, so the lines of a pid between two "connect from" lines belong to one session; that
-- also handles pid reuse (a later process with the same pid simply starts a new session).
-- Order within a pid is (ts, source, line_no), so a session cut by log rotation (connect in
-- mail.log.1, disconnect in mail.log) is joined up as long as both files are in the store.
-- "warning: hostname X does not resolve to address A" is logged *before* "connect from"
-- (smtpd_peer.c), so it is counted with the following session.
--
-- Views:
--   smtpd_tagged  every smtpd event row plus sess_no (its session number within host+pid)
--   sessions      the sessions
--
-- sessions columns:
--   session_id        host/pid/source:line_no of the session's first line (stable text key)
--   host, pid, program, service (syslog_name part before /smtpd: postfix, postfix/submission ...)
--   client_host, client_ip   from the connect line (else any line of the session)
--   t_start, t_end    UTC; t_start = connect (or first line seen), t_end = disconnect (or last line)
--   duration_s        t_end - t_start, seconds (double)
--   has_connect, has_disconnect   false when the session is cut (file missing, log lost)
--   cut               null | 'no_connect' (began before the store) | 'no_disconnect'
--   commands, commands_ok, commands_total   disconnect counters (see grammar smtpd)
--   mail_cmds, rcpt_cmds, auth_cmds   MAIL/RCPT/AUTH commands issued (M of x=N/M), the events
--                     anvil counts for the message/recipient/auth rate limits
--   n_mail, n_rcpt, n_auth_failed      accepted MAIL, accepted RCPT, failed AUTH (counters)
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
--   rdns              'unknown' client with a hostname warning: 'not_resolved' / 'verification_failed' /
--                     'address_not_listed' / 'numeric_hostname'; 'no_ptr' for unknown without warning;
--                     'ok' for a named client
--   outcome           refused_limit | accepted | auth_failed | rejected | too_many_errors |
--                     timeout | lost | no_mail (first that applies, in this order)
--   src_first, line_first, src_last, line_last   provenance of the first and last line
-- Parameters: none (a view).
create or replace view smtpd_tagged as
select *,
    sum(case when kind = 'connect' then 1 else 0 end) over (
        partition by host, pid order by ts, source, line_no
        rows between unbounded preceding and current row)
    + case when kind = 'rdns_warning' then 1 else 0 end as sess_no
from events
where daemon = 'smtpd' and pid is not null;

create or replace view sessions as
with s as (
    select
        host, pid, sess_no,
        any_value(program) as program,
        any_value(service) as service,
        arg_min(client_host, ts) filter (where kind = 'connect') as c_host,
        arg_min(client_ip, ts) filter (where kind = 'connect') as c_ip,
        arg_min(client_host, ts) filter (where kind in ('disconnect', 'client', 'decision', 'lost_connection', 'timeout', 'too_many_errors')) as o_host,
        arg_min(client_ip, ts) filter (where kind in ('disconnect', 'client', 'decision', 'lost_connection', 'timeout', 'too_many_errors')) as o_ip,
        min(ts) filter (where kind = 'connect') as t_connect,
        min(ts) filter (where kind = 'disconnect') as t_disconnect,
        min(ts) as t_min,
        max(ts) as t_max,
        arg_min(commands, ts) filter (where kind = 'disconnect') as commands,
        arg_min(commands_ok, ts) filter (where kind = 'disconnect') as commands_ok,
        arg_min(commands_total, ts) filter (where kind = 'disconnect') as commands_total,
        arg_min(n_mail, ts) filter (where kind = 'disconnect') as n_mail,
        arg_min(n_rcpt, ts) filter (where kind = 'disconnect') as n_rcpt,
        arg_min(n_auth_failed, ts) filter (where kind = 'disconnect') as n_auth_failed,
        count(distinct queue_id) filter (where kind = 'client') as n_queued,
        count(distinct queue_id) filter (where kind = 'decision' and action in ('reject', 'defer', 'discard') and queue_id is not null) as n_qid_rejected,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer')) as n_rejects,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer') and restriction like 'reject\_%bl\_%' escape '\') as n_reject_rbl,
        arg_min(helo, ts) filter (where helo is not null) as helo,
        arg_min(tls, ts) filter (where kind = 'tls') as tls,
        arg_min(sasl_method, ts) filter (where kind = 'client' and sasl_username is not null) as sasl_method,
        arg_min(sasl_username, ts) filter (where kind = 'client' and sasl_username is not null) as sasl_username,
        count(*) filter (where kind = 'sasl_failed') as n_sasl_failed,
        bool_or(kind = 'lost_connection') as lost,
        bool_or(kind = 'timeout') as timeout,
        bool_or(kind = 'too_many_errors') as too_many_errors,
        count(*) filter (where kind in ('improper_pipelining', 'non_smtp_command', 'illegal_address', 'bare_newline')) as n_protocol,
        arg_min(metric, ts) filter (where kind = 'limit_exceeded') as limit_metric,
        bool_or(kind = 'limit_exceeded' and metric in ('connection_count', 'connection_rate')) as limit_refused,
        arg_min(status, ts) filter (where kind = 'rdns_warning') as rdns_warning,
        arg_min(source, (ts, line_no)) as src_first,
        arg_min(line_no, (ts, line_no)) as line_first,
        arg_max(source, (ts, line_no)) as src_last,
        arg_max(line_no, (ts, line_no)) as line_last
    from smtpd_tagged
    group by host, pid, sess_no
)
select
    host || '/' || pid || '/' || src_first || ':' || line_first as session_id,
    host, pid, program, service,
    coalesce(c_host, o_host) as client_host,
    coalesce(c_ip, o_ip) as client_ip,
    coalesce(t_connect, t_min) as t_start,
    coalesce(t_disconnect, t_max) as t_end,
    epoch(coalesce(t_disconnect, t_max)) - epoch(coalesce(t_connect, t_min)) as duration_s,
    t_connect is not null as has_connect,
    t_disconnect is not null as has_disconnect,
    case when t_connect is null then 'no_connect' when t_disconnect is null then 'no_disconnect' end as cut,
    commands, commands_ok, commands_total,
    coalesce(try_cast(regexp_extract(commands, '(?:^| )mail=\d+/(\d+)', 1) as integer),
             try_cast(regexp_extract(commands, '(?:^| )mail=(\d+)', 1) as integer), 0) as mail_cmds,
    coalesce(try_cast(regexp_extract(commands, '(?:^| )rcpt=\d+/(\d+)', 1) as integer),
             try_cast(regexp_extract(commands, '(?:^| )rcpt=(\d+)', 1) as integer), 0) as rcpt_cmds,
    coalesce(try_cast(regexp_extract(commands, '(?:^| )auth=\d+/(\d+)', 1) as integer),
             try_cast(regexp_extract(commands, '(?:^| )auth=(\d+)', 1) as integer), 0) as auth_cmds,
    n_mail, n_rcpt, n_auth_failed,
    n_queued,
    greatest(n_queued - n_qid_rejected, 0) as n_accepted,
    n_rejects, n_reject_rbl,
    helo, tls, sasl_method, sasl_username,
    (sasl_username is not null
        or coalesce(try_cast(regexp_extract(commands, '(?:^| )auth=(\d+)', 1) as integer), 0) > 0) as authenticated,
    n_sasl_failed,
    coalesce(lost, false) as lost,
    coalesce(timeout, false) as timeout,
    coalesce(too_many_errors, false) as too_many_errors,
    n_protocol,
    limit_metric,
    coalesce(limit_refused, false) as limit_refused,
    case
        when rdns_warning is not null then rdns_warning
        when coalesce(c_host, o_host) = 'unknown' then 'no_ptr'
        when coalesce(c_host, o_host) is null then null
        else 'ok'
    end as rdns,
    case
        when coalesce(limit_refused, false) then 'refused_limit'
        when greatest(n_queued - n_qid_rejected, 0) > 0 then 'accepted'
        when coalesce(n_auth_failed, 0) > 0 or n_sasl_failed > 0 then 'auth_failed'
        when n_rejects > 0 then 'rejected'
        when too_many_errors then 'too_many_errors'
        when timeout then 'timeout'
        when lost then 'lost'
        else 'no_mail'
    end as outcome,
    src_first, line_first, src_last, line_last
from s;
