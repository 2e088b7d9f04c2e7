package testbed

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
)

// binDir holds the task binaries built by MainBuild.
var binDir string

// BinDir returns the folder of the binaries built by MainBuild.
func BinDir() string { return binDir }

// MainBuild is a TestMain for end-to-end test packages: it builds the named
// task binaries (all of them when none is named) once, runs the tests and
// removes the binaries.
func MainBuild(m *testing.M, names ...string) {
	dir, err := os.MkdirTemp("", "srb-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := BuildTasks(dir, names...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Result is one finished task process, its output contract checked.
type Result struct {
	Code   int
	Stdout string
	Stderr string
	Line   string         // the result line
	Fields map[string]any // the result line, decoded
	Logs   []map[string]any
}

// Str returns a string field of the result line.
func (r Result) Str(k string) string {
	s, _ := r.Fields[k].(string)
	return s
}

// Num returns a numeric field of the result line.
func (r Result) Num(k string) int64 {
	f, _ := r.Fields[k].(float64)
	return int64(f)
}

// HasLog reports whether a log line has the level and a message containing text.
func (r Result) HasLog(level, text string) bool {
	for _, l := range r.Logs {
		if l["level"] == level && strings.Contains(fmt.Sprint(l["message"]), text) {
			return true
		}
	}
	return false
}

// Proc describes one run of a task binary.
type Proc struct {
	t       testing.TB
	task    string
	args    []string
	env     []string
	secrets []string
	timeout time.Duration
	ctx     context.Context
}

// Task prepares a run of the named binary built by MainBuild. The process
// gets a clean environment: PATH, HOME, XCOM_FILE and what Env adds.
func Task(t testing.TB, name string, args ...string) *Proc {
	return &Proc{t: t, task: name, args: args, timeout: 10 * time.Minute, ctx: context.Background()}
}

// Env adds KEY=VALUE variables.
func (p *Proc) Env(kv ...string) *Proc { p.env = append(p.env, kv...); return p }

// Secrets names values that must appear nowhere in stdout or stderr.
func (p *Proc) Secrets(s ...string) *Proc { p.secrets = append(p.secrets, s...); return p }

// Ctx sets a context whose cancellation kills the process.
func (p *Proc) Ctx(c context.Context) *Proc { p.ctx = c; return p }

// Timeout bounds the run (default 10 minutes).
func (p *Proc) Timeout(d time.Duration) *Proc { p.timeout = d; return p }

func (p *Proc) command(ctx context.Context) (*exec.Cmd, string, *bytes.Buffer, *bytes.Buffer) {
	xcom := filepath.Join(p.t.TempDir(), "return.json")
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, p.task), p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.t.TempDir(), "SRB_XCOM_FILE=" + xcom}, p.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, xcom, &out, &errb
}

// Run runs the task to its end and checks the output contract.
func (p *Proc) Run() Result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	cmd, xcom, out, errb := p.command(ctx)
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("%s: %v", p.task, err)
	}
	p.check(&r, xcom)
	return r
}

// RunWithSignal starts the task, sends it sig after delay, waits at most
// 30 s for it to stop, and checks the output contract.
func (p *Proc) RunWithSignal(sig syscall.Signal, delay time.Duration) Result {
	p.t.Helper()
	return p.RunSignalled(sig, 1, func() bool { time.Sleep(delay); return true })
}

// RunSignalled starts the task, waits (at most 60 s) until ready reports
// true, polling it, then sends sig times times, 100 ms apart (Airflow
// escalating a kill), waits at most 30 s for the task to stop, and checks
// the output contract.
func (p *Proc) RunSignalled(sig syscall.Signal, times int, ready func() bool) Result {
	p.t.Helper()
	cmd, xcom, out, errb := p.command(context.Background())
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(time.Minute); !ready(); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-exited:
			p.t.Fatalf("%s ended (%v) before the moment to signal; stderr:\n%s", p.task, err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			p.t.Fatalf("%s: the moment to signal never came", p.task)
		}
	}
	for i := 0; i < times; i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		_ = cmd.Process.Signal(sig)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		p.t.Fatalf("%s did not stop within 30 s of %s", p.task, sig)
	}
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	}
	p.check(&r, xcom)
	return r
}

// check asserts the output contract: stdout is exactly one line, a JSON
// object naming the task, with status matching the exit code; the xcom file
// holds the same line; every stderr line is a JSON log line of the task;
// no secret appears anywhere.
func (p *Proc) check(r *Result, xcom string) {
	t := p.t
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if !strings.HasSuffix(r.Stdout, "\n") || len(lines) != 1 {
		t.Fatalf("%s: stdout must be exactly one line, got %q\nstderr:\n%s", p.task, r.Stdout, r.Stderr)
	}
	r.Line = lines[0]
	if err := json.Unmarshal([]byte(r.Line), &r.Fields); err != nil {
		t.Fatalf("%s: result line is not a JSON object: %v: %s", p.task, err, r.Line)
	}
	if r.Fields["task"] != p.task {
		t.Fatalf("%s: result names task %v", p.task, r.Fields["task"])
	}
	wantStatus := "ok"
	if r.Code != 0 {
		wantStatus = "error"
		if r.Str("error") == "" {
			t.Fatalf("%s: failed without an error message: %s", p.task, r.Line)
		}
	}
	if r.Fields["status"] != wantStatus {
		t.Fatalf("%s: exit %d with status %v\nstderr:\n%s", p.task, r.Code, r.Fields["status"], r.Stderr)
	}
	if _, ok := r.Fields["duration_ms"].(float64); !ok {
		t.Fatalf("%s: no duration_ms in %s", p.task, r.Line)
	}
	if got, err := os.ReadFile(xcom); err != nil || string(got) != r.Line {
		t.Fatalf("%s: xcom file %q differs from the result line %q (%v)", p.task, got, r.Line, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: stderr line is not JSON: %q", p.task, l)
		}
		if m["task"] != p.task {
			t.Fatalf("%s: log line without task field: %q", p.task, l)
		}
		r.Logs = append(r.Logs, m)
	}
	for _, s := range p.secrets {
		if s != "" && (strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s)) {
			t.Fatalf("%s: a secret was printed:\nstdout: %s\nstderr: %s", p.task, r.Stdout, r.Stderr)
		}
	}
}

// WantCode fails the test unless the run ended with code.
func WantCode(t testing.TB, r Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nresult: %s\nstderr:\n%s", r.Code, code, r.Line, r.Stderr)
	}
}
