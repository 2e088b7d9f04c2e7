"""The Airflow names the StarRocks backup DAGs use, imported once for every supported version.

Public imports only: ``airflow.sdk`` on Airflow 3 (3.1+ exports all of them; 3.0
lacks a few, which come from their 3.0 homes), the classic modules on 2.11.
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

except ImportError:  # Airflow 2.11: loads and runs, no longer developed against
    from airflow import DAG
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator, Variable
    from airflow.models.param import Param
    from airflow.utils.log.secrets_masker import mask_secret

    AIRFLOW_MAJOR = 2

    def get_connection(conn_id: str):
        """The connection, looked up at run time."""
        return BaseHook.get_connection(conn_id)


try:  # Airflow 3.1+
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # Airflow 3.0, 2.11
    from airflow.exceptions import AirflowException, AirflowFailException

try:  # Airflow 3.1+
    from airflow.sdk import CronTriggerTimetable
except ImportError:  # Airflow 3.0, 2.11
    from airflow.timetables.trigger import CronTriggerTimetable


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
