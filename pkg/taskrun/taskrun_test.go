package taskrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

type demoResult struct {
	Bucket string `json:"bucket"`
	Size   int64  `json:"size"`
}

type run struct {
	code           int
	stdout, stderr string
}

// lastLine returns the result line and fails when stdout has anything after it.
func (r run) result(t *testing.T) map[string]any {
	t.Helper()
	if !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("stdout does not end with a newline: %q", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last stdout line is not JSON: %v\nstdout: %s", err, r.stdout)
	}
	return m
}

func (r run) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stderr line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func execTask(t *testing.T, ctx context.Context, task Task, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Exec(ctx, task, append([]string{task.Name}, args...), Streams{Stdout: &out, Stderr: &errb})
	return run{code: code, stdout: out.String(), stderr: errb.String()}
}

func demoTask(run func(ctx context.Context, bucket string) (any, error)) Task {
	var bucket string
	return Task{
		Name:  "demo",
		Usage: "a demo task",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bucket", Required: true, Destination: &bucket},
		},
		Run: func(ctx context.Context) (any, error) { return run(ctx, bucket) },
	}
}

func TestOKResultIsLastLineAndXcomFile(t *testing.T) {
	t.Setenv("AIRFLOW_CTX_DAG_ID", "my_dag")
	t.Setenv("AIRFLOW_CTX_TRY_NUMBER", "2")
	xcom := filepath.Join(t.TempDir(), "return.json")
	task := demoTask(func(ctx context.Context, bucket string) (any, error) {
		zerolog.Ctx(ctx).Info().Msg("working")
		return demoResult{Bucket: bucket, Size: 42}, nil
	})
	r := execTask(t, context.Background(), task, "--bucket", "b1", "--xcom-file", xcom)
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	line := strings.TrimSuffix(r.stdout, "\n")
	if !strings.HasPrefix(line, `{"task":"demo","status":"ok","duration_ms":`) || !strings.HasSuffix(line, `,"bucket":"b1","size":42}`) {
		t.Fatalf("unexpected result line %s", line)
	}
	got, err := os.ReadFile(xcom)
	if err != nil || string(got) != line {
		t.Fatalf("xcom file %q != result line %q (%v)", got, line, err)
	}
	logs := r.logLines(t)
	if len(logs) < 2 {
		t.Fatalf("expected the task's log line and the final line, got %v", logs)
	}
	for _, l := range logs {
		if l["task"] != "demo" || l["dag_id"] != "my_dag" || l["try_number"] != "2" {
			t.Fatalf("log line lacks task or Airflow context: %v", l)
		}
	}
	if left, _ := os.ReadDir(filepath.Dir(xcom)); len(left) != 1 {
		t.Fatalf("the xcom folder should hold return.json only: %v", left)
	}
}

func TestFailureKeepsPartialResultAndOneLineError(t *testing.T) {
	task := demoTask(func(ctx context.Context, bucket string) (any, error) {
		return &demoResult{Bucket: bucket}, errors.New("first line\nsecond line")
	})
	r := execTask(t, context.Background(), task, "--bucket", "b1")
	if r.code != ExitFailed {
		t.Fatalf("exit %d", r.code)
	}
	m := r.result(t)
	if m["status"] != "error" || m["error"] != "first line; second line" || m["bucket"] != "b1" {
		t.Fatalf("unexpected result %v", m)
	}
}

func TestUsageErrorsExit2WithResult(t *testing.T) {
	cases := map[string][]string{
		"missing required flag": {},
		"unknown flag":          {"--bucket", "b", "--nope"},
		"positional argument":   {"--bucket", "b", "extra"},
		"bad log level":         {"--bucket", "b", "--log-level", "loud"},
		"bad xcom folder":       {"--bucket", "b", "--xcom-file", "/nonexistent-dir/x.json"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			ran := false
			task := demoTask(func(context.Context, string) (any, error) { ran = true; return nil, nil })
			r := execTask(t, context.Background(), task, args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want 2; stdout %s", r.code, r.stdout)
			}
			if ran {
				t.Fatal("task ran despite bad usage")
			}
			if n := strings.Count(r.stdout, "\n"); n != 1 {
				t.Fatalf("stdout should hold only the result line, has %d lines:\n%s", n, r.stdout)
			}
			r.logLines(t)
			m := r.result(t)
			if m["status"] != "error" || m["task"] != "demo" || m["error"] == "" {
				t.Fatalf("unexpected result %v", m)
			}
		})
	}
	task := demoTask(func(context.Context, string) (any, error) { return nil, usage.Errorf("--part-size too small") })
	if r := execTask(t, context.Background(), task, "--bucket", "b"); r.code != ExitUsage {
		t.Fatalf("usage error from Run: exit %d", r.code)
	}
}

