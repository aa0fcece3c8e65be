-- verified + paper_exit = lifted, on every row of the target progress.
SELECT as_of_date, year, province_code
FROM marts.target_progress
WHERE verified_people + paper_exit_people <> lifted_people
