-- forged_patterns: the forged-sender rules over forged_tx (logscope.insights.forged), one row
-- per (rule, client). Envelopes from authenticated sessions (sasl_username) never count.
--
-- Rules (code: what it finds):
--   own_domain_sender    envelope sender in one of our domains ($domains)
--   from_equals_to       envelope sender equal to the recipient
--   helo_ours            HELO/EHLO claiming our host name ($hostnames), one of our domains or a
--                        name inside one ($domains), one of our addresses ($addresses, bare or
--                        [bracketed]), or localhost (localhost, localhost.*, 127.x, ::1)
--   login_mismatch       rejected by reject_*sender_login_mismatch (not logged in / not owned by user);
--                        authenticated senders count here: that is the point of the check
--   random_local_part    sender local part that looks machine-made: 10+ characters of letters and
--                        digits with 3+ letter/digit alternations, a run of 6+ consonants, or 16+ hex
--                        digits mixing letters and digits; VERP/SRS/bounce forms (containing = or +,
--                        or starting with bounce, prvs, msprvs, srs0, srs1, btv1, return) excluded
--   sender_many_clients  one sender address from >= $min_clients clients in >= $min_nets networks
--                        (/24 for IPv4, /48 for IPv6)
--   client_many_domains  one client using >= $min_domains sender domains within $window_s seconds
-- Grain: one row per (code, client_ip) with at least one hit.
-- Columns: code, client_ip, client_host (latest), hits (envelopes), rejected, accepted,
--   detail (up to 5 distinct senders, HELO names or sender domains that triggered it), n (sender_many_clients:
--   clients using the address; client_many_domains: most sender domains in one window),
--   restrictions (list: which restrictions rejected it), first_ts, last_ts (UTC),
--   src, line (first example).
-- Parameters: $domains, $hostnames, $addresses (lists of text, lower case), $min_clients,
--   $min_nets, $min_domains, $window_s (integers), $part: 'envelope' (the first five rules, which
--   look at one envelope), 'sender_many_clients', 'client_many_domains', or NULL (all rules). The
--   parts share no rows, so cursors can run them at once.
with unauth as not materialized (  -- inlined: a materialized copy of forged_tx costs more than the scans
    select * from forged_tx where sasl_username is null
),
hits as (
    select 'own_domain_sender' as code, *, sender as detail, null::bigint as n from unauth
    where sender_domain is not null and list_contains(cast($domains as varchar[]), sender_domain)
    union all
    select 'from_equals_to', *, sender, null from unauth
    where sender is not null and sender <> '' and sender = recipient
    union all
    select 'helo_ours', *, helo || case
            when helo in ('localhost', 'localhost.localdomain', '::1', '[::1]', '[ipv6:::1]') or helo like 'localhost.%'
                or regexp_matches(helo, '^\[?127\.\d+\.\d+\.\d+\]?$') then ' (localhost)'
            when list_contains(cast($addresses as varchar[]), regexp_replace(trim(helo, '[]'), '^ipv6:', '')) then ' (our address)'
            else ' (our name)' end, null
    from unauth
    where helo is not null and (
        list_contains(cast($hostnames as varchar[]), helo) or list_contains(cast($domains as varchar[]), helo)
        or len(list_filter(cast($domains as varchar[]), lambda d: helo like '%.' || d)) > 0
        or list_contains(cast($addresses as varchar[]), regexp_replace(trim(helo, '[]'), '^ipv6:', ''))
        or helo in ('localhost', 'localhost.localdomain', '::1', '[::1]', '[ipv6:::1]')
        or helo like 'localhost.%' or regexp_matches(helo, '^\[?127\.\d+\.\d+\.\d+\]?$'))
    union all
    select 'login_mismatch', *, coalesce(sender, '') || coalesce(' (login ' || sasl_username || ')', ''), null from forged_tx
    where restriction in ('reject_sender_login_mismatch', 'reject_authenticated_sender_login_mismatch',
                          'reject_known_sender_login_mismatch', 'reject_unauthenticated_sender_login_mismatch')
    union all
    select 'random_local_part', *, sender, null from unauth
    where local_part is not null and length(local_part) >= 8
        and not regexp_matches(local_part, '[=+]|^(bounces?|prvs|msprvs|srs0|srs1|btv1|return)')
        and (
            (regexp_matches(local_part, '^[a-z0-9]{10,}$')
                and length(regexp_replace(local_part, '([a-z]+|[0-9]+)', 'x', 'g')) >= 4)
            or regexp_matches(local_part, '[bcdfghjklmnpqrstvwxz]{6,}')
            or (regexp_matches(local_part, '^[0-9a-f]{16,}$') and regexp_matches(local_part, '[a-f]')
                and regexp_matches(local_part, '[0-9]')))
),
sc as (  -- distinct (sender address, client)
    select sender, client_ip
    from unauth
    where sender is not null and sender <> '' and client_ip is not null
    group by sender, client_ip
),
multi_client as (  -- sender addresses seen from many clients (counted first: cheap) in many networks
    select sc.sender, any_value(n.n) as n
    from sc
    join (select sender, count(*) as n from sc group by sender having count(*) >= cast($min_clients as integer)) n
        using (sender)
    group by sc.sender
    having count(distinct case when client_ip like '%:%' then array_to_string(string_split(client_ip, ':')[1:3], ':')
                                else regexp_replace(client_ip, '\.\d+$', '') end) >= cast($min_nets as integer)
),
hits2 as (
    select 'sender_many_clients' as code, u.*, u.sender as detail, m.n
    from unauth u
    join multi_client m using (sender)
),
many as (  -- only clients with enough sender domains overall can have them in one window
    select client_ip from unauth
    where sender_domain is not null and client_ip is not null
    group by client_ip
    having count(distinct sender_domain) >= cast($min_domains as integer)
),
dom as (  -- distinct sender domains per client within the window, at each envelope
    select *, count(distinct sender_domain) over (
        partition by client_ip order by ts
        range between to_seconds(cast($window_s as bigint)) preceding and current row) as n_domains
    from unauth
    where sender_domain is not null and client_ip in (select client_ip from many)
),
hits3 as (
    select 'client_many_domains' as code, * exclude (n_domains), sender_domain as detail, n_domains as n
    from dom
    where client_ip in (select client_ip from dom where n_domains >= cast($min_domains as integer))
        and n_domains >= cast($min_domains as integer)
),
allhits as (  -- a constant filter on $part: DuckDB skips the branches of the other part
    select * from hits where $part is null or $part = 'envelope'
    union all by name select * from hits2 where $part is null or $part = 'sender_many_clients'
    union all by name select * from hits3 where $part is null or $part = 'client_many_domains'
)
select code, client_ip,
    arg_max(client_host, ts) as client_host,
    count(*) as hits,
    count(*) filter (where origin = 'reject') as rejected,
    count(*) filter (where origin = 'accepted') as accepted,
    array_to_string(list_sort(list_distinct(list(detail)))[1:5], ', ') as detail,  -- cheaper than list(distinct .. order by)
    max(n) as n,
    list_sort(list_distinct(list(restriction) filter (where restriction is not null))) as restrictions,
    min(ts) as first_ts, max(ts) as last_ts,
    arg_min(src, (ts, src, line)) as src, arg_min(line, (ts, src, line)) as line  -- ties: the first line
from allhits
group by code, client_ip
order by code, hits desc, client_ip;
