-- tune_model_starts: step 3b of the anvil model: collect the window starts of long-burst groups.
-- Start with every burst start of those groups; then, for levels K down to 0, add the
-- connections 2^level windows ahead of those found so far. After level 0 the set holds
-- next^m(burst start) for every m < 2^(K+1), i.e. every window start of the chain.
-- Grain: adds rows (g, o) to the temp table tune_start.
-- Parameters: $level (integer).
insert into tune_start
select distinct j.g, j.nxt
from tune_start s
join tune_jump j on j.level = cast($level as integer) and j.g = s.g and j.o = s.o
anti join tune_start t on t.g = j.g and t.o = j.nxt;
