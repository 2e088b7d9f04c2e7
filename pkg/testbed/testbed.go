// Package testbed starts the real servers the tests, the demo and the
// benchmarks run against: MinIO servers, an OpenSSH sshd serving a
// StarRocks-like FE folder, and the task binaries built once. It installs
// what is missing into the repository's ignored .cache folder (pinned
// versions). Nothing here is a mock.
//
// Functions that take a testing.TB fail the test when a server cannot be
// started: a missing server is a failure, never a skip.
package testbed

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Root returns the repository root (the folder holding go.mod).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testbed: go.mod not found above the working folder")
		}
		dir = parent
	}
}

// CacheDir returns (and creates) the repository's ignored cache folder.
func CacheDir() (string, error) {
	if d := os.Getenv("SRB_CACHE_DIR"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	d := filepath.Join(root, ".cache")
	return d, os.MkdirAll(d, 0o755)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is a started server process, in its own process group, killed with
// the test process if that dies first.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

func startProc(logPath string, env []string, name string, args ...string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait()
		lf.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after a few seconds.
func (p *proc) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// tail returns the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
