"""starrocks_restore (Airflow DAG): bring a StarRocks shared-data cluster back to a backup set.

Manual only, and refuses to run unless triggered with ``confirm=true``.

  config -> verify_set -> restore_dry_run -> plan_restore_shards
    -> restore_data (one task per shard) -> restore_summary
    -> download_fe_archive -> extract_fe_archive (teardown: remove_local_archive)

The set is the param ``backup_id`` (``catalog list`` shows them), by default
the newest complete and consistent one. ``verify_set`` checks that every
object it lists is still there with its content, and fails before anything
is written when it is not. ``restore_dry_run`` logs (and keeps in its XCom)
how many objects the restore will copy back and delete; then the cluster's
bucket is made to hold exactly the set's objects (``mirror --from-manifest
--remove``: newer objects are deleted, at most ``restore_max_delete``), and
the set's FE archive replaces meta/ and conf/, the previous ones kept beside
them as <name>.before-restore-<time>.
Before: stop the FE (fe-extract refuses while it runs) and the CNs.
After: start the FE (README, "Restoring").
"""

from __future__ import annotations

from srb_common import restore_dag, restore_tasks

with restore_dag("starrocks_restore", __doc__, []) as starrocks_restore:
    restore_tasks()
