"""SrbBinaryOperator: runs one of the project's task binaries the way its contract expects.

- Inputs reach the binary through its environment (``SRB_*`` variables), never its
  command line (``args`` holds fixed words only: ``catalog``'s subcommand). ``env``
  values may be XCom references (another task's result fields): the dependency
  then comes with the value. A mapped task (one per shard) is expanded over
  ``extra_env``, merged into ``env``.
- ``connections`` maps a variable (``SRB_SSH_CONN``, ``SRB_S3_CONN``, ...) to an
  Airflow connection id. The connection is looked up in ``execute``, at run time
  where Airflow allows it, and handed to the binary as JSON in its environment.
  The rendered view (UI, ``airflow tasks render``) shows the ids, never a
  secret, and needs no metadata database; Airflow masks the password in logs
  once the connection is read.
- Logs: the binary's JSON log lines (stderr) are logged again at their own level,
  so its errors are errors in Airflow's log view.
- Result: the binary writes its JSON result to ``SRB_XCOM_FILE``, also on failure.
  On success it is the task's XCom (``return_value``) and each field its own XCom
  (``multiple_outputs``), so ``task.output["sha256"]`` is one field. On failure
  it is pushed as the XCom ``result`` before the task fails, so that what the
  binary got done (counts, keys) is not only in the log.
- Exit codes: 0 ok; 2 (bad usage or configuration) fails without retries; any
  other fails. When Airflow stops the task (marked failed, timeout), the binary
  gets SIGTERM, stops, cleans up and exits 130.

Listed in .airflowignore: a helper module, not a DAG file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading

from srb_airflow import AirflowException, AirflowFailException, BaseOperator, get_connection, mask_secret

# zerolog levels -> logger methods.
_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
    "fatal": "critical",
    "panic": "critical",
}
# Fields every log line of a binary carries, already known to Airflow's log view.
_KNOWN = {"level", "time", "message", "task", "dag_id", "task_id", "run_id", "try_number"}
_MEANING = {1: ", failed", 2: ", bad usage or configuration", 130: ", cancelled: stopped by a signal"}
# How long a binary may take to stop after SIGTERM before it is killed (its own
# cleanup is bounded: a second signal cuts it to 5 s).
_STOP_TIMEOUT = 60


def env_value(value) -> str | None:
    """A rendered value as an environment variable (None: left out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def connection_json(conn) -> str:
    """An Airflow connection as the JSON the binaries parse (SRB_*_CONN)."""
    if conn.password:
        mask_secret(conn.password)
    extra = conn.extra_dejson
    if extra:
        mask_secret(extra)
    return json.dumps(
        {
            "conn_type": conn.conn_type,
            "host": conn.host,
            "login": conn.login,
            "password": conn.password,
            "schema": conn.schema,
            "port": conn.port,
            "extra": extra,
        }
    )


def log_line(log, line: str) -> None:
    """Log one stderr line of a binary at its own level."""
    line = line.rstrip("\n")
    if not line.strip():
        return
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        log.info("%s", line)
        return
    method = getattr(log, _LEVELS.get(str(entry.get("level", "info")).lower(), "info"))
    fields = " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in entry.items() if k not in _KNOWN
    )
    method("%s%s", entry.get("message", ""), f"  {fields}" if fields else "")


class XComPlaceholders:
    """Rendering that works where XComs cannot be read: Airflow 3's ``airflow tasks
    render`` runs outside a task and fails on any XCom reference (ImportError).
    There an XCom reference renders as ``<XCom task.key>``; in a running task (and
    so in the UI's rendered view) it renders as its value."""

    def render_template(self, content, context, jinja_env=None, seen_oids=None):
        try:
            return super().render_template(content, context, jinja_env, seen_oids)
        except ImportError:
            op, key = getattr(content, "operator", None), getattr(content, "key", None)
            if op is None or key is None:
                raise
            return f"<XCom {op.task_id}.{key}>"


