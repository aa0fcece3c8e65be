-- Every table and (non-internal) view of the snapshot with its COMMENT ON.
SELECT schema_name, table_name, 'table' AS kind, comment
FROM duckdb_tables()
WHERE database_name = current_database()
UNION ALL
SELECT schema_name, view_name, 'view', comment
FROM duckdb_views()
WHERE database_name = current_database() AND NOT internal
ORDER BY schema_name, table_name
