//go:build e2e

package sets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

const (
	cluster = "starrocks"
	offsite = "starrocks-backup"
)

type bed struct {
	t        *testing.T
	ctx      context.Context
	src, dst *testbed.MinIO
	archive  string // a local file standing in for the FE archive
	sum      string
	layout   backupset.Layout
}

func newBed(t *testing.T, versioned bool) *bed {
	b := &bed{t: t, ctx: context.Background(), src: testbed.NewMinIO(t), dst: testbed.NewMinIO(t), layout: backupset.NewLayout("")}
	if err := b.src.MakeBucket(b.ctx, cluster, false); err != nil {
		t.Fatal(err)
	}
	if err := b.dst.MakeBucket(b.ctx, offsite, versioned); err != nil {
		t.Fatal(err)
	}
	if _, _, err := testbed.SeedStarRocksTree(b.ctx, b.src.Client(), cluster, testbed.TreeSpec{
		Partitions: 4, DataFiles: 4, MaxData: 64 << 10, MetaFiles: 3, LogFiles: 2, Schema: true, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	b.archive, b.sum = testbed.RandomFile(t, t.TempDir(), 64<<10)
	return b
}

func (b *bed) env() []string {
	return []string{
		"SRB_SOURCE_ENDPOINT=" + b.src.Endpoint(), "SRB_SOURCE_ACCESS_KEY=" + b.src.AccessKey, "SRB_SOURCE_SECRET_KEY=" + b.src.SecretKey,
		"SRB_TARGET_ENDPOINT=" + b.dst.Endpoint(), "SRB_TARGET_ACCESS_KEY=" + b.dst.AccessKey, "SRB_TARGET_SECRET_KEY=" + b.dst.SecretKey,
		"SRB_S3_ENDPOINT=" + b.dst.Endpoint(), "SRB_S3_ACCESS_KEY=" + b.dst.AccessKey, "SRB_S3_SECRET_KEY=" + b.dst.SecretKey,
		"SRB_S3_BUCKET=" + offsite,
	}
}

// restoreEnv swaps the sides: the off-site bucket is the source.
func (b *bed) restoreEnv() []string {
	return []string{
		"SRB_SOURCE_ENDPOINT=" + b.dst.Endpoint(), "SRB_SOURCE_ACCESS_KEY=" + b.dst.AccessKey, "SRB_SOURCE_SECRET_KEY=" + b.dst.SecretKey,
		"SRB_TARGET_ENDPOINT=" + b.src.Endpoint(), "SRB_TARGET_ACCESS_KEY=" + b.src.AccessKey, "SRB_TARGET_SECRET_KEY=" + b.src.SecretKey,
	}
}

func (b *bed) run(task string, env []string, args ...string) testbed.Result {
	b.t.Helper()
	return testbed.Task(b.t, task, args...).Env(env...).Secrets(b.src.SecretKey, b.dst.SecretKey).Run()
}

// backup makes set id the way the DAG does: archive first, data after,
// commit last.
func (b *bed) backup(id string) testbed.Result {
	b.t.Helper()
	archivedAt := time.Now().UTC().Truncate(time.Second)
	testbed.WantCode(b.t, b.run("s3-upload", b.env(), "--key", b.layout.Archive(id), "--local-path", b.archive, "--sha256", b.sum), 0)
	m := b.run("mirror", b.env(), "--source", cluster, "--target", offsite+"/data", "--manifest", b.layout.Listing(id), "--verify")
	testbed.WantCode(b.t, m, 0)
	c := b.run("catalog", b.env(), "commit", "--id", id, "--fe-sha256", b.sum, "--fe-archived-at", archivedAt.Format(time.RFC3339))
	testbed.WantCode(b.t, c, 0)
	if c.Fields["consistent"] != true || c.Num("data_objects") != m.Num("manifest_objects") {
		b.t.Fatalf("commit %s: %s (mirror: %s)", id, c.Line, m.Line)
	}
	return m
}

func (b *bed) restore(id string, extra ...string) testbed.Result {
	b.t.Helper()
	args := []string{"--source", offsite + "/data", "--target", cluster, "--from-manifest", b.layout.Manifest(id), "--remove", "--max-delete", "100000"}
	if len(extra) == 0 {
		args = append(args, "--verify")
	}
	return b.run("mirror", b.restoreEnv(), append(args, extra...)...)
}

func (b *bed) digest() map[string]string {
	b.t.Helper()
	d, err := testbed.BucketDigest(b.ctx, b.src.Client(), cluster, "")
	if err != nil {
		b.t.Fatal(err)
	}
	return d
}

// change does to the cluster's bucket what StarRocks does between two
// backups: new segments, vacuumed ones, tablet metadata republished in
// place under the same key (same size, other bytes). It returns the key
// rewritten in place.
func (b *bed) change() string {
	b.t.Helper()
	c := b.src.Client()
	var meta string
	var vacuumed []string
	for o := range c.ListObjects(b.ctx, cluster, minio.ListObjectsOptions{Recursive: true}) {
		switch {
		case meta == "" && strings.HasSuffix(o.Key, ".meta"):
			meta = o.Key
			body := strings.Repeat("r", int(o.Size))
			if _, err := c.PutObject(b.ctx, cluster, o.Key, strings.NewReader(body), o.Size, minio.PutObjectOptions{}); err != nil {
				b.t.Fatal(err)
			}
		case len(vacuumed) < 3 && strings.HasSuffix(o.Key, ".dat"):
			vacuumed = append(vacuumed, o.Key)
		}
	}
	for _, k := range vacuumed {
		if err := c.RemoveObject(b.ctx, cluster, k, minio.RemoveObjectOptions{}); err != nil {
			b.t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		k := fmt.Sprintf("new/db1/2/3/data/%016x_new.dat", i)
		if _, err := c.PutObject(b.ctx, cluster, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			b.t.Fatal(err)
		}
	}
	return meta
}

func want(t *testing.T, what string, wantD, got map[string]string) {
	t.Helper()
	if d := testbed.DiffDigests(wantD, got); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// The backup-set story on a versioned off-site bucket: each set restores
// exactly, into an empty bucket or over a newer state, newer objects
// removed, the in-place rewritten .meta back at the set's version.
func TestSetsRestoreExactly(t *testing.T) {
	b := newBed(t, true)
	id1, id2 := backupset.IDFor(time.Now().Add(-time.Hour)), backupset.IDFor(time.Now())
	m1 := b.backup(id1)
	if m1.Fields["target_versioned"] != true || m1.Str("manifest_key") != b.layout.Listing(id1) {
		t.Fatalf("backup 1: %s", m1.Line)
	}
	d1 := b.digest()
	meta := b.change()
	b.backup(id2)
	d2 := b.digest()

	// A committed set never changes: backing up into it again is refused.
	r := b.run("mirror", b.env(), "--source", cluster, "--target", offsite+"/data", "--manifest", b.layout.Listing(id1))
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "already committed") {
		t.Fatalf("a second backup into a committed set: %s", r.Line)
	}

	// Set 1 into an emptied bucket: exactly its objects.
	if err := testbed.EmptyBucket(b.ctx, b.src.Client(), cluster); err != nil {
		t.Fatal(err)
	}
	r = b.restore(id1)
	testbed.WantCode(t, r, 0)
	want(t, "set 1 into an empty bucket", d1, b.digest())
	if r.Num("copied") != int64(len(d1)) || r.Fields["verified"] != true {
		t.Fatalf("restore 1: %s", r.Line)
	}

	// Set 1 over set 2's state: the newer objects go, the .meta comes back.
	testbed.WantCode(t, b.restore(id2), 0)
	want(t, "set 2", d2, b.digest())
	dry := b.restore(id1, "--dry-run")
	testbed.WantCode(t, dry, 0)
	if dry.Num("deleted") != 5 || dry.Num("copied") != 4 {
		t.Fatalf("dry run of restore 1 over set 2 (want 5 newer objects to delete, the .meta and 3 vacuumed to copy): %s", dry.Line)
	}
	want(t, "after a dry run", d2, b.digest())
	r = b.restore(id1)
	testbed.WantCode(t, r, 0)
	want(t, "set 1 over set 2", d1, b.digest())
	if d1[meta] == d2[meta] {
		t.Fatalf("the test did not rewrite %s", meta)
	}

	// And set 2 again.
	testbed.WantCode(t, b.restore(id2), 0)
	want(t, "set 2 over set 1", d2, b.digest())
	if r := b.run("catalog", b.env(), "verify", "--id", id1); r.Code != 0 {
		t.Fatalf("verify set 1: %s", r.Line)
	}
}

// Without versions off-site, the .meta rewritten in place is lost for the
// older set: its restore fails, naming the key, and deletes nothing.
func TestUnversionedOffsiteRefusesTheOlderSet(t *testing.T) {
	b := newBed(t, false)
	id1, id2 := backupset.IDFor(time.Now().Add(-time.Hour)), backupset.IDFor(time.Now())
	b.backup(id1)
	meta := b.change()
	b.backup(id2)
	before := b.digest()
	r := b.restore(id1)
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Line, meta) || r.Num("deleted") != 0 {
		t.Fatalf("restore of an overwritten set: %s", r.Line)
	}
	// Nothing the bucket held was overwritten or deleted (objects only the
	// older set lists may have come back before the failure).
	after := b.digest()
	for k, d := range before {
		if after[k] != d {
			t.Fatalf("a failed restore changed %s", k)
		}
	}
	v := b.run("catalog", b.env(), "verify", "--id", id1)
	testbed.WantCode(t, v, 1)
	if !strings.Contains(v.Line, "data/"+meta) {
		t.Fatalf("verify of the overwritten set: %s", v.Line)
	}
}

// A backup whose data pass fails leaves an incomplete set: no listing, so
// nothing to commit; the newest complete set stays the one restores use.
func TestFailedBackupLeavesAnIncompleteSet(t *testing.T) {
	b := newBed(t, true)
	id1, id2 := backupset.IDFor(time.Now().Add(-time.Hour)), backupset.IDFor(time.Now())
	b.backup(id1)
	b.change()
	testbed.WantCode(t, b.run("s3-upload", b.env(), "--key", b.layout.Archive(id2), "--local-path", b.archive, "--sha256", b.sum), 0)
	// The off-site endpoint goes away during the data pass.
	b.dst.Stop()
	m := b.run("mirror", b.env(), "--source", cluster, "--target", offsite+"/data", "--manifest", b.layout.Listing(id2), "--retries", "0")
	testbed.WantCode(t, m, 1)
	if err := b.dst.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.dst.Client().StatObject(b.ctx, offsite, b.layout.Listing(id2), minio.StatObjectOptions{}); err == nil {
		t.Fatal("a failed data pass left a listing")
	}
	c := b.run("catalog", b.env(), "commit", "--id", id2, "--fe-sha256", b.sum, "--fe-archived-at", time.Now().Format(time.RFC3339))
	testbed.WantCode(t, c, 1)
	l := b.run("catalog", b.env(), "latest")
	if l.Code != 0 || l.Str("id") != id1 {
		t.Fatalf("latest after a failed backup: %s", l.Line)
	}
	ls := b.run("catalog", b.env(), "list")
	if ls.Num("complete") != 1 || ls.Num("incomplete") != 1 {
		t.Fatalf("list after a failed backup: %s", ls.Line)
	}
}

// Prune keeps what the kept set needs; the kept set still restores
// byte-identical.
func TestPruneThenRestore(t *testing.T) {
	b := newBed(t, true)
	id1 := backupset.IDFor(time.Now().Add(-2 * time.Hour))
	b.backup(id1)
	b.change()
	id2 := backupset.IDFor(time.Now().Add(-time.Hour))
	b.backup(id2)
	d2 := b.digest()
	p := b.run("catalog", b.env(), "prune", "--keep-last", "1")
	testbed.WantCode(t, p, 0)
	if !strings.Contains(p.Line, `"expired":["`+id1+`"]`) {
		t.Fatalf("prune: %s", p.Line)
	}
	if err := testbed.EmptyBucket(b.ctx, b.src.Client(), cluster); err != nil {
		t.Fatal(err)
	}
	testbed.WantCode(t, b.restore(id2), 0)
	want(t, "set 2 after the prune", d2, b.digest())
	r := b.run("catalog", b.env(), "verify", "--id", "latest")
	testbed.WantCode(t, r, 0)
}
