"""Ingest: delivered files read by format (``readers``), typed by the landing contract
(``typing``) and written to staging as Parquet, with every row that cannot be typed held
with its reason (``staging``)."""
