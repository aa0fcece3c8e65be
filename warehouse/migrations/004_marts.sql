-- Marts are rebuilt by warehouse/marts/*.sql inside every load transaction.
CREATE TABLE marts.target_progress (
    as_of_date          DATE NOT NULL,
    year                INTEGER NOT NULL,
    province_code       VARCHAR NOT NULL,
    target_people       BIGINT,
    lifted_people       BIGINT NOT NULL,
    verified_people     BIGINT NOT NULL,
    paper_exit_people   BIGINT NOT NULL,
    returned_people     BIGINT NOT NULL,
    net_people          BIGINT NOT NULL,
    pct_of_target       DOUBLE,
    projected_year_end  DOUBLE,
    on_track            BOOLEAN,
    PRIMARY KEY (as_of_date, year, province_code)
);
COMMENT ON TABLE marts.target_progress IS 'Grain: one row per (as_of_date, year, province_code). People lifted out of poverty year-to-date against the target; province_code 00 is the nation.';
COMMENT ON COLUMN marts.target_progress.as_of_date IS 'Delivery date (Asia/Shanghai) the figures are as of; runs over every processed delivery date.';
COMMENT ON COLUMN marts.target_progress.year IS 'Calendar year of the target.';
COMMENT ON COLUMN marts.target_progress.province_code IS '2-digit province code; 00 = national.';
COMMENT ON COLUMN marts.target_progress.target_people IS 'Target: people to lift out of poverty in the year (delivered target, else reference default; national = delivered 00 target, else sum of provinces). Null where none.';
COMMENT ON COLUMN marts.target_progress.lifted_people IS 'People (household size on the exiting record) in exits with event date from 1 January to as_of_date.';
COMMENT ON COLUMN marts.target_progress.verified_people IS 'Of lifted_people, those in exits that meet every exit criterion (core.exit_checks.verified).';
COMMENT ON COLUMN marts.target_progress.paper_exit_people IS 'Of lifted_people, those in paper exits (a criterion failed; listed in marts.exit_audit). verified + paper_exit = lifted.';
COMMENT ON COLUMN marts.target_progress.returned_people IS 'People in returns (returned, or lifted -> poor corrections) with event date from 1 January to as_of_date.';
COMMENT ON COLUMN marts.target_progress.net_people IS 'lifted_people - returned_people.';
COMMENT ON COLUMN marts.target_progress.pct_of_target IS '100 * net_people / target_people; null without a target.';
COMMENT ON COLUMN marts.target_progress.projected_year_end IS 'net_people * days_in_year / days elapsed (1 January = day 1); null without a target.';
COMMENT ON COLUMN marts.target_progress.on_track IS 'projected_year_end >= target_people; null without a target.';
