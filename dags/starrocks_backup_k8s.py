"""starrocks_backup_k8s (Airflow DAG): the starrocks_backup DAG as KubernetesPodOperator tasks.

The same backup set as starrocks_backup (docs/backup-sets.md): FE archive,
data copy (one pod per shard), manifest last.

  config -> fe_archive -> fe_fetch_upload -> plan_shards -> mirror_data (one pod
    per shard) -> data_summary -> commit_set; after the upload,
    remove_fe_host_archive

Pods, the Secret ``starrocks-backup`` and how results travel: srb_pods.py.
Restore: starrocks_restore_k8s. Without the cncf.kubernetes provider this
file defines no DAG (and loads without error).
"""

from __future__ import annotations

from srb_common import daily
from srb_pods import AVAILABLE, k8s_dag

if AVAILABLE:
    from srb_pods import k8s_backup_tasks

    with k8s_dag("starrocks_backup_k8s", daily(), __doc__, "backup") as starrocks_backup_k8s:
        k8s_backup_tasks()
