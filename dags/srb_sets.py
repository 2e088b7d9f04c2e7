"""Backup sets and shards on the DAG side: the steps around the binaries that are not a binary.

- :class:`ShardPlan` (a mixin over a binary's task, on the worker or in a pod):
  the list of shards one mapped mirror task per entry is expanded over. With
  ``shards`` = 1 it runs nothing and returns one shard (the whole key space,
  the set's ``data.jsonl.gz``): the simple path. With N > 1 it runs
  ``mirror --plan N`` and returns one shard per range it found, each with
  its range (``SRB_KEY_RANGE``, passed back verbatim) and, for a backup, its
  own data listing (``data-<i>.jsonl.gz``).
- :class:`SrbShardSummary`: after the mapped mirror tasks, whatever became of
  them: adds up their counts, names the listings for ``catalog commit``, and
  fails (so the commit never runs) when any shard did not succeed. A
  failed shard can be cleared and re-run alone; the summary then runs again.
- :class:`ChosenSet` (a mixin over ``catalog verify``): the verified set's
  files (manifest, FE archive), from its id, for the tasks of a restore.

Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

import json

from srb_airflow import AIRFLOW_MAJOR, AirflowFailException, BaseOperator
from srb_config import listing_key, set_keys

# Counts of mirror's result that add up over shards.
_COUNTS = [
    "listed",
    "copied",
    "skipped",
    "vanished",
    "excluded",
    "target_only",
    "deleted",
    "bytes",
    "errors",
    "manifest_objects",
    "manifest_bytes",
]

# The summary runs once every shard is done, also when some failed (to say
# which), but not when nothing before it succeeded (a bad configuration):
# then it is upstream_failed like every other task. Airflow 2.11 lacks that
# rule; there it runs whenever the shards are done.
SUMMARY_TRIGGER = "all_done_min_one_success" if AIRFLOW_MAJOR >= 3 else "all_done"


def rendered_env(op, name: str):
    """A variable of a task's environment once rendered (SrbBinaryOperator or a pod)."""
    env = getattr(op, "env", None)
    if isinstance(env, dict):
        return {**env, **(getattr(op, "extra_env", None) or {})}.get(name)
    for var in getattr(op, "env_vars", None) or []:
        if var.name == name:
            return var.value
    return None


class ShardPlan:
    """The shards of a mirror: mix in before the operator that runs ``mirror``
    (its environment carries ``SRB_PLAN``, the number of shards), add
    ``set_folder`` to its template fields, and give the class an
    ``__init__`` of its own that calls this one (Airflow wraps each
    operator class's own ``__init__``)."""

    def __init__(self, *, set_folder=None, **kwargs):
        kwargs["multiple_outputs"] = False  # a list: what a mapped task expands over
        super().__init__(**kwargs)
        self.set_folder = set_folder

    def execute(self, context):
        n = int(rendered_env(self, "SRB_PLAN") or 1)
        if n <= 1:
            self.log.info("shards = 1: one mirror over the whole key space, nothing to plan")
            ranges = [""]
        else:
            result = super().execute(context)
            ranges = result.get("ranges") if isinstance(result, dict) else None
            if not isinstance(ranges, list) or not ranges or not all(isinstance(r, str) for r in ranges):
                raise AirflowFailException(
                    f"mirror --plan {n} returned no list of ranges: {json.dumps(result)}"
                )
        shards = []
        for i, key_range in enumerate(ranges):
            shard = {"SRB_KEY_RANGE": key_range}
            if self.set_folder:
                shard["SRB_MANIFEST"] = listing_key(self.set_folder, i, len(ranges))
            shards.append(shard)
            self.log.info("shard %d: %s", i, json.dumps(shard))
        return shards


class SrbShardSummary(BaseOperator):
    """Adds up the results of the mapped mirror task ``shards`` (expanded over
    the list ``plan`` returned) and fails unless every shard succeeded."""

    ui_color = "#ede7f6"

    def __init__(self, *, plan: str, shards: str, **kwargs):
        kwargs.setdefault("multiple_outputs", True)
        kwargs.setdefault("trigger_rule", SUMMARY_TRIGGER)
        super().__init__(**kwargs)
        self.plan = plan
        self.shards = shards

    def execute(self, context):
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids=self.plan)
        if not isinstance(plan, list) or not plan:
            raise AirflowFailException(f"no shards: {self.plan} did not succeed")
        totals = dict.fromkeys(_COUNTS, 0)
        listings, failed, verified = [], [], True
        for i, shard in enumerate(plan):
            where = f"shard {i} ({shard.get('SRB_KEY_RANGE') or 'every key'})"
            result = ti.xcom_pull(task_ids=self.shards, key="return_value", map_indexes=i)
            if not isinstance(result, dict):
                failure = ti.xcom_pull(task_ids=self.shards, key="result", map_indexes=i)
                why = failure.get("error") if isinstance(failure, dict) else "no result (it did not finish)"
                failed.append(f"{where}: {why}")
                self.log.error("%s failed: %s", where, why)
                continue
            for k in _COUNTS:
                totals[k] += result.get(k) or 0
            verified = verified and result.get("verified") is True
            if result.get("manifest_key"):
                listings.append(result["manifest_key"])
            self.log.info(
                "%s: copied %s, skipped %s, deleted %s, %s bytes",
                where,
                result.get("copied"),
                result.get("skipped"),
                result.get("deleted"),
                result.get("bytes"),
            )
        if failed:
            raise AirflowFailException(
                f"{len(failed)} of {len(plan)} shards failed (clear them to run them again): "
                + "; ".join(failed[:3])
            )
        summary = {**totals, "shards": len(plan), "verified": verified, "data_listings": ",".join(listings)}
        self.log.info("all %d shards succeeded: %s", len(plan), json.dumps(summary))
        return summary


class ChosenSet:
    """``catalog verify`` of the set to restore: mix in before the operator
    that runs it (its environment carries ``SRB_SETS_PREFIX``). Its result
    also names the set's files: ``manifest_key``, ``fe_archive_key``."""

    def execute(self, context):
        result = super().execute(context)
        keys = set_keys(rendered_env(self, "SRB_SETS_PREFIX") or "", result["id"])
        self.log.info("restoring backup set %s: %s", result["id"], json.dumps(keys))
        return {**result, **keys}


__all__ = ["SUMMARY_TRIGGER", "ChosenSet", "ShardPlan", "SrbShardSummary", "rendered_env"]
