package mirror

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// The run's range is listed as units: parts of it, in key order, that
// tile it. Each unit is listed on both sides and merged on its own, and up
// to --list-workers units at once (walk.go), so a run waits for about one
// unit's listing per --list-workers units instead of for every page of
// the whole tree in turn. A unit's merge is today's merge of two sorted
// streams; the copy workers are shared by all units.
//
// The units come from a discovery of the source (discover.go) with a
// budget of discoveryPerWorker requests per list worker, cut into units of
// about minPartObjects objects or more, at most unitsPerWorker units per
// list worker. A range of fewer than a page of
// keys (one probe request tells) is one unit, as is every run with
// --list-workers 1. A restore from a backup set (--from-manifest) has one
// unit per listing of the set (one per shard of the backup).
const (
	// DefaultListWorkers is how many units are listed at once.
	DefaultListWorkers = 16
	maxListWorkers     = 256
	unitsPerWorker     = 8
	discoveryPerWorker = 4
)

// unit is one part of the run's range.
type unit struct {
	rng KeyRange
	ref *backupset.ListingRef // --from-manifest: the set's listing that is the unit's source
}

// planUnits splits the run's range into units, once per run.
func (r *run) planUnits(ctx context.Context) error {
	switch {
	case r.fromSet != nil:
		r.units = r.fromSet.units(r.rng)
		return nil
	case r.listWorkers == 1:
		r.units = []unit{{rng: r.rng}}
		return nil
	}
	list := listPager(r.srcList, r.src.Bucket)
	q := pageQuery{prefix: r.src.Prefix + r.rng.folder(), max: pageSize}
	if r.rng.Start != "" {
		q.startAfter = r.src.Prefix + r.rng.startAfter()
	}
	var probe pageResult
	err := r.policy(nil).Do(ctx, func() (err error) {
		probe, err = list(ctx, q)
		return err
	})
	if err != nil {
		return s3conf.Explain(err, "list source "+r.src.String())
	}
	if !probe.truncated || (len(probe.keys) > 0 && !r.rng.before(probe.keys[len(probe.keys)-1][len(r.src.Prefix):])) {
		r.units = []unit{{rng: r.rng}} // less than a page: nothing to share out
		return nil
	}
	d := &discovery{list: list, loc: r.src, policy: r.policy(nil), workers: r.listWorkers,
		budget: discoveryPerWorker * r.listWorkers, target: unitsPerWorker * r.listWorkers, partObjects: r.o.unitObjects}
	atoms, err := d.run(ctx, r.rng)
	if err != nil {
		return err
	}
	total := 0.0
	for _, a := range atoms {
		total += a.weight
	}
	parts, _ := split(r.rng, atoms, d.parts(total))
	r.units = make([]unit, len(parts))
	for i, p := range parts {
		r.units[i] = unit{rng: p}
	}
	r.discoveryRequests = 1 + d.requests
	zerolog.Ctx(ctx).Info().Int("units", len(r.units)).Int("requests", r.discoveryRequests).Int("list_workers", r.listWorkers).
		Msg("source discovered: listing its units in parallel")
	return nil
}

// eachUnit runs fn for every unit, up to --list-workers at once, starting
// them in key order. A unit whose slots the backup set's listing takes
// (q, from the pass) holds its place until they are written, which bounds
// the slots waiting. The first error stops the others (stop) and is
// returned.
func (r *run) eachUnit(ctx context.Context, stop context.CancelCauseFunc, p pass, fn func(u unit, q *slotQueue) error) error {
	sem := make(chan struct{}, r.listWorkers)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() {
			first = err
			stop(err)
		})
	}
	for _, u := range r.units {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			fail(context.Cause(ctx))
			break
		}
		q, err := p.queue(ctx)
		if err != nil {
			fail(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := fn(u, q)
			q.end()
			if err != nil {
				fail(err)
				return
			}
			q.wait(ctx)
		}()
	}
	wg.Wait()
	return first
}
