package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AirflowServer is Airflow running for real: the API server, the scheduler
// (LocalExecutor) and the DAG processor, on the SQLite database of one
// AIRFLOW_HOME. The REST API (v2) needs no login: every user is admin
// (SimpleAuthManager), which is for tests only.
type AirflowServer struct {
	*Airflow
	URL   string // the API server, http://127.0.0.1:PORT
	procs []*proc
}

// Serve migrates the database and starts the API server, the scheduler and
// the DAG processor, each logging to <home>/<component>.log. It returns once
// the API answers.
func (a *Airflow) Serve(ctx context.Context) (_ *AirflowServer, err error) {
	apiPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	logPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &AirflowServer{Airflow: a, URL: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	a.Env = append(a.Env,
		"AIRFLOW__CORE__EXECUTOR=LocalExecutor",
		"AIRFLOW__CORE__PARALLELISM=4",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True",
		"AIRFLOW__API__HOST=127.0.0.1",
		"AIRFLOW__API__PORT="+strconv.Itoa(apiPort),
		"AIRFLOW__API__BASE_URL="+s.URL,
		"AIRFLOW__API__WORKERS=1",
		"AIRFLOW__CORE__EXECUTION_API_SERVER_URL="+s.URL+"/execution/",
		"AIRFLOW__API_AUTH__JWT_SECRET="+randHex(32),
		"AIRFLOW__API__SECRET_KEY="+randHex(32),
		"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="+strconv.Itoa(logPort),
		"TMPDIR="+filepath.Join(a.Home, "tmp"),
	)
	if err := os.MkdirAll(filepath.Join(a.Home, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if out, err := a.Run(ctx, "db", "migrate"); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, tailString(out))
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	for _, c := range []string{"api-server", "scheduler", "dag-processor"} {
		p, err := startProc(filepath.Join(a.Home, c+".log"), a.Env, filepath.Join(a.Venv, "bin", "airflow"), c)
		if err != nil {
			return nil, fmt.Errorf("airflow %s: %w", c, err)
		}
		s.procs = append(s.procs, p)
	}
	// The API server takes a while to start on a busy machine.
	err = Poll(ctx, 3*time.Minute, func() (bool, error) {
		for i, p := range s.procs {
			select {
			case <-p.exited:
				return false, fmt.Errorf("airflow component %d exited:\n%s", i, p.tail())
			default:
			}
		}
		var v struct{ Version string }
		return s.API(ctx, http.MethodGet, "/api/v2/version", nil, &v) == nil && v.Version != "", nil
	})
	if err != nil {
		return nil, fmt.Errorf("airflow API server: %w\n%s", err, s.procs[0].tail())
	}
	return s, nil
}

// ServeT starts an AirflowServer for a test and stops it at the test's end
// (printing the components' logs' tails if the test failed).
func (a *Airflow) ServeT(t testing.TB) *AirflowServer {
	t.Helper()
	s, err := a.Serve(context.Background())
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range s.procs {
				t.Logf("%s:\n%s", filepath.Base(p.log), p.tail())
			}
		}
		s.Stop()
	})
	return s
}

// Stop stops the components (SIGTERM to each process group, then SIGKILL).
func (s *AirflowServer) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
}

// API calls the REST API with a JSON body (nil for none) and decodes the
// JSON answer into out (nil to ignore it). Any status but 2xx is an error.
func (s *AirflowServer) API(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, tailString(string(b)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Poll calls check with a growing pause (0.5 s up to 5 s) until it reports
// done, returns an error, or timeout passes.
func Poll(ctx context.Context, timeout time.Duration, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	pause := 500 * time.Millisecond
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*3/2, 5*time.Second)
	}
}

// DagRun is a DAG run as the REST API describes it.
type DagRun struct {
	RunID string         `json:"dag_run_id"`
	State string         `json:"state"`
	Conf  map[string]any `json:"conf"`
}

// TaskInstance is a task instance as the REST API describes it.
type TaskInstance struct {
	TaskID         string         `json:"task_id"`
	MapIndex       int            `json:"map_index"`
	State          *string        `json:"state"`
	TryNumber      int            `json:"try_number"`
	RenderedFields map[string]any `json:"rendered_fields"`
}

// Name is the task's id, with "[i]" for the instance i of a mapped task (as in RunInfo).
func (ti TaskInstance) Name() string {
	if ti.MapIndex < 0 {
		return ti.TaskID
	}
	return fmt.Sprintf("%s[%d]", ti.TaskID, ti.MapIndex)
}

// taskPath is the REST path of a task instance named as Name returns it
// ("task" or "task[i]"), and the query that picks its map index.
func taskPath(dagID, runID, name string) (string, string) {
	id, index := name, "-1"
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		id, index = name[:i], name[i+1:len(name)-1]
	}
	return runPath(dagID, runID) + "/taskInstances/" + url.PathEscape(id), "map_index=" + index
}

// StateOf is the task's state ("" when it has none yet).
func (ti TaskInstance) StateOf() string {
	if ti.State == nil {
		return ""
	}
	return *ti.State
}

func runPath(dagID, runID string) string {
	return "/api/v2/dags/" + url.PathEscape(dagID) + "/dagRuns/" + url.PathEscape(runID)
}

