//go:build e2e

package s3list

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// buildListsim builds bench/listsim into dir.
func buildListsim(dir string) (string, error) {
	root, err := testbed.Root()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "listsim")
	cmd := exec.Command("go", "build", "-o", bin, "./bench/listsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/listsim: %v\n%s", err, out)
	}
	return bin, nil
}

// startListsim runs bench/listsim with n keys and no delay, and returns a
// configuration for it (listsim checks no signature).
func startListsim(t testing.TB, n int) s3conf.Config {
	t.Helper()
	bin, err := buildListsim(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	port, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var log bytes.Buffer
	cmd := exec.Command(bin, "-addr", addr, "-keys", fmt.Sprint(n), "-delay", "0")
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Head("http://" + addr + "/bkt")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listsim not answering: %v\n%s", err, log.String())
		}
	}
	return s3conf.Config{Endpoint: "http://" + addr, Region: "us-east-1", AccessKey: "listsim", SecretKey: "not-checked"}
}

// Over listsim's StarRocks-like key space: the whole listing equals
// minio-go's, and prefix discovery (delimiter listings level by level,
// small pages) finds every directory exactly once.
func TestListsim(t *testing.T) {
	const n = 30000
	c, rec, mc := recordingClient(t, startListsim(t, n))
	ctx := context.Background()
	var got []entry
	if err := c.List(ctx, Query{Bucket: "bkt"}, func(p *Page) error { got = append(got, fromPage(p)...); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := diffEntries(got, fromMinio(t, mc, "bkt", minio.ListObjectsOptions{Recursive: true})); d != "" || len(got) != n {
		t.Fatalf("%d keys: %s", len(got), d)
	}
	for i, body := range rec.take()[:3] {
		writeTestdata(t, fmt.Sprintf("listsim-%d.xml.gz", i+1), body)
	}

	// Every directory, from the keys themselves.
	want := map[string]bool{}
	for _, e := range got {
		for i := range len(e.Key) {
			if e.Key[i] == '/' {
				want[e.Key[:i+1]] = true
			}
		}
	}
	found := map[string]int{}
	level := []string{""}
	for len(level) > 0 {
		var next []string
		for _, prefix := range level {
			err := c.List(ctx, Query{Bucket: "bkt", Prefix: prefix, Delimiter: "/", MaxKeys: 7}, func(p *Page) error {
				for _, cp := range p.CommonPrefixes {
					found[cp]++
					next = append(next, cp)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		level = next
	}
	for cp, times := range found {
		if times != 1 || !want[cp] {
			t.Errorf("prefix %q found %d times (a directory: %v)", cp, times, want[cp])
		}
	}
	if len(found) != len(want) {
		missing := []string{}
		for cp := range want {
			if found[cp] == 0 {
				missing = append(missing, cp)
			}
		}
		slices.Sort(missing)
		t.Fatalf("%d prefixes found, want %d; missing %s", len(found), len(want), strings.Join(missing[:min(5, len(missing))], " "))
	}
}

// The client's CPU per listed object, end to end (requests, signatures,
// transfer, decoding, one entry per object), listing 200,000 keys from
// listsim, in another process, with no delay: s3list, and minio-go as
// mirror uses it. cpu-ns/object is this process's CPU only.
//
//	go test -tags e2e -run XXX -bench Listsim -benchtime 3x ./pkg/s3list/
func BenchmarkListsim(b *testing.B) {
	const n = 200000
	bothClients(b, startListsim(b, n), n)
}
