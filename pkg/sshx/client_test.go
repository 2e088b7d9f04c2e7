//go:build e2e

package sshx

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func connect(t *testing.T, s *testbed.SSHD, mod func(*Options)) *Client {
	t.Helper()
	o := Options{Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile, KnownHosts: s.KnownHosts, Getenv: envOf(nil)}
	if mod != nil {
		mod(&o)
	}
	c, err := dial(zerolog.New(io.Discard).WithContext(context.Background()), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dial resolves the options and dials, as the tasks do.
func dial(ctx context.Context, o Options) (*Client, error) {
	cfg, err := o.Resolve()
	if err != nil {
		return nil, err
	}
	return Dial(ctx, cfg)
}

// running reports whether a process with this exact command line exists.
func running(cmdline string) bool {
	out, _ := exec.Command("pgrep", "-f", "^"+cmdline+"$").Output()
	return strings.TrimSpace(string(out)) != ""
}

func TestExecAgainstSSHD(t *testing.T) {
	s := testbed.NewSSHD(t)
	c := connect(t, s, nil)
	ctx := context.Background()

	// Quoted values arrive intact; the exit status and stderr are reported.
	weird := "it's a \"dir\"; $(touch x) `id` \\ end"
	out, err := c.Run(ctx, NewScript(`printf '%s' "$v"`).Set("v", weird).String())
	if err != nil || out != weird {
		t.Fatalf("Run = %q, %v", out, err)
	}
	_, err = c.Run(ctx, NewScript(`echo noise >&2; die "the reason"`).String())
	var re *RemoteError
	if !errors.As(err, &re) || re.ExitCode != 1 || err.Error() != "noise; the reason" {
		t.Fatalf("failing script: %v", err)
	}

	// Cancelling stops the remote work: the whole process group, not just sh.
	marker := "sleep 31.4159"
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for i := 0; i < 200 && !running(marker); i++ {
			time.Sleep(25 * time.Millisecond)
		}
		cancel()
	}()
	_, err = c.Exec(cctx, NewScript(`run_bg `+marker).String())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled command: %v", err)
	}
	for i := 0; running(marker); i++ {
		if i > 100 {
			t.Fatal("the remote command still runs after cancellation")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The command timeout.
	ct := connect(t, s, func(o *Options) { o.CommandTimeout = 300 * time.Millisecond })
	start := time.Now()
	_, err = ct.Run(ctx, NewScript(`run_bg sleep 27.1828`).String())
	if !errors.Is(err, ErrCommandTimeout) || time.Since(start) > 10*time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}

	// Upload and download with digests; the downloaded file appears only
	// when verify accepts it.
	src := filepath.Join(t.TempDir(), "src.bin")
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i % 251)
	}
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "remote.bin")
	up, err := c.Upload(ctx, src, remote)
	if err != nil || up.Size != int64(len(data)) {
		t.Fatalf("upload: %+v %v", up, err)
	}
	if sum, err := c.RemoteSHA256(ctx, remote); err != nil || sum != up.SHA256 {
		t.Fatalf("remote sha256 %s %v, uploaded %s", sum, err, up.SHA256)
	}
	if _, err := c.Upload(ctx, src, remote); err == nil {
		t.Fatal("upload replaced an existing remote file")
	}
	dstDir := t.TempDir()
	dst := filepath.Join(dstDir, "dst.bin")
	refused := errors.New("refused")
	if _, err := c.Download(ctx, remote, dst, func(string, int64) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("refused download: %v", err)
	}
	if entries, _ := os.ReadDir(dstDir); len(entries) != 0 {
		t.Fatalf("a refused download left %v", entries)
	}
	down, err := c.Download(ctx, remote, dst, func(sum string, size int64) error {
		if sum != up.SHA256 || size != up.Size {
			return errors.New("digest differs")
		}
		return nil
	})
	if err != nil || down.SHA256 != up.SHA256 {
		t.Fatalf("download: %+v %v", down, err)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != string(data) {
		t.Fatal("downloaded bytes differ")
	}
	if _, err := c.Download(ctx, remote+".missing", dst, func(string, int64) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing remote file: %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	s := testbed.NewSSHD(t)
	ctx := zerolog.New(io.Discard).WithContext(context.Background())
	port, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = dial(ctx, Options{Host: "127.0.0.1", Port: port, User: "root", KeyFile: s.KeyFile, KnownHosts: s.KnownHosts, Getenv: envOf(nil)})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("closed port: %v", err)
	}
	_, err = dial(ctx, Options{Host: s.Host, Port: s.Port, User: "root", InsecureIgnoreHostKey: true,
		Getenv: envOf(map[string]string{EnvPassword: "surely-not-the-password"})})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "password from SRB_SSH_PASSWORD") {
		t.Fatalf("bad password: %v", err)
	}
}