// WaitDAG waits until the DAG processor has parsed the DAG.
func (s *AirflowServer) WaitDAG(ctx context.Context, dagID string) error {
	return Poll(ctx, 3*time.Minute, func() (bool, error) {
		return s.API(ctx, http.MethodGet, "/api/v2/dags/"+url.PathEscape(dagID), nil, nil) == nil, nil
	})
}

// Unpause unpauses the DAG.
func (s *AirflowServer) Unpause(ctx context.Context, dagID string) error {
	return s.API(ctx, http.MethodPatch, "/api/v2/dags/"+url.PathEscape(dagID), map[string]any{"is_paused": false}, nil)
}

// NextRun returns when the DAG's next scheduled run is due, once the DAG
// processor has worked it out (it waits up to a minute for that).
func (s *AirflowServer) NextRun(ctx context.Context, dagID string) (time.Time, error) {
	var d struct {
		NextRunAfter *time.Time `json:"next_dagrun_run_after"`
	}
	err := Poll(ctx, time.Minute, func() (bool, error) {
		err := s.API(ctx, http.MethodGet, "/api/v2/dags/"+url.PathEscape(dagID), nil, &d)
		return err == nil && d.NextRunAfter != nil, err
	})
	if err != nil {
		return time.Time{}, err
	}
	return *d.NextRunAfter, nil
}

// DagRuns returns the DAG's runs.
func (s *AirflowServer) DagRuns(ctx context.Context, dagID string) ([]DagRun, error) {
	var list struct {
		DagRuns []DagRun `json:"dag_runs"`
	}
	err := s.API(ctx, http.MethodGet, "/api/v2/dags/"+url.PathEscape(dagID)+"/dagRuns", nil, &list)
	return list.DagRuns, err
}

// Trigger starts a run of the DAG with conf and returns its id.
func (s *AirflowServer) Trigger(ctx context.Context, dagID string, conf map[string]any) (string, error) {
	var run DagRun
	err := s.API(ctx, http.MethodPost, "/api/v2/dags/"+url.PathEscape(dagID)+"/dagRuns",
		map[string]any{"logical_date": nil, "conf": conf}, &run)
	return run.RunID, err
}

// DagRun returns a DAG run.
func (s *AirflowServer) DagRun(ctx context.Context, dagID, runID string) (DagRun, error) {
	var run DagRun
	err := s.API(ctx, http.MethodGet, runPath(dagID, runID), nil, &run)
	return run, err
}

// WaitRun waits (up to timeout) until the run is in a finished state
// (success or failed) and returns it.
func (s *AirflowServer) WaitRun(ctx context.Context, dagID, runID string, timeout time.Duration) (DagRun, error) {
	var run DagRun
	err := Poll(ctx, timeout, func() (bool, error) {
		var err error
		run, err = s.DagRun(ctx, dagID, runID)
		return err == nil && (run.State == "success" || run.State == "failed"), nil
	})
	return run, err
}

// TaskInstances returns the run's task instances by name (TaskInstance.Name).
func (s *AirflowServer) TaskInstances(ctx context.Context, dagID, runID string) (map[string]TaskInstance, error) {
	var list struct {
		TaskInstances []TaskInstance `json:"task_instances"`
	}
	if err := s.API(ctx, http.MethodGet, runPath(dagID, runID)+"/taskInstances", nil, &list); err != nil {
		return nil, err
	}
	out := map[string]TaskInstance{}
	for _, ti := range list.TaskInstances {
		out[ti.Name()] = ti
	}
	return out, nil
}

// XCom returns the value of one XCom of a task (deserialized JSON); task
// is named as TaskInstance.Name names it.
func (s *AirflowServer) XCom(ctx context.Context, dagID, runID, task, key string) (any, error) {
	var x struct {
		Value any `json:"value"`
	}
	p, q := taskPath(dagID, runID, task)
	err := s.API(ctx, http.MethodGet, p+"/xcomEntries/"+url.PathEscape(key)+"?deserialize=true&stringify=false&"+q, nil, &x)
	return x.Value, err
}

// TaskLog returns the structured log of one try of a task (named as
// TaskInstance.Name names it): one map per line, with "event" (the
// message) and "level".
func (s *AirflowServer) TaskLog(ctx context.Context, dagID, runID, task string, try int) ([]map[string]any, error) {
	var l struct {
		Content []map[string]any `json:"content"`
	}
	p, q := taskPath(dagID, runID, task)
	err := s.API(ctx, http.MethodGet, fmt.Sprintf("%s/logs/%d?full_content=true&%s", p, try, q), nil, &l)
	return l.Content, err
}

// ClearFailed clears the run's failed tasks among taskIDs and their
// downstream tasks, so that the scheduler runs them again.
func (s *AirflowServer) ClearFailed(ctx context.Context, dagID, runID string, taskIDs ...string) error {
	return s.API(ctx, http.MethodPost, "/api/v2/dags/"+url.PathEscape(dagID)+"/clearTaskInstances", map[string]any{
		"dry_run": false, "dag_run_id": runID, "task_ids": taskIDs, "only_failed": true,
		"include_downstream": true, "reset_dag_runs": true,
	}, nil)
}

// SetRunState marks a run (e.g. "failed", which stops its running tasks).
func (s *AirflowServer) SetRunState(ctx context.Context, dagID, runID, state string) error {
	return s.API(ctx, http.MethodPatch, runPath(dagID, runID), map[string]any{"state": state}, nil)
}

func tailString(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}
