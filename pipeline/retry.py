"""The one retry rule of every DAG's tasks: transient errors are retried, anything else
fails the task at once (retrying bad data, a full disk or a bug only delays the alert).

``is_transient`` is the rule; ``transient_only()`` is the same rule as the Airflow retry
policy the DAGs give their tasks (the log line "Retry policy decision" says which applied).
Importing this module imports neither Airflow nor Polars nor DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import RetryPolicy

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    ConnectionError,
    BlockingIOError,
    InterruptedError,
)

RULE = (
    "only transient errors are retried (a timeout, a lost connection, a DuckDB file another"
    " process still holds). Anything else (bad data, a full disk, a refused access, a bug)"
    " fails the task at once, since retrying only delays the alert; the log line"
    ' "Retry policy decision" says which applied.'
)


def is_transient(exc: BaseException) -> bool:
    """Errors worth a retry: timeouts, lost connections, a DuckDB file another process
    still holds. Everything else (bad data, a bug, a full disk) fails at once."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    text = str(exc).lower()
    return type(exc).__name__ == "IOException" and "could not set lock" in text


def transient_only() -> RetryPolicy:
    """The retry policy of the DAGs' tasks: retry what ``is_transient`` accepts, fail the
    rest at once."""
    # Airflow takes a second to import: only the DAG files need the policy, while the
    # steps and the command line use is_transient alone.
    from airflow.sdk import RetryDecision, RetryPolicy

    class TransientOnly(RetryPolicy):
        def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
            name = type(exception).__name__
            if is_transient(exception):
                return RetryDecision.retry(reason=f"transient: {name}")
            return RetryDecision.fail(reason=f"not transient: {name}")

    return TransientOnly()
