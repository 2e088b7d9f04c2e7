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
        Setting("backup_bucket", str, "starrocks-backup", "Off-site bucket."),
        Setting("data_prefix", str, "data", "Where the data copy lives in the off-site bucket."),
        Setting("fe_prefix", str, "fe", "Where FE archives live in the off-site bucket."),
        Setting("fe_ssh_conn_id", str, "starrocks_fe", "Connection of the FE host (ssh).", conn=True),
        Setting("fe_dir", str, "/opt/starrocks/fe", "FE folder on the FE host.", path=True),
        # Fetch and upload (download and extract) must see the same folder: one worker, or a shared volume.
        Setting("work_dir", str, "/tmp", "Worker folder the FE archive passes through.", path=True),
        # starrocks_backup_k8s: pods get endpoints here and keys from a Kubernetes Secret.
        Setting("image", str, "starrocks-backup-airflow:latest", "Image built from Dockerfile.airflow."),
        Setting("namespace", str, "airflow", "Namespace of the pods and of the Secret."),
        Setting("minio_endpoint", str, "http://minio:9000", "Endpoint of the cluster's MinIO."),
        Setting("s3_endpoint", str, "", "Endpoint of the off-site S3; '' for AWS S3.", required=False),
        Setting("s3_region", str, "us-east-1", "Region of the off-site S3."),
        Setting("fe_host", str, "starrocks-fe", "FE host name."),
        Setting("fe_port", int, 2222, "FE host's SSH port."),
        Setting("fe_user", str, "root", "SSH user on the FE host."),
    ]
}

# Settings of the DAGs that run binaries on the worker, and of the Kubernetes DAG.
WORKER_SETTINGS = [
    "minio_conn_id",
    "minio_bucket",
    "minio_prefix",
    "s3_conn_id",
    "backup_bucket",
    "data_prefix",
    "fe_prefix",
    "fe_ssh_conn_id",
    "fe_dir",
    "work_dir",
]
K8S_SETTINGS = [
    "minio_bucket",
    "minio_prefix",
    "backup_bucket",
    "data_prefix",
    "fe_prefix",
    "fe_dir",
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
    "fe_archive_key": Param(
        "",
        type="string",
        description="Key of the FE archive to restore; empty for the newest under fe_prefix.",
    ),
    "reset_election_group": Param(
        False,
        type="boolean",
        description="Set bdbje_reset_election_group=true in fe.conf (restore on a new host; see the README).",
    ),
}

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


def resolve(
    names: list[str], run_params: list[str], variable: dict, conf: dict, given: dict
) -> tuple[dict, dict]:
    """The run's configuration and where each value came from.

    names: the settings this DAG uses; run_params: its per-run params;
    variable: the Variable's object; conf: the run's conf (checked for
    unknown keys); given: the run's params (None = not given).
    """
    where = f"Variable {VARIABLE}"
    for key, value in variable.items():
        if key in RESTORE_PARAMS:
            raise ConfigError(f'{where}: "{key}" is chosen per run (trigger conf), not in the Variable')
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
        value = cfg[name]
        if s.type is str:
            value = cfg[name] = value.strip()
        if s.required and value == "":
            raise ConfigError(f'"{name}" is empty (from {source[name]}); it is required')
        if s.path and not value.startswith("/"):
            raise ConfigError(f'"{name}" must be an absolute path, got "{value}" (from {source[name]})')
    for name in ("minio_prefix", "data_prefix", "fe_prefix"):
        if name in cfg:
            cfg[name] = cfg[name].strip("/")
    if "data_prefix" in cfg and cfg["data_prefix"] == cfg.get("fe_prefix"):
        raise ConfigError(
            '"data_prefix" and "fe_prefix" must differ: FE archives would land in the data copy'
        )
    if "fe_port" in cfg and not 0 < cfg["fe_port"] < 65536:
        raise ConfigError(f'"fe_port" must be a TCP port, got {cfg["fe_port"]} (from {source["fe_port"]})')
    for name in run_params:
        cfg[name] = given.get(name)
    return cfg, source


def location(bucket: str, prefix: str) -> str:
    """bucket/prefix, as mirror takes it."""
    return f"{bucket}/{prefix}" if prefix else bucket


def run_stamp(dag_run) -> str:
    """The run's time for object keys, 2026-11-24T01-00-00Z: when the run was due
    (Airflow 3: run_after; 2.x: the logical date), so clearing tasks keeps it."""
    when = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None) or dag_run.start_date
    return pendulum.instance(when).in_timezone("UTC").strftime("%Y-%m-%dT%H-%M-%SZ")


class SrbConfigOperator(BaseOperator):
    """First task of every run: the checked configuration, one XCom per value.

    Besides the settings it pushes ``run_stamp``, ``local_archive`` (the
    worker's copy of the FE archive), ``cluster`` and ``offsite_data`` (the
    two sides of the data mirror), ``new_archive_key`` (where a backup puts
    its FE archive) and ``latest_under`` (where a restore looks for the newest
    one). With ``restore=True`` it refuses the run unless ``confirm`` is true.
    """

    ui_color = "#fff3cd"

    def __init__(
        self,
        *,
        settings: list[str],
        run_params: list[str] | None = None,
        restore: bool = False,
        task_id: str = "config",
        **kwargs,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(task_id=task_id, **kwargs)
        self.settings = list(settings)
        self.run_params = list(run_params or [])
        self.restore = restore

    def execute(self, context):
        dag_run = context["dag_run"]
        try:
            cfg, source = resolve(
                self.settings,
                self.run_params,
                parse_variable(get_variable(VARIABLE)),
                dict(dag_run.conf or {}),
                dict(context["params"]),
            )
        except ConfigError as e:
            raise AirflowFailException(f"configuration: {e}") from None
        for name in self.settings:
            self.log.info("%s = %s (%s)", name, json.dumps(cfg[name]), source[name])
        if self.restore and cfg.get("confirm") is not True:
            raise AirflowFailException("refusing to restore: trigger the DAG with the param confirm=true")
        for name in self.settings:
            if SETTINGS[name].conn:
                self._check_connection(name, cfg[name])
        stamp = run_stamp(dag_run)
        cfg["run_stamp"] = stamp
        cfg["cluster"] = location(cfg.get("minio_bucket", ""), cfg.get("minio_prefix", ""))
        cfg["offsite_data"] = location(cfg.get("backup_bucket", ""), cfg.get("data_prefix", ""))
        cfg["new_archive_key"] = f"{cfg.get('fe_prefix')}/{stamp}/fe-meta.tar.gz"
        cfg["latest_under"] = "" if cfg.get("fe_archive_key") else f"{cfg.get('fe_prefix')}/"
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
    "RESTORE_PARAMS",
    "SETTINGS",
    "VARIABLE",
    "WORKER_SETTINGS",
    "ConfigError",
    "SrbConfigOperator",
    "params",
    "resolve",
]
