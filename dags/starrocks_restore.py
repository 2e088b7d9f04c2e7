"""starrocks_restore (Airflow DAG): bring a StarRocks shared-data cluster back from its off-site copy.

Manual only, and refuses to run unless triggered with ``confirm=true``.

  config -> restore_data -> download_fe_archive -> extract_fe_archive
                                       (teardown) remove_local_archive

Before: stop the FE (fe-extract refuses while it runs) and the CNs. The data
goes back to the original bucket and prefix; the FE archive (the newest
under fe_prefix unless ``fe_archive_key`` names one) replaces meta/ and
conf/, the previous ones kept beside them as <name>.before-restore-<time>.
After: start the FE (README, "Restoring").
"""

from __future__ import annotations

from srb_common import config, fe_extract, mirror_restore, remove_local_archive, restore_dag, s3_download_fe

with restore_dag("starrocks_restore", __doc__, []) as starrocks_restore:
    cfg = config(restore=True)
    download = s3_download_fe(cfg)
    mirror_restore(cfg) >> download
    fe_extract(cfg, download) >> remove_local_archive(cfg, setup=download)
