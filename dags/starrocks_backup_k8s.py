"""starrocks_backup_k8s: the starrocks_backup DAG as KubernetesPodOperator tasks.

Each task runs the project's image (Dockerfile.airflow) in its own pod.
Credentials come from the Kubernetes Secret ``starrocks-backup`` (keys below),
never from the DAG; on EKS with IRSA the S3 keys can be left out and the
pod's web identity is used. ``do_xcom_push=True``: each binary writes its
result to /airflow/xcom/return.json, which the operator reads.

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

from srb_common import COMMON_PARAMS, MACROS, START_DATE, Param, from_result

try:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
except ImportError:  # provider not installed: no DAG here
    KubernetesPodOperator = None

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

K8S_SECRET = "starrocks-backup"

PARAMS = {
    **{
        k: COMMON_PARAMS[k]
        for k in ("minio_bucket", "minio_prefix", "backup_bucket", "data_prefix", "fe_prefix", "fe_dir")
    },
    "image": Param(
        "starrocks-backup-airflow:latest", type="string", description="Image built from Dockerfile.airflow."
    ),
    "namespace": Param("airflow", type="string", description="Namespace of the pods and of the Secret."),
    "minio_endpoint": Param("http://minio:9000", type="string"),
    "s3_endpoint": Param("", type="string", description="Empty for AWS S3."),
    "s3_region": Param("us-east-1", type="string"),
    "fe_host": Param("starrocks-fe", type="string"),
    "fe_port": Param(2222, type="integer"),
    "fe_user": Param("root", type="string"),
}


def _secret(var: str, key: str) -> Secret:
    return Secret("env", var, K8S_SECRET, key)


if KubernetesPodOperator is not None:
    SSH_SECRETS = [_secret("SRB_SSH_PRIVATE_KEY", "fe-ssh-private-key"), _secret("SRB_SSH_HOST_KEY", "fe-host-key")]
    SSH_ENV = {
        "SRB_SSH_HOST": "{{ params.fe_host }}",
        "SRB_SSH_PORT": "{{ params.fe_port }}",
        "SRB_SSH_USER": "{{ params.fe_user }}",
        "SRB_FE_DIR": "{{ params.fe_dir }}",
    }

    def pod(task_id: str, cmds: list[str], env: dict, secrets: list) -> KubernetesPodOperator:
        return KubernetesPodOperator(
            task_id=task_id,
            name=task_id.replace("_", "-"),
            namespace="{{ params.namespace }}",
            image="{{ params.image }}",
            cmds=cmds,
            env_vars={"SRB_LOG_LEVEL": "info", **env},
            secrets=secrets,
            do_xcom_push=True,
            get_logs=True,
            on_finish_action="delete_pod",
        )

    with DAG(
        dag_id="starrocks_backup_k8s",
        schedule="@daily",
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        params=PARAMS,
        user_defined_macros=MACROS,
        doc_md=__doc__,
        tags=["starrocks", "backup", "kubernetes"],
    ) as starrocks_backup_k8s:
        archive = pod("fe_archive", ["fe-archive"], SSH_ENV, SSH_SECRETS)
        fetch_upload = pod(
            "fe_fetch_upload",
            ["/bin/sh", "-c", "set -e; fe-fetch; s3-upload"],
            {
                **SSH_ENV,
                "SRB_REMOTE_PATH": from_result("fe_archive", "remote_path"),
                "SRB_SHA256": from_result("fe_archive", "sha256"),
                "SRB_LOCAL_PATH": "/tmp/fe-meta.tar.gz",
                "SRB_REMOVE_REMOTE": "true",
                "SRB_S3_ENDPOINT": "{{ params.s3_endpoint }}",
                "SRB_S3_REGION": "{{ params.s3_region }}",
                "SRB_S3_BUCKET": "{{ params.backup_bucket }}",
                "SRB_S3_KEY": "{{ params.fe_prefix }}/{{ run_stamp(dag_run) }}/fe-meta.tar.gz",
            },
            SSH_SECRETS
            + [
                _secret("SRB_S3_ACCESS_KEY", "s3-access-key"),
                _secret("SRB_S3_SECRET_KEY", "s3-secret-key"),
            ],
        )
        data = pod(
            "mirror_data",
            ["mirror"],
            {
                "SRB_SOURCE_ENDPOINT": "{{ params.minio_endpoint }}",
                "SRB_TARGET_ENDPOINT": "{{ params.s3_endpoint }}",
                "SRB_TARGET_REGION": "{{ params.s3_region }}",
                "SRB_SOURCE": "{{ location(params.minio_bucket, params.minio_prefix) }}",
                "SRB_TARGET": "{{ location(params.backup_bucket, params.data_prefix) }}",
                "SRB_VERIFY": "true",
            },
            [
                _secret("SRB_SOURCE_ACCESS_KEY", "minio-access-key"),
                _secret("SRB_SOURCE_SECRET_KEY", "minio-secret-key"),
                _secret("SRB_TARGET_ACCESS_KEY", "s3-access-key"),
                _secret("SRB_TARGET_SECRET_KEY", "s3-secret-key"),
            ],
        )
        archive >> fetch_upload >> data
