package taskrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/atomicfile"
)

// GracePeriod is how long a task may take to stop after SIGTERM or SIGINT
// before Main prints its result and exits anyway.
const GracePeriod = 20 * time.Second

// CleanupGrace is how long cleanup work (CleanupContext) may still run
// after a second signal (Airflow escalating a kill) before Main prints its
// result and exits.
const CleanupGrace = 5 * time.Second

// Main runs the task with the process's arguments and streams and exits
// with the task's exit code. The first SIGTERM or SIGINT cancels the task;
// a second one cuts its cleanup short (CleanupGrace). Whatever ends the
// process, the result line and the xcom file are written first.
func Main(t Task) {
	ctx, cancel := context.WithCancelCause(context.Background())
	hard, hurry := context.WithCancel(context.Background())
	defer hurry()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	rep := &reporter{stdout: os.Stdout}
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, hard, rep, t, os.Args, Streams{Stdout: os.Stdout, Stderr: os.Stderr})
	}()
	var sig os.Signal
	select {
	case code := <-done:
		os.Exit(code)
	case sig = <-sigs:
		cancel(&cancelled{sig: sig})
	}
	deadline := time.After(GracePeriod)
	select {
	case code := <-done:
		os.Exit(code)
	case <-sigs:
		time.AfterFunc(CleanupGrace, hurry)
		deadline = time.After(CleanupGrace + 2*time.Second)
	case <-deadline:
		hurry()
		deadline = time.After(2 * time.Second)
	}
	select {
	case code := <-done:
		os.Exit(code)
	case <-deadline:
	}
	// The task did not return: report for it.
	err := fmt.Errorf("%w: %v; the task did not stop in time and was ended", ErrCancelled, &cancelled{sig: sig})
	if rep.claim() {
		line, _ := encodeResult(t.Name, "", rep.started(), nil, err)
		_, _ = rep.writeXcom(line)
		fmt.Fprintf(os.Stderr, `{"level":"error","task":%q,"error":%q,"exit_code":%d,"message":"task finished"}`+"\n",
			t.Name, oneLine(err.Error()), ExitCancelled)
		rep.writeLine(line)
	}
	os.Exit(ExitCancelled)
}

// reporter writes the result line and the xcom file exactly once, whether
// the task returns or Main gives up waiting for it.
type reporter struct {
	stdout io.Writer
	mu     sync.Mutex
	done   bool
	start  time.Time
	xcom   string // the xcom file's path, once known
}

func (r *reporter) started() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		return time.Now()
	}
	return r.start
}

func (r *reporter) setStart(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

func (r *reporter) setXcom(path string) {
	r.mu.Lock()
	r.xcom = path
	r.mu.Unlock()
}

// claim reserves the one report; false when it was already made.
func (r *reporter) claim() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return false
	}
	r.done = true
	return true
}

// writeXcom writes the result line to the xcom file, when there is one.
func (r *reporter) writeXcom(line []byte) (string, error) {
	r.mu.Lock()
	path := xcomPath(r.xcom)
	r.mu.Unlock()
	if path == "" {
		return "", nil
	}
	return path, atomicfile.Write(path, line, 0o644)
}

// writeLine prints the result line, the last thing on stdout.
func (r *reporter) writeLine(line []byte) {
	_, _ = r.stdout.Write(append(line, '\n'))
}

type hardKey struct{}

// CleanupContext returns a context for cleanup work that must run even
// when the task was cancelled (removing temp files, aborting uploads): it
// is not cancelled with ctx, ends after d, and ends CleanupGrace after a
// second signal, so that the process still reports and exits in time.
func CleanupContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	if hard, ok := ctx.Value(hardKey{}).(context.Context); ok {
		stop := context.AfterFunc(hard, cancel)
		return c, func() { stop(); cancel() }
	}
	return c, cancel
}

// cancelled is the cause of a context cancelled by a signal.
type cancelled struct{ sig os.Signal }

func (c *cancelled) Error() string { return "cancelled by signal " + c.sig.String() }
