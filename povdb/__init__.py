"""The ``povdb`` command, the benchmark harness and the Airflow plugin: the entry points
that sit beside the DAG at the top of the layers."""
