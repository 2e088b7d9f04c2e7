"""The KubernetesPodOperator side of the StarRocks backup DAGs: pods of the project's image.

Each binary runs in a pod of the image built from Dockerfile.airflow.
Credentials come from the Kubernetes Secret ``starrocks-backup`` (keys below),
never from the DAG; on EKS with IRSA the S3 keys can be left out and the
pod's web identity is used. Endpoints, buckets and the image come from the
Variable ``starrocks_backup_config`` (checked by the first task, ``config``),
overridden per run by the params. Each binary writes its result to
/airflow/xcom/return.json, which the operator reads; each field is an XCom of
its own, and the next pod takes the fields it needs (the archive's path and
SHA-256) from it. A mapped task (one per shard) is one pod per shard.

    kubectl create secret generic starrocks-backup \\
      --from-literal=minio-access-key=... --from-literal=minio-secret-key=... \\
      --from-literal=s3-access-key=...    --from-literal=s3-secret-key=... \\
      --from-file=fe-ssh-private-key=./id_ed25519 \\
      --from-literal=fe-host-key="ssh-ed25519 AAAA..."

Without the cncf.kubernetes provider ``AVAILABLE`` is false and the DAG files
define nothing (and load without error).
Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

from srb_common import new_dag, values
from srb_config import K8S_SETTINGS, RESTORE_PARAMS, SrbConfigOperator, params
from srb_operator import XComPlaceholders, env_value
from srb_sets import ChosenSet, ShardPlan, SrbShardSummary

try:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
    from kubernetes.client import models as k8s
except ImportError:  # provider not installed: no DAG
    KubernetesPodOperator = None

AVAILABLE = KubernetesPodOperator is not None
K8S_SECRET = "starrocks-backup"


def k8s_dag(dag_id: str, schedule, doc: str, kind: str):
    extra = RESTORE_PARAMS if kind == "restore" else {}
    return new_dag(dag_id, schedule, doc, {**params(K8S_SETTINGS), **extra}, [kind, "kubernetes"])


def k8s_config(kind: str = "backup") -> SrbConfigOperator:
    return SrbConfigOperator(
        settings=K8S_SETTINGS, run_params=list(RESTORE_PARAMS) if kind == "restore" else [], kind=kind
    )


if AVAILABLE:

    class SrbPodOperator(XComPlaceholders, KubernetesPodOperator):
        """A pod running binaries of the image; its result (return.json) is the
        XCom, one XCom per field. Values rendered from XComs (a port, a flag)
        become the strings Kubernetes wants. ``extra_env`` is merged into the
        pod's environment: the argument a mapped task (one pod per shard) is
        expanded over."""

        def __init__(self, *, extra_env: dict | None = None, **kwargs):
            super().__init__(**kwargs)
            self.extra_env = extra_env or {}

        def _do_render_template_fields(self, parent, template_fields, context, jinja_env, seen_oids) -> None:
            # Also how a mapped task renders (it never calls render_template_fields).
            super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
            if parent is not self:
                return
            for name, value in (self.extra_env or {}).items():
                self.env_vars.append(k8s.V1EnvVar(name=name, value=value))
            for var in self.env_vars or []:
                if var.value is not None and not isinstance(var.value, str):
                    var.value = env_value(var.value)

    class SrbPodShardPlan(ShardPlan, SrbPodOperator):
        """mirror --plan N in a pod (srb_sets.ShardPlan); with one shard no pod starts."""

        template_fields = (*SrbPodOperator.template_fields, "set_folder")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    class SrbPodChosenSet(ChosenSet, SrbPodOperator):
        """catalog verify of the set to restore, in a pod (srb_sets.ChosenSet)."""

    def secret(var: str, key: str) -> Secret:
        return Secret("env", var, K8S_SECRET, key)

    SSH_SECRETS = [
        secret("SRB_SSH_PRIVATE_KEY", "fe-ssh-private-key"),
        secret("SRB_SSH_HOST_KEY", "fe-host-key"),
    ]
    S3_SECRETS = [secret("SRB_S3_ACCESS_KEY", "s3-access-key"), secret("SRB_S3_SECRET_KEY", "s3-secret-key")]

    def pod_args(cfg, task_id: str, cmds: list[str], env: dict, secrets: list) -> dict:
        """The arguments of a pod task (also of a mapped one, through partial)."""
        return {
            "task_id": task_id,
            "name": task_id.replace("_", "-"),
            "namespace": cfg.output["namespace"],
            "image": cfg.output["image"],
            "cmds": cmds,
            "env_vars": {"SRB_LOG_LEVEL": "info", **env},
            "secrets": secrets,
            "do_xcom_push": True,
            "multiple_outputs": True,
            "get_logs": True,
            "on_finish_action": "delete_pod",
        }

    def pod(cfg, task_id: str, cmds: list[str], env: dict, secrets: list, cls=None):
        return (cls or SrbPodOperator)(**pod_args(cfg, task_id, cmds, env, secrets))

    def ssh_env(cfg) -> dict:
        return values(
            cfg, SRB_SSH_HOST="fe_host", SRB_SSH_PORT="fe_port", SRB_SSH_USER="fe_user", SRB_FE_DIR="fe_dir"
        )

    def s3_env(cfg) -> dict:
        return values(
            cfg, SRB_S3_ENDPOINT="s3_endpoint", SRB_S3_REGION="s3_region", SRB_S3_BUCKET="backup_bucket"
        )

    def catalog_env(cfg) -> dict:
        return {**s3_env(cfg), **values(cfg, SRB_SETS_PREFIX="sets_prefix", SRB_DATA_PREFIX="data_prefix")}

    def archive_pod(cfg, task_id: str, binaries: list[str], env: dict):
        """A pod passing the FE archive between the FE host and the off-site
        bucket through its own /tmp (a pod's files do not outlive it): the
        binaries run in order, the last one's result is the XCom."""
        return pod(
            cfg,
            task_id,
            ["/bin/sh", "-c", "set -e; " + "; ".join(binaries)],
            {**ssh_env(cfg), **s3_env(cfg), "SRB_LOCAL_PATH": "/tmp/fe-meta.tar.gz", **env},
            SSH_SECRETS + S3_SECRETS,
        )

    def mirror_side(cfg, role: str, side: str) -> tuple[dict, list]:
        """One side of a mirror pod ("SOURCE" or "TARGET"): the cluster's MinIO or the off-site data."""
        if side == "cluster":
            env = {f"SRB_{role}_ENDPOINT": cfg.output["minio_endpoint"], f"SRB_{role}": cfg.output["cluster"]}
            keys = ("minio-access-key", "minio-secret-key")
        else:
            env = {
                f"SRB_{role}_ENDPOINT": cfg.output["s3_endpoint"],
                f"SRB_{role}_REGION": cfg.output["s3_region"],
                f"SRB_{role}": cfg.output["offsite_data"],
            }
            keys = ("s3-access-key", "s3-secret-key")
        return env, [secret(f"SRB_{role}_ACCESS_KEY", keys[0]), secret(f"SRB_{role}_SECRET_KEY", keys[1])]

    def mirror_pods(cfg, ids: tuple[str, str, str], source: str, target: str, env: dict, backup: bool):
        """The plan pod, one mirror pod per shard (with --verify), and their
        summary (task ids: plan, shards, summary); returns plan and summary."""
        src_env, src_secrets = mirror_side(cfg, "SOURCE", source)
        dst_env, dst_secrets = mirror_side(cfg, "TARGET", target)
        sides, secrets = {**src_env, **dst_env}, src_secrets + dst_secrets
        plan = SrbPodShardPlan(
            **pod_args(cfg, ids[0], ["mirror"], {**sides, **values(cfg, SRB_PLAN="shards")}, secrets),
            set_folder=cfg.output["set_folder"] if backup else None,
        )
        shards = SrbPodOperator.partial(
            **pod_args(cfg, ids[1], ["mirror"], {**sides, "SRB_VERIFY": "true", **env}, secrets)
        ).expand(extra_env=plan.output)
        summary = SrbShardSummary(task_id=ids[2], plan=plan.task_id, shards=shards.task_id)
        [plan, shards] >> summary
        return plan, summary

    def k8s_backup_tasks() -> None:
        """starrocks_backup's flow, one pod per binary (fetch and upload share
        one: a pod's files do not outlive it) and one pod per shard."""
        cfg = k8s_config()
        archive = pod(cfg, "fe_archive", ["fe-archive"], ssh_env(cfg), SSH_SECRETS)
        upload = archive_pod(
            cfg,
            "fe_fetch_upload",
            ["fe-fetch", "s3-upload"],
            {
                **values(archive, SRB_REMOTE_PATH="remote_path", SRB_SHA256="sha256"),
                **values(cfg, SRB_S3_KEY="fe_archive_key"),
            },
        )
        # Once the upload is verified: fe-fetch --remove-remote checks that the
        # FE host's file is the one uploaded (its SHA-256), then deletes it
        # (the copy it fetched goes with the pod).
        pod(
            cfg,
            "remove_fe_host_archive",
            ["fe-fetch"],
            {
                **ssh_env(cfg),
                **values(archive, SRB_REMOTE_PATH="remote_path"),
                **values(upload, SRB_SHA256="sha256"),
                "SRB_LOCAL_PATH": "/tmp/fe-meta.tar.gz",
                "SRB_REMOVE_REMOTE": "true",
            },
            SSH_SECRETS,
        )
        plan, summary = mirror_pods(
            cfg, ("plan_shards", "mirror_data", "data_summary"), "cluster", "offsite_data", {}, backup=True
        )
        upload >> plan
        commit = {
            **catalog_env(cfg),
            **values(cfg, SRB_BACKUP_ID="backup_id", SRB_VACUUM_GRACE="vacuum_grace"),
            **values(upload, SRB_FE_SHA256="sha256"),
            **values(
                archive,
                SRB_FE_ARCHIVED_AT="started_at",
                SRB_CLUSTER_ID="cluster_id",
                SRB_IMAGE_VERSION="image_version",
            ),
            **values(summary, SRB_DATA_LISTING="data_listings"),
        }
        pod(cfg, "commit_set", ["catalog", "commit"], commit, S3_SECRETS)

    def k8s_restore_tasks() -> None:
        """starrocks_restore's flow, one pod per binary (download and extract
        share one) and one pod per shard."""
        cfg = k8s_config("restore")
        chosen = pod(
            cfg,
            "verify_set",
            ["catalog", "verify"],
            {**catalog_env(cfg), **values(cfg, SRB_BACKUP_ID="restore_id")},
            S3_SECRETS,
            cls=SrbPodChosenSet,
        )
        the_set = {
            **values(chosen, SRB_FROM_MANIFEST="manifest_key"),
            "SRB_REMOVE": "true",
            **values(cfg, SRB_MAX_DELETE="restore_max_delete"),
        }
        src_env, src_secrets = mirror_side(cfg, "SOURCE", "offsite_data")
        dst_env, dst_secrets = mirror_side(cfg, "TARGET", "cluster")
        dry_run = pod(
            cfg,
            "restore_dry_run",
            ["mirror"],
            {**src_env, **dst_env, **the_set, "SRB_DRY_RUN": "true"},
            src_secrets + dst_secrets,
        )
        plan, summary = mirror_pods(
            cfg,
            ("plan_restore_shards", "restore_data", "restore_summary"),
            "offsite_data",
            "cluster",
            the_set,
            backup=False,
        )
        dry_run >> plan
        extract = archive_pod(
            cfg,
            "download_extract_fe_archive",
            ["s3-download", "fe-extract"],
            {
                **values(chosen, SRB_S3_KEY="fe_archive_key"),
                **values(cfg, SRB_RESET_ELECTION_GROUP="reset_election_group"),
            },
        )
        summary >> extract


__all__ = ["AVAILABLE", "k8s_dag"]  # and, with the provider, k8s_backup_tasks, k8s_restore_tasks
