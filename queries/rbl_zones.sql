-- Blocklist effectiveness and health inputs, one row per DNS blocklist zone seen in the log.
-- Answers: what each zone rejected, whom, how uniquely, how often its lookups failed, and how much
-- of the traffic it saw it hit (the inputs of the health statuses; see logscope/insights/rbl.py).
-- Grain: one row per zone (lower-cased). A zone appears when smtpd or postscreen rejected with it,
--   dnsblog reported a listing, or a lookup failed.
-- Columns:
--   rbl_zone, rbl_class (rbl | rhsbl_* ; the most frequent), hits (decision lines naming the zone),
--   rejects (refused: reject/defer), reject_warnings (warn_if_reject dry runs), smtpd_rejects,
--   postscreen_rejects, clients (distinct client IPs hit), nets (distinct /24s), hit_or_listed (distinct
--   clients it hit or dnsblog listed), share (rejects /
--   all refused decisions in the period, 0..1), only_this_zone (clients this zone hit or listed that no
--   other zone hit or listed), listings (dnsblog A records), listed_clients, error_code_listings
--   (127.255.255.x answers), error_code_replies (those A records), txt_errors (rejects whose TXT says
--   "open resolver", "returnc", "query refused", "excessive number of queries", 127.255.255.x),
--   txt_error_example, lookup_errors (warnings), lookup_timeouts (postscreen reply timeouts),
--   error_clients, seen_clients / seen_connections (outside clients and connections the zone was
--   consulted for, see view rbl_population and query rbl_exposure), hit_seen_clients (outside clients hit or listed among them),
--   good_hit_clients (outside clients it hit or listed that also had mail accepted or authenticated),
--   good_examples (up to 5 such IPs), first_ts / last_ts (UTC, any activity), first_hit / last_hit,
--   first_error / last_error, example_source / example_line_no (a hit, else a listing, else an error),
--   error_source / error_line_no (an error line), examples (up to 3 {source, line_no}: hits, else
--   listings, else errors), error_examples (up to 3 error lines), daily (per UTC day with exposure:
--   {day, seen_clients, hit_clients, hit_rate}, as query rbl_daily), error_breakdown (lookup errors
--   by {daemon, error, errors, clients, first_ts, last_ts, example_source, example_line_no, example},
--   as query rbl_lookup_errors), overlap ([{zone, both}]: clients another zone also hit or listed),
--   same_lookup ([{zone, same_lookup}]: clients dnsblog listed in both within 60 s), ps_rank
--   (postscreen DNSBL rank lines whose client this zone listed: {ranks, ranked_clients, rank_sum,
--   max_rank, min_rank, only_zone, inferred_weight, total_rank_sum}, as query rbl_postscreen_rank).
-- Parameters: $since, $until (timestamps, optional; UTC), $inside_lo, $inside_hi (lists of BIGINT:
--   IPv4 ranges that count as inside clients, from mynetworks; default 127.0.0.1 only).
-- Zones are numbered in rbl_zone_index; beyond the 62nd zone seen_clients and the daily rates are 0
-- (unknown), so such zones get no rate-based status.
-- Speed: the store is read in three passes (decisions; the small dnsblog/postscreen kinds; smtpd
-- client= lines) plus the view rbl_population; the CTEs below repeat the filters of the views
-- rejects, rbl_hits, dnsbl_listings, rbl_lookup_errors and client_mail for that reason.
with
dec as materialized (
    -- decisions (view rejects), the columns this query needs
    select ts, daemon, source, line_no, queue_id, client_ip, action, reply, lower(rbl_zone) as rbl_zone, rbl_class,
        action in ('reject', 'defer', 'milter-reject', 'proxy-reject', 'hangup') as refused
    from events
    where kind in ('decision', 'check', 'milter') and action is not null and action <> 'permit'
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
hits as materialized (
    -- view rbl_hits
    select rbl_zone, rbl_class, client_ip, ls_client_net(client_ip) as client_net, ts, refused, action, daemon, source, line_no, reply
    from dec where rbl_zone is not null
),
small as materialized (
    select kind, daemon, host, ts, source, line_no, client_ip, lower(rbl_zone) as rbl_zone, rbl_class, rbl_reply, value
    from events
    where kind in ('dnsbl_listing', 'rbl_lookup_error', 'rbl_timeout', 'ps_dnsbl_rank')
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
lst as materialized (
    -- view dnsbl_listings
    select ts, host, source, line_no, client_ip, rbl_zone, rbl_reply, coalesce(rbl_reply like '127.255.255.%', false) as error_code
    from small where kind = 'dnsbl_listing'
),
err as materialized (
    -- view rbl_lookup_errors
    select ts, host, daemon, source, line_no, kind, client_ip, rbl_zone, rbl_class,
        case when kind = 'rbl_timeout' then 'timeout' else 'lookup_error' end as error
    from small where kind in ('rbl_lookup_error', 'rbl_timeout') and rbl_zone is not null
),
pop as (
    select service, host, mask, client_ip, cast(epoch_us(ts) // 86400000000 as integer) as dayno
    from rbl_population
    where screened and client_ip is not null and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
idx as materialized (
    select * from rbl_zone_index
),
sc as materialized (
    -- bits of the zones in scope per (host, service)
    select s.host, s.service, bit_or(cast(1 as bigint) << i.bit) as smask
    from rbl_zone_scope s join idx i on i.rbl_zone = s.rbl_zone and i.bit < 62
    group by all
),
cm_day as materialized (
    -- per client and UTC day: the zones whose population the client was in (view rbl_population)
    select p.client_ip, p.dayno, bit_or(case when p.mask = 0 then sc.smask else p.mask & sc.smask end) as zmask
    from pop p join sc on sc.host = p.host and sc.service = p.service
    group by p.client_ip, p.dayno
),
cm as materialized (
    select client_ip, bit_or(zmask) as zmask from cm_day group by client_ip
),
conns as (
    -- connections per zone: grouped by mask first (few groups), then spread over the zones
    select i.rbl_zone, sum(g.n) as conns
    from (select p.host, p.service, p.mask, count(*) as n from pop p group by all) g
    join sc on sc.host = g.host and sc.service = g.service
    join idx i on i.bit < 62 and ((case when g.mask = 0 then sc.smask else g.mask & sc.smask end) >> i.bit) & 1 = 1
    group by i.rbl_zone
),
inside_ranges as (
    select unnest(coalesce($inside_lo, [2130706433::bigint])) as lo, unnest(coalesce($inside_hi, [2130706433::bigint])) as hi
),
refused_total as (
    select count(*) as n from dec where refused
),
good as (
    -- view client_mail: clients with mail accepted (not refused later) or authenticated
    select distinct c.client_ip
    from events c
    left join (select distinct queue_id from dec where refused and queue_id is not null) r on r.queue_id = c.queue_id
    where c.kind = 'client' and c.daemon = 'smtpd' and c.queue_id is not null
      and (r.queue_id is null or c.sasl_username is not null)
      and ($since is null or c.ts >= $since) and ($until is null or c.ts < $until)
),
hit_clients as materialized (
    select distinct rbl_zone, client_ip from hits where client_ip is not null
    union
    select distinct rbl_zone, client_ip from lst where not error_code and client_ip is not null
),
outside as materialized (
    select u.client_ip, u.client_ip <> '::1' and r.lo is null as is_outside
    from (select client_ip from hit_clients union select client_ip from cm) u
    left join inside_ranges r on ls_ip4_int(u.client_ip) between r.lo and r.hi
    where u.client_ip is not null
    qualify row_number() over (partition by u.client_ip) = 1
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
        count(*) filter (where regexp_matches(reply,
            '(?i)open resolver|public resolver|returnc|query refused|excessive number of queries|127\.255\.255\.')) as txt_errors,
        arg_min(reply, ts) filter (where regexp_matches(reply,
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
    select i.rbl_zone, count(*) as seen_clients
    from cm join outside o on o.client_ip = cm.client_ip and o.is_outside
    join idx i on i.bit < 62 and (cm.zmask >> i.bit) & 1 = 1
    group by i.rbl_zone
),
hc as (
    select hc.rbl_zone,
        count(*) as hit_or_listed,
        count(*) filter (where o.is_outside and x.client_ip is not null) as hit_seen_clients,
        count(*) filter (where o.is_outside and g.client_ip is not null) as good_hit_clients,
        list(hc.client_ip order by hc.client_ip) filter (where o.is_outside and g.client_ip is not null)[1:5] as good_examples,
        count(*) filter (where zc.zones = 1) as only_this_zone
    from hit_clients hc
    join outside o on hc.client_ip = o.client_ip
    left join good g on hc.client_ip = g.client_ip
    join zone_count zc on hc.client_ip = zc.client_ip
    left join idx i on i.rbl_zone = hc.rbl_zone
    left join cm x on x.client_ip = hc.client_ip and i.bit < 62 and (x.zmask >> i.bit) & 1 = 1
    group by hc.rbl_zone
),
hit_day as (
    select distinct rbl_zone, cast(epoch_us(ts) // 86400000000 as integer) as dayno, client_ip from hits
    union
    select distinct rbl_zone, cast(epoch_us(ts) // 86400000000 as integer), client_ip from lst where not error_code
),
dd as (
    select i.rbl_zone, c.dayno, count(*) as seen, count(hd.client_ip) as hit
    from cm_day c
    join outside o on o.client_ip = c.client_ip and o.is_outside
    join idx i on i.bit < 62 and (c.zmask >> i.bit) & 1 = 1
    left join hit_day hd on hd.rbl_zone = i.rbl_zone and hd.dayno = c.dayno and hd.client_ip = c.client_ip
    group by i.rbl_zone, c.dayno
),
daily as (
    select rbl_zone,
        list({'day': date '1970-01-01' + dayno, 'seen_clients': seen, 'hit_clients': hit, 'hit_rate': hit / seen} order by dayno) as daily
    from dd group by rbl_zone
),
eb as (
    -- lookup errors by daemon and kind of error (as query rbl_lookup_errors, without the text:
    -- reading the detail column costs more than the rest of this query)
    select rbl_zone, list({'daemon': daemon, 'error': error, 'errors': n, 'clients': c, 'first_ts': f, 'last_ts': t,
                           'example_source': es, 'example_line_no': el, 'example': ex} order by n desc) as error_breakdown
    from (select rbl_zone, daemon, error, count(*) as n, count(distinct client_ip) as c, min(ts) as f, max(ts) as t,
                 arg_min(source, ts) as es, arg_min(line_no, ts) as el, null as ex
          from err group by all)
    group by rbl_zone
),
ov as (
    -- overlap with other zones (as query rbl_overlap): clients both hit or listed
    select zone_a as rbl_zone, list({'zone': zone_b, 'both': n} order by n desc, zone_b) as overlap
    from (select a.rbl_zone as zone_a, b.rbl_zone as zone_b, count(*) as n
          from hit_clients a join hit_clients b on a.client_ip = b.client_ip and a.rbl_zone <> b.rbl_zone
          group by all)
    group by zone_a
),
same_lookup as (
    -- clients dnsblog reported listed by this and another zone within 60 s (one postscreen lookup)
    select zone_a as rbl_zone, list({'zone': zone_b, 'same_lookup': n} order by zone_b) as same_lookup
    from (select a.rbl_zone as zone_a, b.rbl_zone as zone_b, count(distinct a.client_ip) as n
          from lst a join lst b
            on a.client_ip = b.client_ip and a.host = b.host and a.rbl_zone <> b.rbl_zone
           and not a.error_code and not b.error_code
           and b.ts between a.ts - interval 60 second and a.ts + interval 60 second
          group by all)
    group by zone_a
),
rk as (
    select host, client_ip, ts, value as rank from small where kind = 'ps_dnsbl_rank'
),
rm as (
    -- the dnsblog listings behind each "DNSBL rank N" (as query rbl_postscreen_rank)
    select distinct rk.host, rk.client_ip, rk.ts, rk.rank, l.rbl_zone
    from rk join lst l
      on l.host = rk.host and l.client_ip = rk.client_ip and not l.error_code
     and l.ts between rk.ts - interval 60 second and rk.ts
),
rz as (
    select host, client_ip, ts, count(*) as zones from rm group by all
),
ps_rank as (
    select m.rbl_zone, {
        'ranks': count(*), 'ranked_clients': (select count(distinct client_ip) from rk),
        'rank_sum': sum(m.rank), 'max_rank': max(m.rank), 'min_rank': min(m.rank),
        'only_zone': count(*) filter (where z.zones = 1),
        'inferred_weight': mode(m.rank) filter (where z.zones = 1),
        'total_rank_sum': (select sum(rank) from rk)} as ps_rank
    from rm m join rz z on z.host = m.host and z.client_ip = m.client_ip and z.ts = m.ts
    group by m.rbl_zone
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
    coalesce(hc.hit_or_listed, 0) as hit_or_listed,
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
    coalesce(cn.conns, 0) as seen_connections,
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
    e.error_examples,
    d.daily,
    eb.error_breakdown,
    ov.overlap,
    sl.same_lookup,
    pr.ps_rank
from zones z
left join h on h.rbl_zone = z.rbl_zone
left join l on l.rbl_zone = z.rbl_zone
left join e on e.rbl_zone = z.rbl_zone
left join x on x.rbl_zone = z.rbl_zone
left join hc on hc.rbl_zone = z.rbl_zone
left join daily d on d.rbl_zone = z.rbl_zone
left join conns cn on cn.rbl_zone = z.rbl_zone
left join eb on eb.rbl_zone = z.rbl_zone
left join ov on ov.rbl_zone = z.rbl_zone
left join same_lookup sl on sl.rbl_zone = z.rbl_zone
left join ps_rank pr on pr.rbl_zone = z.rbl_zone
order by rejects desc, hits desc, lookup_errors desc, z.rbl_zone
