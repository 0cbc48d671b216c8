-- Coverage: lines that were kept but not understood, by reason, with one example.
-- Grain: one row per reason. Columns: reason, lines, example_source, example_line_no, example.
-- Parameters: none.
select
    reason,
    count(*) as lines,
    arg_min(source, line_no) as example_source,
    min(line_no) as example_line_no,
    arg_min(raw, line_no) as example
from unparsed
group by reason
order by lines desc, reason
