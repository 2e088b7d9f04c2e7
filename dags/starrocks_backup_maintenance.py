"""starrocks_backup_maintenance (Airflow DAG): weekly check and expiry of the backup sets.

  config -> verify_latest -> prune

``verify_latest`` (``catalog verify --deep --id latest``) checks that the
newest complete set is restorable: every object it lists present with its
content, its FE archive streamed and its SHA-256 and members checked. Only
then ``prune`` (``catalog prune``) expires the sets the retention policy
does not keep (``keep_last``, ``keep_daily``, ``keep_weekly``,
``keep_monthly`` in the Variable ``starrocks_backup_config``; by default 7
daily, 4 weekly, 6 monthly) and deletes the data objects no remaining set
needs. The newest complete set is never expired; objects written by a
backup still running are never deleted; more than ``prune_max_delete`` data
objects to delete stops it, deleting nothing. Trigger it with
``dry_run=true`` to see what it would delete.
Runs on Sundays at 03:00 UTC; unpausing starts nothing before then.
"""

from __future__ import annotations

from srb_common import maintenance_dag, maintenance_tasks

with maintenance_dag("starrocks_backup_maintenance", __doc__) as starrocks_backup_maintenance:
    maintenance_tasks()
