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

// Airflow runs the pinned Apache Airflow of a virtualenv under .cache
// (made by `make airflow-venvs`) against an AIRFLOW_HOME of its own with a
// SQLite database and the repository's dags/ folder.
type Airflow struct {
	Venv string   // the virtualenv
	Home string   // AIRFLOW_HOME
	Env  []string // the environment of every airflow command
}

// AirflowVenv returns the virtualenv of Airflow major version 3 or 2,
// creating it with make when it is missing.
func AirflowVenv(major int) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(cache, fmt.Sprintf("venv-airflow%d", major))
	if _, err := os.Stat(filepath.Join(venv, ".installed")); err == nil {
		return venv, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", filepath.Join(venv, ".installed"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make %s: %v\n%s", filepath.Join(venv, ".installed"), err, out)
	}
	return venv, nil
}

// NewAirflow prepares Airflow major version 3 or 2 in home. binDir (the
// task binaries) comes first on PATH; env adds variables such as
// AIRFLOW_CONN_<ID> connections.
func NewAirflow(home string, major int, binDir string, env ...string) (*Airflow, error) {
	venv, err := AirflowVenv(major)
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
	a := &Airflow{Venv: venv, Home: home}
	a.Env = append([]string{
		"PATH=" + binDir + ":" + filepath.Join(venv, "bin") + ":/usr/local/bin:/usr/bin:/bin",
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
func NewAirflowT(t testing.TB, major int, env ...string) *Airflow {
	t.Helper()
	a, err := NewAirflow(t.TempDir(), major, BinDir(), env...)
	if err != nil {
		t.Fatalf("testbed: Airflow %d: %v", major, err)
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
	cmd.Env = a.Env
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
	Airflow      string            `json:"airflow"`
	ImportErrors map[string]string `json:"import_errors"`
	Dags         map[string]struct {
		Schedule  *string  `json:"schedule"`
		Catchup   bool     `json:"catchup"`
		StartDate string   `json:"start_date"`
		Params    []string `json:"params"`
		Tasks     map[string]struct {
			Operator    string   `json:"operator"`
			Binaries    []string `json:"binaries"`
			Env         []string `json:"env"`
			Secrets     []string `json:"secrets"`
			IsTeardown  bool     `json:"is_teardown"`
			BashCommand *string  `json:"bash_command"`
		} `json:"tasks"`
	} `json:"dags"`
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

// RunInfo is what xcoms.py reports of a DAG's latest run.
type RunInfo struct {
	RunID string `json:"run_id"`
	State string `json:"state"`
	Tasks map[string]struct {
		State string `json:"state"`
		XCom  any    `json:"xcom"`
	} `json:"tasks"`
}

// Result returns a task's XCom when it is a binary's JSON result (nil otherwise).
func (r RunInfo) Result(task string) map[string]any {
	m, _ := r.Tasks[task].XCom.(map[string]any)
	return m
}

// DagsTest migrates the database (once per home) and runs
// `airflow dags test DAG_ID -c CONF`; it returns the run's task states and
// XComs and the command's output. A failed run is not an error here: the
// caller checks RunInfo.State.
func (a *Airflow) DagsTest(ctx context.Context, dagID string, conf map[string]any) (RunInfo, string, error) {
	var info RunInfo
	if _, err := os.Stat(filepath.Join(a.Home, "airflow.db")); err != nil {
		if out, err := a.Run(ctx, "db", "migrate"); err != nil {
			return info, out, err
		}
	}
	c, _ := json.Marshal(conf)
	out, runErr := a.Command(ctx, "dags", "test", dagID, "-c", string(c)).CombinedOutput()
	if err := a.Script(ctx, &info, "xcoms.py", dagID); err != nil {
		return info, string(out), fmt.Errorf("%v (dags test: %v)", err, runErr)
	}
	return info, string(out), nil
}