func TestEnvVarsFeedFlags(t *testing.T) {
	t.Setenv("SRB_BUCKET", "from-env")
	task := demoTask(func(_ context.Context, bucket string) (any, error) { return demoResult{Bucket: bucket}, nil })
	r := execTask(t, context.Background(), task)
	if r.code != 0 || r.result(t)["bucket"] != "from-env" {
		t.Fatalf("env var not used: %d %s", r.code, r.stdout)
	}
}

func TestCancelExits130(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	task := demoTask(func(ctx context.Context, _ string) (any, error) {
		cancel(&cancelled{sig: os.Interrupt})
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r := execTask(t, ctx, task, "--bucket", "b")
	m := r.result(t)
	if r.code != ExitCancelled || m["status"] != "error" || !strings.Contains(m["error"].(string), "interrupt") {
		t.Fatalf("exit %d result %v", r.code, m)
	}
}

func TestSecretsMasked(t *testing.T) {
	const pw = "Sup3r-Secret-Value"
	secret.Register(pw)
	task := demoTask(func(ctx context.Context, _ string) (any, error) {
		zerolog.Ctx(ctx).Warn().Str("oops", pw).Msg("leaking " + pw)
		return demoResult{Bucket: pw}, errors.New("auth failed for " + pw)
	})
	r := execTask(t, context.Background(), task, "--bucket", "b")
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Fatalf("secret printed:\n%s\n%s", r.stdout, r.stderr)
	}
}

func TestHelpListsEnvAndPrintsNoResult(t *testing.T) {
	task := demoTask(func(context.Context, string) (any, error) { return nil, nil })
	r := execTask(t, context.Background(), task, "--help")
	if r.code != 0 {
		t.Fatalf("--help exit %d", r.code)
	}
	for _, want := range []string{"$SRB_BUCKET", "$SRB_LOG_LEVEL", "$SRB_XCOM_FILE"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("help lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, `"status"`) {
		t.Fatal("help printed a result line")
	}
}

func TestKPODefaultXcomPath(t *testing.T) {
	dir := t.TempDir()
	old := kpoXcomDir
	kpoXcomDir = dir
	t.Cleanup(func() { kpoXcomDir = old })
	task := demoTask(func(context.Context, string) (any, error) { return demoResult{Size: 1}, nil })
	r := execTask(t, context.Background(), task, "--bucket", "b")
	got, err := os.ReadFile(filepath.Join(dir, "return.json"))
	if err != nil || string(got)+"\n" != r.stdout {
		t.Fatalf("return.json %q vs stdout %q (%v)", got, r.stdout, err)
	}
}

func TestCheckFlags(t *testing.T) {
	ok := withEnv([]cli.Flag{&cli.StringFlag{Name: "part-size"}, &cli.BoolFlag{Name: "x", EnvVars: []string{"SRB_SSH_X"}},
		&cli.GenericFlag{Name: "size"}, &cli.StringSliceFlag{Name: "exclude"}, &cli.DurationFlag{Name: "every"}})
	if err := CheckFlags(ok); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"SRB_PART_SIZE", "SRB_SSH_X", "SRB_SIZE", "SRB_EXCLUDE", "SRB_EVERY"} {
		if got := FlagEnvVars(ok[i]); len(got) != 1 || got[0] != want {
			t.Fatalf("EnvName rule: %v, want %s", got, want)
		}
	}
	if err := CheckFlags([]cli.Flag{&cli.BoolFlag{Name: "remove", EnvVars: []string{"REMOVE"}}}); err == nil || !strings.Contains(err.Error(), "SRB_") {
		t.Fatalf("a variable without the project prefix was accepted: %v", err)
	}
	if err := CheckFlags([]cli.Flag{&cli.StringFlag{Name: "lonely"}}); err == nil || !strings.Contains(err.Error(), "--lonely") {
		t.Fatalf("missing env var not reported: %v", err)
	}
	dup := []cli.Flag{&cli.StringFlag{Name: "a", EnvVars: []string{"SRB_X"}}, &cli.StringFlag{Name: "b", EnvVars: []string{"SRB_X"}}}
	if err := CheckFlags(dup); err == nil {
		t.Fatal("shared env var not reported")
	}
	if EnvPrefixed("SSH", "key-file") != "SRB_SSH_KEY_FILE" {
		t.Fatal("EnvPrefixed")
	}
}

func TestResultRejectsReservedField(t *testing.T) {
	type bad struct {
		Status string `json:"status"`
	}
	if _, err := encodeResult("t", "", time.Now(), bad{"x"}, nil); err == nil {
		t.Fatal("reserved field accepted")
	}
}

// A malformed value in one variable fails the parse; the result still
// reaches the xcom file (named by the variable or the flag).
func TestUsageErrorStillWritesXcom(t *testing.T) {
	var n int
	task := Task{
		Name:  "demo",
		Flags: []cli.Flag{&cli.IntFlag{Name: "workers", Destination: &n}},
		Run:   func(context.Context) (any, error) { return nil, nil },
	}
	t.Setenv("SRB_WORKERS", "many")
	for _, viaFlag := range []bool{false, true} {
		xcom := filepath.Join(t.TempDir(), "return.json")
		args := []string{}
		if viaFlag {
			args = append(args, "--xcom-file="+xcom)
		} else {
			t.Setenv("SRB_XCOM_FILE", xcom)
		}
		r := execTask(t, context.Background(), task, args...)
		if r.code != ExitUsage {
			t.Fatalf("exit %d", r.code)
		}
		got, err := os.ReadFile(xcom)
		if err != nil || string(got)+"\n" != r.stdout {
			t.Fatalf("xcom file %q (%v), stdout %q", got, err, r.stdout)
		}
	}
}

func TestCommands(t *testing.T) {
	var bucket, id string
	task := Task{
		Name:  "multi",
		Flags: []cli.Flag{&cli.StringFlag{Name: "bucket", Required: true, Destination: &bucket}},
		Commands: []Command{
			{Name: "list", Run: func(context.Context) (any, error) { return demoResult{Bucket: bucket}, nil }},
			{Name: "show", Flags: []cli.Flag{&cli.StringFlag{Name: "id", Destination: &id}},
				Run: func(context.Context) (any, error) { return demoResult{Bucket: bucket + "/" + id}, nil }},
		},
	}
	t.Setenv("SRB_ID", "from-env")
	r := execTask(t, context.Background(), task, "show", "--bucket", "b", "--log-level", "debug")
	m := r.result(t)
	if r.code != 0 || m["command"] != "show" || m["bucket"] != "b/from-env" || m["task"] != "multi" {
		t.Fatalf("show: exit %d, %v", r.code, m)
	}
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), `{"task":"multi","command":"show","status":"ok"`) {
		t.Fatalf("header order: %s", r.stdout)
	}
	for name, args := range map[string][]string{"no command": {}, "unknown": {"drop"}, "missing flag": {"list"}} {
		xcom := filepath.Join(t.TempDir(), "r.json")
		r := execTask(t, context.Background(), task, append(args, "--xcom-file", xcom)...)
		m := r.result(t)
		if r.code != ExitUsage || m["status"] != "error" || m["error"] == "" {
			t.Fatalf("%s: exit %d, %v", name, r.code, m)
		}
		if got, err := os.ReadFile(xcom); name != "missing flag" && (err != nil || string(got)+"\n" != r.stdout) {
			t.Fatalf("%s: xcom %q (%v)", name, got, err)
		}
	}
}

// Libraries that print with the standard log package (the AWS transfer
// manager does) must not break the rule that stderr holds JSON lines.
func TestStandardLogBecomesJSON(t *testing.T) {
	task := demoTask(func(context.Context, string) (any, error) {
		log.Printf("library says: %s", "hello")
		return nil, nil
	})
	r := execTask(t, context.Background(), task, "--bucket", "b")
	found := false
	for _, l := range r.logLines(t) {
		if l["message"] == "library says: hello" && l["level"] == "warn" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the standard log line did not become a JSON warning:\n%s", r.stderr)
	}
}
