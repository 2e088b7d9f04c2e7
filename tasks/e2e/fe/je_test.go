//go:build e2e

package fe_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Issue 9 #14: fe-archive on a busy FE. A real BDB JE environment in
// meta/bdb rolls about three 1 MB .jdb files a second while its cleaner
// deletes old ones; fe-archive reaches sshd over a link with a 60 ms round
// trip (as between data centres: a pass that costs round trips falls
// behind the journal) and, the catch-up running on the host bounded by
// --max-catch-up, succeeds every time; every copy opens with JE
// (recovery, B-tree verification, every record's CRC read back).
func TestArchiveBusyJEEnvironment(t *testing.T) {
	t.Parallel()
	je := testbed.NewJE(t)
	s, fx, _ := feSetup(t)
	bdb := filepath.Join(fx.Dir, "meta", "bdb")
	if err := os.RemoveAll(bdb); err != nil { // the fixture's .jdb files are random bytes
		t.Fatal(err)
	}
	addr := testbed.LatencyProxy(t, s.Addr(), 30*time.Millisecond)
	host, port, _ := strings.Cut(addr, ":")
	env := []string{"SRB_SSH_HOST=" + host, "SRB_SSH_PORT=" + port, "SRB_SSH_USER=" + s.User,
		"SRB_SSH_KEY_FILE=" + s.KeyFile, "SRB_SSH_HOST_KEY=" + s.HostKey}
	je.Load(t, bdb, 180, 3)
	time.Sleep(8 * time.Second) // past 20 MB of journal: the cleaner deletes files from now on
	for i := 0; i < 4; i++ {
		remote := filepath.Join(t.TempDir(), "fe.tar.gz")
		r := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote, "--max-catch-up", "5s").Env(env...).Run()
		testbed.WantCode(t, r, 0)
		t.Logf("run %d: passes %d, appended %d, vanished %d, converged %v, jdb_files %d", i, r.Num("passes"), r.Num("appended"),
			r.Num("vanished"), r.Fields["converged"], r.Num("jdb_files"))
		if r.Num("jdb_files") < 5 || r.Num("passes") < 1 {
			t.Fatalf("run %d: %s", i, r.Line)
		}
		_, content := testbed.TarMembers(t, remote)
		copyDir := t.TempDir()
		for name, b := range content {
			if rel, ok := strings.CutPrefix(name, "meta/bdb/"); ok && rel != "" && !strings.HasSuffix(rel, "/") {
				testbed.WriteFile(t, filepath.Join(copyDir, rel), string(b))
			}
		}
		verdict, err := je.Verify(copyDir)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		t.Logf("run %d: the copy verifies: %s", i, verdict)
	}
}
