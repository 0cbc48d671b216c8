-- The access-table entries and header/body check rules that fired.
-- Access tables (check_client_access, check_helo_access, check_sender_access, check_recipient_access
-- ...) are identified by the text their entry returned (e.g. "Forged local sender from outside
-- client", "Sender address triggers DISCARD action"); header_checks/body_checks by the header or body
-- line that matched (cleanup logs at most 200 characters of it).
-- Grain: one row per (restriction, action, rule). Columns: restriction, restriction_class, action,
--   rule (entry text or matched line), reply (the reply the client got, for checks: the optional
--   text), code, dsn, events, clients (distinct client IPs), keys (distinct looked-up keys:
--   addresses, host[ip], HELO names), key_examples (up to 5), first_ts, last_ts (UTC),
--   example_source, example_line_no.
-- Parameters: $since, $until (timestamps, optional; UTC).
select
    restriction, restriction_class, action, rule,
    any_value(case when kind = 'check' then reply end) as reply,
    mode(code) as code,
    mode(dsn) as dsn,
    count(*) as events,
    count(distinct client_ip) as clients,
    count(distinct rule_key) as keys,
    list(distinct rule_key order by rule_key) filter (where rule_key is not null)[1:5] as key_examples,
    min(ts) as first_ts,
    max(ts) as last_ts,
    arg_min(source, ts) as example_source,
    arg_min(line_no, ts) as example_line_no
from rejects
where rule is not null
  and ($since is null or ts >= $since) and ($until is null or ts < $until)
group by restriction, restriction_class, action, rule
order by restriction, events desc, rule
