"""Airflow DAGs with the four DAG ids of the seed guide, kept for existing users.

The seed guide split a backup into an FE half (backup_starrocks_fe) and a
data half (backup_be), and a restore likewise. Half a backup set cannot be
restored, and an FE archive restored over data of another day is the broken
cluster this project exists to prevent. So each id now runs the whole,
consistent flow:

- backup_be, backup_starrocks_fe: the backup of starrocks_backup (a backup set:
  FE archive, data, manifest), **manual only**: starrocks_backup is the daily
  one, so that nothing is backed up twice a night. Unpause starrocks_backup.
- restore_be, restore_starrocks_fe: the restore of starrocks_restore (confirm,
  backup_id), manual as before.

Configured like starrocks_backup (the Variable ``starrocks_backup_config``).
The ids, their run history and links keep working; their tasks are those of
starrocks_backup and starrocks_restore.
"""

from __future__ import annotations

from srb_common import backup_dag, backup_tasks, restore_dag, restore_tasks

with backup_dag("backup_be", __doc__, ["seed"], schedule=None) as backup_be:
    backup_tasks()

with backup_dag("backup_starrocks_fe", __doc__, ["seed"], schedule=None) as backup_starrocks_fe:
    backup_tasks()

with restore_dag("restore_be", __doc__, ["seed"]) as restore_be:
    restore_tasks()

with restore_dag("restore_starrocks_fe", __doc__, ["seed"]) as restore_starrocks_fe:
    restore_tasks()
