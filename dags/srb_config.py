"""Configuration of the StarRocks backup DAGs: one Airflow Variable, overridden per run.

Where values come from, lowest first:

1. the defaults below (they match the seed guide's set-up);
2. the Airflow Variable ``starrocks_backup_config``, a JSON object holding any of the
   settings below (one place for every DAG of the project; edit it in the UI, or
   ``airflow variables set starrocks_backup_config '{"fe_dir": "/data/fe"}'``);
3. the run's params (trigger form or ``--conf``): a param left empty (null) keeps
   the value from 1-2.

The first task of every run (``config``, :class:`SrbConfigOperator`) reads the
Variable at run time, never at parse time, checks everything, logs each value
with where it came from, and fails with one line naming the bad key: an
unknown key (with the closest known one), a wrong type, an empty required
value, a relative path, a connection id that is not defined. Its result is one
XCom per value, which the other tasks take as XCom references.

``resolve`` is plain Python (no Airflow), so it can be checked on its own.
Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import pendulum

from srb_airflow import AirflowFailException, BaseOperator, Param, get_connection, get_variable

VARIABLE = "starrocks_backup_config"


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # str, int or bool
    default: Any
    description: str
    required: bool = True  # must not be empty
    path: bool = False  # an absolute path
    conn: bool = False  # an Airflow connection id, checked to exist
    low: int | None = None  # bounds of an int
    high: int | None = None


SETTINGS = {
    s.name: s
    for s in [
        Setting(
            "minio_conn_id",
            str,
            "minio",
            "Connection of the cluster's MinIO (keys, endpoint_url).",
            conn=True,
        ),
        Setting("minio_bucket", str, "starrocks", "Bucket of the StarRocks storage volume."),
        Setting(
            "minio_prefix", str, "", "Prefix of the storage volume ('' for the whole bucket).", required=False
        ),
        Setting("s3_conn_id", str, "aws_s3", "Connection of the off-site S3.", conn=True),
        Setting(
            "backup_bucket", str, "starrocks-backup", "Off-site bucket (versioning on: docs/backup-sets.md)."
        ),
        Setting("data_prefix", str, "data", "Where the shared data copy lives in the off-site bucket."),
        Setting(
            "sets_prefix",
            str,
            "backups",
            "Where the backup sets live in the off-site bucket (one folder each).",
        ),
        Setting("fe_ssh_conn_id", str, "starrocks_fe", "Connection of the FE host (ssh).", conn=True),
        Setting("fe_dir", str, "/opt/starrocks/fe", "FE folder on the FE host.", path=True),
        # Fetch and upload (download and extract) must see the same folder: one worker, or a shared volume.
        Setting("work_dir", str, "/tmp", "Worker folder the FE archive passes through.", path=True),
        Setting(
            "shards", int, 1, "Mirror tasks (pods) the data copy is spread over, 1-1024.", low=1, high=1024
        ),
        Setting(
            "vacuum_grace",
            str,
            "30m",
            "StarRocks' lake_autovacuum_grace_period_minutes as a duration (30m, 4h): a set is consistent "
            "only when its data copy ended within it of the FE archive.",
        ),
        Setting(
            "restore_max_delete",
            int,
            100000,
            "A restore (each shard) deletes at most this many objects the set does not hold; more stops it.",
            low=1,
        ),
        # Retention (starrocks_backup_maintenance): restic's and borg's policy vocabulary.
        Setting("keep_last", int, 0, "Keep the N newest backup sets.", low=0),
        Setting("keep_daily", int, 7, "Keep the newest set of each of the N newest days.", low=0),
        Setting("keep_weekly", int, 4, "Keep the newest set of each of the N newest ISO weeks.", low=0),
        Setting("keep_monthly", int, 6, "Keep the newest set of each of the N newest months.", low=0),
        Setting(
            "prune_max_delete",
            int,
            100000,
            "A prune deleting more data objects than this deletes none.",
            low=1,
        ),
        # starrocks_backup_k8s: pods get endpoints here and keys from a Kubernetes Secret.
        Setting("image", str, "starrocks-backup-airflow:latest", "Image built from Dockerfile.airflow."),
        Setting("namespace", str, "airflow", "Namespace of the pods and of the Secret."),
        Setting("minio_endpoint", str, "http://minio:9000", "Endpoint of the cluster's MinIO."),
        Setting("s3_endpoint", str, "", "Endpoint of the off-site S3; '' for AWS S3.", required=False),
        Setting("s3_region", str, "us-east-1", "Region of the off-site S3."),
        Setting("fe_host", str, "starrocks-fe", "FE host name."),
        Setting("fe_port", int, 2222, "FE host's SSH port.", low=1, high=65535),
        Setting("fe_user", str, "root", "SSH user on the FE host."),
    ]
}

# Keys an older release had, accepted in the Variable with a warning so that
# an upgrade does not stop the backups: what became of each.
RETIRED = {
    "fe_prefix": "FE archives now live in each backup set, under sets_prefix",
}

# Where the backup sets are (the catalog's settings).
_SETS = ["s3_conn_id", "backup_bucket", "data_prefix", "sets_prefix"]
# What a backup or a restore decides besides where things are.
_RUN = ["shards", "vacuum_grace", "restore_max_delete"]

# Settings of the DAGs that run binaries on the worker, of the maintenance
# DAG, and of the Kubernetes DAGs.
WORKER_SETTINGS = [
    "minio_conn_id",
    "minio_bucket",
    "minio_prefix",
    *_SETS,
    "fe_ssh_conn_id",
    "fe_dir",
    "work_dir",
    *_RUN,
]
MAINTENANCE_SETTINGS = [*_SETS, "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "prune_max_delete"]
K8S_SETTINGS = [
    "minio_bucket",
    "minio_prefix",
    *_SETS[1:],
    "fe_dir",
    *_RUN,
    "image",
    "namespace",
    "minio_endpoint",
    "s3_endpoint",
    "s3_region",
    "fe_host",
    "fe_port",
    "fe_user",
]

# Choices of one run, never in the Variable (a restore is confirmed per run).
RESTORE_PARAMS = {
    "confirm": Param(
        False,
        type="boolean",
        description="Must be true: a restore overwrites the cluster's bucket and the FE metadata.",
    ),
    "backup_id": Param(
        "",
        type="string",
        description="Backup set to restore (catalog list shows them, e.g. 2026-11-29T01-00-00Z); "
        "empty for the newest complete and consistent set.",
    ),
    "reset_election_group": Param(
        False,
        type="boolean",
        description="Set bdbje_reset_election_group=true in fe.conf (restore on a new host; see the README).",
    ),
}
MAINTENANCE_PARAMS = {
    "dry_run": Param(
        False,
        type="boolean",
        description="Only report which sets and data objects the retention policy would delete.",
    ),
}
RUN_PARAMS = [*RESTORE_PARAMS, *MAINTENANCE_PARAMS]

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


def params(names: list[str]) -> dict:
    """The DAG params of these settings: empty (null) by default, so that a run
    keeps the Variable's value unless its conf gives one."""
    out = {}
    for name in names:
        s = SETTINGS[name]
        out[name] = Param(
            None,
            type=["null", _JSON_TYPES[s.type]],
            description=f"{s.description} Empty: the value in the Variable {VARIABLE}, else {s.default!r}.",
        )
    return out


