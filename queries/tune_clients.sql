-- tune_clients: per client, what it did and how close it came to each anvil limit, with its
-- class (legitimate / abusive / exempt / unknown) and the reasons, into temp table tune_cls.
-- Needs tune_exempt and tune_val (tune_model_*.sql, run by logscope.insights.tune).
--
-- Classes, first rule that applies:
--   exempt      listed in smtpd_client_event_limit_exceptions (default $mynetworks): anvil
--               never counts it, limits never refuse it
--   legitimate  authenticated (SASL) in any session; or had mail accepted, at least as many
--               messages accepted as commands rejected, no protocol abuse, and fewer than
--               $sasl_brute_min failed AUTH commands
--   abusive     refused by a connection limit, rejected by a DNS blocklist, "too many
--               errors", protocol abuse (improper pipelining, non-SMTP command, illegal address,
--               bare LF), >= $sasl_brute_min failed AUTH, or rejected without any accepted mail
--   unknown     none of these (connected, never tried to send: probes, TLS-only, lost)
-- Grain: one row per client address with sessions starting in [since, until) (view
--   session_bounds; the counts come from the client's smtpd lines in the period).
-- Columns: client_ip, client_host (latest name), sessions, accepted (messages), rejected
--   (reject/defer decisions), rbl_rejects, authenticated, auth_failed (failed AUTH commands),
--   refused_sessions (connection limit), too_many_errors (sessions), protocol (violations),
--   exempt, class, reasons (list of text), peak_concurrency, peak_connection_rate,
--   peak_message_rate, peak_recipient_rate, peak_auth_rate (anvil model values, per
--   anvil_rate_time_unit; null for exempt clients), t_peak_connection_rate (UTC),
--   warn_connection_count, warn_connection_rate, warn_message_rate, warn_recipient_rate,
--   warn_newtls_rate, warn_auth_rate (limit-exceeded warnings logged).
-- Parameters: $since, $until (timestamptz or NULL), $sasl_brute_min (integer).
create or replace temp table tune_cls as
with sb as (
    select client_ip,
        arg_max(client_host, t_start) as client_host,
        count(*) as sessions,
        bool_or(authenticated_auth) as auth_ok,
        sum(n_auth_failed) as auth_failed_cmds
    from session_bounds
    where client_ip is not null
        and (cast($since as timestamptz) is null or t_start >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or t_start < cast($until as timestamptz))
    group by client_ip
),
ev as (  -- what the other smtpd lines say, per client
    select client_ip,
        count(*) filter (where kind = 'client') as queued,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer', 'discard') and queue_id is not null) as qid_rejected,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer')) as rejected,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer') and restriction like 'reject\_%bl\_%' escape '\') as rbl_rejects,
        bool_or(kind = 'client' and sasl_username is not null) as sasl_ok,
        count(*) filter (where kind = 'sasl_failed') as sasl_failed,
        count(*) filter (where kind = 'limit_exceeded' and metric in ('connection_count', 'connection_rate')) as refused_sessions,
        count(*) filter (where kind = 'too_many_errors') as too_many_errors,
        count(*) filter (where kind in ('improper_pipelining', 'non_smtp_command', 'illegal_address', 'bare_newline')) as protocol
    from events
    where daemon = 'smtpd' and client_ip is not null
        and kind in ('client', 'decision', 'sasl_failed', 'limit_exceeded', 'too_many_errors',
                     'improper_pipelining', 'non_smtp_command', 'illegal_address', 'bare_newline')
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
    group by client_ip
),
c as (
    select sb.client_ip, sb.client_host, sb.sessions,
        greatest(coalesce(ev.queued, 0) - coalesce(ev.qid_rejected, 0), 0) as accepted,
        coalesce(ev.rejected, 0) as rejected,
        coalesce(ev.rbl_rejects, 0) as rbl_rejects,
        sb.auth_ok or coalesce(ev.sasl_ok, false) as authenticated,
        greatest(coalesce(ev.sasl_failed, 0), sb.auth_failed_cmds) as auth_failed,
        coalesce(ev.refused_sessions, 0) as refused_sessions,
        coalesce(ev.too_many_errors, 0) as too_many_errors,
        coalesce(ev.protocol, 0) as protocol
    from sb left join ev using (client_ip)
),
k as (
    select c.*, x.client_ip is not null as exempt
    from c left join (select distinct client_ip from tune_exempt) x using (client_ip)
),
p as (
    select client_ip,
        max(conn_count) as peak_concurrency,
        max(conn_rate) as peak_connection_rate,
        arg_max(ts, (conn_rate, -epoch(ts))) as t_peak_connection_rate,  -- the first time
        nullif(max(mail_rate), 0) as peak_message_rate,
        nullif(max(rcpt_rate), 0) as peak_recipient_rate,
        nullif(max(auth_rate), 0) as peak_auth_rate
    from tune_val
    group by client_ip
),
w as (
    select client_ip,
        count(*) filter (where metric = 'connection_count') as warn_connection_count,
        count(*) filter (where metric = 'connection_rate') as warn_connection_rate,
        count(*) filter (where metric = 'message_rate') as warn_message_rate,
        count(*) filter (where metric = 'recipient_rate') as warn_recipient_rate,
        count(*) filter (where metric = 'newtls_rate') as warn_newtls_rate,
        count(*) filter (where metric = 'auth_rate') as warn_auth_rate
    from events
    where daemon = 'smtpd' and kind = 'limit_exceeded' and client_ip is not null
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
    group by client_ip
)
select k.*,
    case
        when exempt then 'exempt'
        when authenticated then 'legitimate'
        when accepted > 0 and accepted >= rejected and too_many_errors = 0 and protocol = 0
            and auth_failed < cast($sasl_brute_min as integer) then 'legitimate'
        when refused_sessions > 0 or rbl_rejects > 0 or too_many_errors > 0 or protocol > 0
            or auth_failed >= cast($sasl_brute_min as integer) or rejected > 0 then 'abusive'
        else 'unknown'
    end as class,
    list_filter([
        case when exempt then 'in smtpd_client_event_limit_exceptions' end,
        case when authenticated then 'authenticated' end,
        case when accepted > 0 then accepted || ' message(s) accepted' end,
        case when rejected > 0 then rejected || ' command(s) rejected' end,
        case when rbl_rejects > 0 then rbl_rejects || ' DNSBL reject(s)' end,
        case when refused_sessions > 0 then refused_sessions || ' connection(s) refused by a limit' end,
        case when too_many_errors > 0 then too_many_errors || ' "too many errors" session(s)' end,
        case when protocol > 0 then protocol || ' protocol violation(s)' end,
        case when auth_failed > 0 then auth_failed || ' failed AUTH' end
    ], lambda x: x is not null) as reasons,
    p.peak_concurrency, p.peak_connection_rate, p.peak_message_rate, p.peak_recipient_rate,
    p.peak_auth_rate, p.t_peak_connection_rate,
    coalesce(w.warn_connection_count, 0) as warn_connection_count,
    coalesce(w.warn_connection_rate, 0) as warn_connection_rate,
    coalesce(w.warn_message_rate, 0) as warn_message_rate,
    coalesce(w.warn_recipient_rate, 0) as warn_recipient_rate,
    coalesce(w.warn_newtls_rate, 0) as warn_newtls_rate,
    coalesce(w.warn_auth_rate, 0) as warn_auth_rate
from k
left join p using (client_ip)
left join w using (client_ip);
