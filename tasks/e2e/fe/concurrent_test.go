//go:build e2e

package fe_test

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Two archives of one host started at once without --remote-archive (two
// DAG runs, or two clusters' FEs on one host) each get a path of their
// own: the default path names the second and a random suffix, so neither
// finds the other's file and fails.
func TestArchivesStartedTogetherTakeTheirOwnPaths(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	const n = 4
	results := make([]testbed.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir).Env(s.Env()...).Run()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range results {
		p := r.Str("remote_path")
		if p != "" {
			t.Cleanup(func() { os.Remove(p) })
		}
		testbed.WantCode(t, r, 0)
		if !strings.HasPrefix(p, "/tmp/fe-meta-") || !strings.HasSuffix(p, ".tar.gz") || seen[p] {
			t.Fatalf("remote_path %q: not a default path of its own (others: %v)", p, seen)
		}
		seen[p] = true
		if r.Str("sha256") != testbed.FileSHA256(t, p) {
			t.Fatalf("%s does not hold the archive its result describes", p)
		}
	}
}
