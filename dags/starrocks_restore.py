"""starrocks_restore (Airflow DAG): bring a StarRocks shared-data cluster back from its off-site copy.

Manual only, and refuses to run unless triggered with ``confirm=true``.

  confirm -> restore_data -> download_fe_archive -> extract_fe_archive
                                       (teardown) remove_local_archive

Before: stop the FE (fe-extract refuses while it runs) and the CNs. The data
goes back to the original bucket and prefix; the FE archive (the newest
under fe_prefix unless ``fe_archive_key`` names one) replaces meta/ and
conf/, the previous ones kept beside them as <name>.before-restore-<time>.
After: start the FE (README, "Restoring the FE").
"""

from __future__ import annotations

from srb_common import (
    COMMON_PARAMS,
    RESTORE_PARAMS,
    confirm_restore,
    dag,
    fe_extract,
    mirror_restore,
    remove_local_archive,
    s3_download_fe,
)

with dag(
    "starrocks_restore",
    schedule=None,
    doc=__doc__,
    params={**COMMON_PARAMS, **RESTORE_PARAMS},
    tags=["restore"],
) as starrocks_restore:
    confirm = confirm_restore()
    data = mirror_restore()
    download = s3_download_fe()
    extract = fe_extract("download_fe_archive")
    cleanup = remove_local_archive().as_teardown(setups=download)
    confirm >> data >> download >> extract >> cleanup
