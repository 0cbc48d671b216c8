-- forged_rdns: clients without reverse DNS, whose name does not resolve back, or whose name
-- looks dynamic (S25R), from smtpd connect lines. Needs forged_inside (logscope.insights.forged).
--
-- status: no_ptr (logged as unknown[ip] with no hostname warning: no PTR or a lookup failure),
--   not_resolved / verification_failed / address_not_listed (smtpd's "warning: hostname H does
--   not resolve to address A" family: the PTR name does not confirm, client logged as unknown),
--   dynamic (the name matches one of the S25R rules: 1 ^[^.]*[0-9][^0-9.]+[0-9].*\.,
--   2 ^[^.]*[0-9]{5}, 3 ^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z], 4 ^[^.]*[0-9]\.[^.]*[0-9]-[0-9],
--   5 ^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\., 6 ^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]).
-- Clients in mynetworks and clients that ever authenticated are left out.
-- Grain: one row per client with such connections in [since, until).
-- Columns: client_ip, client_host (latest), status, ptr_name (the unconfirmed PTR name, if
--   logged), s25r_rule (1-6 or NULL), connections, accepted (queue files opened), rejected
--   (reject/defer decisions), first_ts, last_ts (UTC), src, line (first connect line).
-- Parameters: $since, $until (timestamptz or NULL).
with e as (
    select kind, ts, client_ip, client_host, status, action, source, line_no
    from events
    where daemon = 'smtpd' and client_ip is not null
        and kind in ('connect', 'client', 'decision', 'rdns_warning')
        and (cast($since as timestamptz) is null or ts >= cast($since as timestamptz))
        and (cast($until as timestamptz) is null or ts < cast($until as timestamptz))
        and client_ip not in (select client_ip from forged_inside)
),
authed as (
    select distinct client_ip from events
    where daemon = 'smtpd' and kind = 'client' and sasl_username is not null and client_ip is not null
),
c as (
    select client_ip,
        arg_max(client_host, ts) filter (where kind = 'connect') as client_host,
        count(*) filter (where kind = 'connect') as connections,
        count(*) filter (where kind = 'connect' and client_host = 'unknown') as unknown_connections,
        count(*) filter (where kind = 'client') as accepted,
        count(*) filter (where kind = 'decision' and action in ('reject', 'defer')) as rejected,
        arg_max(status, ts) filter (where kind = 'rdns_warning') as warning,
        arg_max(client_host, ts) filter (where kind = 'rdns_warning') as ptr_name,
        min(ts) filter (where kind = 'connect') as first_ts, max(ts) filter (where kind = 'connect') as last_ts,
        arg_min(source, ts) filter (where kind = 'connect') as src,
        arg_min(line_no, ts) filter (where kind = 'connect') as line
    from e
    group by client_ip
),
k as (
    select c.*,
        case
            when client_host is null or client_host = 'unknown' then null
            when regexp_matches(lower(client_host), '^[^.]*[0-9][^0-9.]+[0-9].*\.') then 1
            when regexp_matches(lower(client_host), '^[^.]*[0-9]{5}') then 2
            when regexp_matches(lower(client_host), '^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]') then 3
            when regexp_matches(lower(client_host), '^[^.]*[0-9]\.[^.]*[0-9]-[0-9]') then 4
            when regexp_matches(lower(client_host), '^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\.') then 5
            when regexp_matches(lower(client_host), '^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]') then 6
        end as s25r_rule
    from c
    where connections > 0 and client_ip not in (select client_ip from authed)
)
select client_ip, client_host,
    case when unknown_connections > 0 then coalesce(warning, 'no_ptr') else 'dynamic' end as status,
    ptr_name, s25r_rule, connections, accepted, rejected, first_ts, last_ts, src, line
from k
where unknown_connections > 0 or s25r_rule is not null
order by status, connections desc, client_ip;
