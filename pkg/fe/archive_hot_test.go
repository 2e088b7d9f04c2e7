//go:build e2e

package fe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func sshOptions(s *testbed.SSHD) sshx.Options {
	return sshx.Options{Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile, KnownHosts: s.KnownHosts,
		Getenv: func(string) string { return "" }}
}

// hostHook returns a command for ArchiveOptions.hook that, run on the host
// (this machine) before each tar pass, calls fn with the pass number and
// the names the pass reads, and fails the pass when fn fails. Two FIFOs
// carry the calls between the host script and the test.
func hostHook(t *testing.T, fn func(pass int, names []string) error) string {
	t.Helper()
	dir := t.TempDir()
	req, resp := filepath.Join(dir, "req"), filepath.Join(dir, "resp")
	for _, f := range []string{req, resp} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hook := filepath.Join(dir, "hook")
	script := "#!/bin/sh\ncp \"$2\" " + sshx.Quote(dir) + "/batch || exit 1\necho \"$1\" >" + sshx.Quote(req) +
		"\nread -r r <" + sshx.Quote(resp) + "\n[ \"$r\" = ok ]\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(req) // blocks until the hook writes
			if err != nil || strings.TrimSpace(string(b)) == "end" {
				return
			}
			pass, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			list, _ := os.ReadFile(filepath.Join(dir, "batch"))
			names := strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00")
			answer := "ok\n"
			if err := fn(pass, names); err != nil {
				answer = "fail\n"
			}
			if err := os.WriteFile(resp, []byte(answer), 0); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = os.WriteFile(req, []byte("end\n"), 0)
		<-done
	})
	return hook
}

// A live FE changes meta/ while it is archived: the JE cleaner deletes a
// .jdb listed but not read yet, JE rolls to new .jdb files, the file being
// written grows after it was read, a checkpoint finishes a new image. The
// archive must hold every .jdb that still exists, in ascending order, the
// grown file's final content, and the new image; the deleted file must not
// fail the run.
func TestArchiveHotCopyFollowsTheJERule(t *testing.T) {
	s := testbed.NewSSHD(t)
	fx, err := testbed.WriteFEFixture(filepath.Join(t.TempDir(), "fe"))
	if err != nil {
		t.Fatal(err)
	}
	bdb := filepath.Join(fx.Dir, "meta", "bdb")
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(fx.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	appendTo := func(name, body string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(fx.Dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(body); err != nil {
			t.Fatal(err)
		}
	}
	var batches [][]string
	o := ArchiveOptions{SSH: sshOptions(s), Dir: fx.Dir, RemoteArchive: filepath.Join(t.TempDir(), "fe.tar.gz")}
	o.hook = hostHook(t, func(pass int, names []string) error {
		batches = append(batches, names)
		switch pass {
		case 0: // listed, not read yet: the cleaner deletes 00000001.jdb; JE rolls to 0000000c.
			if err := os.Remove(filepath.Join(bdb, "00000001.jdb")); err != nil {
				return err
			}
			write("meta/bdb/0000000c.jdb", "c-start;")
		case 1: // JE rolls to 0000000d; a checkpoint finishes image 1100 and starts another.
			write("meta/bdb/0000000d.jdb", "d;")
			write("meta/image/image.1100", "image 1100")
			write("meta/image/v2/image.ckpt", "being written")
		case 2: // 0000000c grew after pass 1 read it.
			appendTo("meta/bdb/0000000c.jdb", "c-end;")
		}
		return nil
	})
	ctx := zerolog.New(io.Discard).WithContext(context.Background())
	res, err := Archive(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passes != 3 || res.Vanished != 1 || res.ImageVersion == nil || *res.ImageVersion != 1100 || res.ClusterID != fx.ClusterID {
		t.Fatalf("result %+v", res)
	}
	if len(batches) != 3 || !strings.Contains(strings.Join(batches[1], " "), "meta/bdb/0000000b.jdb meta/bdb/0000000c.jdb") {
		t.Fatalf("passes %v", batches)
	}
	names, content := testbed.TarMembers(t, o.RemoteArchive)
	var jdbs []string
	for _, n := range names {
		if isJDB(n) {
			jdbs = append(jdbs, strings.TrimPrefix(n, "meta/bdb/"))
		}
	}
	// Pass 0 reads 0, 9, a, b (1 vanished); pass 1 appends 0b again (it was
	// the last file when read) and the new 0c; pass 2 appends 0c again and 0d.
	want := "00000000.jdb 00000009.jdb 0000000a.jdb 0000000b.jdb 0000000b.jdb 0000000c.jdb 0000000c.jdb 0000000d.jdb"
	if strings.Join(jdbs, " ") != want {
		t.Fatalf(".jdb members in archive order:\n got %s\nwant %s", strings.Join(jdbs, " "), want)
	}
	if string(content["meta/bdb/0000000c.jdb"]) != "c-start;c-end;" {
		t.Fatalf("0000000c.jdb restores as %q, not its final content", content["meta/bdb/0000000c.jdb"])
	}
	for _, n := range []string{"meta/image/image.1100", "meta/bdb/0000000d.jdb", "meta/image/v2/image.1041"} {
		if _, ok := content[n]; !ok {
			t.Fatalf("%s missing from the archive", n)
		}
	}
	for _, n := range []string{"meta/bdb/00000001.jdb", "meta/image/v2/image.ckpt", "meta/image/image.ckpt", "meta/bdb/je.lck"} {
		if _, ok := content[n]; ok {
			t.Fatalf("%s must not be in the archive", n)
		}
	}
	testbed.WantEntries(t, filepath.Dir(o.RemoteArchive), "fe.tar.gz")
}

// A run stopped half-way (an error, or SIGTERM from Airflow cancelling the
// context) removes its temp files on the host and leaves no archive.
func TestArchiveFailureRemovesTempFiles(t *testing.T) {
	s := testbed.NewSSHD(t)
	fx, err := testbed.WriteFEFixture(filepath.Join(t.TempDir(), "fe"))
	if err != nil {
		t.Fatal(err)
	}
	for i, mode := range []string{"error", "cancel"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "fe.tar.gz")
			ctx, cancel := context.WithCancel(zerolog.New(io.Discard).WithContext(context.Background()))
			defer cancel()
			o := ArchiveOptions{SSH: sshOptions(s), Dir: fx.Dir, RemoteArchive: out}
			o.hook = hostHook(t, func(pass int, _ []string) error {
				if pass == 0 { // a new .jdb makes a second pass
					return os.WriteFile(filepath.Join(fx.Dir, "meta", "bdb", "0000002"+strconv.Itoa(i)+".jdb"), []byte("x"), 0o644)
				}
				// Pass 0 has run: the temp folder holds a tar to clean up.
				tars, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".fe.tar.gz.tmp-*", "fe.tar"))
				if len(tars) != 1 {
					return errors.New("no temp tar after pass 0")
				}
				if mode == "cancel" {
					cancel()
					return ctx.Err()
				}
				return errors.New("injected failure")
			})
			_, err := Archive(ctx, o)
			switch {
			case err == nil:
				t.Fatal("the archive did not fail")
			case mode == "cancel" && !errors.Is(err, context.Canceled):
				t.Fatalf("cancelled run: %v", err)
			case mode == "error" && !strings.Contains(err.Error(), "the test hook failed"):
				t.Fatalf("failed run: %v", err)
			}
			testbed.WantEntries(t, filepath.Dir(out))
		})
	}
}

