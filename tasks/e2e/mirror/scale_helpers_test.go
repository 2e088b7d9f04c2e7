//go:build e2e

package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/mirror"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// putBulk writes many small objects in one snowball upload (a tar MinIO
// unpacks as it receives it): 50,000 objects in seconds, where one PUT
// each would take minutes on a busy machine. MinIO only.
func putBulk(t *testing.T, m testbed.S3Server, bkt string, objs map[string][]byte) {
	t.Helper()
	ch := make(chan minio.SnowballObject, 64)
	go func() {
		defer close(ch)
		for k, b := range objs {
			ch <- minio.SnowballObject{Key: k, Size: int64(len(b)), Content: bytes.NewReader(b)}
		}
	}()
	if err := m.Client().PutObjectsSnowball(context.Background(), bkt, minio.SnowballOptions{InMemory: true}, ch); err != nil {
		for range ch { // let the producer end
		}
		t.Fatalf("snowball upload into %s: %v", bkt, err)
	}
}

// planRanges runs --plan n with args and checks the plan's contract: n
// ranges in key order that tile the key space, n estimates; it returns
// the ranges as written.
func planRanges(t *testing.T, src, dst side, n int, args ...string) ([]string, []int64) {
	t.Helper()
	r := mirrorRun(t, src, dst, append(args, "--plan", fmt.Sprint(n))...)
	testbed.WantCode(t, r, 0)
	raw, _ := r.Fields["ranges"].([]any)
	est, _ := r.Fields["estimates"].([]any)
	if len(raw) != n || len(est) != n || r.Num("copied") != 0 {
		t.Fatalf("plan %d: %s", n, r.Line)
	}
	var ranges []string
	var estimates []int64
	want := ""
	for i, x := range raw {
		s, _ := x.(string)
		k, err := mirror.ParseKeyRange(s)
		if err != nil || k.Start != want || (i == n-1) != (k.End == "") {
			t.Fatalf("plan %d: range %d %q (%v) does not continue from %q: %s", n, i, s, err, want, r.Line)
		}
		want = k.End
		ranges = append(ranges, s)
		estimates = append(estimates, int64(est[i].(float64)))
	}
	return ranges, estimates
}

// unevenTree is starrocksTree(1200) (tricky names, a listing page crossed)
// with uneven partitions beside it, keys holding dots, "..", an escaped
// dot and a newline, and loose keys at the top.
func unevenTree() map[string]obj {
	objs := starrocksTree(1200)
	for p := range 12 {
		n := 2
		if p%4 == 1 {
			n = 60
		}
		for i := range n {
			objs[fmt.Sprintf("svc/db%d/%d/%d/data/%04d.dat", p/4, p/2, p, i)] = obj{data: randBytes(uint64(5000+p*100+i), 100+i)}
		}
	}
	for i, k := range []string{"a.b..c/x", "dots/a..", "dots/...b", "dots/%2E", "nl/a\nb", "top-1", "top-2", "zz"} {
		objs[k] = obj{data: randBytes(uint64(9000+i), 10+i)}
	}
	return objs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
