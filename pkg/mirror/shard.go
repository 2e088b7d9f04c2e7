package mirror

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/rs/zerolog"
)

// Shards spread one mirror over several processes (Airflow's mapped
// tasks, one pod each): `mirror --plan N` discovers the source's key space
// (discover.go: delimiter listings, never a full listing) and returns N
// ranges of balanced estimated size that tile the run's key range; each
// shard then runs `mirror --key-range R` with one of them, verbatim.
// Copies, --verify, --remove and --exclude act only inside a shard's
// range, so the shards together do exactly what one run does, whatever
// changed between the plan and the shards: the ranges tile the key
// space, the estimates only balance it.
const (
	// maxPlan bounds --plan: Airflow maps at most 1,024 tasks by default
	// (max_map_length).
	maxPlan = 1024
	// A plan may spend planBase + planPerShard×N listing requests, and
	// follows truncated folders (a flat data/ folder of many thousand
	// segments is cut between pages).
	planBase     = 256
	planPerShard = 32
	// planAtoms bounds the atoms a plan keeps (about 100 bytes each): the
	// objects of a page make one atom per planChunk of them, so that a
	// small tree is cut between any two objects.
	planAtoms = 200_000
)

// planShards is the run of --plan. The flags that only concern copying
// (--remove, --verify, --dry-run, --manifest, --from-manifest) are the
// shards' business: a plan accepts them, so that an orchestrator may pass
// the plan the shards' arguments, and ignores them.
func (r *run) planShards(ctx context.Context) error {
	n := r.o.Plan
	budget := planBase + planPerShard*n
	d := &discovery{list: listPager(r.srcList, r.src.Bucket), loc: r.src, policy: r.policy(nil), workers: r.listWorkers,
		budget: budget, chase: true, chunk: max(1, budget*pageSize/planAtoms)}
	atoms, err := d.run(ctx, r.rng)
	if err != nil {
		return err
	}
	r.discoveryRequests = d.requests
	if len(atoms) == 0 && !r.o.AllowEmptySource {
		if empty, err := r.sourceEmpty(ctx); err != nil || empty {
			return cmp.Or(err, fmt.Errorf("the source %s holds no object (wrong bucket or prefix?): nothing to plan "+
				"(--allow-empty-source accepts an empty source)", r.src))
		}
	}
	parts, weights := split(r.rng, atoms, n)
	parts, weights = fill(parts, weights, n)
	r.ranges = make([]string, len(parts))
	r.estimates = make([]int64, len(parts))
	for i, p := range parts {
		r.ranges[i] = p.String()
		r.estimates[i] = int64(math.Round(weights[i]))
	}
	zerolog.Ctx(ctx).Info().Int("shards", n).Int("requests", d.requests).Ints64("estimates", r.estimates).
		Msg("plan: the key space cut into shards of balanced estimated size")
	return nil
}

// split cuts rng at atom starts into at most n parts of balanced weight,
// in key order, tiling rng; weights says what each part holds.
func split(rng KeyRange, atoms []atom, n int) (parts []KeyRange, weights []float64) {
	var starts []string
	var cum []float64 // weight before starts[i]
	total := 0.0
	for _, a := range atoms {
		if a.start > rng.Start && rng.before(a.start) && (len(starts) == 0 || a.start > starts[len(starts)-1]) {
			starts = append(starts, a.start)
			cum = append(cum, total)
		}
		total += a.weight
	}
	var cuts []int // indexes into starts
	for j := 1; j < n; j++ {
		goal := total * float64(j) / float64(n)
		from := 0
		if len(cuts) > 0 {
			from = cuts[len(cuts)-1] + 1
		}
		i := sort.SearchFloat64s(cum[from:], goal) + from
		if i > from && (i == len(cum) || goal-cum[i-1] < cum[i]-goal) {
			i-- // the cut below the goal is closer
		}
		if i >= len(starts) {
			break
		}
		cuts = append(cuts, i)
	}
	lo, before := rng.Start, 0.0
	for _, i := range cuts {
		parts = append(parts, KeyRange{Start: lo, End: starts[i]})
		weights = append(weights, cum[i]-before)
		lo, before = starts[i], cum[i]
	}
	parts = append(parts, KeyRange{Start: lo, End: rng.End})
	weights = append(weights, total-before)
	return parts, weights
}

// fill splits parts until there are n: the discovery found fewer places
// to cut than shards (a tree of few keys). A part [s, e) is cut at s+NUL,
// the first string after s: the new part [s, s+NUL) holds at most the key
// s, the rest keeps the part's weight. The largest part that can be cut
// is cut first.
func fill(parts []KeyRange, weights []float64, n int) ([]KeyRange, []float64) {
	for len(parts) < n {
		best := -1
		for i, p := range parts {
			if _, ok := p.cutAfterStart(); ok && (best < 0 || weights[i] >= weights[best]) {
				best = i
			}
		}
		if best < 0 {
			break // a key range as narrow as one key: it cannot be cut
		}
		c, _ := parts[best].cutAfterStart()
		head := KeyRange{Start: parts[best].Start, End: c}
		parts[best].Start = c
		parts = append(parts[:best], append([]KeyRange{head}, parts[best:]...)...)
		weights = append(weights[:best], append([]float64{0}, weights[best:]...)...)
	}
	return parts, weights
}

// cutAfterStart returns Start+NUL, the first string after Start, when it
// lies strictly inside the range.
func (k KeyRange) cutAfterStart() (string, bool) {
	c := k.Start + "\x00"
	return c, k.End == "" || c < k.End
}
