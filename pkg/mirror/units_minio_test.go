//go:build e2e

package mirror

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// putKeys writes a small object under each key, in one snowball upload.
func putKeys(t *testing.T, c *minio.Client, bkt string, keys []string) {
	t.Helper()
	ch := make(chan minio.SnowballObject, len(keys))
	for _, k := range keys {
		ch <- minio.SnowballObject{Key: k, Size: int64(len(k)), Content: strings.NewReader(k)}
	}
	close(ch)
	if err := c.PutObjectsSnowball(context.Background(), bkt, minio.SnowballOptions{InMemory: true}, ch); err != nil {
		t.Fatal(err)
	}
}

// A backup written by many units at once (units of about 50 objects, 4
// listed at a time, queues of 20 slots, so that units run ahead of the
// writer and wait): the set's listing comes out whole and in key order,
// each entry with its version; --remove and --verify work unit by unit;
// a re-run into a new set lists everything again.
func TestUnitsWriteOneSortedListing(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	makeBuckets(t, "src", a)
	if err := b.MakeBucket(ctx, "off", true); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for f := range 40 {
		for i := range 10 + f%5*10 {
			keys = append(keys, fmt.Sprintf("sr/svc/db%d/%d/data/%03d.dat", f/10, f, i))
		}
	}
	putKeys(t, a.Client(), "src", keys)
	putKeys(t, b.Client(), "off", []string{"data/svc/db0/3/data/zz-old", "data/svc/db2/27/old", "data/zzz-old"})
	o := Options{Source: input(a), Target: input(b), SourcePath: "src/sr", TargetPath: "off/data", Workers: 8, ListWorkers: 4, PartWorkers: DefaultPartWorkers,
		Remove: true, MaxDelete: 10, Verify: true, Manifest: "backups/2026-11-29T00-00-00Z/data.jsonl.gz", unitObjects: 50, queueSlots: 20}
	check := func(res *Result, manifest string, copied int64) {
		t.Helper()
		if res.Units < 8 || res.Copied != copied || res.Copied+res.Skipped != int64(len(keys)) || !res.Verified || res.ManifestObjects != int64(len(keys)) {
			t.Fatalf("%+v", res)
		}
		obj, err := b.Client().GetObject(ctx, "off", manifest, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		var got []string
		versions := 0
		if _, err := backupset.ReadAll(obj, manifest, func(e backupset.Entry) error {
			got = append(got, "sr/"+e.Key)
			if e.VersionID != "" {
				versions++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(keys) || versions != len(keys) {
			t.Fatalf("the listing holds %d keys (%d versions), want the %d source keys in order", len(got), versions, len(keys))
		}
	}
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	check(res, o.Manifest, int64(len(keys)))
	if res.Deleted != 3 {
		t.Fatalf("deleted %d, want the 3 target-only objects", res.Deleted)
	}
	o.Manifest = "backups/2026-11-30T00-00-00Z/data.jsonl.gz"
	if res, err = Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	check(res, o.Manifest, 0)
}
