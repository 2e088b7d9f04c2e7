"""starrocks_backup (Airflow DAG): the daily off-site backup of a StarRocks shared-data cluster.

Order matters (docs/starrocks.md): FE metadata first, then the data. The
archive references data files by name; StarRocks vacuums old versions after a
grace period, so data copied after the archive contains every file the
archive can reference, while data copied first could miss files the later
metadata needs.

  fe_archive -> fe_fetch -> upload_fe_archive -> mirror_data
                                    (teardown) remove_local_archive

Any failed task fails the run. The mirror never deletes at the target, so
every earlier FE archive stays restorable (point-in-time restores).
"""

from __future__ import annotations

from srb_common import (
    COMMON_PARAMS,
    dag,
    fe_archive,
    fe_fetch,
    mirror_backup,
    remove_local_archive,
    s3_upload_fe,
)

with dag(
    "starrocks_backup",
    schedule="@daily",
    doc=__doc__,
    params=COMMON_PARAMS,
    tags=["backup"],
) as starrocks_backup:
    archive = fe_archive()
    fetch = fe_fetch("fe_archive")
    upload = s3_upload_fe("fe_fetch")
    data = mirror_backup()
    cleanup = remove_local_archive().as_teardown(setups=fetch)
    archive >> fetch >> upload >> data >> cleanup
