"""Shared pieces of the StarRocks backup/restore DAGs.

Every task is a BashOperator that runs one of the project's binaries by name
(they are on PATH in the image built from Dockerfile.airflow). Values reach a
binary through templated ``env`` (with ``append_env=True``), never inside
``bash_command``: connection fields and secrets are not pasted into a shell
command line, and XCom values need no quoting. Each binary prints one JSON
object as its last stdout line, which BashOperator pushes as the task's XCom;
``result(ti, task_id)`` reads it back in a template.

Loads on Airflow 3.x (first) and 2.7+.
"""

from __future__ import annotations

import inspect
import json

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, BaseHook
except ImportError:  # Airflow 2.7+
    from airflow import DAG
    from airflow.hooks.base import BaseHook

try:  # Airflow 3
    from airflow.sdk.definitions.param import Param
except ImportError:  # Airflow 2.7+
    from airflow.models.param import Param

try:  # Airflow 3 / standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")

# Defaults match the set-up of the seed guide: MinIO at http://minio:9000
# with the bucket "starrocks", an S3 connection "aws_s3", and the FE host
# starrocks-fe reached over SSH on port 2222.
COMMON_PARAMS = {
    "minio_conn_id": Param(
        "minio",
        type="string",
        description="Airflow connection (type aws) of the cluster's MinIO: login/password = MinIO keys, "
        "extra endpoint_url = http://minio:9000.",
    ),
    "minio_bucket": Param("starrocks", type="string", description="Bucket of the StarRocks storage volume."),
    "minio_prefix": Param(
        "",
        type="string",
        description="Prefix of the storage volume inside the bucket ('' for the whole bucket).",
    ),
    "s3_conn_id": Param(
        "aws_s3", type="string", description="Airflow connection (type aws) of the off-site S3."
    ),
    "backup_bucket": Param("starrocks-backup", type="string", description="Off-site bucket."),
    "data_prefix": Param(
        "data", type="string", description="Where the data mirror lives in the off-site bucket."
    ),
    "fe_prefix": Param("fe", type="string", description="Where FE archives live in the off-site bucket."),
    "fe_ssh_conn_id": Param(
        "starrocks_fe",
        type="string",
        description="Airflow connection (type ssh) of the FE host, e.g. ssh://root@starrocks-fe:2222 "
        "with key_file and host_key extras.",
    ),
    "fe_dir": Param("/opt/starrocks/fe", type="string", description="FE folder on the FE host."),
    "work_dir": Param(
        "/tmp",
        type="string",
        description="Local folder for the FE archive while it passes through the worker. Fetch and upload "
        "(download and extract) must see the same folder: one worker, or a shared volume.",
    ),
}

RESTORE_PARAMS = {
    "confirm": Param(
        False,
        type="boolean",
        description="Must be true: a restore overwrites the cluster's bucket and the FE metadata.",
    ),
    "fe_archive_key": Param(
        "",
        type="string",
        description="Key of the FE archive to restore; empty for the newest under fe_prefix.",
    ),
    "reset_election_group": Param(
        False,
        type="boolean",
        description="Set bdbje_reset_election_group=true in fe.conf (restore on a new host; see the README).",
    ),
}


def conn_json(conn_id: str) -> str:
    """An Airflow connection as the JSON the binaries parse (--conn/--ssh-conn).

    JSON rather than get_uri(): the password stays verbatim, so Airflow's
    secret masker (which knows the raw password) masks it in logs and in the
    rendered template view.
    """
    c = BaseHook.get_connection(conn_id)
    return json.dumps(
        {
            "conn_type": c.conn_type,
            "host": c.host,
            "login": c.login,
            "password": c.password,
            "schema": c.schema,
            "port": c.port,
            "extra": c.extra_dejson,
        }
    )


def result(ti, task_id: str) -> dict:
    """The JSON result line a task's binary printed, as a dict."""
    value = ti.xcom_pull(task_ids=task_id)
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise TypeError(f"task {task_id} left no JSON result in XCom: {value!r}")
    return value


def location(bucket: str, prefix: str) -> str:
    """bucket/prefix for the mirror binary."""
    prefix = (prefix or "").strip("/")
    return f"{bucket}/{prefix}" if prefix else bucket


def run_stamp(dag_run) -> str:
    """UTC time of the run's start, for object keys: 2026-11-24T01-00-00Z."""
    return pendulum.instance(dag_run.start_date).in_timezone("UTC").strftime("%Y-%m-%dT%H-%M-%SZ")


def from_result(task_id: str, field: str) -> str:
    """A template for one field of a task's result: {{ result(ti, 'x')['f'] }}."""
    return "{{ result(ti, '" + task_id + "')['" + field + "'] }}"


MACROS = {"conn_json": conn_json, "result": result, "location": location, "run_stamp": run_stamp}

# Airflow 2.10+ can decode the result line into a dict XCom; older versions
# keep the string, which result() decodes.
_PROCESSOR = (
    {"output_processor": json.loads}
    if "output_processor" in inspect.signature(BashOperator.__init__).parameters
    else {}
)

# Templates shared by the tasks.
LOG_ENV = {"SRB_LOG_LEVEL": "info"}
MINIO_ENV_SIDE = "{{ conn_json(params.minio_conn_id) }}"
S3_CONN = "{{ conn_json(params.s3_conn_id) }}"
SSH_CONN = "{{ conn_json(params.fe_ssh_conn_id) }}"
LOCAL_ARCHIVE = "{{ params.work_dir }}/fe-meta-{{ dag.dag_id }}-{{ run_stamp(dag_run) }}.tar.gz"


