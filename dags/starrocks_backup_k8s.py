"""starrocks_backup_k8s: the starrocks_backup DAG as KubernetesPodOperator tasks.

Each binary runs in a pod of the project's image (Dockerfile.airflow).
Credentials come from the Kubernetes Secret ``starrocks-backup`` (keys below),
never from the DAG; on EKS with IRSA the S3 keys can be left out and the
pod's web identity is used. Endpoints, buckets and the image come from the
Variable ``starrocks_backup_config`` (checked by the first task, ``config``),
overridden per run by the params. Each binary writes its result to
/airflow/xcom/return.json, which the operator reads; each field is an XCom of
its own, and the next pod takes the fields it needs (the archive's path and
SHA-256) from it.

Fetch and upload share one pod because a pod's files do not outlive it.

    kubectl create secret generic starrocks-backup \\
      --from-literal=minio-access-key=... --from-literal=minio-secret-key=... \\
      --from-literal=s3-access-key=...    --from-literal=s3-secret-key=... \\
      --from-file=fe-ssh-private-key=./id_ed25519 \\
      --from-literal=fe-host-key="ssh-ed25519 AAAA..."

Without the cncf.kubernetes provider this file defines no DAG (and loads
without error).
"""

from __future__ import annotations

from srb_common import daily, new_dag, values
from srb_config import K8S_SETTINGS, SrbConfigOperator, params
from srb_operator import XComPlaceholders, env_value

try:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
except ImportError:  # provider not installed: no DAG here
    KubernetesPodOperator = None

K8S_SECRET = "starrocks-backup"

if KubernetesPodOperator is not None:

    class SrbPodOperator(XComPlaceholders, KubernetesPodOperator):
        """A pod running binaries of the image; its result (return.json) is the
        XCom, one XCom per field. Values rendered from XComs (a port, a flag)
        become the strings Kubernetes wants."""

        def __init__(self, *, task_id: str, cfg, cmds: list[str], env: dict, secrets: list, **kwargs):
            super().__init__(
                task_id=task_id,
                name=task_id.replace("_", "-"),
                namespace=cfg.output["namespace"],
                image=cfg.output["image"],
                cmds=cmds,
                env_vars={"SRB_LOG_LEVEL": "info", **env},
                secrets=secrets,
                do_xcom_push=True,
                multiple_outputs=True,
                get_logs=True,
                on_finish_action="delete_pod",
                **kwargs,
            )

        def render_template_fields(self, context, jinja_env=None) -> None:
            super().render_template_fields(context, jinja_env)
            for var in self.env_vars or []:
                if var.value is not None and not isinstance(var.value, str):
                    var.value = env_value(var.value)

    def secret(var: str, key: str) -> Secret:
        return Secret("env", var, K8S_SECRET, key)

    SSH_SECRETS = [
        secret("SRB_SSH_PRIVATE_KEY", "fe-ssh-private-key"),
        secret("SRB_SSH_HOST_KEY", "fe-host-key"),
    ]
    S3_SECRETS = [secret("SRB_S3_ACCESS_KEY", "s3-access-key"), secret("SRB_S3_SECRET_KEY", "s3-secret-key")]

    with new_dag(
        "starrocks_backup_k8s", daily(), __doc__, params(K8S_SETTINGS), ["backup", "kubernetes"]
    ) as starrocks_backup_k8s:
        cfg = SrbConfigOperator(settings=K8S_SETTINGS)
        ssh_env = values(
            cfg, SRB_SSH_HOST="fe_host", SRB_SSH_PORT="fe_port", SRB_SSH_USER="fe_user", SRB_FE_DIR="fe_dir"
        )
        archive = SrbPodOperator(
            task_id="fe_archive", cfg=cfg, cmds=["fe-archive"], env=ssh_env, secrets=SSH_SECRETS
        )
        fetch_upload = SrbPodOperator(
            task_id="fe_fetch_upload",
            cfg=cfg,
            cmds=["/bin/sh", "-c", "set -e; fe-fetch; s3-upload"],
            env={
                **ssh_env,
                **values(archive, SRB_REMOTE_PATH="remote_path", SRB_SHA256="sha256"),
                "SRB_LOCAL_PATH": "/tmp/fe-meta.tar.gz",
                "SRB_REMOVE_REMOTE": "true",
                **values(
                    cfg,
                    SRB_S3_ENDPOINT="s3_endpoint",
                    SRB_S3_REGION="s3_region",
                    SRB_S3_BUCKET="backup_bucket",
                    SRB_S3_KEY="new_archive_key",
                ),
            },
            secrets=SSH_SECRETS + S3_SECRETS,
        )
        data = SrbPodOperator(
            task_id="mirror_data",
            cfg=cfg,
            cmds=["mirror"],
            env={
                **values(
                    cfg,
                    SRB_SOURCE_ENDPOINT="minio_endpoint",
                    SRB_TARGET_ENDPOINT="s3_endpoint",
                    SRB_TARGET_REGION="s3_region",
                    SRB_SOURCE="cluster",
                    SRB_TARGET="offsite_data",
                ),
                "SRB_VERIFY": "true",
            },
            secrets=[
                secret("SRB_SOURCE_ACCESS_KEY", "minio-access-key"),
                secret("SRB_SOURCE_SECRET_KEY", "minio-secret-key"),
                secret("SRB_TARGET_ACCESS_KEY", "s3-access-key"),
                secret("SRB_TARGET_SECRET_KEY", "s3-secret-key"),
            ],
        )
        fetch_upload >> data
