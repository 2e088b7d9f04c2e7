"""The tasks and DAG settings the StarRocks backup DAGs share.

Every task but the first runs one of the project's binaries with
SrbBinaryOperator (srb_operator.py). The first, ``config`` (srb_config.py),
checks the run's configuration and pushes each value as an XCom; tasks take
what they need as XCom references (``cfg.output["fe_dir"]``) and results of
earlier tasks the same way (``archive.output["sha256"]``), so each data
dependency is stated once, by using the value. Order without data (FE
metadata before the data copy) is stated with ``>>``.

A backup writes one backup set (docs/backup-sets.md) whose id is the run's
time: tasks cleared and run again write into the same set. ``backup_tasks``
and ``restore_tasks`` build the whole flows, for starrocks_backup and
starrocks_restore and the seed guide's DAG ids.

Runs on Airflow 3.1 and later (developed on the newest); loads on 2.11.
Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

import pendulum

from srb_airflow import AIRFLOW_MAJOR, DAG, CronTriggerTimetable
from srb_config import (
    MAINTENANCE_PARAMS,
    MAINTENANCE_SETTINGS,
    RESTORE_PARAMS,
    WORKER_SETTINGS,
    SrbConfigOperator,
    params,
)
from srb_operator import SrbBinaryOperator, SrbRemoveFile
from srb_sets import ChosenSet, ShardPlan, SrbShardSummary

# Backups run daily at 01:00 UTC, the maintenance weekly (Sundays, 03:00 UTC).
# On Airflow 3 the DAGs have no start_date and the timetable does not run
# immediately: unpausing starts nothing until the next due time
# (re-unpausing after a pause runs the one missed run at once). Airflow 2
# needs a start_date, and then unpausing runs the last interval at once.
DAILY_CRON = "0 1 * * *"
WEEKLY_CRON = "0 3 * * 0"


def cron(expression: str):
    if AIRFLOW_MAJOR >= 3:
        return CronTriggerTimetable(expression, timezone="UTC", run_immediately=False)
    return CronTriggerTimetable(expression, timezone="UTC")


def daily():
    return cron(DAILY_CRON)


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


def backup_dag(dag_id: str, doc: str, tags: list[str], schedule="daily") -> DAG:
    schedule = daily() if schedule == "daily" else schedule
    return new_dag(dag_id, schedule, doc, params(WORKER_SETTINGS), ["backup", *tags])


def restore_dag(dag_id: str, doc: str, tags: list[str]) -> DAG:
    return new_dag(dag_id, None, doc, {**params(WORKER_SETTINGS), **RESTORE_PARAMS}, ["restore", *tags])


def maintenance_dag(dag_id: str, doc: str) -> DAG:
    return new_dag(
        dag_id,
        cron(WEEKLY_CRON),
        doc,
        {**params(MAINTENANCE_SETTINGS), **MAINTENANCE_PARAMS},
        ["maintenance"],
    )


def config(kind: str = "backup") -> SrbConfigOperator:
    """The run's checked configuration (first task); a restore also needs confirm=true."""
    if kind == "maintenance":
        return SrbConfigOperator(
            settings=MAINTENANCE_SETTINGS, run_params=list(MAINTENANCE_PARAMS), kind=kind
        )
    run_params = list(RESTORE_PARAMS) if kind == "restore" else []
    return SrbConfigOperator(settings=WORKER_SETTINGS, run_params=run_params, kind=kind)


def values(task, **keys) -> dict:
    """XCom references to fields of a task's result (config's values, or an
    earlier binary's result), for a binary's environment: values(cfg,
    SRB_FE_DIR="fe_dir") is {"SRB_FE_DIR": cfg.output["fe_dir"]}. The
    reference also makes the task depend on that one."""
    return {var: task.output[key] for var, key in keys.items()}


def ssh_task(cfg, task_id: str, binary: str, env: dict, **kwargs) -> SrbBinaryOperator:
    """A binary working on the FE host."""
    return SrbBinaryOperator(
        task_id=task_id,
        binary=binary,
        connections=values(cfg, SRB_SSH_CONN="fe_ssh_conn_id"),
        env=env,
        **kwargs,
    )


def s3_task(cls, cfg, task_id: str, binary: str, env: dict, args: list[str] | None = None):
    """A binary working on the off-site bucket (s3-upload, s3-download, catalog)."""
    return cls(
        task_id=task_id,
        binary=binary,
        args=args,
        connections=values(cfg, SRB_S3_CONN="s3_conn_id"),
        env={**values(cfg, SRB_S3_BUCKET="backup_bucket"), **env},
    )


