-- One row when the snapshot has the table $schema_name.$table_name.
SELECT 1
FROM duckdb_tables()
WHERE schema_name = $schema_name AND table_name = $table_name
