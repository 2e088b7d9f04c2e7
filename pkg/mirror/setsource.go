package mirror

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// maxManifestSize bounds a manifest.json read.
const maxManifestSize = 16 << 20

// setSource lists a backup set instead of the source (--from-manifest): the
// objects its data listings name, at the versions (or with the ETags) they
// record, in key order. Nothing else at the source counts.
type setSource struct {
	cl       *minio.Client
	bucket   string
	key      string // the manifest's
	manifest *backupset.Manifest
}

// readSet reads and checks the set's manifest from the source bucket: the
// set must be complete (a manifest) and its data must be the source
// location.
func readSet(ctx context.Context, cl *minio.Client, src Location, key string) (*setSource, error) {
	what := "read the backup set's manifest s3://" + src.Bucket + "/" + key
	obj, err := cl.GetObject(ctx, src.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3conf.Explain(err, what)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, maxManifestSize+1))
	if err != nil {
		if s3conf.KindOf(s3conf.Explain(err, what)) == s3conf.NoSuchKey {
			return nil, fmt.Errorf("%s: no such key: the set is incomplete or the key is wrong (give its manifest.json)", what)
		}
		return nil, s3conf.Explain(err, what)
	}
	m, err := backupset.DecodeManifest(b, "s3://"+src.Bucket+"/"+key)
	if err != nil {
		return nil, err
	}
	if m.Target != src.String() {
		return nil, fmt.Errorf("backup set %s holds the objects of %s, not of the source %s", m.ID, m.Target, src)
	}
	return &setSource{cl: cl, bucket: src.Bucket, key: key, manifest: m}, nil
}

// run sends the entries of one of the set's listings that fall in rng, as
// pages, and closes out only after the listing was read whole and matched
// the digest its manifest records.
func (s *setSource) run(ctx context.Context, ref backupset.ListingRef, rng KeyRange, out chan<- page, size int) {
	send := func(p page) bool { return sendPage(ctx, out, p) }
	buf := make([]Entry, 0, size)
	err := s.each(ctx, ref, func(e backupset.Entry) bool {
		if !rng.Contains(e.Key) {
			return true // read on: the digest covers the whole listing
		}
		buf = append(buf, Entry{Key: e.Key, Size: e.Size, ETag: e.ETag, VersionID: e.VersionID, OriginETag: e.SourceETag})
		if len(buf) == size {
			if !send(page{entries: buf}) {
				return false
			}
			buf = make([]Entry, 0, size)
		}
		return true
	})
	if err != nil {
		send(page{err: err})
		return
	}
	if ctx.Err() != nil || (len(buf) > 0 && !send(page{entries: buf})) {
		return
	}
	close(out)
}

// units returns the parts of rng each of the set's listings covers, in key
// order, with the listing that holds them.
func (s *setSource) units(rng KeyRange) []unit {
	refs := append([]backupset.ListingRef(nil), s.manifest.Listings...)
	sort.Slice(refs, func(i, j int) bool { return refs[i].RangeStart < refs[j].RangeStart })
	var out []unit
	for i := range refs {
		if part, ok := (KeyRange{Start: refs[i].RangeStart, End: refs[i].RangeEnd}).intersect(rng); ok {
			out = append(out, unit{rng: part, ref: &refs[i]})
		}
	}
	return out
}

// each streams one listing of the set.
func (s *setSource) each(ctx context.Context, ref backupset.ListingRef, fn func(backupset.Entry) bool) error {
	what := "read the backup set's listing s3://" + s.bucket + "/" + ref.Key
	opts := minio.GetObjectOptions{}
	if ref.VersionID != "" {
		opts.VersionID = ref.VersionID
	}
	obj, err := s.cl.GetObject(ctx, s.bucket, ref.Key, opts)
	if err != nil {
		return s3conf.Explain(err, what)
	}
	defer obj.Close()
	r, err := backupset.NewReader(obj, "s3://"+s.bucket+"/"+ref.Key)
	if err != nil {
		return s3conf.Explain(err, what)
	}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s3conf.Explain(err, what)
		}
		if !fn(e) {
			return nil
		}
	}
	if _, sum := r.Sum(); sum != ref.SHA256 {
		return fmt.Errorf("%s: it is not the listing the set committed (sha256 %s, the manifest says %s)", what, sum, ref.SHA256)
	}
	return nil
}
