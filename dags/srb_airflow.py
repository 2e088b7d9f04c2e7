"""The Airflow names the StarRocks backup DAGs use, imported once for every supported version.

Public imports only: ``airflow.sdk`` on Airflow 3 (3.1 and later), the classic
modules on 2.11.
Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

try:  # Airflow 3
    from airflow.sdk import DAG, BaseOperator, Connection, Param, Variable
    from airflow.sdk.log import mask_secret

    AIRFLOW_MAJOR = 3

    def get_connection(conn_id: str):
        """The connection, looked up at run time (allowed inside a task only)."""
        return Connection.get(conn_id)

except ImportError:  # Airflow 2.11, for existing installs
    from airflow import DAG
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator, Variable
    from airflow.models.param import Param
    from airflow.utils.log.secrets_masker import mask_secret

    AIRFLOW_MAJOR = 2

    def get_connection(conn_id: str):
        """The connection, looked up at run time."""
        return BaseHook.get_connection(conn_id)


# Moved into airflow.sdk after 3.1.
try:
    from airflow.sdk import CronTriggerTimetable
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1, 2.11
    from airflow.exceptions import AirflowFailException
    from airflow.timetables.trigger import CronTriggerTimetable

try:
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # Airflow 2.11
    from airflow.exceptions import AirflowException


def get_variable(key: str) -> str | None:
    """A Variable's raw value, or None when it does not exist (run time only)."""
    return Variable.get(key, None)


__all__ = [
    "AIRFLOW_MAJOR",
    "DAG",
    "AirflowException",
    "AirflowFailException",
    "BaseOperator",
    "CronTriggerTimetable",
    "Param",
    "get_connection",
    "get_variable",
    "mask_secret",
]
