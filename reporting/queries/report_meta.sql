-- The snapshot's identity for the page header, published_at in Asia/Shanghai.
SELECT as_of_date, deliveries_included, code_version, run_id,
       strftime(timezone('Asia/Shanghai', published_at), '%Y-%m-%d %H:%M:%S') AS published_local
FROM meta.snapshot
