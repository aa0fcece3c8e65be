-- Whether each delivery date from $since was loaded by its deadline (times in Asia/Shanghai).
SELECT delivery_date, on_time, minutes_late, successful_runs,
       strftime(timezone('Asia/Shanghai', deadline_at), '%Y-%m-%d %H:%M') AS deadline,
       strftime(timezone('Asia/Shanghai', first_loaded_at), '%Y-%m-%d %H:%M') AS first_loaded
FROM marts.data_quality_timeliness
WHERE delivery_date >= $since
ORDER BY delivery_date
