package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Airflow virtualenvs of `make airflow-venvs` (versions pinned in the
// Makefile and the constraints files of pkg/testbed/airflow).
const (
	// Airflow3 is the newest Airflow 3, with the providers the DAGs use.
	Airflow3 = "airflow3"
	// Airflow3Oldest is the oldest Airflow 3 the DAGs support (load check).
	Airflow3Oldest = "airflow3-oldest"
	// Airflow2 is the last Airflow 2 (load check).
	Airflow2 = "airflow2"
)

// Airflow runs the pinned Apache Airflow of a virtualenv under .cache
// against an AIRFLOW_HOME of its own with a SQLite database and the
// repository's dags/ folder.
type Airflow struct {
	Venv   string   // the virtualenv
	Home   string   // AIRFLOW_HOME
	BinDir string   // the task binaries, first on PATH
	Env    []string // the environment of every airflow command
}

// AirflowVenv returns the virtualenv named venv (Airflow3, Airflow3Oldest,
// Airflow2), made (or remade, when its constraints file changed) by make.
func AirflowVenv(venv string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "venv-"+venv)
	root, err := Root()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "CACHE="+cache, filepath.Join(dir, ".installed"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make %s: %v\n%s", filepath.Join(dir, ".installed"), err, out)
	}
	return dir, nil
}

// NewAirflow prepares the Airflow of a virtualenv (Airflow3, ...) in home.
// binDir (the task binaries) comes first on PATH; env adds variables such
// as AIRFLOW_CONN_<ID> connections.
func NewAirflow(home, venv string, binDir string, env ...string) (*Airflow, error) {
	dir, err := AirflowVenv(venv)
	if err != nil {
		return nil, err
	}
	root, err := Root()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	a := &Airflow{Venv: dir, Home: home, BinDir: binDir}
	a.Env = append([]string{
		"PATH=" + binDir + ":" + filepath.Join(dir, "bin") + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"AIRFLOW_HOME=" + home,
		"AIRFLOW__CORE__DAGS_FOLDER=" + filepath.Join(root, "dags"),
		"AIRFLOW__CORE__LOAD_EXAMPLES=False",
		"AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=120",
		"AIRFLOW__LOGGING__LOGGING_LEVEL=INFO",
		"PYTHONDONTWRITEBYTECODE=1",
		"NO_PROXY=127.0.0.1,localhost",
	}, env...)
	return a, nil
}

// NewAirflowT is NewAirflow for a test, in a temporary home.
func NewAirflowT(t testing.TB, venv string, env ...string) *Airflow {
	t.Helper()
	a, err := NewAirflow(t.TempDir(), venv, BinDir(), env...)
	if err != nil {
		t.Fatalf("testbed: Airflow %s: %v", venv, err)
	}
	return a
}

// Command returns an airflow CLI command (or, with python=true, a Python
// script of pkg/testbed/airflow run by the virtualenv's interpreter).
func (a *Airflow) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(a.Venv, "bin", "airflow"), args...)
	cmd.Env = a.Env
	cmd.Dir = a.Home
	// Cancelling ctx stops the whole process group: Airflow and the task
	// binaries it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	return cmd
}