class ConfigError(ValueError):
    """A bad configuration value; the message names the key and where it came from."""


def _type_error(s: Setting, value: Any, where: str) -> str | None:
    ok = isinstance(value, s.type) and (s.type is bool or not isinstance(value, bool))
    if ok:
        return None
    return f'{where}: "{s.name}" must be {_JSON_TYPES[s.type]}, got {json.dumps(value)}'


def _unknown(key: str, known: list[str], where: str) -> str:
    near = difflib.get_close_matches(key, known, n=1)
    hint = f' (did you mean "{near[0]}"?)' if near else f" (known: {', '.join(sorted(known))})"
    return f'{where}: unknown key "{key}"{hint}'


def parse_variable(raw: str | None) -> dict:
    """The Variable's JSON object ({} when the Variable does not exist)."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise ConfigError(f"Variable {VARIABLE} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"Variable {VARIABLE} must hold a JSON object, not {type(value).__name__}")
    return value


def _check_value(s: Setting, value: Any, source: str) -> None:
    """The checks of one resolved value beyond its type."""
    if s.required and value == "":
        raise ConfigError(f'"{s.name}" is empty (from {source}); it is required')
    if s.path and not value.startswith("/"):
        raise ConfigError(f'"{s.name}" must be an absolute path, got "{value}" (from {source})')
    if s.name == "fe_port" and not s.low <= value <= s.high:
        raise ConfigError(f'"fe_port" must be a TCP port, got {value} (from {source})')
    if (s.low is not None and value < s.low) or (s.high is not None and value > s.high):
        bounds = f"at least {s.low}" if s.high is None else f"{s.low}-{s.high}"
        raise ConfigError(f'"{s.name}" must be {bounds}, got {value} (from {source})')
    if s.name == "vacuum_grace" and not _DURATION.match(value):
        raise ConfigError(
            f'"vacuum_grace" must be a duration such as 30m or 4h, got "{value}" (from {source})'
        )


_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(h|m|s))+$")
# A backup set's id: the run's time (run_stamp), optionally with a suffix.
_SET_ID = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z([._-][A-Za-z0-9._-]{1,64})?$")


def resolve(
    names: list[str], run_params: list[str], variable: dict, conf: dict, given: dict
) -> tuple[dict, dict, list[str]]:
    """The run's configuration, where each value came from, and warnings.

    names: the settings this DAG uses; run_params: its per-run params;
    variable: the Variable's object; conf: the run's conf (checked for
    unknown keys); given: the run's params (None = not given).
    """
    where = f"Variable {VARIABLE}"
    warnings = []
    for key, value in variable.items():
        if key in RUN_PARAMS:
            raise ConfigError(f'{where}: "{key}" is chosen per run (trigger conf), not in the Variable')
        if key in RETIRED:
            warnings.append(f'{where}: "{key}" is no longer used ({RETIRED[key]}); remove it')
            continue
        if key not in SETTINGS:
            raise ConfigError(_unknown(key, list(SETTINGS), where))
        if err := _type_error(SETTINGS[key], value, where):
            raise ConfigError(err)
    for key in conf:
        if key not in names and key not in run_params:
            raise ConfigError(_unknown(key, names + run_params, "run conf"))
    cfg, source = {}, {}
    for name in names:
        s = SETTINGS[name]
        cfg[name], source[name] = s.default, "default"
        if name in variable:
            cfg[name], source[name] = variable[name], where
        if given.get(name) is not None:
            if err := _type_error(s, given[name], "run conf"):
                raise ConfigError(err)
            cfg[name], source[name] = given[name], "run conf"
        if s.type is str:
            cfg[name] = cfg[name].strip()
        _check_value(s, cfg[name], source[name])
    for name in ("minio_prefix", "data_prefix", "sets_prefix"):
        if name in cfg:
            cfg[name] = cfg[name].strip("/")
    data, sets = cfg.get("data_prefix"), cfg.get("sets_prefix")
    if data is not None and sets is not None and (data == sets or _inside(data, sets) or _inside(sets, data)):
        raise ConfigError(
            f'"data_prefix" ({data}) and "sets_prefix" ({sets}) must not overlap: '
            "a prune would take the sets for data"
        )
    for name in run_params:
        cfg[name] = given.get(name)
    if cfg.get("backup_id"):
        cfg["backup_id"] = cfg["backup_id"].strip()
        if not _SET_ID.match(cfg["backup_id"]):
            raise ConfigError(
                f'"backup_id" must be a backup set id such as 2026-11-29T01-00-00Z '
                f'(catalog list shows them), got "{cfg["backup_id"]}"'
            )
    return cfg, source, warnings


def _inside(a: str, b: str) -> bool:
    return a.startswith(b + "/")


def location(bucket: str, prefix: str) -> str:
    """bucket/prefix, as mirror takes it."""
    return f"{bucket}/{prefix}" if prefix else bucket


def run_stamp(dag_run) -> str:
    """The run's time for object keys, 2026-11-24T01-00-00Z: when the run was due
    (Airflow 3: run_after; 2.x: the logical date), so clearing tasks keeps it."""
    when = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None) or dag_run.start_date
    return pendulum.instance(when).in_timezone("UTC").strftime("%Y-%m-%dT%H-%M-%SZ")


def set_keys(sets_prefix: str, backup_id: str) -> dict:
    """The keys of a backup set's files in the off-site bucket (docs/backup-sets.md)."""
    folder = f"{sets_prefix.strip('/')}/{backup_id}/"
    return {
        "set_folder": folder,
        "fe_archive_key": folder + "fe-meta.tar.gz",
        "manifest_key": folder + "manifest.json",
    }


