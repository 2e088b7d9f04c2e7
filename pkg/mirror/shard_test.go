package mirror

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// The text form of a range carries any key: every byte but letters,
// digits, '-', '_', '~' and '/' is percent-encoded, '.' included, so that
// ".." only ever separates the bounds.
func TestKeyRangeText(t *testing.T) {
	for _, k := range []KeyRange{
		{}, {Start: "a"}, {End: "b"}, {Start: "db10043/10058/", End: "db10044/"},
		{Start: "x..y/a.b", End: "x..z"}, {Start: "sp ace/100%/+;\n", End: "日本語/ключ"}, {Start: "a\x00", End: "a\x00\x00"},
	} {
		s := k.String()
		if strings.Count(s, ".") != 2 || !strings.Contains(s, "..") {
			t.Errorf("%q: %q does not hold exactly one separator", k, s)
		}
		back, err := ParseKeyRange(s)
		if err != nil || back != k {
			t.Errorf("%q: %q read back as %q, %v", k, s, back, err)
		}
	}
	if s := (KeyRange{Start: "db1/a.dat", End: "db2/"}).String(); s != "db1/a%2Edat..db2/" {
		t.Errorf("String: %s", s)
	}
	for _, bad := range []string{"", "a", "a.b..c", "a...b", "a..b..c", "b..a", "a..a", "%zz..", "..%ff", "a%2E..b."} {
		if _, err := ParseKeyRange(bad); err == nil || !usage.Is(err) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
}

func TestKeyRangeListing(t *testing.T) {
	for _, c := range []struct {
		k              KeyRange
		folder, before string
	}{
		{KeyRange{}, "", ""},
		{KeyRange{Start: "a/b/c", End: "a/b/d"}, "a/b/", "a/b/b"},
		{KeyRange{Start: "a/b/", End: "a/c/"}, "a/", "a/b."},
		{KeyRange{Start: "a/bc", End: "a/bd"}, "a/", "a/bb"},
		{KeyRange{Start: "a/b\x00", End: ""}, "", "a/b"},
		{KeyRange{Start: "k/ü", End: "k/ü/z"}, "k/", "k/"},
		{KeyRange{Start: "k\x01"}, "", "k"},
	} {
		if f, b := c.k.folder(), c.k.startAfter(); f != c.folder || b != c.before {
			t.Errorf("%q: folder %q start-after %q, want %q %q", c.k, f, b, c.folder, c.before)
		}
		if b := c.k.startAfter(); c.k.Start != "" && (b >= c.k.Start || !strings.HasPrefix(c.k.Start, b[:max(0, len(b)-1)])) {
			t.Errorf("%q: start-after %q is not just below the start", c.k, b)
		}
	}
	r := KeyRange{Start: "b", End: "d"}
	if !r.Contains("b") || !r.Contains("c/x") || r.Contains("d") || r.Contains("a") || !(KeyRange{}).Contains("") {
		t.Error("Contains")
	}
	if got, ok := r.intersect(KeyRange{Start: "c"}); !ok || got != (KeyRange{Start: "c", End: "d"}) {
		t.Errorf("intersect: %q %v", got, ok)
	}
	if _, ok := r.intersect(KeyRange{Start: "d"}); ok {
		t.Error("disjoint ranges intersect")
	}
	if prefixEnd("a/b/") != "a/b0" || prefixEnd("") != "" {
		t.Error("prefixEnd")
	}
}

// fakeBucket answers ListObjectsV2 as S3 does (prefix, delimiter,
// start-after, max-keys, a common prefix never repeated after the
// start-after), over sorted keys: the discovery's logic without a server
// (the e2e tests run it against MinIO).
type fakeBucket struct {
	keys     []string
	requests atomic.Int64 // the discovery lists from several goroutines
}

func (b *fakeBucket) list(_ context.Context, q pageQuery) (pageResult, error) {
	b.requests.Add(1)
	after := q.startAfter
	var res pageResult
	i := sort.SearchStrings(b.keys, q.prefix)
	for n := 0; i < len(b.keys) && strings.HasPrefix(b.keys[i], q.prefix); {
		k := b.keys[i]
		if k <= after {
			i++
			continue
		}
		if n == q.max {
			res.truncated = true
			break
		}
		if j := strings.Index(k[len(q.prefix):], q.delimiter); q.delimiter != "" && j >= 0 {
			cp := k[:len(q.prefix)+j+1]
			for i < len(b.keys) && strings.HasPrefix(b.keys[i], cp) {
				i++
			}
			if cp > after {
				res.prefixes = append(res.prefixes, cp)
				n++
			}
			continue
		}
		res.keys = append(res.keys, k)
		n++
		i++
	}
	return res, nil
}

// unevenTree is a StarRocks-like tree under "sr/": partitions of 3 to
// 3,000 objects, a large flat folder and loose keys, with awkward names.
func unevenTree() []string {
	var keys []string
	for p := range 60 {
		n := 3
		switch {
		case p == 17:
			n = 3000
		case p%5 == 0:
			n = 300
		}
		for i := range n {
			keys = append(keys, fmt.Sprintf("sr/svc/db%d/%d/%d/data/%08x.dat", 10+p/20, 100+p/4, 1000+p, i))
		}
		keys = append(keys, fmt.Sprintf("sr/svc/db%d/%d/%d/meta/%d.meta", 10+p/20, 100+p/4, 1000+p, p))
	}
	keys = append(keys, "sr/a.b..c", "sr/sp ace/x", "sr/svc/db10/0.txt", "sr/z/ü", "sr/z/日本")
	sort.Strings(keys)
	return keys
}

// countIn counts the relative keys of the tree in a range.
func countIn(keys []string, prefix string, k KeyRange) int {
	n := 0
	for _, key := range keys {
		if k.Contains(strings.TrimPrefix(key, prefix)) {
			n++
		}
	}
	return n
}

// checkTiling fails unless parts tile rng in key order, none empty as a
// range.
func checkTiling(t *testing.T, rng KeyRange, parts []KeyRange) {
	t.Helper()
	if len(parts) == 0 || parts[0].Start != rng.Start || parts[len(parts)-1].End != rng.End {
		t.Fatalf("parts %q do not span %q", parts, rng)
	}
	for i, p := range parts {
		if p.End != "" && p.Start >= p.End {
			t.Fatalf("part %d %q is empty as a range", i, p)
		}
		if i > 0 && parts[i-1].End != p.Start {
			t.Fatalf("parts %d and %d do not meet: %q %q", i-1, i, parts[i-1], p)
		}
	}
}

// planOver runs a plan's discovery and cut over the fake bucket.
func planOver(t *testing.T, keys []string, rng KeyRange, n int) ([]KeyRange, []float64, int) {
	t.Helper()
	fb := &fakeBucket{keys: keys}
	budget := planBase + planPerShard*n
	d := &discovery{list: fb.list, loc: Location{Bucket: "b", Prefix: "sr/"}, workers: 4, budget: budget, chase: true, chunk: 1}
	atoms, err := d.run(context.Background(), rng)
	if err != nil {
		t.Fatal(err)
	}
	parts, weights := split(rng, atoms, n)
	parts, weights = fill(parts, weights, n)
	if len(parts) != n || len(weights) != n {
		t.Fatalf("%q n=%d: %d parts", rng, n, len(parts))
	}
	checkTiling(t, rng, parts)
	if fb.requests.Load() > int64(budget) {
		t.Fatalf("%d requests, budget %d", fb.requests.Load(), budget)
	}
	return parts, weights, int(fb.requests.Load())
}

// A plan over an uneven tree, in ranges that start and end anywhere:
// exactly N parts that tile the range, every key of the range in one.
func TestPlanTiles(t *testing.T) {
	keys := unevenTree()
	for _, rng := range []KeyRange{{}, {Start: "svc/db10/", End: "svc/db12/"}, {Start: "svc/db11/105/1017/data/00000400.dat"},
		{Start: "a.b..c", End: "svc/db10/100/1000/data/00000001.dat"}} {
		for _, n := range []int{1, 3, 7, 40} {
			parts, weights, requests := planOver(t, keys, rng, n)
			total, biggest := 0, 0
			for _, p := range parts {
				c := countIn(keys, "sr/", p)
				total += c
				biggest = max(biggest, c)
			}
			if want := countIn(keys, "sr/", rng); total != want {
				t.Fatalf("%q n=%d: parts hold %d keys, the range %d", rng, n, total, want)
			}
			est := 0.0
			for _, w := range weights {
				est += w
			}
			t.Logf("%q n=%d: %d requests, %d keys (estimated %.0f), the largest part %d", rng, n, requests, total, est, biggest)
		}
	}
}

// A tree the plan's budget can read whole: the estimates are the counts,
// and no part holds much more than its share (cuts fall between objects).
func TestPlanBalances(t *testing.T) {
	var keys []string
	for p := range 12 {
		for i := range 3 + p*p*3 {
			keys = append(keys, fmt.Sprintf("sr/svc/db1/10/%d/data/%04d.dat", 100+p, i))
		}
		keys = append(keys, fmt.Sprintf("sr/svc/db1/10/%d/meta/1.meta", 100+p))
	}
	sort.Strings(keys)
	for _, n := range []int{2, 3, 7} {
		parts, weights, _ := planOver(t, keys, KeyRange{}, n)
		biggest := 0
		for i, p := range parts {
			c := countIn(keys, "sr/", p)
			biggest = max(biggest, c)
			if int64(weights[i]+0.5) != int64(c) {
				t.Errorf("n=%d part %q: estimate %.1f, holds %d", n, p, weights[i], c)
			}
		}
		if biggest > len(keys)/n+len(keys)/(10*n)+1 {
			t.Errorf("n=%d: a part holds %d of %d keys", n, biggest, len(keys))
		}
	}
}

// The run's discovery is cheap (a budget per list worker, rests of
// truncated folders not followed) and its units tile the range; on a big
// tree it stops at the folders.
func TestUnitDiscovery(t *testing.T) {
	var keys []string
	for p := range 3000 {
		for i := range 20 + p%7*10 {
			keys = append(keys, fmt.Sprintf("svc/db%d/%d/%d/data/%04d.dat", p/300, p/30, p, i))
		}
	}
	sort.Strings(keys)
	fb := &fakeBucket{keys: keys}
	const workers = 8
	d := &discovery{list: fb.list, loc: Location{Bucket: "b"}, workers: workers, budget: discoveryPerWorker * workers,
		target: unitsPerWorker * workers}
	atoms, err := d.run(context.Background(), KeyRange{})
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := split(KeyRange{}, atoms, unitsPerWorker*workers)
	checkTiling(t, KeyRange{}, parts)
	if fb.requests.Load() > int64(discoveryPerWorker*workers) || len(parts) < unitsPerWorker*workers/2 {
		t.Fatalf("%d requests, %d units", fb.requests.Load(), len(parts))
	}
	biggest := 0
	for _, p := range parts {
		biggest = max(biggest, countIn(keys, "", p))
	}
	if biggest > 3*len(keys)/len(parts) {
		t.Fatalf("a unit holds %d of %d keys (%d units)", biggest, len(keys), len(parts))
	}
	t.Logf("%d keys: %d units from %d requests, the largest %d keys", len(keys), len(parts), fb.requests.Load(), biggest)

	// A plan of the same tree cannot read it whole (3,300 folders): its
	// estimates extrapolate from the folders it opened, and still balance.
	fb = &fakeBucket{keys: keys}
	const n = 4
	d = &discovery{list: fb.list, loc: Location{Bucket: "b"}, workers: workers, budget: planBase + planPerShard*n, chase: true, chunk: 1}
	if atoms, err = d.run(context.Background(), KeyRange{}); err != nil {
		t.Fatal(err)
	}
	parts, weights := split(KeyRange{}, atoms, n)
	est := 0.0
	biggest = 0
	for i, p := range parts {
		c := countIn(keys, "", p)
		est += weights[i]
		biggest = max(biggest, c)
		t.Logf("plan part %q: estimate %.0f, holds %d", p, weights[i], c)
	}
	if len(parts) != n || est < 0.7*float64(len(keys)) || est > 1.3*float64(len(keys)) || biggest > len(keys)/n*13/10 {
		t.Fatalf("plan: %d parts, estimated %.0f keys of %d, the largest part %d", len(parts), est, len(keys), biggest)
	}
}

// fill makes up the parts a tree too small for N shards lacks: every
// range non-empty, still tiling, even over an empty key space.
func TestPlanFill(t *testing.T) {
	for _, rng := range []KeyRange{{}, {Start: "a", End: "b"}} {
		parts, weights := fill([]KeyRange{rng}, []float64{5}, 7)
		if len(parts) != 7 || len(weights) != 7 {
			t.Fatalf("%d parts", len(parts))
		}
		checkTiling(t, rng, parts)
		sum := 0.0
		for _, w := range weights {
			sum += w
		}
		if sum != 5 {
			t.Fatalf("weights %v", weights)
		}
	}
}
