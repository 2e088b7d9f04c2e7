"""Load the project's DAGs in the current Airflow and describe them as JSON.

Usage: python check_dags.py DAGS_FOLDER   (with AIRFLOW__CORE__LOAD_EXAMPLES=False)
Prints one JSON object: {"airflow": version, "import_errors": {...}, "files": [files parsed],
"dags": {dag_id: {"schedule": str, "timetable": {...}, "catchup": bool, "start_date": iso,
"params": [...], "tasks": {task_id: {"operator", "binaries", "args", "env", "connections",
"secrets", "mapped", "trigger_rule", "upstream", "is_teardown", "is_setup", "command",
"cleared_with"}}}}}.
A mapped task (.partial().expand()) is described by its fixed (partial) arguments.
A binary is what a task runs: SrbBinaryOperator's binary, or the commands of a
KubernetesPodOperator (also inside "sh -c"). An XCom reference among a task's
values is described as "task_id.key".
"""

from __future__ import annotations

import json
import os
import re
import sys

import airflow

try:  # Airflow 3
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 2
    from airflow.models.dagbag import DagBag

WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def attr(task, name):
    """An argument of a task; a mapped task keeps its fixed ones in partial_kwargs."""
    partial = getattr(task, "partial_kwargs", None)
    if isinstance(partial, dict):
        return partial.get(name)
    return getattr(task, name, None)


def binaries(task) -> list[str]:
    binary = attr(task, "binary")
    if isinstance(binary, str):
        return [binary]
    cmds = attr(task, "cmds") or []
    found = []
    if cmds and cmds[0] in ("/bin/sh", "sh", "/bin/bash", "bash") and len(cmds) > 2:
        for part in re.split(r"[;&|]+", cmds[2]):
            words = part.split()
            if words and WORD.match(words[0]) and words[0] != "set":
                found.append(words[0])
    elif cmds:
        found.append(cmds[0])
    return found


def describe(value):
    """A value, or "task_id.key" for an XCom reference."""
    op = getattr(value, "operator", None)
    if op is not None and hasattr(value, "key"):
        return f"{op.task_id}.{value.key}"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def env_of(task) -> dict:
    env = attr(task, "env")
    if env is None:
        env = attr(task, "env_vars")
    if isinstance(env, list):  # k8s V1EnvVar list
        env = {e.name: e.value for e in env}
    return {k: describe(v) for k, v in (env or {}).items()}


def cleared_with(dag, task_id: str) -> list[str]:
    """The tasks Airflow clears when this one is cleared with its downstream
    tasks (the UI's default): Airflow's own selection, setups of teardowns included."""
    sub = dag.partial_subset([task_id], include_downstream=True, include_upstream=False)
    return sorted(sub.task_dict)


def timetable_of(dag) -> dict:
    tt = getattr(dag, "timetable", None)
    return {
        "class": type(tt).__name__,
        "description": getattr(tt, "description", None),
        # Airflow 3.3 keeps the SDK's attrs classes in the DagBag; earlier ones the core classes.
        "expression": getattr(tt, "expression", getattr(tt, "_expression", None)),
        "run_immediately": describe(getattr(tt, "run_immediately", getattr(tt, "_run_immediately", None))),
    }


def main() -> None:
    folder = sys.argv[1]
    sys.path.insert(0, folder)  # as Airflow does for its dags folder
    if os.environ.get("AIRFLOW__CORE__LOAD_EXAMPLES", "").lower() != "false":
        sys.exit("set AIRFLOW__CORE__LOAD_EXAMPLES=False")
    bag = DagBag(dag_folder=folder)
    out = {
        "airflow": airflow.__version__,
        "import_errors": dict(bag.import_errors),
        "files": sorted(os.path.basename(s.file) for s in bag.dagbag_stats),
        "dags": {},
    }
    for dag_id, dag in sorted(bag.dags.items()):
        schedule = getattr(dag, "schedule", None)
        if schedule is None:
            schedule = getattr(dag, "schedule_interval", None)
        tasks = {}
        for t in dag.tasks:
            tasks[t.task_id] = {
                "operator": type(t).__name__,
                "binaries": binaries(t),
                "env": env_of(t),
                "args": attr(t, "args") or [],
                "connections": {k: describe(v) for k, v in (attr(t, "connections") or {}).items()},
                "secrets": sorted(s.deploy_target for s in attr(t, "secrets") or []),
                "mapped": hasattr(t, "partial_kwargs"),
                "trigger_rule": str(getattr(t, "trigger_rule", "")),
                "upstream": sorted(t.upstream_task_ids),
                "is_teardown": bool(getattr(t, "is_teardown", False)),
                "is_setup": bool(getattr(t, "is_setup", False)),
                "command": getattr(t, "bash_command", None),
                "cleared_with": cleared_with(dag, t.task_id),
            }
        out["dags"][dag_id] = {
            "schedule": None if schedule is None else str(schedule),
            "timetable": timetable_of(dag),
            "catchup": bool(dag.catchup),
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "params": sorted(dag.params.keys()),
            "tasks": tasks,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
