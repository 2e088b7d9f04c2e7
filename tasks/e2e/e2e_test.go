// Package e2e drives the task binaries as processes, built once for the
// whole package, against the real servers of pkg/testbed. Every run checks
// the output contract: exactly one line on stdout, a JSON object, equal to
// the xcom file; every stderr line a JSON log line; no secret anywhere.
package e2e

import (
	"bytes"
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

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

var (
	binDir string
	tasks  []string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "srb-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tasks, err = testbed.BuildTasks(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished task process.
type result struct {
	Code   int
	Stdout string
	Stderr string
	Line   string         // the result line
	Fields map[string]any // the result line, decoded
	Logs   []map[string]any
}

func (r result) str(k string) string {
	s, _ := r.Fields[k].(string)
	return s
}

func (r result) num(k string) int64 {
	f, _ := r.Fields[k].(float64)
	return int64(f)
}

// proc describes one run of a task binary.
type proc struct {
	t       *testing.T
	task    string
	args    []string
	env     []string
	secrets []string // must appear nowhere in the output
	timeout time.Duration
	ctx     context.Context
}

// task prepares a run of the named binary with a clean environment: PATH,
// HOME and the variables given, nothing else from the test's own.
func task(t *testing.T, name string, args ...string) *proc {
	return &proc{t: t, task: name, args: args, timeout: 5 * time.Minute, ctx: context.Background()}
}

func (p *proc) Env(kv ...string) *proc      { p.env = append(p.env, kv...); return p }
func (p *proc) Secrets(s ...string) *proc   { p.secrets = append(p.secrets, s...); return p }
func (p *proc) Ctx(c context.Context) *proc { p.ctx = c; return p }

// Run runs the task and checks the output contract.
func (p *proc) Run() result {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	xcom := filepath.Join(t.TempDir(), "return.json")
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, p.task), p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XCOM_FILE=" + xcom}, p.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", p.task, err)
	}
	checkContract(t, p.task, &r, xcom, p.secrets)
	return r
}

func checkContract(t *testing.T, task string, r *result, xcom string, secrets []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if !strings.HasSuffix(r.Stdout, "\n") || len(lines) != 1 {
		t.Fatalf("%s: stdout must be exactly one line, got %q\nstderr:\n%s", task, r.Stdout, r.Stderr)
	}
	r.Line = lines[0]
	if err := json.Unmarshal([]byte(r.Line), &r.Fields); err != nil {
		t.Fatalf("%s: result line is not a JSON object: %v: %s", task, err, r.Line)
	}
	if r.Fields["task"] != task {
		t.Fatalf("%s: result names task %v", task, r.Fields["task"])
	}
	wantStatus := "ok"
	if r.Code != 0 {
		wantStatus = "error"
		if r.str("error") == "" {
			t.Fatalf("%s: failed without an error message: %s", task, r.Line)
		}
	}
	if r.Fields["status"] != wantStatus {
		t.Fatalf("%s: exit %d with status %v", task, r.Code, r.Fields["status"])
	}
	if _, ok := r.Fields["duration_ms"].(float64); !ok {
		t.Fatalf("%s: no duration_ms in %s", task, r.Line)
	}
	if got, err := os.ReadFile(xcom); err != nil || string(got) != r.Line {
		t.Fatalf("%s: xcom file %q differs from the result line %q (%v)", task, got, r.Line, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: stderr line is not JSON: %q", task, l)
		}
		if m["task"] != task {
			t.Fatalf("%s: log line without task field: %q", task, l)
		}
		r.Logs = append(r.Logs, m)
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s)) {
			t.Fatalf("%s: a secret was printed:\nstdout: %s\nstderr: %s", task, r.Stdout, r.Stderr)
		}
	}
}

// wantCode fails the test unless the run ended with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nresult: %s\nstderr:\n%s", r.Code, code, r.Line, r.Stderr)
	}
}

// runWithSignal runs the task, sends it sig after delay, and checks the
// output contract of what it printed.
func (p *proc) runWithSignal(sig syscall.Signal, delay time.Duration) result {
	t := p.t
	t.Helper()
	xcom := filepath.Join(t.TempDir(), "return.json")
	cmd := exec.Command(filepath.Join(binDir, p.task), p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XCOM_FILE=" + xcom}, p.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(sig)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not stop within 30 s of %s", p.task, sig)
	}
	r := result{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	}
	checkContract(t, p.task, &r, xcom, p.secrets)
	return r
}
