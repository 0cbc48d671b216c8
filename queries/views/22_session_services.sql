-- session_services: the master.cf service of each smtpd session, as anvil names it.
--
-- anvil counts per (service, client) where service is the master.cf service name
-- ("smtp", "smtpd" behind postscreen, "submission", "127.0.0.1:2525"), which the log shows
-- only in limit warnings ("... for service 127.0.0.1:2525") and anvil statistics lines
-- ("(127.0.0.1:2525:192.0.2.7)"). An smtpd process serves one service all its life, so:
--   1. sessions are grouped into process instances: same host+pid, and no idle gap longer than
--      120 s between sessions (smtpd exits after max_idle = 100 s without a client);
--   2. a process instance takes the service of a limit warning it logged ('warning'), of an
--      anvil statistics line whose client had exactly one session (hence one process) active
--      at the line's "at" time, ±1 s ('anvil'), or "smtpd" when it took a client that
--      postscreen had just passed (PASS NEW/OLD, ALLOWLISTED within 2 s: the conventional
--      'smtpd pass' service, 'postscreen'); the most frequent label wins;
--   3. a process without a label is compared with the labelled services by its fingerprint,
--      the set of (restriction, zone, stage) of its rejects and RBL lookup errors (services
--      exist to differ in restrictions): it takes the labelled service that shares most of
--      them, if that is at least half ('fingerprint'); otherwise it is a service of its own,
--      named "?" plus its smallest fingerprint entry, so that the processes of one unknown
--      service stay together ('unknown');
--   4. a process with no label and no fingerprint takes the most common service of the
--      processes of its host and syslog name ('dominant'), else the program name ('program').
--
-- Grain: one row per session.
-- Columns: session_id, host, pid, proc_no (process instance within host+pid),
--          anvil_service (text), service_from ('warning' | 'anvil' | 'postscreen' |
--          'fingerprint' | 'unknown' | 'dominant' | 'program').
-- Parameters: none (a view).
create or replace view session_services as
with p as (
    select session_id, host, pid, program, client_ip, t_start, t_end, ord_first,
        sum(case when prev_t is null or epoch(t_start) - epoch(prev_t) > 120 then 1 else 0 end) over (
            partition by host, pid order by ord_first rows between unbounded preceding and current row) as proc_no
    from session_bounds
),
procs as (  -- process instances: where each begins
    select host, pid, proc_no, min(ord_first) as ord_first from p group by all
),
pl as (  -- the other smtpd lines that tell a process's service, each tied to its process
    select l.kind, l.anvil_service, l.k, pr.host, pr.pid, pr.proc_no
    from (
        select host, pid, kind, anvil_service,
            coalesce(restriction, kind) || '|' || coalesce(rbl_zone, '') || '|' || coalesce(stage, '') as k,
            (cast(floor(epoch(ts)) as bigint) - 1000000000) * 4294967296 + line_no as ord
        from events
        where daemon = 'smtpd' and pid is not null
            and (kind = 'limit_exceeded' or kind = 'rbl_lookup_error' or (kind = 'decision' and action in ('reject', 'defer')))
    ) l
    asof join procs pr on pr.host = l.host and pr.pid = l.pid and l.ord >= pr.ord_first
),
warn as (
    select host, pid, proc_no, anvil_service as svc, 'warning' as how
    from pl
    where kind = 'limit_exceeded' and anvil_service is not null
),
anv as (
    select host, anvil_service, client_ip, anvil_ts
    from events
    where daemon = 'anvil' and kind = 'anvil' and client_ip is not null and anvil_ts is not null
),
cand as (  -- (few anvil lines: only their clients' sessions go into the join)
    select a.host, a.anvil_service, a.client_ip, a.anvil_ts, p.pid, p.proc_no
    from anv a
    join (select * from p where client_ip in (select client_ip from anv)) p
        on p.host = a.host and p.client_ip = a.client_ip
        and p.t_start <= a.anvil_ts + interval 1 second and p.t_end >= a.anvil_ts - interval 1 second
),
anvil_lbl as (
    select host, min(pid) as pid, min(proc_no) as proc_no, any_value(anvil_service) as svc, 'anvil' as how
    from cand
    group by host, anvil_service, client_ip, anvil_ts
    having count(distinct (pid, proc_no)) = 1
),
ps_pass as (
    select host, client_ip, ts
    from events
    where daemon = 'postscreen' and kind in ('ps_pass', 'ps_allowlisted') and client_ip is not null
),
ps_lbl as (
    select distinct p.host, p.pid, p.proc_no, 'smtpd' as svc, 'postscreen' as how
    from p join ps_pass x on x.host = p.host and x.client_ip = p.client_ip
        and x.ts between p.t_start - interval 2 second and p.t_start
),
lbl as (
    select host, pid, proc_no, svc, how from warn
    union all
    select host, pid, proc_no, svc, how from anvil_lbl
    union all
    select host, pid, proc_no, svc, how from ps_lbl
),
proc_lbl as (  -- most frequent label per process instance; warnings beat anvil matches on ties
    select host, pid, proc_no,
        arg_max(svc, (n, how = 'warning', svc, how)) as svc,  -- then by name: the same on every run
        arg_max(how, (n, how = 'warning', svc, how)) as how
    from (select host, pid, proc_no, svc, how, count(*) as n from lbl group by all)
    group by host, pid, proc_no
),
fp as (  -- fingerprint entries of every process instance
    select distinct host, pid, proc_no, k
    from pl
    where kind <> 'limit_exceeded'
),
svc_fp as (
    select distinct l.svc, f.host, f.k
    from proc_lbl l join fp f using (host, pid, proc_no)
),
unl_fp as (  -- fingerprint entries of processes without a label
    select f.host, f.pid, f.proc_no, f.k
    from fp f anti join proc_lbl l on l.host = f.host and l.pid = f.pid and l.proc_no = f.proc_no
),
fp_min as (
    select host, pid, proc_no, min(k) as k_min, count(*) as n_k from unl_fp group by all
),
fp_best as (  -- the labelled service sharing most entries (at least half of them)
    select b.host, b.pid, b.proc_no, arg_max(b.svc, (b.n, b.svc)) as svc
    from (
        select u.host, u.pid, u.proc_no, s.svc, count(*) as n
        from unl_fp u join svc_fp s on s.host = u.host and s.k = u.k
        group by all
    ) b
    join fp_min m using (host, pid, proc_no)
    where 2 * b.n >= m.n_k
    group by all
),
sess as (
    select p.session_id, p.host, p.pid, p.proc_no, p.program,
        coalesce(l.svc, b.svc, case when m.k_min is not null then '?' || m.k_min end) as svc,
        case when l.svc is not null then l.how when b.svc is not null then 'fingerprint'
             when m.k_min is not null then 'unknown' end as how
    from p
    left join proc_lbl l using (host, pid, proc_no)
    left join fp_best b using (host, pid, proc_no)
    left join fp_min m using (host, pid, proc_no)
),
dominant as (
    select host, program, arg_max(svc, (n, svc)) as svc
    from (select host, program, svc, count(*) as n from sess
          where svc is not null and how not in ('unknown', 'postscreen') group by all)
    group by host, program
)
select s.session_id, s.host, s.pid, s.proc_no,
    coalesce(s.svc, d.svc, s.program) as anvil_service,
    case when s.svc is not null then s.how when d.svc is not null then 'dominant' else 'program' end as service_from
from sess s
left join dominant d using (host, program);
