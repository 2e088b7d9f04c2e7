//go:build e2e

package mirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/mirror"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Shards of one mirror, for N in 1, 3 and 7, over a tree with uneven
// prefixes and tricky keys: each plan tiles the key space, and the shards
// together copy every object exactly once (the counts add up to one run's)
// into the same target tree.
func TestMirrorShards(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	tree := unevenTree()
	put(t, a, "src", "sr/", tree)
	source := snapshot(t, a, "src", "sr/")
	src, dst := direct(a), direct(b)

	bucket(t, b, "one")
	one := mirrorRun(t, src, dst, "--source", "src/sr", "--target", "one/sr")
	testbed.WantCode(t, one, 0)
	want(t, one, map[string]int64{"copied": int64(len(tree)), "errors": 0})
	if one.Str("key_range") != ".." {
		t.Fatalf("one run: %s", one.Line)
	}

	for _, n := range []int{1, 3, 7} {
		target := fmt.Sprintf("shards%d", n)
		bucket(t, b, target)
		ranges, estimates := planRanges(t, src, dst, n, "--source", "src/sr", "--target", target+"/sr")
		if n == 1 && ranges[0] != ".." {
			t.Fatalf("plan 1: %q", ranges)
		}
		var copied, estimated int64
		for i, kr := range ranges {
			r := mirrorRun(t, src, dst, "--source", "src/sr", "--target", target+"/sr", "--key-range", kr, "--verify")
			testbed.WantCode(t, r, 0)
			if r.Str("key_range") != kr || r.Fields["verified"] != true {
				t.Fatalf("shard %d of %d: %s", i, n, r.Line)
			}
			copied += r.Num("copied")
			estimated += estimates[i]
		}
		if copied != int64(len(tree)) {
			t.Fatalf("%d shards copied %d objects, one run %d", n, copied, len(tree))
		}
		t.Logf("%d shards: %q, estimates %v (%d objects estimated)", n, ranges, estimates, estimated)
		sameTree(t, source, snapshot(t, b, target, "sr/"))
	}

	// A key exactly on a boundary belongs to the range it starts: the
	// shard before copies everything below it, the shard after copies it.
	keys := sortedKeys(tree)
	k := keys[len(keys)/2]
	cut := mirror.KeyRange{Start: k}.String()
	below, above := mirror.KeyRange{End: k}.String(), cut
	bucket(t, b, "boundary")
	r := mirrorRun(t, src, dst, "--source", "src/sr", "--target", "boundary/sr", "--key-range", below)
	testbed.WantCode(t, r, 0)
	if r.Num("copied") != int64(len(keys)/2) || exists(t, b, "boundary", "sr/"+k) {
		t.Fatalf("below %q: %s", k, r.Line)
	}
	r = mirrorRun(t, src, dst, "--source", "src/sr", "--target", "boundary/sr", "--key-range", above)
	testbed.WantCode(t, r, 0)
	if r.Num("copied") != int64(len(keys)-len(keys)/2) || !exists(t, b, "boundary", "sr/"+k) {
		t.Fatalf("from %q: %s", k, r.Line)
	}
	sameTree(t, source, snapshot(t, b, "boundary", "sr/"))
}

// --remove in a shard deletes only the target-only objects inside its
// range; an empty range is no error (the whole source is not empty), and
// deletes what is target-only inside it; a wrong prefix is still refused.
func TestMirrorShardRemove(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	tree := unevenTree()
	put(t, a, "src", "sr/", tree)
	src, dst := direct(a), direct(b)
	testbed.WantCode(t, mirrorRun(t, src, dst, "--source", "src/sr", "--target", "dst/sr"), 0)
	old := []string{"a-old", "svc/db0/0/0/data/zz-old.dat", "svc/db2/5/11/meta/old.meta", "zzz-old/x"}
	for _, k := range old {
		put(t, b, "dst", "sr/", map[string]obj{k: {data: []byte(k)}})
	}
	ranges, _ := planRanges(t, src, dst, 3, "--source", "src/sr", "--target", "dst/sr")
	inRange := func(kr, key string) bool {
		k, _ := mirror.ParseKeyRange(kr)
		return k.Contains(key)
	}
	for i, kr := range ranges {
		var mine []string
		for _, k := range old {
			if inRange(kr, k) {
				mine = append(mine, k)
			}
		}
		r := mirrorRun(t, src, dst, "--source", "src/sr", "--target", "dst/sr", "--key-range", kr, "--remove", "--verify")
		testbed.WantCode(t, r, 0)
		if r.Num("deleted") != int64(len(mine)) || r.Num("copied") != 0 {
			t.Fatalf("shard %d %q (target-only inside: %q): %s", i, kr, mine, r.Line)
		}
		for _, k := range old {
			gone := !exists(t, b, "dst", "sr/"+k)
			deleted := false
			for j := 0; j <= i; j++ {
				deleted = deleted || inRange(ranges[j], k)
			}
			if gone != deleted {
				t.Fatalf("after shard %d %q: %s gone %v, want %v", i, kr, k, gone, deleted)
			}
		}
	}
	sameTree(t, snapshot(t, a, "src", "sr/"), snapshot(t, b, "dst", "sr/"))

	// A range holding no source object, with a target-only object in it.
	put(t, b, "dst", "sr/", map[string]obj{"zzzz/old": {data: []byte("old")}})
	empty := mirror.KeyRange{Start: "zzzz", End: "zzzz0"}.String()
	r := mirrorRun(t, src, dst, "--source", "src/sr", "--target", "dst/sr", "--key-range", empty, "--remove")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": 0, "copied": 0, "target_only": 1, "deleted": 1})
	r = mirrorRun(t, src, dst, "--source", "src/sr", "--target", "dst/sr", "--key-range", empty, "--remove")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": 0, "target_listed": 0, "deleted": 0})
	// A plan of a source folder that holds nothing at all, and the same
	// range of it.
	r = mirrorRun(t, src, dst, "--source", "src/nothing", "--target", "dst/sr", "--plan", "3")
	wantError(t, r, 1, "holds no object")
	// The same range of a source folder that holds nothing at all.
	r = mirrorRun(t, src, dst, "--source", "src/nothing", "--target", "dst/sr", "--key-range", mirror.KeyRange{Start: "top"}.String(), "--remove")
	wantError(t, r, 1, "holds no object")
	if !exists(t, b, "dst", "sr/top-1") || r.Num("deleted") != 0 {
		t.Fatalf("a wrong prefix deleted: %s", r.Line)
	}
}

