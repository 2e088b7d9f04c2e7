package taskrun

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// mainTask is run by TestMain when the test binary is started as a task
// (SRB_TEST_MAIN set): its Run ignores cancellation until its cleanup is cut
// short, the way a task stuck in a remote command behaves.
func mainTask() Task {
	var dir string
	return Task{
		Name:  "signal-demo",
		Flags: []cli.Flag{&cli.StringFlag{Name: "dir", Destination: &dir}},
		Run: func(ctx context.Context) (any, error) {
			marker := filepath.Join(dir, "temp")
			if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
				return nil, err
			}
			_ = os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
			<-ctx.Done()
			// A cleanup that would take a minute: the second signal cuts it
			// to CleanupGrace, and it removes the temp file first.
			cctx, cancel := CleanupContext(ctx, time.Minute)
			defer cancel()
			_ = os.Remove(marker)
			<-cctx.Done()
			time.Sleep(time.Hour) // stuck: Main must report and exit anyway
			return nil, ctx.Err()
		},
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("SRB_TEST_MAIN") == "1" {
		Main(mainTask())
	}
	os.Exit(m.Run())
}

// Airflow escalates a kill with a second signal. The process must still
// run its bounded cleanup, print exactly one result line, write the xcom
// file, and exit 130, all within GracePeriod.
func TestSecondSignalStillReportsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	xcom := filepath.Join(dir, "return.json")
	cmd := exec.Command(os.Args[0], "--dir", dir, "--xcom-file", xcom)
	cmd.Env = append(os.Environ(), "SRB_TEST_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("task did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(start)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != ExitCancelled {
		t.Fatalf("exit %v, want %d; stderr %s", err, ExitCancelled, errb.String())
	}
	if took > GracePeriod {
		t.Fatalf("took %s after the signals", took)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp")); !os.IsNotExist(err) {
		t.Fatalf("cleanup did not run: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout must be one result line: %q", out.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["status"] != "error" || !strings.Contains(m["error"].(string), "cancelled") {
		t.Fatalf("result line %q (%v)", lines[0], err)
	}
	if got, err := os.ReadFile(xcom); err != nil || string(got) != lines[0] {
		t.Fatalf("xcom file %q (%v), result line %q", got, err, lines[0])
	}
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("stderr line is not JSON: %q", l)
		}
	}
}

func TestCleanupContextOutlivesCancel(t *testing.T) {
	hard, hurry := context.WithCancel(context.Background())
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), hardKey{}, hard))
	cctx, done := CleanupContext(ctx, time.Minute)
	defer done()
	cancel()
	if cctx.Err() != nil {
		t.Fatal("cleanup context ended with the task's context")
	}
	hurry()
	select {
	case <-cctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cleanup context outlived the hard deadline")
	}
}