def task(task_id: str, binary: str, env: dict, **kwargs) -> BashOperator:
    """A BashOperator that runs one binary with its inputs in env."""
    return BashOperator(
        task_id=task_id,
        bash_command=binary,
        env={**LOG_ENV, **env},
        append_env=True,
        **_PROCESSOR,
        **kwargs,
    )


def fe_archive(task_id: str = "fe_archive") -> BashOperator:
    """Archive meta/ and conf/ on the FE host (fe-archive)."""
    return task(task_id, "fe-archive", {"SRB_SSH_CONN": SSH_CONN, "SRB_FE_DIR": "{{ params.fe_dir }}"})


def fe_fetch(archive_task: str, task_id: str = "fe_fetch") -> BashOperator:
    """Fetch the archive to the worker, verified against the FE host's digest,
    and remove it from the FE host once verified (fe-fetch)."""
    return task(
        task_id,
        "fe-fetch",
        {
            "SRB_SSH_CONN": SSH_CONN,
            "SRB_REMOTE_PATH": from_result(archive_task, "remote_path"),
            "SRB_SHA256": from_result(archive_task, "sha256"),
            "SRB_LOCAL_PATH": LOCAL_ARCHIVE,
            "SRB_REMOVE_REMOTE": "true",
        },
    )


def s3_upload_fe(fetch_task: str, task_id: str = "upload_fe_archive") -> BashOperator:
    """Upload the fetched archive to a new key of its own (s3-upload never
    overwrites): <fe_prefix>/<run start>/fe-meta.tar.gz."""
    return task(
        task_id,
        "s3-upload",
        {
            "SRB_S3_CONN": S3_CONN,
            "SRB_S3_BUCKET": "{{ params.backup_bucket }}",
            "SRB_S3_KEY": "{{ params.fe_prefix }}/{{ run_stamp(dag_run) }}/fe-meta.tar.gz",
            "SRB_LOCAL_PATH": from_result(fetch_task, "local_path"),
            "SRB_SHA256": from_result(fetch_task, "sha256"),
        },
    )


def mirror_backup(task_id: str = "mirror_data") -> BashOperator:
    """Mirror the cluster's bucket (MinIO) to the off-site bucket. Never
    deletes at the target: older FE archives keep every file they reference."""
    return task(
        task_id,
        "mirror",
        {
            "SRB_SOURCE_CONN": MINIO_ENV_SIDE,
            "SRB_TARGET_CONN": S3_CONN,
            "SRB_SOURCE": "{{ location(params.minio_bucket, params.minio_prefix) }}",
            "SRB_TARGET": "{{ location(params.backup_bucket, params.data_prefix) }}",
            "SRB_VERIFY": "true",
        },
    )


def mirror_restore(task_id: str = "restore_data") -> BashOperator:
    """Mirror the off-site copy back into the original bucket and prefix
    (StarRocks finds its data only there)."""
    return task(
        task_id,
        "mirror",
        {
            "SRB_SOURCE_CONN": S3_CONN,
            "SRB_TARGET_CONN": MINIO_ENV_SIDE,
            "SRB_SOURCE": "{{ location(params.backup_bucket, params.data_prefix) }}",
            "SRB_TARGET": "{{ location(params.minio_bucket, params.minio_prefix) }}",
            "SRB_VERIFY": "true",
        },
    )


def s3_download_fe(task_id: str = "download_fe_archive") -> BashOperator:
    """Download the chosen FE archive (default: the newest), verified."""
    return task(
        task_id,
        "s3-download",
        {
            "SRB_S3_CONN": S3_CONN,
            "SRB_S3_BUCKET": "{{ params.backup_bucket }}",
            "SRB_S3_KEY": "{{ params.fe_archive_key }}",
            "SRB_LATEST_UNDER": "{{ '' if params.fe_archive_key else params.fe_prefix.rstrip('/') ~ '/' }}",
            "SRB_LOCAL_PATH": LOCAL_ARCHIVE,
        },
    )


def fe_extract(download_task: str, task_id: str = "extract_fe_archive") -> BashOperator:
    """Put meta/ and conf/ back on the FE host; refuses while the FE runs."""
    return task(
        task_id,
        "fe-extract",
        {
            "SRB_SSH_CONN": SSH_CONN,
            "SRB_FE_DIR": "{{ params.fe_dir }}",
            "SRB_LOCAL_PATH": from_result(download_task, "local_path"),
            "SRB_RESET_ELECTION_GROUP": "{{ 'true' if params.reset_election_group else 'false' }}",
        },
    )


def confirm_restore(task_id: str = "confirm") -> BashOperator:
    """Fail the run unless the confirm param is true."""
    return BashOperator(
        task_id=task_id,
        bash_command='if [ "$CONFIRM" != yes ]; then '
        'echo "refusing to restore: trigger the DAG with the param confirm=true" >&2; exit 1; fi; '
        'echo "restore confirmed"',
        env={"CONFIRM": "{{ 'yes' if params.confirm else 'no' }}"},
        append_env=True,
    )


def remove_local_archive(task_id: str = "remove_local_archive") -> BashOperator:
    """Remove the worker's copy of the archive, whatever happened (a teardown
    task: it does not decide the run's state)."""
    return BashOperator(
        task_id=task_id,
        bash_command='rm -f -- "$ARCHIVE"',
        env={"ARCHIVE": LOCAL_ARCHIVE},
        append_env=True,
    )


def dag(dag_id: str, schedule, doc: str, params: dict, tags: list[str]) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        params=params,
        user_defined_macros=MACROS,
        doc_md=doc,
        tags=["starrocks", *tags],
        default_args={"retries": 0},
    )
