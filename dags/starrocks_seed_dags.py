"""Airflow DAGs with the four DAG ids of the seed guide, kept for existing users, each doing one
part of the job with the project's binaries.

- backup_be: mirror MinIO -> S3 (the seed's DAG mirrored S3 -> MinIO: the
  wrong direction; fixed).
- restore_be: mirror S3 -> MinIO, manual and confirmed (the seed scheduled
  its restore daily).
- backup_starrocks_fe: archive, fetch, upload the FE metadata, to a new key
  per run (the seed overwrote fe/fe.tar.gz every night).
- restore_starrocks_fe: download, then extract safely (the seed ran tar -x
  over the live meta/).

For a consistent backup prefer starrocks_backup, which runs the FE part and
the data part in the order StarRocks needs.
"""

from __future__ import annotations

from srb_common import (
    COMMON_PARAMS,
    RESTORE_PARAMS,
    confirm_restore,
    dag,
    fe_archive,
    fe_extract,
    fe_fetch,
    mirror_backup,
    mirror_restore,
    remove_local_archive,
    s3_download_fe,
    s3_upload_fe,
)

with dag(
    "backup_be", schedule="@daily", doc=__doc__, params=COMMON_PARAMS, tags=["backup", "seed"]
) as backup_be:
    mirror_backup("backup_minio_to_s3")

with dag(
    "restore_be",
    schedule=None,
    doc=__doc__,
    params={**COMMON_PARAMS, **RESTORE_PARAMS},
    tags=["restore", "seed"],
) as restore_be:
    confirm_restore() >> mirror_restore("restore_be")

with dag(
    "backup_starrocks_fe", schedule="@daily", doc=__doc__, params=COMMON_PARAMS, tags=["backup", "seed"]
) as backup_starrocks_fe:
    archive = fe_archive("backup_and_copy")
    fetch = fe_fetch("backup_and_copy", task_id="copy_zip")
    upload = s3_upload_fe("copy_zip", task_id="upload_to_s3")
    archive >> fetch >> upload >> remove_local_archive().as_teardown(setups=fetch)

with dag(
    "restore_starrocks_fe",
    schedule=None,
    doc=__doc__,
    params={**COMMON_PARAMS, **RESTORE_PARAMS},
    tags=["restore", "seed"],
) as restore_starrocks_fe:
    download = s3_download_fe("download_from_s3")
    extract = fe_extract("download_from_s3", task_id="extract_on_starrocks")
    confirm_restore() >> download >> extract >> remove_local_archive().as_teardown(setups=download)
