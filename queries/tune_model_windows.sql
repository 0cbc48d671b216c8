-- tune_model_windows: step 2 of the anvil model: window candidates, into temp table tune_rs.
--
-- anvil keeps, per (service, client), the time `start` of its first event and resets every
-- rate to 0 when an event arrives later than start + anvil_rate_time_unit (anvil.c
-- ANVIL_REMOTE_INCR_RATE: `if (start + var_anvil_time_unit < now) reset, start = now`).
-- Window starts therefore form a chain: the group's first connection, then the first one
-- more than unit seconds after that start, and so on. Where two consecutive connections are
-- more than unit apart the later one always starts a window ("burst" start); only groups with
-- a burst longer than unit need the chain, which tune_model_jump/starts follow by pointer
-- doubling.
-- Grain: one row per tune_ev row.
-- Columns: g, o, s, burst_start (bool), long_group (bool: g has a burst spanning more than
--   unit seconds), nxt (o of the first connection of g with s > this s + unit, or NULL).
-- Parameters: $unit (anvil_rate_time_unit, seconds).
create or replace temp table tune_rs as
with a as (
    select g, o, s,
        count(*) over (partition by g) as n_g,
        count(*) over (partition by g order by s range between unbounded preceding and cast($unit as bigint) following) as cnt_le,
        -- the previous distinct second and the rows before this second (ties share both)
        max(s) over (partition by g order by s range between unbounded preceding and 1 preceding) as prev_s,
        count(*) over (partition by g order by s range between unbounded preceding and 1 preceding) as n_before
    from tune_ev
),
a2 as (
    select *, prev_s is null or s - prev_s > cast($unit as bigint) as burst_start_s from a
),
b as (
    select *,
        -- the second the current burst began (ties share it, whatever their order)
        max(case when burst_start_s then s end) over (partition by g order by s range between unbounded preceding and current row) as burst
    from a2
)
select g, o, s,
    burst_start_s and o = n_before + 1 as burst_start,
    bool_or(s - burst > cast($unit as bigint)) over (partition by g) as long_group,
    case when cnt_le < n_g then cnt_le + 1 end as nxt
from b;
