"""Load the project's DAGs in the current Airflow and describe them as JSON.

Usage: python check_dags.py DAGS_FOLDER
Prints one JSON object: {"airflow": version, "import_errors": {...},
"dags": {dag_id: {"schedule": str, "catchup": bool, "start_date": iso,
"tasks": {task_id: {"operator": name, "binaries": [...], "env": [...],
"is_teardown": bool}}}}}.
A binary is what a task runs: a BashOperator's one-word bash_command, or the
commands of a KubernetesPodOperator (also inside "sh -c").
"""

from __future__ import annotations

import json
import re
import sys

import airflow

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag

WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def binaries(task) -> list[str]:
    cmd = getattr(task, "bash_command", None)
    if isinstance(cmd, str):
        return [cmd] if WORD.match(cmd.strip()) else []
    cmds = getattr(task, "cmds", None) or []
    found = []
    if cmds and cmds[0] in ("/bin/sh", "sh", "/bin/bash", "bash") and len(cmds) > 2:
        for part in re.split(r"[;&|]+", cmds[2]):
            words = part.split()
            if words and WORD.match(words[0]) and words[0] != "set":
                found.append(words[0])
    elif cmds:
        found.append(cmds[0])
    return found


def env_keys(task) -> list[str]:
    env = getattr(task, "env", None)
    if env is None:
        env = getattr(task, "env_vars", None)
    if isinstance(env, dict):
        return sorted(env)
    if isinstance(env, list):  # k8s V1EnvVar list
        return sorted(e.name for e in env)
    return []


def main() -> None:
    folder = sys.argv[1]
    sys.path.insert(0, folder)  # as Airflow does for its dags folder
    bag = DagBag(dag_folder=folder, include_examples=False)
    out = {"airflow": airflow.__version__, "import_errors": dict(bag.import_errors), "dags": {}}
    for dag_id, dag in sorted(bag.dags.items()):
        schedule = getattr(dag, "schedule", None)
        if schedule is None:
            schedule = getattr(dag, "schedule_interval", None)
        tasks = {}
        for t in dag.tasks:
            tasks[t.task_id] = {
                "operator": type(t).__name__,
                "binaries": binaries(t),
                "env": env_keys(t),
                "secrets": sorted(s.deploy_target for s in getattr(t, "secrets", []) or []),
                "is_teardown": bool(getattr(t, "is_teardown", False)),
                "bash_command": getattr(t, "bash_command", None),
            }
        out["dags"][dag_id] = {
            "schedule": None if schedule is None else str(schedule),
            "catchup": bool(dag.catchup),
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "params": sorted(dag.params.keys()),
            "tasks": tasks,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