// A backup in 3 shards, each writing its own data listing of the set
// (its header carrying the shard's range), is committed by catalog from
// the three listings (which must tile the key space: two are refused),
// and restores exactly, one range at a time, with --remove deleting only
// inside each range.
func TestMirrorShardsBackupSet(t *testing.T) {
	cl, off := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, cl, "starrocks")
	if err := off.MakeBucket(context.Background(), "offsite", true); err != nil {
		t.Fatal(err)
	}
	tree := unevenTree()
	put(t, cl, "starrocks", "", tree)
	before := snapshot(t, cl, "starrocks", "")
	backup, restore := direct(cl), direct(off)
	id := backupset.IDFor(time.Now())
	layout := backupset.NewLayout("")
	archive, sum := testbed.RandomFile(t, t.TempDir(), 4096)
	s3env := []string{"SRB_S3_ENDPOINT=" + off.Endpoint(), "SRB_S3_ACCESS_KEY=" + off.AccessKey, "SRB_S3_SECRET_KEY=" + off.SecretKey,
		"SRB_S3_BUCKET=offsite"}
	task := func(name string, args ...string) testbed.Result {
		return testbed.Task(t, name, args...).Env(s3env...).Secrets(off.SecretKey).Run()
	}
	archivedAt := time.Now().UTC().Truncate(time.Second)
	testbed.WantCode(t, task("s3-upload", "--key", layout.Archive(id), "--local-path", archive, "--sha256", sum), 0)

	ranges, _ := planRanges(t, backup, restore, 3, "--source", "starrocks", "--target", "offsite/data")
	var listings []string
	var objects int64
	for i, kr := range ranges {
		key := layout.Folder(id) + fmt.Sprintf("data-%d.jsonl.gz", i)
		r := mirrorRun(t, backup, restore, "--source", "starrocks", "--target", "offsite/data", "--key-range", kr,
			"--manifest", key, "--verify")
		testbed.WantCode(t, r, 0)
		if r.Str("manifest_key") != key || r.Num("manifest_objects") != r.Num("copied") {
			t.Fatalf("shard %d: %s", i, r.Line)
		}
		listings = append(listings, "--data-listing", key)
		objects += r.Num("manifest_objects")
	}
	commit := func(listings ...string) testbed.Result {
		return task("catalog", append([]string{"commit", "--id", id, "--fe-sha256", sum, "--fe-archived-at", archivedAt.Format(time.RFC3339)},
			listings...)...)
	}
	r := commit(listings[:4]...)
	wantError(t, r, 1, "no listing covers keys")
	r = commit(listings...)
	testbed.WantCode(t, r, 0)
	if r.Num("data_objects") != int64(len(tree)) || objects != int64(len(tree)) {
		t.Fatalf("commit of %d objects in 3 listings: %s", objects, r.Line)
	}

	// Restore range by range into an emptied cluster bucket, where an
	// object the set does not hold waits in the last range: the earlier
	// ranges leave it, the last one deletes it.
	if err := testbed.EmptyBucket(context.Background(), cl.Client(), "starrocks"); err != nil {
		t.Fatal(err)
	}
	put(t, cl, "starrocks", "", map[string]obj{"zzz-newer": {data: []byte("not in the set")}})
	for i, kr := range ranges {
		r := mirrorRun(t, restore, backup, "--source", "offsite/data", "--target", "starrocks", "--from-manifest", layout.Manifest(id),
			"--key-range", kr, "--remove", "--verify")
		testbed.WantCode(t, r, 0)
		if last := i == len(ranges)-1; exists(t, cl, "starrocks", "zzz-newer") == last || r.Num("deleted") != map[bool]int64{true: 1}[last] {
			t.Fatalf("restore of range %d: %s", i, r.Line)
		}
	}
	sameTree(t, before, snapshot(t, cl, "starrocks", ""))
}
