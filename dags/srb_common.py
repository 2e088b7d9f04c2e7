"""The tasks and DAG settings the StarRocks backup DAGs share.

Every task but the first runs one of the project's binaries with
SrbBinaryOperator (srb_operator.py). The first, ``config`` (srb_config.py),
checks the run's configuration and pushes each value as an XCom; tasks take
what they need as XCom references (``cfg.output["fe_dir"]``) and results of
earlier tasks the same way (``archive.output["sha256"]``), so each data
dependency is stated once, by using the value. Order without data (FE
metadata before the data copy) is stated with ``>>``.

Runs on Airflow 3.1 and later (developed on the newest); loads on 2.11.
Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

import pendulum

from srb_airflow import AIRFLOW_MAJOR, DAG, CronTriggerTimetable
from srb_config import RESTORE_PARAMS, WORKER_SETTINGS, SrbConfigOperator, params
from srb_operator import SrbBinaryOperator, SrbRemoveFile

# Backups run daily at 01:00 UTC. On Airflow 3 the DAGs have no start_date and the
# timetable does not run immediately: unpausing a backup DAG starts nothing until
# the next 01:00 (re-unpausing after a pause runs the one missed backup at once).
# Airflow 2 needs a start_date, and then unpausing runs the last interval at once.
DAILY_CRON = "0 1 * * *"


def daily():
    if AIRFLOW_MAJOR >= 3:
        return CronTriggerTimetable(DAILY_CRON, timezone="UTC", run_immediately=False)
    return CronTriggerTimetable(DAILY_CRON, timezone="UTC")


def new_dag(dag_id: str, schedule, doc: str, params: dict, tags: list[str]) -> DAG:
    """A DAG with the project's settings: one run at a time, no catch-up, no retries."""
    dates = {} if AIRFLOW_MAJOR >= 3 else {"start_date": pendulum.datetime(2025, 1, 1, tz="UTC")}
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        catchup=False,
        max_active_runs=1,
        params=params,
        doc_md=doc,
        tags=["starrocks", *tags],
        default_args={"retries": 0},
        **dates,
    )


def backup_dag(dag_id: str, doc: str, tags: list[str]) -> DAG:
    return new_dag(dag_id, daily(), doc, params(WORKER_SETTINGS), ["backup", *tags])


def restore_dag(dag_id: str, doc: str, tags: list[str]) -> DAG:
    return new_dag(dag_id, None, doc, {**params(WORKER_SETTINGS), **RESTORE_PARAMS}, ["restore", *tags])


def config(restore: bool = False) -> SrbConfigOperator:
    """The run's checked configuration (first task); a restore also needs confirm=true."""
    return SrbConfigOperator(
        settings=WORKER_SETTINGS, run_params=list(RESTORE_PARAMS) if restore else [], restore=restore
    )


def values(task, **keys) -> dict:
    """XCom references to fields of a task's result (config's values, or an
    earlier binary's result), for a binary's environment: values(cfg,
    SRB_FE_DIR="fe_dir") is {"SRB_FE_DIR": cfg.output["fe_dir"]}. The
    reference also makes the task depend on that one."""
    return {var: task.output[key] for var, key in keys.items()}


def fe_archive(cfg, task_id: str = "fe_archive") -> SrbBinaryOperator:
    """Archive meta/ and conf/ on the FE host (fe-archive)."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary="fe-archive",
        connections=values(cfg, SRB_SSH_CONN="fe_ssh_conn_id"),
        env=values(cfg, SRB_FE_DIR="fe_dir"),
    )


def fe_fetch(cfg, archive, task_id: str = "fe_fetch") -> SrbBinaryOperator:
    """Fetch the archive to the worker, verified against the FE host's digest,
    and remove it from the FE host once verified (fe-fetch)."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary="fe-fetch",
        connections=values(cfg, SRB_SSH_CONN="fe_ssh_conn_id"),
        env={
            **values(archive, SRB_REMOTE_PATH="remote_path", SRB_SHA256="sha256"),
            **values(cfg, SRB_LOCAL_PATH="local_archive"),
            "SRB_REMOVE_REMOTE": True,
        },
    )


def s3_upload_fe(cfg, fetch, task_id: str = "upload_fe_archive") -> SrbBinaryOperator:
    """Upload the fetched archive to a new key of its own (s3-upload never
    overwrites): <fe_prefix>/<run time>/fe-meta.tar.gz."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary="s3-upload",
        connections=values(cfg, SRB_S3_CONN="s3_conn_id"),
        env={
            **values(cfg, SRB_S3_BUCKET="backup_bucket", SRB_S3_KEY="new_archive_key"),
            **values(fetch, SRB_LOCAL_PATH="local_path", SRB_SHA256="sha256"),
        },
    )


def mirror(cfg, task_id: str, source: str, target: str) -> SrbBinaryOperator:
    """Mirror one side to the other (mirror --verify): never deletes at the
    target. A side is "cluster" or "offsite_data" (with its connection)."""
    conn = {"cluster": "minio_conn_id", "offsite_data": "s3_conn_id"}
    return SrbBinaryOperator(
        task_id=task_id,
        binary="mirror",
        connections=values(cfg, SRB_SOURCE_CONN=conn[source], SRB_TARGET_CONN=conn[target]),
        env={**values(cfg, SRB_SOURCE=source, SRB_TARGET=target), "SRB_VERIFY": True},
    )


def mirror_backup(cfg, task_id: str = "mirror_data") -> SrbBinaryOperator:
    """Mirror the cluster's bucket (MinIO) to the off-site bucket. Never
    deletes at the target: older FE archives keep every file they reference."""
    return mirror(cfg, task_id, "cluster", "offsite_data")


def mirror_restore(cfg, task_id: str = "restore_data") -> SrbBinaryOperator:
    """Mirror the off-site copy back into the original bucket and prefix
    (StarRocks finds its data only there)."""
    return mirror(cfg, task_id, "offsite_data", "cluster")


def s3_download_fe(cfg, task_id: str = "download_fe_archive") -> SrbBinaryOperator:
    """Download the chosen FE archive (default: the newest), verified."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary="s3-download",
        connections=values(cfg, SRB_S3_CONN="s3_conn_id"),
        env=values(
            cfg,
            SRB_S3_BUCKET="backup_bucket",
            SRB_S3_KEY="fe_archive_key",
            SRB_LATEST_UNDER="latest_under",
            SRB_LOCAL_PATH="local_archive",
        ),
    )


def fe_extract(cfg, download, task_id: str = "extract_fe_archive") -> SrbBinaryOperator:
    """Put meta/ and conf/ back on the FE host; refuses while the FE runs."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary="fe-extract",
        connections=values(cfg, SRB_SSH_CONN="fe_ssh_conn_id"),
        env={
            **values(cfg, SRB_FE_DIR="fe_dir", SRB_RESET_ELECTION_GROUP="reset_election_group"),
            **values(download, SRB_LOCAL_PATH="local_path"),
        },
    )


def remove_local_archive(cfg, setup, task_id: str = "remove_local_archive") -> SrbRemoveFile:
    """Remove the worker's copy of the archive whatever happened: a teardown of
    the task that made it (it does not decide the run's state)."""
    return SrbRemoveFile(task_id=task_id, path=cfg.output["local_archive"]).as_teardown(setups=setup)