class SrbBinaryOperator(XComPlaceholders, BaseOperator):
    """Run a task binary (fe-archive, fe-fetch, s3-upload, s3-download, mirror, fe-extract, catalog).

    ``args`` are fixed words of the command line (a subcommand: ``["commit"]``),
    never values. ``extra_env`` is merged into ``env``: the argument a mapped
    task (one per shard) is expanded over. ``scratch`` names a variable that
    gets the path of a file in a private temporary folder (in ``scratch_dir``
    when given), removed with whatever the binary left there.
    """

    template_fields = ("env", "connections", "extra_env", "scratch_dir")
    template_fields_renderers = {"env": "json", "connections": "json", "extra_env": "json"}
    ui_color = "#e3f2fd"

    def __init__(
        self,
        *,
        binary: str,
        args: list[str] | None = None,
        env: dict | None = None,
        connections: dict | None = None,
        extra_env: dict | None = None,
        scratch: str | None = None,
        scratch_dir: str | None = None,
        **kwargs,
    ):
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.binary = binary
        self.args = list(args or [])
        self.env = env or {}
        self.connections = connections or {}
        self.extra_env = extra_env or {}
        self.scratch = scratch
        self.scratch_dir = scratch_dir
        self._proc: subprocess.Popen | None = None

    def _environment(self, context, xcom_file: str) -> dict:
        env = dict(os.environ)
        env.setdefault("SRB_LOG_LEVEL", "info")
        ti = context["ti"]
        for var, value in (
            ("AIRFLOW_CTX_DAG_ID", ti.dag_id),
            ("AIRFLOW_CTX_TASK_ID", ti.task_id),
            ("AIRFLOW_CTX_DAG_RUN_ID", ti.run_id),
            ("AIRFLOW_CTX_TRY_NUMBER", ti.try_number),
        ):
            env[var] = str(value)
        for var, value in {**self.env, **(self.extra_env or {})}.items():
            if (v := env_value(value)) is not None:
                env[var] = v
        for var, conn_id in self.connections.items():
            if conn_id:
                env[var] = connection_json(get_connection(conn_id))
        env["SRB_XCOM_FILE"] = xcom_file
        return env

    @property
    def command(self) -> str:
        return " ".join([self.binary, *self.args])

    def execute(self, context):
        with tempfile.TemporaryDirectory(prefix="srb-", dir=self.scratch_dir or None) as tmp:
            xcom_file = os.path.join(tmp, "result.json")
            env = self._environment(context, xcom_file)
            if self.scratch:
                env[self.scratch] = os.path.join(tmp, "scratch")
            code, stdout = self._run(env)
            result = _read_result(xcom_file, stdout)
        if code == 0 and isinstance(result, dict):
            self.log.info("%s: ok, result %s", self.command, json.dumps(result))
            return result
        why = result.get("error") if isinstance(result, dict) else "it printed no JSON result"
        message = f"{self.command} failed (exit code {code}{_MEANING.get(code, '')}): {why}"
        self.log.error("%s", message)
        if isinstance(result, dict):
            self.log.info("%s: result %s (also in the XCom 'result')", self.command, json.dumps(result))
            try:
                context["ti"].xcom_push(key="result", value=result)
            except Exception as e:  # a task Airflow stopped can no longer push
                self.log.warning("could not push the result to XCom: %s", e)
        if code == 2:  # bad usage or configuration: retrying cannot help
            raise AirflowFailException(message)
        raise AirflowException(message)

    def _run(self, env: dict) -> tuple[int, list[str]]:
        self.log.info("running %s", self.command)
        try:
            proc = subprocess.Popen(
                [self.binary, *self.args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,  # its own process group: on_kill signals it alone
            )
        except FileNotFoundError:
            raise AirflowFailException(
                f"{self.binary} is not on the worker's PATH: install the project's binaries "
                "(README: The image)"
            ) from None
        self._proc = proc
        stdout: list[str] = []

        def relay_stderr():
            for line in proc.stderr:
                log_line(self.log, line)

        relay = threading.Thread(target=relay_stderr, daemon=True)
        relay.start()
        try:
            for line in proc.stdout:
                stdout.append(line.rstrip("\n"))
            code = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted (timeout, error): stop the binary too
                self._stop(proc)
            relay.join(timeout=10)
            self._proc = None
        for line in stdout[:-1]:  # only the result line is expected on stdout
            self.log.info("%s", line)
        return code, stdout

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def on_kill(self) -> None:
        """Airflow stops the task: the binary gets SIGTERM (it exits 130 once
        cleaned up; execute then fails the task with its result)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self.log.warning("stopping %s (SIGTERM)", self.binary)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _read_result(xcom_file: str, stdout: list[str]):
    """The binary's result: its xcom file, else its last stdout line."""
    try:
        with open(xcom_file, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    for line in reversed(stdout):
        if line.strip():
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


class SrbRemoveFile(XComPlaceholders, BaseOperator):
    """Remove a file on the worker if it is there (the worker's copy of an FE archive).
    Used as a teardown: it runs whatever happened and does not decide the run's state."""

    template_fields = ("path",)
    ui_color = "#eeeeee"

    def __init__(self, *, path, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def execute(self, context):
        try:
            os.remove(self.path)
            self.log.info("removed %s", self.path)
        except FileNotFoundError:
            self.log.info("nothing to remove at %s", self.path)


__all__ = [
    "SrbBinaryOperator",
    "SrbRemoveFile",
    "XComPlaceholders",
    "connection_json",
    "env_value",
    "log_line",
]
