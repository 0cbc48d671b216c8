-- What if reject_unknown_client_hostname were added: clients logged as "unknown[ip]" (no reverse
-- DNS name, or the name does not resolve back to the address) that delivered accepted mail, and
-- would have been refused (450 4.7.1 with the default unknown_client_reject_code).
-- Grain: one row. Columns: clients (distinct outside unknown clients with accepted mail), messages
--   (their accepted queue files), authenticated_clients / authenticated_messages (of those, with
--   SASL; permit_sasl_authenticated before the restriction would spare them), unauthenticated_clients,
--   unauthenticated_messages, examples (up to 5 IPs, most messages first), all_clients (distinct
--   outside clients with accepted mail), share (clients / all_clients, 0..1).
-- Parameters: $since, $until (timestamps, optional; UTC), $inside_lo, $inside_hi (lists of BIGINT:
--   IPv4 ranges of inside clients, exempt through permit_mynetworks; default 127.0.0.1 only).
with
inside_ranges as (
    select unnest(coalesce($inside_lo, [2130706433::bigint])) as lo, unnest(coalesce($inside_hi, [2130706433::bigint])) as hi
),
m as (
    select client_ip, client_host, authenticated from client_mail
    where accepted and client_ip is not null
      and client_ip <> '::1'
      and not exists (select 1 from inside_ranges r where ls_ip4_int(client_ip) between r.lo and r.hi)
      and ($since is null or ts >= $since) and ($until is null or ts < $until)
),
per_client as (
    select client_ip, count(*) as messages, bool_or(authenticated) as authenticated,
        bool_or(client_host = 'unknown') as unknown
    from m group by client_ip
)
select
    count(*) filter (where unknown) as clients,
    coalesce(sum(messages) filter (where unknown), 0) as messages,
    count(*) filter (where unknown and authenticated) as authenticated_clients,
    coalesce(sum(messages) filter (where unknown and authenticated), 0) as authenticated_messages,
    count(*) filter (where unknown and not authenticated) as unauthenticated_clients,
    coalesce(sum(messages) filter (where unknown and not authenticated), 0) as unauthenticated_messages,
    list(client_ip order by messages desc, client_ip) filter (where unknown)[1:5] as examples,
    count(*) as all_clients,
    count(*) filter (where unknown) / nullif(count(*), 0) as share
from per_client
