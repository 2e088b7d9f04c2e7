package mirror

import (
	"context"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// pass is what the copy pass and the verify pass do differently (see
// passes.go); walk does the rest: list, merge, exclude, decide, HEAD.
type pass interface {
	// leaveOut reports whether a source object takes no part in the pass
	// (a merge goroutine).
	leaveOut(t *tally, s *Entry) bool
	// targetOnly is told of a target-only key that is not excluded (a
	// merge goroutine).
	targetOnly(ctx context.Context, t *tally, rel string)
	// differs handles a source object whose target differs or is missing
	// (a worker).
	differs(ctx context.Context, stop context.CancelCauseFunc, t *tally, j job)
	// queue returns the next unit's queue of slots in the backup set's
	// listing (nil: nothing is recorded); called in key order.
	queue(ctx context.Context) (*slotQueue, error)
}

// job is one source object the merge could not settle: it differs, or
// the target's metadata (and maybe the source's) must be read first.
type job struct {
	src    Entry
	dst    Entry // valid for Check
	act    Action
	reason string
	slot   *slot // where the backup set's listing records the outcome
}

// walk lists both sides unit by unit (units.go), merges each unit's two
// listings, and hands the objects that differ (or need a HEAD to tell) to
// a pool of workers that settle them and pass them to p. It returns nil
// only after every unit's listings completed.
func (r *run) walk(parent context.Context, t *tally, p pass) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.checks.Store(0)
	jobs := make(chan job, r.workers)
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.settle(ctx, cancel, t, p, j)
			}
		}()
	}
	err := r.eachUnit(ctx, cancel, p, func(u unit, q *slotQueue) error {
		uctx, stop := context.WithCancel(ctx) // ends the unit's listers when its merge ends early
		defer stop()
		srcCh, dstCh := make(chan page, pageQueue), make(chan page, pageQueue)
		if r.fromSet != nil {
			go r.fromSet.run(uctx, *u.ref, u.rng, srcCh, orDefault(r.o.listPage, mergePage))
		} else {
			go r.newLister(uctx, "source", r.srcList, r.src, u.rng, nil).run(uctx, srcCh)
		}
		target := r.newLister(uctx, "target", r.dstList, r.dst, u.rng, &r.listMeta)
		target.versions = r.targetVersions
		go target.run(uctx, dstCh)
		return merge(uctx, newCursor("source", srcCh), newCursor("target", dstCh), func(s, d *Entry) error {
			return r.decide(ctx, t, p, q, jobs, s, d)
		})
	})
	close(jobs)
	wg.Wait()
	if perr := parent.Err(); perr != nil {
		return context.Cause(parent)
	}
	if cause := context.Cause(ctx); cause != nil && err == nil {
		return cause // a worker stopped the pass (fatal error)
	}
	return err
}

// decide handles one merged key in its unit's merge goroutine; q is the
// unit's queue of slots in the backup set's listing (nil: none).
func (r *run) decide(ctx context.Context, t *tally, p pass, q *slotQueue, jobs chan<- job, s, d *Entry) error {
	rel := ""
	if s != nil {
		t.listed.Add(1)
		rel = s.Key
	}
	if d != nil {
		t.targetListed.Add(1)
		rel = d.Key
	}
	if r.excl.Match(rel) {
		if s != nil {
			t.excluded.Add(1)
		}
		return nil
	}
	if s == nil {
		t.targetOnly.Add(1)
		p.targetOnly(ctx, t, rel)
		return nil
	}
	if p.leaveOut(t, s) {
		return nil
	}
	sl, err := q.reserve(ctx)
	if err != nil {
		return err
	}
	act, reason := Decide(*s, d)
	if act == Skip {
		t.skipped.Add(1)
		sl.fill(listingEntry(*s, d))
		return nil
	}
	j := job{src: *s, act: act, reason: reason, slot: sl}
	if act == Check {
		j.dst = *d
		r.checks.Add(1)
		r.maybeListMetadata(ctx, t)
	}
	select {
	case jobs <- j:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Listing the target's metadata costs the server and the client a little
// for every object; a HEAD costs much more, but only for the objects the
// listing cannot settle (multipart ones, mostly). The target is listed
// without metadata until more than metadataShare of its objects needed a
// HEAD (after at least metadataAfter objects); from there on, on servers
// that can (MinIO), the listing carries it.
const (
	metadataShare = 0.05
	metadataAfter = 1000
)

func (r *run) maybeListMetadata(ctx context.Context, t *tally) {
	n := t.targetListed.Load()
	checks := r.checks.Load()
	if !r.metadataListing || r.listMeta.Load() || n < orDefault(r.o.metadataAfter, metadataAfter) || float64(checks) <= metadataShare*float64(n) {
		return
	}
	if !r.listMeta.CompareAndSwap(false, true) {
		return // another unit's merge turned it on
	}
	zerolog.Ctx(ctx).Info().Int64("checks", checks).Int64("target_listed", n).
		Msg("many target objects need a HEAD: listing the target with its metadata from here on")
}

// settle runs one job in a worker: it HEADs what Decide asked for (the
// target, then the source if still needed) and hands an object that
// differs to the pass.
func (r *run) settle(ctx context.Context, stop context.CancelCauseFunc, t *tally, p pass, j job) {
	if ctx.Err() != nil {
		j.slot.drop()
		return
	}
	dst := &j.dst
	for j.act == Check {
		switch {
		case !dst.Headed:
			var err error
			if dst, err = r.head(ctx, t, "target", r.dstCl, r.dst, j.src.Key); err != nil {
				j.slot.drop()
				r.fail(ctx, stop, t, r.dst.Key(j.src.Key), err)
				return
			}
		case !j.src.Headed:
			src, err := r.head(ctx, t, "source", r.srcCl, r.src, j.src.Key)
			if err != nil {
				j.slot.drop()
				r.fail(ctx, stop, t, r.src.Key(j.src.Key), err)
				return
			}
			j.src.Headed = true
			j.src.OpaqueETag = src != nil && src.OpaqueETag
		default:
			j.act, j.reason = Copy, ReasonUnknown // Decide asks nothing more once both are HEADed
			continue
		}
		j.act, j.reason = Decide(j.src, dst)
	}
	if j.act == Skip {
		t.skipped.Add(1)
		j.slot.fill(listingEntry(j.src, dst))
		return
	}
	p.differs(ctx, stop, t, j)
}

// head reads an object's size, ETag, recorded source ETag and encryption
// (nil when it is gone), with retries.
func (r *run) head(ctx context.Context, t *tally, side string, cl *minio.Client, loc Location, rel string) (*Entry, error) {
	var e *Entry
	err := r.policy(nil).Do(ctx, func() error {
		t.heads.Add(1)
		st, err := cl.StatObject(ctx, loc.Bucket, loc.Key(rel), minio.StatObjectOptions{})
		if err == nil {
			e = headEntry(rel, st)
			return nil
		}
		err = s3conf.Explain(err, "read "+side+" "+loc.URL(rel))
		if s3conf.KindOf(err) == s3conf.NoSuchKey {
			e = nil
			return nil
		}
		return err
	})
	return e, err
}
