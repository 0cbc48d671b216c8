-- Who each blocklist zone was consulted for: one row per (zone, connection), as inferred by the
-- views rbl_population / rbl_zone_scope / rbl_zone_index (see queries/views/12_rbl_exposure.sql).
-- Large (zones x connections): for counts, group it.
-- Grain: one row per (zone, smtpd connect or screened postscreen CONNECT). Columns: rbl_zone,
--   via ('smtpd' | 'postscreen'), host, pid, ts (UTC), client_ip, client_net.
-- Parameters: $since, $until (timestamps, optional; UTC), $zone (optional: one zone).
select s.rbl_zone, case when p.service = 'postscreen' then 'postscreen' else 'smtpd' end as via,
    p.host, p.pid, p.ts, p.client_ip, p.client_net
from rbl_population p
join rbl_zone_scope s on s.host = p.host and s.service = p.service
join rbl_zone_index i on i.rbl_zone = s.rbl_zone
where p.screened and (p.mask = 0 or i.bit >= 62 or ((p.mask >> i.bit) & 1) = 1)
  and ($zone is null or s.rbl_zone = lower($zone))
  and ($since is null or p.ts >= $since) and ($until is null or p.ts < $until)
order by p.ts, s.rbl_zone
