"""starrocks_backup (Airflow DAG): the daily off-site backup of a StarRocks shared-data cluster.

Order matters: FE metadata first, then the data. The archive references data
files by name; StarRocks vacuums old versions after a grace period, so data
copied after the archive contains every file the archive can reference, while
data copied first could miss files the later metadata needs.

  config -> fe_archive -> fe_fetch -> upload_fe_archive -> mirror_data
                                    (teardown) remove_local_archive

``config`` checks the configuration (the Variable ``starrocks_backup_config``,
overridden by the run's params) and fails the run at once, naming the bad key.
Runs daily at 01:00 UTC; unpausing starts nothing before the next 01:00.
Any failed task fails the run; a failed task's JSON result is in its XCom
``result``. The mirror never deletes at the target, so every earlier FE
archive stays restorable (point-in-time restores).
"""

from __future__ import annotations

from srb_common import (
    backup_dag,
    config,
    fe_archive,
    fe_fetch,
    mirror_backup,
    remove_local_archive,
    s3_upload_fe,
)

with backup_dag("starrocks_backup", __doc__, []) as starrocks_backup:
    cfg = config()
    fetch = fe_fetch(cfg, fe_archive(cfg))
    upload = s3_upload_fe(cfg, fetch)
    upload >> mirror_backup(cfg) >> remove_local_archive(cfg, setup=fetch)
