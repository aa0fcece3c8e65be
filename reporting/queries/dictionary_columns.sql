-- Every column of the snapshot with its type and COMMENT ON, in table order.
SELECT schema_name, table_name, column_name, data_type, comment
FROM duckdb_columns()
WHERE database_name = current_database()
ORDER BY schema_name, table_name, column_index
