"""starrocks_backup (Airflow DAG): the daily off-site backup of a StarRocks shared-data cluster.

Each run writes one **backup set** (docs/backup-sets.md) whose id is the
run's time (``2026-11-29T01-00-00Z``): the FE archive, the listing of the
data objects that archive needs, and last a manifest that makes the set
complete. Only complete sets are ever restored.

  config -> fe_archive -> fe_fetch -> upload_fe_archive -> plan_shards
    -> mirror_data (one task per shard) -> data_summary -> commit_set
  after the upload: remove_fe_host_archive, and the teardown remove_local_archive

Order matters: FE metadata first, then the data. The archive references data
files by name; StarRocks vacuums old versions after a grace period, so data
copied after the archive contains every file the archive can reference
(``commit_set`` marks the set consistent only when the copy ended within
``vacuum_grace`` of the archive).

``config`` checks the configuration (the Variable ``starrocks_backup_config``,
overridden by the run's params) and fails the run at once, naming the bad key.
With ``shards`` > 1 the data copy is spread over that many mirror tasks, each
with its own listing. Every task can be cleared and run again alone, into
the same set: the FE host's copy of the archive is deleted only once the
upload is verified, and a cleared ``mirror_data`` does not fetch again.
Runs daily at 01:00 UTC; unpausing starts nothing before the next 01:00.
A failed task's JSON result is in its XCom ``result``.
"""

from __future__ import annotations

from srb_common import backup_dag, backup_tasks

with backup_dag("starrocks_backup", __doc__, []) as starrocks_backup:
    backup_tasks()
