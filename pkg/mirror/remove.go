package mirror

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// deleteBatch is how many keys one DeleteObjects request carries (the S3
// maximum).
const deleteBatch = 1000

// remove deletes the target-only objects the pass found. It is called only
// after a pass that listed both sides completely and copied every object
// without error. It refuses, deleting nothing, when the source listed no
// object at all (a wrong prefix or an emptied bucket would otherwise wipe
// the target) or when there are more than MaxDelete objects to delete.
func (r *run) remove(ctx context.Context) error {
	log := zerolog.Ctx(ctx)
	n := r.t.targetOnly.Load()
	if n == 0 {
		return nil
	}
	if r.emptySource {
		return fmt.Errorf("--remove: the source %s holds no object: refusing to delete the %d objects of the target %s (wrong prefix?); nothing deleted",
			r.src, n, r.dst)
	}
	if n > int64(r.o.MaxDelete) {
		return fmt.Errorf("--remove: %d target objects are absent from the source, more than --max-delete %d: nothing deleted (raise --max-delete if this is expected)",
			n, r.o.MaxDelete)
	}
	if r.o.DryRun {
		for _, k := range r.candidates {
			log.Info().Str("key", r.dst.Key(k)).Msg("dry run: would delete")
		}
		r.deleted.Store(n)
		return nil
	}
	pending := r.candidates
	err := r.policy(func(attempt int, err error) {
		log.Warn().Int("failed", len(pending)).Int("attempt", attempt).Str("error", err.Error()).Msg("deletions failed; retrying")
	}).Do(ctx, func() error {
		var failed []string
		var lastErr error
		for i := 0; i < len(pending); i += deleteBatch {
			f, err := r.deleteBatch(ctx, pending[i:min(i+deleteBatch, len(pending))])
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			failed = append(failed, f...)
			if err != nil {
				lastErr = err
			}
		}
		r.deleted.Add(int64(len(pending) - len(failed)))
		pending = failed
		return lastErr
	})
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if len(pending) > 0 {
		r.t.errors.Add(int64(len(pending)))
		keys := make([]string, 0, min(len(pending), maxListedKeys))
		for _, k := range pending[:min(len(pending), maxListedKeys)] {
			keys = append(keys, r.dst.Key(k))
		}
		r.rec.failed(err, keys...)
		return fmt.Errorf("--remove: %d of %d target-only objects could not be deleted; first: %v", len(pending), n, err)
	}
	log.Info().Int64("deleted", r.deleted.Load()).Msg("deleted the target objects absent from the source")
	return nil
}

// deleteBatch deletes up to deleteBatch keys in one request and returns
// the keys that were not deleted, with the last error.
func (r *run) deleteBatch(ctx context.Context, rels []string) ([]string, error) {
	objs := make(chan minio.ObjectInfo, len(rels))
	byKey := make(map[string]string, len(rels))
	for _, k := range rels {
		full := r.dst.Key(k)
		byKey[full] = k
		objs <- minio.ObjectInfo{Key: full}
	}
	close(objs)
	var failed []string
	var lastErr error
	for e := range r.dstCl.RemoveObjects(ctx, r.dst.Bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err == nil {
			continue
		}
		if s3conf.KindOf(e.Err) == s3conf.NoSuchKey {
			continue // already gone: that is what we wanted
		}
		lastErr = s3conf.Explain(e.Err, "delete target "+r.dst.URL(byKey[e.ObjectName]))
		zerolog.Ctx(ctx).Debug().Str("key", e.ObjectName).Str("error", lastErr.Error()).Msg("delete failed")
		if k, ok := byKey[e.ObjectName]; ok {
			failed = append(failed, k)
			delete(byKey, e.ObjectName)
		}
	}
	if zerolog.Ctx(ctx).GetLevel() <= zerolog.DebugLevel {
		for full := range byKey {
			zerolog.Ctx(ctx).Debug().Str("key", full).Msg("deleted")
		}
	}
	return failed, lastErr
}

// sourceEmpty tells whether the source holds no object outside the
// excludes, which fails the run (unless AllowEmptySource) and forbids
// deletions. The copy pass tells for its range. A run limited to a key
// range (a shard) whose range held nothing looks at the whole source
// location too: one shard's range may well be empty, a wrong prefix is
// empty everywhere. One page is read: a page of only excluded objects
// with more after it counts as not empty.
func (r *run) sourceEmpty(ctx context.Context) (bool, error) {
	switch {
	case r.t.listed.Load()-r.t.excluded.Load() > 0:
		return false, nil
	case r.rng.Whole():
		return true, nil
	case r.fromSet != nil:
		return r.fromSet.manifest.Objects == 0, nil
	}
	list := listPager(r.srcList, r.src.Bucket)
	var p pageResult
	err := r.policy(nil).Do(ctx, func() (err error) {
		p, err = list(ctx, pageQuery{prefix: r.src.Prefix, max: pageSize})
		return err
	})
	if err != nil {
		return false, s3conf.Explain(err, "list source "+r.src.String())
	}
	for _, k := range p.keys {
		if !r.excl.Match(k[len(r.src.Prefix):]) {
			return false, nil
		}
	}
	return !p.truncated, nil
}
