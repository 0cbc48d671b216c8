-- tune_model_jump: step 3a of the anvil model: pointer doubling over window chains.
-- Level 0 (run with $level = -1): tune_jump(level 0, g, o, nxt) for groups with a long burst.
-- Level k+1 (run with $level = k): nxt applied twice, i.e. 2^(k+1) windows ahead.
-- Grain: one row per (level, connection of such a group) that has a successor that far ahead.
-- Parameters: $level (integer: the level to build from; -1 builds level 0).
insert into tune_jump
select 0 as level, g, o, nxt
from tune_rs
where cast($level as integer) = -1 and long_group and nxt is not null
union all
select a.level + 1, a.g, a.o, b.nxt
from tune_jump a
join tune_jump b on b.level = a.level and b.g = a.g and b.o = a.nxt
where a.level = cast($level as integer);