// Run runs an airflow CLI command and returns its combined output.
func (a *Airflow) Run(ctx context.Context, args ...string) (string, error) {
	out, err := a.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("airflow %s: %v", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Script runs one of the helper scripts of pkg/testbed/airflow and decodes
// the JSON object on the last line of its output into v.
func (a *Airflow) Script(ctx context.Context, v any, script string, args ...string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(a.Venv, "bin", "python"),
		append([]string{filepath.Join(root, "pkg", "testbed", "airflow", script)}, args...)...)
	cmd.Env = append(a.Env, "SRB_BIN_DIR="+a.BinDir)
	cmd.Dir = a.Home
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return fmt.Errorf("%s: %v\n%s", script, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}

// DagsInfo is what check_dags.py reports.
type DagsInfo struct {
	Airflow      string             `json:"airflow"`
	ImportErrors map[string]string  `json:"import_errors"`
	Files        []string           `json:"files"` // the files the DagBag parsed
	Dags         map[string]DagInfo `json:"dags"`
}

// DagInfo describes one DAG.
type DagInfo struct {
	Schedule  *string `json:"schedule"`
	Timetable struct {
		Class          string `json:"class"`
		Expression     string `json:"expression"`
		RunImmediately any    `json:"run_immediately"`
	} `json:"timetable"`
	Catchup   bool                `json:"catchup"`
	StartDate *string             `json:"start_date"`
	Params    []string            `json:"params"`
	Tasks     map[string]TaskInfo `json:"tasks"`
}

// TaskInfo describes one task (a mapped task by its fixed arguments).
// Values that are XCom references read "task_id.key".
type TaskInfo struct {
	Operator    string         `json:"operator"`
	Binaries    []string       `json:"binaries"`
	Args        []string       `json:"args"` // fixed words after the binary (a subcommand)
	Env         map[string]any `json:"env"`
	Connections map[string]any `json:"connections"`
	Secrets     []string       `json:"secrets"`
	Mapped      bool           `json:"mapped"`
	TriggerRule string         `json:"trigger_rule"`
	Upstream    []string       `json:"upstream"`
	IsTeardown  bool           `json:"is_teardown"`
	IsSetup     bool           `json:"is_setup"`
	Command     *string        `json:"command"` // a BashOperator's bash_command
	// ClearedWith lists the tasks Airflow clears with this one and its
	// downstream tasks (setups of teardowns included).
	ClearedWith []string `json:"cleared_with"`
}

// CheckDags loads the DAGs in a DagBag and describes them.
func (a *Airflow) CheckDags(ctx context.Context) (DagsInfo, error) {
	var info DagsInfo
	root, err := Root()
	if err != nil {
		return info, err
	}
	return info, a.Script(ctx, &info, "check_dags.py", filepath.Join(root, "dags"))
}

// RunInfo is what xcoms.py reports of a DAG's latest run. The instances of
// a mapped task are "task[0]", "task[1]", ...
type RunInfo struct {
	RunID string             `json:"run_id"`
	State string             `json:"state"`
	Tasks map[string]TaskRun `json:"tasks"`
}

// TaskRun is one task instance of a RunInfo.
type TaskRun struct {
	State     string `json:"state"`
	TryNumber int    `json:"try_number"`
	XCom      any    `json:"xcom"`   // return_value
	Failed    any    `json:"result"` // the XCom "result" of a failed task
}

// Mapped returns the instances of a mapped task, in map index order.
func (r RunInfo) Mapped(task string) []string {
	var out []string
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s[%d]", task, i)
		if _, ok := r.Tasks[k]; !ok {
			return out
		}
		out = append(out, k)
	}
}

// States returns each task's state, for messages.
func (r RunInfo) States() map[string]string {
	out := map[string]string{}
	for k, t := range r.Tasks {
		out[k] = t.State
	}
	return out
}

// Result returns a task's XCom when it is a binary's JSON result (nil otherwise).
func (r RunInfo) Result(task string) map[string]any {
	m, _ := r.Tasks[task].XCom.(map[string]any)
	return m
}

// FailedResult returns the JSON result a failed task left in its XCom
// "result" (nil when there is none).
func (r RunInfo) FailedResult(task string) map[string]any {
	m, _ := r.Tasks[task].Failed.(map[string]any)
	return m
}

// migrate creates the database once per home.
func (a *Airflow) migrate(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(a.Home, "airflow.db")); err == nil {
		return nil
	}
	if out, err := a.Run(ctx, "db", "migrate"); err != nil {
		return fmt.Errorf("%v\n%s", err, tailString(out))
	}
	return nil
}

// DagsTest migrates the database (once per home) and runs
// `airflow dags test DAG_ID -c CONF`; it returns the run's task states and
// XComs and the command's output. A failed run is not an error here: the
// caller checks RunInfo.State.
func (a *Airflow) DagsTest(ctx context.Context, dagID string, conf map[string]any) (RunInfo, string, error) {
	var info RunInfo
	if err := a.migrate(ctx); err != nil {
		return info, "", err
	}
	if conf == nil {
		conf = map[string]any{}
	}
	c, _ := json.Marshal(conf)
	out, runErr := a.Command(ctx, "dags", "test", dagID, "-c", string(c)).CombinedOutput()
	if err := a.Script(ctx, &info, "xcoms.py", dagID); err != nil {
		return info, string(out), fmt.Errorf("%v (dags test: %v)", err, runErr)
	}
	return info, string(out), nil
}

// PodRun is what run_k8s_dag.py reports: the run, and the pod each task
// asked for.
type PodRun struct {
	RunInfo
	Pods map[string]struct {
		Command   []string          `json:"command"`
		Env       map[string]string `json:"env"`     // plain variables
		Secrets   map[string]string `json:"secrets"` // variable -> secret/key
		XComMount bool              `json:"xcom_mount"`
		Sidecar   bool              `json:"sidecar"`
	} `json:"pods"`
}

// RunPodDAG runs a KubernetesPodOperator DAG with dag.test(), each pod
// built by the operator and run as a local process with the pod's
// environment, secret values from secret (the fake Kubernetes Secret), and
// /airflow/xcom mounted in a private mount namespace (root only).
func (a *Airflow) RunPodDAG(ctx context.Context, dagID string, conf map[string]any, secret map[string]string) (PodRun, error) {
	var run PodRun
	if err := a.migrate(ctx); err != nil {
		return run, err
	}
	b, _ := json.Marshal(secret)
	file := filepath.Join(a.Home, "k8s-secret.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return run, err
	}
	defer os.Remove(file)
	c, _ := json.Marshal(conf)
	return run, a.Script(ctx, &run, "run_k8s_dag.py", dagID, string(c), file)
}
