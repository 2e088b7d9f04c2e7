//go:build e2e

package catalog_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// versions returns key@version of every version and delete marker under prefix.
func (b *bed) versions(prefix string) map[string]bool {
	b.t.Helper()
	out := map[string]bool{}
	for o := range b.c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			b.t.Fatal(o.Err)
		}
		out[o.Key+"@"+o.VersionID] = true
	}
	return out
}

func (b *bed) firstKey(suffix string) string {
	for o := range b.c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: "data/", Recursive: true}) {
		if strings.HasSuffix(o.Key, suffix) {
			return o.Key
		}
	}
	b.t.Fatalf("no object ending in %s", suffix)
	return ""
}

func (b *bed) put(key, body string) {
	b.t.Helper()
	if _, err := b.c.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		b.t.Fatal(err)
	}
}

// Two sets on a versioned bucket; between them StarRocks rewrote a .meta
// in place, vacuumed a segment and wrote a new one. Pruning the older set
// deletes exactly what only it needed: the .meta's old version and the
// vacuumed segment (with its delete marker).
func TestPruneDeletesWhatOnlyExpiredSetsNeeded(t *testing.T) {
	b := newBed(t, true)
	ctx := context.Background()
	// Set times after the objects' own: the sweep deletes only what was
	// written before the newest set started.
	t1 := time.Now().Add(time.Hour).Truncate(time.Second)
	t2 := t1.Add(time.Hour)
	id1, id2 := backupset.IDFor(t1), backupset.IDFor(t2)
	b.writeSet(id1, b.archive, t1.Add(time.Minute))
	testbed.WantCode(t, b.commit(id1, t1), 0)

	meta, seg := b.firstKey(".meta"), b.firstKey(".dat")
	st, _ := b.c.StatObject(ctx, bucket, meta, minio.StatObjectOptions{})
	b.put(meta, strings.Repeat("x", int(st.Size))) // rewritten in place, same size
	if err := b.c.RemoveObject(ctx, bucket, seg, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	b.put("data/new/segment.dat", "new")
	b.writeSet(id2, b.archive, t2.Add(time.Minute))
	testbed.WantCode(t, b.commit(id2, t2), 0)
	before := b.versions("")

	r := b.catalog("prune", "--keep-last", "1", "--dry-run")
	testbed.WantCode(t, r, 0)
	if r.Num("data_to_delete") != 3 || r.Num("deleted") != 0 || !strings.Contains(r.Line, `"expired":["`+id1+`"]`) {
		t.Fatalf("dry run: %s", r.Line)
	}
	if after := b.versions(""); len(after) != len(before) {
		t.Fatal("the dry run deleted something")
	}
	r = b.catalog("prune", "--keep-last", "1", "--max-delete", "2")
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "--max-delete") || len(b.versions("")) != len(before) {
		t.Fatalf("over --max-delete: %s", r.Line)
	}

	r = b.catalog("prune", "--keep-last", "1")
	testbed.WantCode(t, r, 0)
	after := b.versions("")
	var gone []string
	for v := range before {
		if !after[v] {
			gone = append(gone, v)
		}
	}
	// Set 1's three files and the three data entries only it needed.
	if len(gone) != 6 || len(after) != len(before)-6 {
		t.Fatalf("prune removed %v", gone)
	}
	for _, g := range gone {
		if !strings.HasPrefix(g, "backups/"+id1+"/") && !strings.HasPrefix(g, meta+"@") && !strings.HasPrefix(g, seg+"@") {
			t.Fatalf("prune removed %s, which set 2 needs", g)
		}
	}
	if len(b.versions(meta)) != 1 || len(b.versions(seg)) != 0 {
		t.Fatalf("left of the rewritten .meta: %v, of the vacuumed segment: %v", b.versions(meta), b.versions(seg))
	}
	r = b.catalog("verify", "--id", id2, "--deep")
	testbed.WantCode(t, r, 0)
	r = b.catalog("list")
	if r.Num("complete") != 1 || r.Num("incomplete") != 0 {
		t.Fatalf("list after prune: %s", r.Line)
	}

	// A listed version deleted for good: verify names it.
	var victim minio.ObjectInfo
	for o := range b.c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "data/", Recursive: true, WithVersions: true}) {
		if strings.HasSuffix(o.Key, ".log") {
			victim = o
			break
		}
	}
	if err := b.c.RemoveObject(ctx, bucket, victim.Key, minio.RemoveObjectOptions{VersionID: victim.VersionID}); err != nil {
		t.Fatal(err)
	}
	r = b.catalog("verify", "--id", id2)
	testbed.WantCode(t, r, 1)
	if r.Num("missing") != 1 || !strings.Contains(r.Line, victim.Key) {
		t.Fatalf("verify after a deletion: %s", r.Line)
	}
}

// Objects written after the newest set started belong to a backup that may
// be running: a prune keeps them even though no listing names them yet.
func TestPruneKeepsWhatARunningBackupWrote(t *testing.T) {
	b := newBed(t, true)
	t1 := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	t2 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for _, at := range []time.Time{t1, t2} {
		b.writeSet(backupset.IDFor(at), b.archive, at.Add(time.Minute))
		testbed.WantCode(t, b.commit(backupset.IDFor(at), at), 0)
	}
	b.put("data/running/new.dat", "copied by a running backup")
	// The running backup's set: archive uploaded, no listing or manifest yet.
	running := backupset.IDFor(time.Now())
	b.put(backupset.NewLayout("").Archive(running), "partial")
	r := b.catalog("prune", "--keep-last", "1")
	testbed.WantCode(t, r, 0)
	if r.Num("data_to_delete") != 0 || !strings.Contains(r.Line, `"kept_incomplete":["`+running+`"]`) {
		t.Fatalf("prune during a backup: %s", r.Line)
	}
	if _, err := b.c.StatObject(context.Background(), bucket, "data/running/new.dat", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the running backup's object was deleted: %v", err)
	}
}

// On an unversioned bucket, an object rewritten in place (same size) and a
// tampered archive make a set unrestorable: verify says so.
func TestVerifyCatchesTampering(t *testing.T) {
	b := newBed(t, false)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	id := backupset.IDFor(at)
	b.writeSet(id, b.archive, time.Now())
	testbed.WantCode(t, b.commit(id, at), 0)
	testbed.WantCode(t, b.catalog("verify", "--id", id, "--deep"), 0)

	meta := b.firstKey(".meta")
	st, _ := b.c.StatObject(context.Background(), bucket, meta, minio.StatObjectOptions{})
	b.put(meta, strings.Repeat("y", int(st.Size)))
	r := b.catalog("verify", "--id", id)
	testbed.WantCode(t, r, 1)
	if r.Num("mismatched") != 1 || !strings.Contains(r.Line, meta) {
		t.Fatalf("verify after an in-place rewrite: %s", r.Line)
	}
	if r := b.catalog("list"); !strings.Contains(r.Line, "keeps no versions") && !strings.Contains(r.Line, "kept no versions") {
		t.Logf("list: %s", r.Line)
	}

	// The archive replaced by other bytes of the same size, its metadata kept.
	l := backupset.NewLayout("")
	bad := bytes.Repeat([]byte{1}, len(b.archive))
	if _, err := b.c.PutObject(context.Background(), bucket, l.Archive(id), bytes.NewReader(bad), int64(len(bad)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"sha256": sum(b.archive)}}); err != nil {
		t.Fatal(err)
	}
	r = b.catalog("verify", "--id", id, "--deep")
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "FE archive") {
		t.Fatalf("verify --deep of a tampered archive: %s", r.Line)
	}
}
