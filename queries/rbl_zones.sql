-- Blocklist effectiveness and health inputs, one row per DNS blocklist zone seen in the log.
-- Answers: what each zone rejected, whom, how uniquely, how often its lookups failed, and how much
-- of the traffic it saw it hit (the inputs of the health statuses; see logscope/insights/rbl.py).
-- Grain: one row per zone (lower-cased). A zone appears when smtpd or postscreen rejected with it,
--   dnsblog reported a listing, or a lookup failed.
-- Columns:
--   rbl_zone, rbl_class (rbl | rhsbl_* ; the most frequent), hits (decision lines naming the zone),
--   rejects (refused: reject/defer), reject_warnings (warn_if_reject dry runs), smtpd_rejects,
--   postscreen_rejects, clients (distinct client IPs hit), nets (distinct /24s), share (rejects /
--   all refused decisions in the period, 0..1), only_this_zone (clients this zone hit or listed that no
--   other zone hit or listed), listings (dnsblog A records), listed_clients, error_code_listings
--   (127.255.255.x answers), error_code_replies (those A records), txt_errors (rejects whose TXT says
--   "open resolver", "returnc", "query refused", "excessive number of queries", 127.255.255.x),
--   txt_error_example, lookup_errors (warnings), lookup_timeouts (postscreen reply timeouts),
--   error_clients, seen_clients / seen_connections (outside clients and connections the zone was
--   consulted for, see view rbl_exposure), hit_seen_clients (outside clients hit or listed among them),
--   good_hit_clients (outside clients it hit or listed that also had mail accepted or authenticated),
--   good_examples (up to 5 such IPs), first_ts / last_ts (UTC, any activity), first_hit / last_hit,
--   first_error / last_error, example_source / example_line_no (a hit, else a listing, else an error),
--   error_source / error_line_no (an error line), examples (up to 3 {source, line_no}: hits, else
--   listings, else errors), error_examples (up to 3 error lines).
-- Parameters: $since, $until (timestamps, optional; UTC), $inside_lo, $inside_hi (lists of BIGINT:
--   IPv4 ranges that count as inside clients, from mynetworks; default 127.0.0.1 only).
with
hits as (
    select lower(rbl_zone) as rbl_zone, rbl_class, client_ip, client_net, ts, refused, action, daemon, source, line_no, rbl_txt, reply
    from rbl_hits
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
lst as (
    select * from dnsbl_listings
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
err as (
    select * from rbl_lookup_errors
    where rbl_zone is not null and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
expo as (
    select rbl_zone, client_ip, ts from rbl_exposure
    where ($since is null or ts >= $since) and ($until is null or ts < $until)
),
inside_ranges as (
    select unnest(coalesce($inside_lo, [2130706433::bigint])) as lo, unnest(coalesce($inside_hi, [2130706433::bigint])) as hi
),
refused_total as (
    select count(*) as n from rejects
    where refused and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
good as (
    select distinct client_ip from client_mail
    where (accepted or authenticated) and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
hit_clients as (
    select distinct rbl_zone, client_ip from hits where client_ip is not null
    union
    select distinct rbl_zone, client_ip from lst where not error_code and client_ip is not null
),
outside as (
    select distinct client_ip,
        not (client_ip in ('::1')
             or exists (select 1 from inside_ranges r where ls_ip4_int(client_ip) between r.lo and r.hi)) as is_outside
    from (select client_ip from hit_clients union select client_ip from expo)
    where client_ip is not null
),
zone_count as (
    select client_ip, count(*) as zones from hit_clients group by client_ip
),
h as (
    select rbl_zone,
        mode(rbl_class) as rbl_class,
        count(*) as hits,
        count(*) filter (where refused) as rejects,
        count(*) filter (where action = 'reject_warning') as reject_warnings,
        count(*) filter (where refused and daemon = 'smtpd') as smtpd_rejects,
        count(*) filter (where refused and daemon = 'postscreen') as postscreen_rejects,
        count(distinct client_ip) as clients,
        count(distinct client_net) as nets,
        count(*) filter (where regexp_matches(coalesce(rbl_txt, '') || ' ' || coalesce(reply, ''),
            '(?i)open resolver|public resolver|returnc|query refused|excessive number of queries|127\.255\.255\.')) as txt_errors,
        arg_min(rbl_txt, ts) filter (where regexp_matches(coalesce(rbl_txt, '') || ' ' || coalesce(reply, ''),
            '(?i)open resolver|public resolver|returnc|query refused|excessive number of queries|127\.255\.255\.')) as txt_error_example,
        min(ts) as first_hit, max(ts) as last_hit,
        arg_min(source, ts) as h_source, arg_min(line_no, ts) as h_line_no,
        list({'source': source, 'line_no': line_no} order by ts, line_no)[1:3] as h_examples
    from hits group by rbl_zone
),
l as (
    select rbl_zone,
        count(*) as listings,
        count(distinct client_ip) filter (where not error_code) as listed_clients,
        count(*) filter (where error_code) as error_code_listings,
        list(distinct rbl_reply) filter (where error_code) as error_code_replies,
        min(ts) as first_listing, max(ts) as last_listing,
        arg_min(source, ts) as l_source, arg_min(line_no, ts) as l_line_no,
        list({'source': source, 'line_no': line_no} order by error_code desc, ts, line_no)[1:3] as l_examples
    from lst group by rbl_zone
),
e as (
    select rbl_zone,
        count(*) filter (where kind <> 'rbl_timeout') as lookup_errors,
        count(*) filter (where kind = 'rbl_timeout') as lookup_timeouts,
        count(distinct client_ip) as error_clients,
        min(ts) as first_error, max(ts) as last_error,
        arg_min(source, ts) as error_source, arg_min(line_no, ts) as error_line_no,
        list({'source': source, 'line_no': line_no} order by ts, line_no)[1:3] as error_examples
    from err group by rbl_zone
),
x as (
    select x.rbl_zone,
        count(distinct x.client_ip) as seen_clients,
        count(*) as seen_connections
    from expo x join outside o on x.client_ip = o.client_ip and o.is_outside
    group by x.rbl_zone
),
hc as (
    select hc.rbl_zone,
        count(*) filter (where o.is_outside and exists (select 1 from expo x where x.rbl_zone = hc.rbl_zone and x.client_ip = hc.client_ip))
            as hit_seen_clients,
        count(*) filter (where o.is_outside and g.client_ip is not null) as good_hit_clients,
        list(hc.client_ip order by hc.client_ip) filter (where o.is_outside and g.client_ip is not null)[1:5] as good_examples,
        count(*) filter (where zc.zones = 1) as only_this_zone
    from hit_clients hc
    join outside o on hc.client_ip = o.client_ip
    left join good g on hc.client_ip = g.client_ip
    join zone_count zc on hc.client_ip = zc.client_ip
    group by hc.rbl_zone
),
zones as (
    select rbl_zone from h union select rbl_zone from l union select rbl_zone from e
)
select
    z.rbl_zone,
    coalesce(h.rbl_class, case when l.rbl_zone is not null then 'rbl' end,
             (select mode(rbl_class) from err where err.rbl_zone = z.rbl_zone)) as rbl_class,
    coalesce(h.hits, 0) as hits,
    coalesce(h.rejects, 0) as rejects,
    coalesce(h.reject_warnings, 0) as reject_warnings,
    coalesce(h.smtpd_rejects, 0) as smtpd_rejects,
    coalesce(h.postscreen_rejects, 0) as postscreen_rejects,
    coalesce(h.clients, 0) as clients,
    coalesce(h.nets, 0) as nets,
    coalesce(h.rejects, 0) / nullif((select n from refused_total), 0) as share,
    coalesce(hc.only_this_zone, 0) as only_this_zone,
    coalesce(l.listings, 0) as listings,
    coalesce(l.listed_clients, 0) as listed_clients,
    coalesce(l.error_code_listings, 0) as error_code_listings,
    l.error_code_replies,
    coalesce(h.txt_errors, 0) as txt_errors,
    h.txt_error_example,
    coalesce(e.lookup_errors, 0) as lookup_errors,
    coalesce(e.lookup_timeouts, 0) as lookup_timeouts,
    coalesce(e.error_clients, 0) as error_clients,
    coalesce(x.seen_clients, 0) as seen_clients,
    coalesce(x.seen_connections, 0) as seen_connections,
    coalesce(hc.hit_seen_clients, 0) as hit_seen_clients,
    coalesce(hc.good_hit_clients, 0) as good_hit_clients,
    hc.good_examples,
    least(h.first_hit, l.first_listing, e.first_error) as first_ts,
    greatest(h.last_hit, l.last_listing, e.last_error) as last_ts,
    h.first_hit, h.last_hit, e.first_error, e.last_error,
    coalesce(h.h_source, l.l_source, e.error_source) as example_source,
    coalesce(h.h_line_no, l.l_line_no, e.error_line_no) as example_line_no,
    e.error_source, e.error_line_no,
    coalesce(h.h_examples, l.l_examples, e.error_examples) as examples,
    e.error_examples
from zones z
left join h on h.rbl_zone = z.rbl_zone
left join l on l.rbl_zone = z.rbl_zone
left join e on e.rbl_zone = z.rbl_zone
left join x on x.rbl_zone = z.rbl_zone
left join hc on hc.rbl_zone = z.rbl_zone
order by rejects desc, hits desc, lookup_errors desc, z.rbl_zone