// The catch-up is bounded by MaxCatchUp: on a folder that never stops
// getting new .jdb files the copy stops at the first pass after the bound
// in which nothing vanished (consistent, not converged); when files keep
// vanishing it fails after twice the bound.
func TestArchiveCatchUpIsBounded(t *testing.T) {
	s := testbed.NewSSHD(t)
	fx, err := testbed.WriteFEFixture(filepath.Join(t.TempDir(), "fe"))
	if err != nil {
		t.Fatal(err)
	}
	bdb := filepath.Join(fx.Dir, "meta", "bdb")
	ctx := zerolog.New(io.Discard).WithContext(context.Background())
	next := 0x100
	busy := func(vanish bool) func(int, []string) error {
		return func(pass int, names []string) error {
			time.Sleep(300 * time.Millisecond)
			next++
			if vanish && pass > 0 { // the cleaner deletes a file listed, not read yet
				for _, n := range names {
					if isJDB(n) {
						_ = os.Remove(filepath.Join(fx.Dir, n))
						break
					}
				}
			}
			return os.WriteFile(filepath.Join(bdb, fmt.Sprintf("%08x.jdb", next)), []byte("new"), 0o644)
		}
	}
	o := ArchiveOptions{SSH: sshOptions(s), Dir: fx.Dir, RemoteArchive: filepath.Join(t.TempDir(), "fe.tar.gz"), MaxCatchUp: time.Second}
	o.hook = hostHook(t, busy(false))
	res, err := Archive(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Converged || res.Passes < 3 || res.Appended < res.Passes-1 {
		t.Fatalf("a bounded catch-up: %+v", res)
	}

	o = ArchiveOptions{SSH: sshOptions(s), Dir: fx.Dir, RemoteArchive: filepath.Join(t.TempDir(), "fe.tar.gz"), MaxCatchUp: time.Second}
	o.hook = hostHook(t, busy(true))
	if res, err := Archive(ctx, o); err == nil || !strings.Contains(err.Error(), "kept changing") {
		t.Fatalf("files vanishing in every pass: %v %+v", err, res)
	}
	testbed.WantEntries(t, filepath.Dir(o.RemoteArchive))
}
