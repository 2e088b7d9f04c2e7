//go:build e2e

package catalog_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

const bucket = "offsite"

// bed is one MinIO server holding an off-site bucket with a data folder.
type bed struct {
	t       *testing.T
	m       *testbed.MinIO
	c       *minio.Client
	archive []byte // a real FE archive (tar.gz of the fixture's meta/ and conf/)
}

func newBed(t *testing.T, versioned bool) *bed {
	m := testbed.NewMinIO(t)
	if err := m.MakeBucket(context.Background(), bucket, versioned); err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, m: m, c: m.Client(), archive: feArchive(t)}
	if _, _, err := testbed.SeedStarRocksTree(context.Background(), b.c, bucket, testbed.TreeSpec{
		Prefix: "data/", Partitions: 3, DataFiles: 3, MaxData: 8 << 10, MetaFiles: 2, LogFiles: 1, Schema: true, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return b
}

// feArchive tars the fixture's meta/ and conf/ as fe-archive would.
func feArchive(t *testing.T) []byte {
	fx, err := testbed.WriteFEFixture(filepath.Join(t.TempDir(), "fe"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, top := range []string{"meta", "conf"} {
		err := filepath.WalkDir(filepath.Join(fx.Dir, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(fx.Dir, p)
			for _, x := range fx.Excluded {
				if rel == x {
					return nil
				}
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeSet puts an FE archive and a data listing of the data folder's
// current objects (as mirror --manifest writes it) into set id.
func (b *bed) writeSet(id string, archive []byte, doneAt time.Time) {
	t, ctx := b.t, context.Background()
	t.Helper()
	l := backupset.NewLayout("")
	if _, err := b.c.PutObject(ctx, bucket, l.Archive(id), bytes.NewReader(archive), int64(len(archive)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"sha256": sum(archive)}}); err != nil {
		t.Fatal(err)
	}
	versioned := false
	if cfg, err := b.c.GetBucketVersioning(ctx, bucket); err == nil && cfg.Enabled() {
		versioned = true
	}
	var buf bytes.Buffer
	w, err := backupset.NewWriter(&buf, backupset.Header{Source: "s3://starrocks/", Target: "s3://" + bucket + "/data/", Versioned: versioned, StartedAt: doneAt.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for o := range b.c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "data/", Recursive: true, WithVersions: versioned}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if versioned && (!o.IsLatest || o.IsDeleteMarker) {
			continue
		}
		e := backupset.Entry{Key: strings.TrimPrefix(o.Key, "data/"), Size: o.Size, ETag: strings.Trim(o.ETag, `"`), SourceETag: strings.Trim(o.ETag, `"`)}
		if versioned {
			e.VersionID = o.VersionID
		}
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(doneAt); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.PutObject(ctx, bucket, l.Listing(id), &buf, int64(buf.Len()), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (b *bed) catalog(args ...string) testbed.Result {
	b.t.Helper()
	return testbed.Task(b.t, "catalog", args...).
		Env("SRB_S3_ENDPOINT="+b.m.Endpoint(), "SRB_S3_ACCESS_KEY="+b.m.AccessKey, "SRB_S3_SECRET_KEY="+b.m.SecretKey, "SRB_S3_BUCKET="+bucket).
		Secrets(b.m.SecretKey).Run()
}

func (b *bed) commit(id string, archivedAt time.Time, extra ...string) testbed.Result {
	b.t.Helper()
	return b.catalog(append([]string{"commit", "--id", id, "--fe-sha256", sum(b.archive), "--fe-archived-at", archivedAt.UTC().Format(time.RFC3339)}, extra...)...)
}

func TestCommitListLatestVerify(t *testing.T) {
	b := newBed(t, true)
	t1 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	id1 := backupset.IDFor(t1)
	b.writeSet(id1, b.archive, time.Now())

	// Not committed yet: listed as incomplete, never the latest.
	r := b.catalog("list")
	testbed.WantCode(t, r, 0)
	if r.Num("incomplete") != 1 || r.Num("complete") != 0 {
		t.Fatalf("list before commit: %s", r.Line)
	}
	testbed.WantCode(t, b.catalog("latest"), 1)

	// Inconsistent: the data pass ended two hours after the archive.
	r = b.commit(id1, t1)
	testbed.WantCode(t, r, 0)
	if r.Fields["consistent"] != false || r.Str("command") != "commit" || !r.HasLog("warn", "inconsistent") {
		t.Fatalf("commit: %s", r.Line)
	}
	testbed.WantCode(t, b.catalog("latest"), 1)
	if r := b.catalog("latest", "--allow-inconsistent"); r.Code != 0 || r.Str("id") != id1 {
		t.Fatalf("latest --allow-inconsistent: %s", r.Line)
	}

	// A consistent set, committed twice (a retried task): the second commit changes nothing.
	t2 := time.Now().Add(-time.Minute).Truncate(time.Second)
	id2 := backupset.IDFor(t2)
	b.writeSet(id2, b.archive, time.Now())
	for i := 0; i < 2; i++ {
		r = b.commit(id2, t2, "--cluster-id", testbed.FixtureClusterID, "--image-version", "1041")
		testbed.WantCode(t, r, 0)
		if r.Fields["consistent"] != true || r.Fields["already_committed"] != (i == 1) {
			t.Fatalf("commit %d: %s", i, r.Line)
		}
	}
	r = b.catalog("latest")
	if r.Code != 0 || r.Str("id") != id2 || r.Str("fe_archive_sha256") != sum(b.archive) || r.Str("cluster_id") != testbed.FixtureClusterID {
		t.Fatalf("latest: %s", r.Line)
	}
	r = b.catalog("list")
	sets, _ := r.Fields["sets"].([]any)
	if r.Num("complete") != 2 || len(sets) != 2 || sets[0].(map[string]any)["id"] != id2 {
		t.Fatalf("list: %s", r.Line)
	}

	// Verify, shallow and deep.
	r = b.catalog("verify", "--id", "latest", "--deep")
	testbed.WantCode(t, r, 0)
	if r.Str("id") != id2 || r.Num("checked") == 0 || r.Num("jdb_files") != 5 || r.Num("image_version") != 1041 || r.Fields["restorable"] != true {
		t.Fatalf("verify --deep: %s", r.Line)
	}
	if r.Num("requests") == 0 {
		t.Fatalf("no request count: %s", r.Line)
	}
}

func TestCommitRefuses(t *testing.T) {
	b := newBed(t, false)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	id := backupset.IDFor(at)
	r := b.commit(id, at)
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "no FE archive") {
		t.Fatalf("commit without an archive: %s", r.Line)
	}
	b.writeSet(id, b.archive, time.Now())
	// A listing cut short is not a listing.
	l := backupset.NewLayout("")
	obj, _ := b.c.GetObject(context.Background(), bucket, l.Listing(id), minio.GetObjectOptions{})
	whole, _ := io.ReadAll(obj)
	if _, err := b.c.PutObject(context.Background(), bucket, l.Listing(id), bytes.NewReader(whole[:len(whole)-20]), int64(len(whole)-20), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	r = b.commit(id, at)
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "not a complete data listing") {
		t.Fatalf("commit of a truncated listing: %s", r.Line)
	}
	if _, err := b.c.StatObject(context.Background(), bucket, l.Manifest(id), minio.StatObjectOptions{}); err == nil {
		t.Fatal("a manifest was written for a truncated listing")
	}
	if _, err := b.c.PutObject(context.Background(), bucket, l.Listing(id), bytes.NewReader(whole), int64(len(whole)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// The wrong archive digest.
	r = b.catalog("commit", "--id", id, "--fe-sha256", strings.Repeat("0", 64), "--fe-archived-at", at.Format(time.RFC3339))
	testbed.WantCode(t, r, 1)
	testbed.WantCode(t, b.commit(id, at), 0)
	// Committed: another archive can never replace it.
	other := append(append([]byte{}, b.archive...), 0)
	b.writeSet(id, other, time.Now())
	r = b.catalog("commit", "--id", id, "--fe-sha256", sum(other), "--fe-archived-at", at.Format(time.RFC3339))
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "already committed") {
		t.Fatalf("recommit with another archive: %s", r.Line)
	}
	for _, bad := range [][]string{{"commit", "--id", "yesterday", "--fe-archived-at", at.Format(time.RFC3339)}, {"prune"}, {"verify"}, {"verify", "--id", "yesterday"}, {"drop"}} {
		testbed.WantCode(t, b.catalog(bad...), 2)
	}
}
