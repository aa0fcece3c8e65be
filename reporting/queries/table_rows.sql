-- Rows per core and marts table (DuckDB's estimated_size).
SELECT schema_name || '.' || table_name AS table_name, estimated_size AS rows
FROM duckdb_tables()
WHERE schema_name IN ('core', 'marts')
ORDER BY 1
