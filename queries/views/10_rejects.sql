-- View `rejects`: every access decision smtpd, postscreen and cleanup logged, except permits.
-- Grain: one row per decision line (a multi-recipient RCPT reject is one row per recipient, as logged).
-- Sources: smtpd/postscreen kind `decision` (NOQUEUE/QID: reject|reject_warning|defer|hold|discard|...:),
--          cleanup kind `check` (header_checks/body_checks) and `milter` (milter-reject ...).
-- Columns: ts (UTC), host, program, service, daemon, pid, source, line_no, kind, queue_id,
--          client_host, client_ip, client_net (IPv4 /24 as a.b.c.0/24; IPv6 /48 when the first three
--          groups are written out, else the address), stage, action, code (SMTP reply code), dsn, reply,
--          restriction (classified, 'unclassified' when unknown), restriction_class, rbl_zone, rbl_class,
--          rbl_txt (the blocklist's TXT text), sender, recipient, helo, sasl_username,
--          rule (access-table entry text, or the matched header/body of a check),
--          rule_key (the <address> or <host[ip]> an access table was looked up with),
--          refused (true when the client or message was refused: reject, defer, milter-reject,
--          proxy-reject, hangup; false for reject_warning, hold, discard, warn, info, filter ...),
--          permanent (code >= 500, or a 5.x.x dsn when no code is logged).
-- Parameters: none (filter by ts in the query that uses it).
create or replace macro ls_ip4_int(ip) as
    case when regexp_full_match(ip, '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
         then (split_part(ip, '.', 1)::bigint << 24) + (split_part(ip, '.', 2)::bigint << 16)
              + (split_part(ip, '.', 3)::bigint << 8) + split_part(ip, '.', 4)::bigint
    end;

create or replace macro ls_client_net(ip) as
    case
        when ip is null then null
        when regexp_full_match(ip, '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
            then regexp_extract(ip, '^(\d+\.\d+\.\d+)\.', 1) || '.0/24'
        when regexp_matches(ip, '^[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:')
            then lower(regexp_extract(ip, '^([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}):', 1)) || '::/48'
        else ip
    end;

create or replace view rejects as
select
    ts, host, program, service, daemon, pid, source, line_no, kind, queue_id,
    client_host, client_ip, ls_client_net(client_ip) as client_net,
    stage, action, code, dsn, reply,
    coalesce(restriction, case when kind = 'check' then status || '_checks' end, 'unclassified') as restriction,
    coalesce(restriction_class, case when kind = 'check' then 'content' end, 'other') as restriction_class,
    rbl_zone, rbl_class,
    case when rbl_zone is not null then detail end as rbl_txt,
    sender, recipient, helo, sasl_username,
    case
        when kind = 'check' then detail
        when restriction like 'check\_%\_access' escape '\' then
            regexp_replace(
                reply,
                '^(?:<[^>]*>: )?(?:(?:Client host|Helo command|Sender address|Recipient address|Data command|Etrn command|Reverse client hostname|Client certificate|SASL login name) rejected: )?',
                '')
    end as rule,
    case when restriction like 'check\_%\_access' escape '\' then nullif(regexp_extract(reply, '^<([^>]*)>: ', 1), '') end as rule_key,
    action in ('reject', 'defer', 'milter-reject', 'proxy-reject', 'hangup') as refused,
    coalesce(code >= 500, dsn like '5.%', false) as permanent
from events
where kind in ('decision', 'check', 'milter')
  and action is not null
  and action <> 'permit';
