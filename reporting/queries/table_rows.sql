-- Rows per core and marts table (DuckDB's estimated_size), and the views of core
-- (core.villages, core.households) with rows NULL: a view has no size of its own, the
-- caller counts it.
SELECT schema_name || '.' || table_name AS table_name, estimated_size AS rows
FROM duckdb_tables()
WHERE schema_name IN ('core', 'marts')
UNION ALL
SELECT schema_name || '.' || view_name, NULL
FROM duckdb_views()
WHERE schema_name = 'core' AND NOT internal
ORDER BY 1
