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

Configured like starrocks_backup (the Variable ``starrocks_backup_config``).
For a consistent backup prefer starrocks_backup, which runs the FE part and
the data part in the order StarRocks needs.
"""

from __future__ import annotations

from srb_common import (
    backup_dag,
    config,
    fe_archive,
    fe_extract,
    fe_fetch,
    mirror_backup,
    mirror_restore,
    remove_local_archive,
    restore_dag,
    s3_download_fe,
    s3_upload_fe,
)

with backup_dag("backup_be", __doc__, ["seed"]) as backup_be:
    mirror_backup(config(), "backup_minio_to_s3")

with restore_dag("restore_be", __doc__, ["seed"]) as restore_be:
    mirror_restore(config(restore=True), "restore_be")

with backup_dag("backup_starrocks_fe", __doc__, ["seed"]) as backup_starrocks_fe:
    cfg = config()
    fetch = fe_fetch(cfg, fe_archive(cfg, "backup_and_copy"), "copy_zip")
    s3_upload_fe(cfg, fetch, "upload_to_s3") >> remove_local_archive(cfg, setup=fetch)

with restore_dag("restore_starrocks_fe", __doc__, ["seed"]) as restore_starrocks_fe:
    cfg = config(restore=True)
    download = s3_download_fe(cfg, "download_from_s3")
    fe_extract(cfg, download, "extract_on_starrocks") >> remove_local_archive(cfg, setup=download)
