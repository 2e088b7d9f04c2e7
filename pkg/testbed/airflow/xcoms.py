"""Print, as one JSON object, the results of a DAG's latest run (Airflow 3):
{"run_id": ..., "state": ..., "tasks": {task_id: {"state": ..., "try_number": ...,
"xcom": return_value, "result": the XCom "result" (a failed task's JSON result)}}}.
A mapped task's instances are "task_id[i]" (map index i).

Usage: python xcoms.py DAG_ID
"""

from __future__ import annotations

import json
import sys

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session


def name(task_id: str, map_index: int) -> str:
    return task_id if map_index is None or map_index < 0 else f"{task_id}[{map_index}]"


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
            tasks[name(ti.task_id, ti.map_index)] = {
                "state": str(ti.state) if ti.state else None,
                "try_number": ti.try_number,
                "xcom": None,
                "result": None,
            }
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
            tasks.setdefault(name(x.task_id, x.map_index), {"state": None})[field] = value
        return {"run_id": run.run_id, "state": str(run.state), "tasks": tasks}


if __name__ == "__main__":
    print(json.dumps(latest_run(sys.argv[1]), default=str))
