"""Print, as one JSON object, the results of a DAG's latest run (Airflow 3):
{"run_id": ..., "state": ..., "tasks": {task_id: {"state": ..., "xcom": return_value,
"result": the XCom "result" (a failed task's JSON result)}}}.

Usage: python xcoms.py DAG_ID
"""

from __future__ import annotations

import json
import sys

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session


def latest_run(dag_id: str) -> dict:
    """The latest run of the DAG: its state and each task's state and results."""
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        if run is None:
            return {"run_id": None, "state": None, "tasks": {}}
        tasks = {}
        for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
        ):
            tasks[ti.task_id] = {"state": str(ti.state) if ti.state else None, "xcom": None, "result": None}
        for x in session.query(XComModel).filter(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run.run_id,
            XComModel.key.in_(["return_value", "result"]),
        ):
            value = XComModel.deserialize_value(x)
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            field = "xcom" if x.key == "return_value" else "result"
            tasks.setdefault(x.task_id, {"state": None})[field] = value
        return {"run_id": run.run_id, "state": str(run.state), "tasks": tasks}


if __name__ == "__main__":
    print(json.dumps(latest_run(sys.argv[1]), default=str))
