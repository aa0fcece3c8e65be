-- Marts hold no state: each is rebuilt in every load by its own file, warehouse/marts/<mart>.sql
-- (CREATE OR REPLACE, with its comments). Drop the tables 004 and 005 created for them, so
-- that migrations define only tables with state and a fresh data root, which still runs 004
-- and 005, ends up with the same schema as an upgraded one.
DROP TABLE marts.target_progress;
DROP TABLE marts.effective_targets;
DROP TABLE marts.poverty_stock;
DROP TABLE marts.village_exit_readiness;
DROP TABLE marts.county_exit_readiness;
DROP TABLE marts.programme_coverage;
DROP TABLE marts.causes;
DROP TABLE marts.exit_audit;
DROP TABLE marts.deprivation;
DROP TABLE marts.data_quality_completeness;
DROP TABLE marts.data_quality_quarantine;