def catalog(cfg, task_id: str, command: str, env: dict, cls=SrbBinaryOperator):
    """catalog COMMAND on the backup sets of the off-site bucket."""
    where = values(cfg, SRB_SETS_PREFIX="sets_prefix", SRB_DATA_PREFIX="data_prefix")
    return s3_task(cls, cfg, task_id, "catalog", {**where, **env}, args=[command])


def fe_archive(cfg, task_id: str = "fe_archive") -> SrbBinaryOperator:
    """Archive meta/ and conf/ on the FE host (fe-archive)."""
    return ssh_task(cfg, task_id, "fe-archive", values(cfg, SRB_FE_DIR="fe_dir"))


def fe_fetch(cfg, archive, task_id: str = "fe_fetch") -> SrbBinaryOperator:
    """Fetch the archive to the worker, verified against the FE host's digest.
    The FE host's copy stays until the upload is verified, so that clearing
    the upload (which runs this setup again) still finds it."""
    return ssh_task(
        cfg,
        task_id,
        "fe-fetch",
        {
            **values(archive, SRB_REMOTE_PATH="remote_path", SRB_SHA256="sha256"),
            **values(cfg, SRB_LOCAL_PATH="local_archive"),
        },
    )


def s3_upload_fe(cfg, fetch, task_id: str = "upload_fe_archive") -> SrbBinaryOperator:
    """Upload the fetched archive into the run's backup set,
    <sets_prefix>/<backup_id>/fe-meta.tar.gz (s3-upload never overwrites)."""
    return s3_task(
        SrbBinaryOperator,
        cfg,
        task_id,
        "s3-upload",
        {
            **values(cfg, SRB_S3_KEY="fe_archive_key"),
            **values(fetch, SRB_LOCAL_PATH="local_path", SRB_SHA256="sha256"),
        },
    )


def remove_fe_host_archive(
    cfg, archive, upload, task_id: str = "remove_fe_host_archive"
) -> SrbBinaryOperator:
    """Once the upload is verified, delete the archive on the FE host: fe-fetch
    --remove-remote, which checks that the file there is the one uploaded
    (its SHA-256) before deleting it; the copy it fetches goes to a scratch
    file in work_dir, removed at once."""
    return ssh_task(
        cfg,
        task_id,
        "fe-fetch",
        {
            **values(archive, SRB_REMOTE_PATH="remote_path"),
            **values(upload, SRB_SHA256="sha256"),
            "SRB_REMOVE_REMOTE": True,
        },
        scratch="SRB_LOCAL_PATH",
        scratch_dir=cfg.output["work_dir"],
    )


class SrbShardPlan(ShardPlan, SrbBinaryOperator):
    """mirror --plan N on the worker (srb_sets.ShardPlan)."""

    template_fields = (*SrbBinaryOperator.template_fields, "set_folder")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)


class SrbChosenSet(ChosenSet, SrbBinaryOperator):
    """catalog verify of the set to restore (srb_sets.ChosenSet)."""


SIDES = {"cluster": "minio_conn_id", "offsite_data": "s3_conn_id"}


def mirror_env(cfg, source: str, target: str) -> dict:
    """The two sides of a mirror: "cluster" or "offsite_data" (with its connection)."""
    return {
        "connections": values(cfg, SRB_SOURCE_CONN=SIDES[source], SRB_TARGET_CONN=SIDES[target]),
        "env": values(cfg, SRB_SOURCE=source, SRB_TARGET=target),
    }


def plan_shards(cfg, task_id: str, source: str, target: str, backup: bool) -> SrbShardPlan:
    """The shards of the data copy (srb_sets.ShardPlan); a backup's each write a listing of the set."""
    sides = mirror_env(cfg, source, target)
    return SrbShardPlan(
        task_id=task_id,
        binary="mirror",
        connections=sides["connections"],
        env={**sides["env"], **values(cfg, SRB_PLAN="shards")},
        set_folder=cfg.output["set_folder"] if backup else None,
    )


def mirror_shards(cfg, plan, task_id: str, source: str, target: str, env: dict):
    """One mirror task per shard of plan (dynamic task mapping), each with
    --verify; each can be cleared and re-run alone."""
    sides = mirror_env(cfg, source, target)
    return SrbBinaryOperator.partial(
        task_id=task_id,
        binary="mirror",
        connections=sides["connections"],
        env={**sides["env"], "SRB_VERIFY": True, **env},
    ).expand(extra_env=plan.output)


def shard_summary(plan, shards, task_id: str) -> SrbShardSummary:
    summary = SrbShardSummary(task_id=task_id, plan=plan.task_id, shards=shards.task_id)
    [plan, shards] >> summary
    return summary