def listing_key(set_folder: str, shard: int, shards: int) -> str:
    """The data listing a backup shard writes: data.jsonl.gz alone, data-<i>.jsonl.gz for shard i."""
    return set_folder + ("data.jsonl.gz" if shards <= 1 else f"data-{shard}.jsonl.gz")


class SrbConfigOperator(BaseOperator):
    """First task of every run: the checked configuration, one XCom per value.

    Besides the settings (and the run's params) it pushes ``run_stamp``;
    ``cluster`` and ``offsite_data`` (the two sides of the data mirror);
    ``local_archive`` (the worker's copy of the FE archive). For a backup
    (``kind="backup"``) it adds ``backup_id`` (the run's time: stable when
    tasks are cleared and re-run) and the keys of its set's files
    (``set_folder``, ``fe_archive_key``, ``manifest_key``). A restore
    (``kind="restore"``) refuses the run unless ``confirm`` is true, and adds
    ``restore_id``: the param ``backup_id``, or ``latest``.
    """

    ui_color = "#fff3cd"

    def __init__(
        self,
        *,
        settings: list[str],
        run_params: list[str] | None = None,
        kind: str = "backup",
        task_id: str = "config",
        **kwargs,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(task_id=task_id, **kwargs)
        self.settings = list(settings)
        self.run_params = list(run_params or [])
        self.kind = kind

    def execute(self, context):
        dag_run = context["dag_run"]
        try:
            cfg, source, warnings = resolve(
                self.settings,
                self.run_params,
                parse_variable(get_variable(VARIABLE)),
                dict(dag_run.conf or {}),
                dict(context["params"]),
            )
        except ConfigError as e:
            raise AirflowFailException(f"configuration: {e}") from None
        for warning in warnings:
            self.log.warning("configuration: %s", warning)
        for name in self.settings:
            self.log.info("%s = %s (%s)", name, json.dumps(cfg[name]), source[name])
        if self.kind == "restore" and cfg.get("confirm") is not True:
            raise AirflowFailException("refusing to restore: trigger the DAG with the param confirm=true")
        for name in self.settings:
            if SETTINGS[name].conn:
                self._check_connection(name, cfg[name])
        stamp = run_stamp(dag_run)
        cfg["run_stamp"] = stamp
        if "minio_bucket" in cfg:
            cfg["cluster"] = location(cfg["minio_bucket"], cfg.get("minio_prefix", ""))
        if "data_prefix" in cfg:
            cfg["offsite_data"] = location(cfg["backup_bucket"], cfg["data_prefix"])
        if self.kind == "backup":
            cfg["backup_id"] = stamp
            cfg.update(set_keys(cfg["sets_prefix"], stamp))
        if self.kind == "restore":
            cfg["restore_id"] = cfg.get("backup_id") or "latest"
        if "work_dir" in cfg:
            cfg["local_archive"] = f"{cfg['work_dir'].rstrip('/')}/fe-meta-{dag_run.dag_id}-{stamp}.tar.gz"
        return cfg

    def _check_connection(self, name: str, conn_id: str) -> None:
        try:
            get_connection(conn_id)
        except Exception as e:  # the lookup's own error types differ between versions
            raise AirflowFailException(
                f'configuration: connection "{conn_id}" ({name}) cannot be read: {e}'
                f" (create it, README: Connections, or set {name} in the Variable {VARIABLE})"
            ) from None


__all__ = [
    "K8S_SETTINGS",
    "MAINTENANCE_PARAMS",
    "MAINTENANCE_SETTINGS",
    "RESTORE_PARAMS",
    "SETTINGS",
    "VARIABLE",
    "WORKER_SETTINGS",
    "ConfigError",
    "SrbConfigOperator",
    "listing_key",
    "params",
    "resolve",
    "set_keys",
]
