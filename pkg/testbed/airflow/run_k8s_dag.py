"""Run the KubernetesPodOperator DAG with local processes standing in for its pods.

Usage: python run_k8s_dag.py DAG_ID CONF_JSON SECRETS_FILE   (as root: it uses unshare -m)

The DAG runs with ``dag.test()``: real templating, real XComs, real task order.
Only the part that needs a cluster is replaced: for each task the operator's own
code builds the pod request (``build_pod_request_obj``), then the pod's command
runs as a local process with the pod's environment and nothing else (plain
values, and secretKeyRef values taken from the fake Kubernetes Secret in
SECRETS_FILE, a JSON object of key -> value), in a private mount namespace
where a fresh folder is mounted on /airflow with an empty xcom/ in it, as the
operator's xcom sidecar volume is, and a fresh /tmp. /airflow/xcom/return.json is then read as
the operator reads it (JSON, or the task fails) and becomes the task's result,
from which the next pods' templated values are rendered.

The binaries come from SRB_BIN_DIR. Prints one JSON object: the run (as
xcoms.py) plus "pods": {task_id: {"command", "env", "secrets", "xcom_mount",
"sidecar"}}, where env lists the plain variables (names and values) and secrets
the variables taken from the Secret (name -> key). The pods of a mapped task
are "task_id[i]" (map index i), as in xcoms.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from xcoms import latest_run

try:
    from airflow.sdk.exceptions import AirflowException
except ImportError:
    from airflow.exceptions import AirflowException

XCOM_ROOT = "/airflow"
PODS: dict = {}
# The pod's file system, in its own mount namespace: the binaries on
# /airflow/bin (they stand in for the image's), the xcom volume on
# /airflow/xcom, and a /tmp of its own (a pod's files do not outlive it,
# and pods running at once do not share them).
POD_MOUNTS = (
    'mount --bind "$0" /airflow && mount --bind "$1" /airflow/bin && mount --bind /airflow/tmp /tmp '
    '&& shift && exec "$@"'
)


def describe(pod) -> dict:
    base = pod.spec.containers[0]
    env, secrets = {}, {}
    for e in base.env or []:
        ref = e.value_from.secret_key_ref if e.value_from else None
        if ref is not None:
            secrets[e.name] = f"{ref.name}/{ref.key}"
        else:
            env[e.name] = e.value
    return {
        "command": (base.command or []) + (base.args or []),
        "env": env,
        "secrets": secrets,
        "xcom_mount": any(m.mount_path == "/airflow/xcom" for m in base.volume_mounts or []),
        "sidecar": any(c.name == "airflow-xcom-sidecar" for c in pod.spec.containers[1:]),
    }


def run_pod(self, context):
    """Stands in for KubernetesPodOperator.execute_sync: build the pod, run its
    command locally, return its /airflow/xcom/return.json."""
    pod = self.build_pod_request_obj(context, dry_run=True)
    spec = describe(pod)
    index = context["ti"].map_index
    PODS[self.task_id if index is None or index < 0 else f"{self.task_id}[{index}]"] = spec
    with open(os.environ["SRB_FAKE_SECRET"], encoding="utf-8") as f:
        secret = json.load(f)
    env = {"PATH": "/airflow/bin:/usr/bin:/bin", "HOME": "/root"}
    for name, value in spec["env"].items():
        if not isinstance(value, str):  # the Kubernetes API takes strings only
            raise AirflowException(f"pod env {name} is {type(value).__name__}, not a string: {value!r}")
        env[name] = value
    for name, ref in spec["secrets"].items():
        secret_name, key = ref.split("/", 1)
        if secret_name != "starrocks-backup" or key not in secret:
            raise AirflowException(f"pod env {name}: no key {key} in the Secret {secret_name}")
        env[name] = secret[key]
    with tempfile.TemporaryDirectory(prefix="srb-pod-") as root:
        for d in ("xcom", "bin", "tmp"):
            os.mkdir(os.path.join(root, d))
        proc = subprocess.run(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                POD_MOUNTS,
                root,
                os.environ["SRB_BIN_DIR"],
                *spec["command"],
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        for line in (proc.stdout + proc.stderr).splitlines():
            self.log.info("%s", line)
        if proc.returncode != 0:
            raise AirflowException(
                f"Pod {pod.metadata.name} returned a failure (exit code {proc.returncode})"
            )
        with open(os.path.join(root, "xcom", "return.json"), encoding="utf-8") as f:
            return json.loads(f.read())


def main() -> None:
    dag_id, conf, secrets_file = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    if os.geteuid() != 0:
        sys.exit("run_k8s_dag.py needs root (unshare -m, mount)")
    os.environ["SRB_FAKE_SECRET"] = secrets_file
    made = not os.path.isdir(XCOM_ROOT)
    if made:
        os.mkdir(XCOM_ROOT)  # an empty mount point: no xcom/ in it outside the pods
    try:
        folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
        sys.path.insert(0, folder)
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:
            from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder=folder)
        if bag.import_errors:
            sys.exit(f"import errors: {bag.import_errors}")
        KubernetesPodOperator.execute_sync = run_pod
        bag.dags[dag_id].test(run_conf=conf)
    finally:
        if made:
            os.rmdir(XCOM_ROOT)
    out = latest_run(dag_id)
    out["pods"] = PODS
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