def commit_set(cfg, archive, upload, summary, task_id: str = "commit_set") -> SrbBinaryOperator:
    """catalog commit: checks the set's FE archive and listings, then writes
    its manifest, last. Idempotent: a cleared commit of the same set succeeds."""
    return catalog(
        cfg,
        task_id,
        "commit",
        {
            **values(cfg, SRB_BACKUP_ID="backup_id", SRB_VACUUM_GRACE="vacuum_grace"),
            **values(upload, SRB_FE_SHA256="sha256"),
            **values(
                archive,
                SRB_FE_ARCHIVED_AT="started_at",
                SRB_CLUSTER_ID="cluster_id",
                SRB_IMAGE_VERSION="image_version",
            ),
            **values(summary, SRB_DATA_LISTING="data_listings"),
        },
    )


def remove_local_archive(cfg, setup, task_id: str = "remove_local_archive") -> SrbRemoveFile:
    """Remove the worker's copy of the archive whatever happened: a teardown of
    the task that made it (it does not decide the run's state)."""
    return SrbRemoveFile(task_id=task_id, path=cfg.output["local_archive"]).as_teardown(setups=setup)


def backup_tasks() -> None:
    """The backup, inside a ``with DAG`` block:

    config -> fe_archive -> fe_fetch -> upload_fe_archive -> plan_shards
      -> mirror_data (one per shard) -> data_summary -> commit_set;
    after the upload, remove_fe_host_archive, and the teardown
    remove_local_archive (of fe_fetch; the data copy is outside its scope,
    so clearing mirror_data does not fetch again).
    """
    cfg = config()
    archive = fe_archive(cfg)
    fetch = fe_fetch(cfg, archive)
    upload = s3_upload_fe(cfg, fetch)
    upload >> remove_local_archive(cfg, setup=fetch)
    remove_fe_host_archive(cfg, archive, upload)
    plan = plan_shards(cfg, "plan_shards", "cluster", "offsite_data", backup=True)
    upload >> plan
    data = mirror_shards(cfg, plan, "mirror_data", "cluster", "offsite_data", {})
    commit_set(cfg, archive, upload, shard_summary(plan, data, "data_summary"))


def restore_tasks() -> None:
    """The restore, inside a ``with DAG`` block:

    config -> verify_set -> restore_dry_run -> plan_restore_shards
      -> restore_data (one per shard) -> restore_summary
      -> download_fe_archive -> extract_fe_archive (teardown: remove_local_archive).
    """
    cfg = config("restore")
    chosen = catalog(cfg, "verify_set", "verify", values(cfg, SRB_BACKUP_ID="restore_id"), cls=SrbChosenSet)
    the_set = {
        **values(chosen, SRB_FROM_MANIFEST="manifest_key"),
        "SRB_REMOVE": True,
        **values(cfg, SRB_MAX_DELETE="restore_max_delete"),
    }
    sides = mirror_env(cfg, "offsite_data", "cluster")
    dry_run = SrbBinaryOperator(
        task_id="restore_dry_run",
        binary="mirror",
        connections=sides["connections"],
        env={**sides["env"], **the_set, "SRB_DRY_RUN": True},
    )
    plan = plan_shards(cfg, "plan_restore_shards", "offsite_data", "cluster", backup=False)
    dry_run >> plan
    data = mirror_shards(cfg, plan, "restore_data", "offsite_data", "cluster", the_set)
    download = s3_task(
        SrbBinaryOperator,
        cfg,
        "download_fe_archive",
        "s3-download",
        {**values(chosen, SRB_S3_KEY="fe_archive_key"), **values(cfg, SRB_LOCAL_PATH="local_archive")},
    )
    shard_summary(plan, data, "restore_summary") >> download
    extract = ssh_task(
        cfg,
        "extract_fe_archive",
        "fe-extract",
        {
            **values(cfg, SRB_FE_DIR="fe_dir", SRB_RESET_ELECTION_GROUP="reset_election_group"),
            **values(download, SRB_LOCAL_PATH="local_path"),
        },
    )
    extract >> remove_local_archive(cfg, setup=download)


def maintenance_tasks() -> None:
    """config -> verify_latest (catalog verify --deep, the newest set) -> prune (catalog prune)."""
    cfg = config("maintenance")
    verify = catalog(cfg, "verify_latest", "verify", {"SRB_BACKUP_ID": "latest", "SRB_DEEP": True})
    prune = catalog(
        cfg,
        "prune",
        "prune",
        values(
            cfg,
            SRB_KEEP_LAST="keep_last",
            SRB_KEEP_DAILY="keep_daily",
            SRB_KEEP_WEEKLY="keep_weekly",
            SRB_KEEP_MONTHLY="keep_monthly",
            SRB_MAX_DELETE="prune_max_delete",
            SRB_DRY_RUN="dry_run",
        ),
    )
    verify >> prune
