"""starrocks_restore_k8s (Airflow DAG): the starrocks_restore DAG as KubernetesPodOperator tasks.

Restores one backup set (param ``backup_id``, by default the newest complete
and consistent one); manual only, and refuses to run unless triggered with
``confirm=true``. Stop the FE and the CNs first.

  config -> verify_set -> restore_dry_run -> plan_restore_shards
    -> restore_data (one pod per shard) -> restore_summary
    -> download_extract_fe_archive

Pods, the Secret ``starrocks-backup`` and how results travel: srb_pods.py.
Without the cncf.kubernetes provider this file defines no DAG (and loads
without error).
"""

from __future__ import annotations

from srb_pods import AVAILABLE, k8s_dag

if AVAILABLE:
    from srb_pods import k8s_restore_tasks

    with k8s_dag("starrocks_restore_k8s", None, __doc__, "restore") as starrocks_restore_k8s:
        k8s_restore_tasks()
