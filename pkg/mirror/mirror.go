// Package mirror makes a target bucket folder hold the same objects as a
// source bucket folder, on the same S3 server or across two: the data half
// of a StarRocks shared-data backup (MinIO → S3) and of its restore
// (S3 → MinIO).
//
// Both sides are listed at once as sorted streams (list.go) and merged as
// they arrive (merge.go), so memory does not grow with the number of
// objects. The key space is first discovered with delimiter listings
// (discover.go, estimate.go) and cut into units listed in parallel, each
// with its own merge (units.go). Each key gets one decision (diff.go:
// size, then ETags, then the source ETag this tool records on every
// object it writes; never the modification time). The walk over both
// listings (walk.go) is shared by the two passes (passes.go): the copy
// pass hands what differs to a pool of workers that copy (copy.go),
// server-side when both sides are the same endpoint and credentials,
// otherwise streamed GET → PUT; large objects in parts copied in parallel
// (multipart.go). The verify pass only reports what differs. Deletion is
// opt-in, happens only after a complete, error-free pass and is bounded
// (remove.go). A run may be limited to a key range (keyrange.go), and a
// plan cuts the key space into ranges for shards (shard.go). Options are
// checked into a plan before any request (plan.go); a run whose locations
// could be one place on one server reached by two names is refused after
// a probe (overlap.go). Every request is retried by one policy
// (policy.go). Run knows nothing of the command line.
package mirror

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/s3list"
)

// Defaults of the command line (Options' zero values mean: no retries, no
// deletion allowed, no progress lines).
const (
	// DefaultWorkers was chosen with bench/mirror (docs/benchmarks.md):
	// copies of StarRocks' many small objects are bound by request
	// latency, not bandwidth.
	DefaultWorkers = 32
	// DefaultRetries is how many times a failed object copy, HEAD,
	// deletion or listing request is tried again, with backoff (0.5 s,
	// 1 s, 2 s, ...).
	DefaultRetries = 3
	// DefaultMaxDelete bounds --remove: a run that would delete more
	// target objects deletes none and fails. StarRocks' vacuum removes a
	// few hundred files per table and day; a wrong prefix or a source
	// emptied by mistake would remove far more.
	DefaultMaxDelete = 1000
	// DefaultProgressInterval is how often a progress line is logged.
	DefaultProgressInterval = 5 * time.Second

	maxWorkers = 512
	maxRetries = 20
	// maxListedKeys bounds failed_keys and mismatched_keys in the result.
	maxListedKeys = 10
	// maxConsecutiveFailures stops a run whose objects all fail (a full
	// disk, a broken proxy): past this many failures in a row without a
	// success the cause is not the objects.
	maxConsecutiveFailures = 25
	// dryRunLogLimit is how many "would copy" lines a dry run logs at
	// info level; the rest are at debug level.
	dryRunLogLimit = 1000
)

// Options is one mirror run.
type Options struct {
	Source, Target s3conf.Input
	// SourcePath and TargetPath are BUCKET[/PREFIX] or s3://BUCKET[/PREFIX];
	// the prefix is a folder (see ParseLocation). A key maps from one side
	// to the other by swapping the prefixes.
	SourcePath, TargetPath string
	// Workers copy (or HEAD) that many objects at once: 1 to 512 (the
	// command line's default is DefaultWorkers).
	Workers int
	// Retries is how many times a failed object, HEAD, deletion or listing
	// request is tried again (0: none).
	Retries int
	// Remove deletes target objects that are absent from the source, after
	// a complete pass with no error, if there are at most MaxDelete.
	Remove    bool
	MaxDelete int
	// DryRun lists and compares (HEADs included) but writes and deletes
	// nothing; the result's copied, bytes and deleted say what a real run
	// would do.
	DryRun bool
	// Excludes are glob patterns of relative keys neither copied nor
	// deleted (see Excludes).
	Excludes []string
	// Verify lists both sides again after the copy and fails the run when
	// a source object is missing at the target or differs in size or
	// recorded ETag (and, with Remove, when a target-only object is left).
	Verify bool
	// AllowEmptySource accepts a source holding no object (outside the
	// excludes). Without it such a run fails: an empty or mistyped source
	// must not look like a successful, empty backup.
	AllowEmptySource bool
	// ProgressInterval is how often a progress line is logged (0: never).
	ProgressInterval time.Duration
	// Manifest, when set, is the key in the target bucket (outside the
	// target prefix) where a backup writes its data listing once the whole
	// run succeeded: every source object of the copy pass with what the
	// target holds for it (size, ETags, version on a versioned target).
	// It is a backup set's data.jsonl.gz (pkg/backupset); the run refuses
	// when the set's manifest.json already exists (a committed set never
	// changes).
	Manifest string
	// KeyRange limits the run to the keys of a range, in the text form
	// START..END (see KeyRange.String; "" or ".." is every key): copies,
	// verification, deletions and excludes act only inside it, so that
	// shards of one mirror, each given one range of a plan, together do
	// what one run does. With Manifest, the listing records the range.
	KeyRange string
	// ListWorkers is how many units of the range are listed at once (1:
	// one sequential listing per side; see units.go; DefaultListWorkers).
	ListWorkers int
	// PartWorkers is how many parts of large objects are copied at once,
	// over all objects (see multipart.go); each streamed part holds a
	// buffer of 8 MiB (DefaultPartWorkers).
	PartWorkers int
	// Plan, when above 0, makes the run a plan: it discovers the source's
	// key space (no full listing), copies nothing, and returns Plan
	// ranges of balanced estimated size that tile the key range (see
	// shard.go).
	Plan int
	// FromManifest, when set, is the key of a backup set's manifest.json
	// in the source bucket: the run copies exactly the objects the set's
	// listings name, at their recorded versions (or only while their
	// content is the recorded one), instead of what the source lists now.
	// With Remove, the target ends up holding exactly the set's objects.
	FromManifest string

	// Tuning that tests lower to reach the large-object and many-unit
	// paths with small objects and trees; zero means the default.
	singlePutMax  int64 // one PUT or CopyObject up to this size, parts above (defaultSinglePutMax)
	partSize      int64 // streamed part size (defaultPartSize)
	copyPart      int64 // server-side part size (defaultCopyPart)
	listPage      int   // keys a listing request and entries a merge page (pageSize, mergePage)
	metadataAfter int64 // see maybeListMetadata (metadataAfter)
	unitObjects   int   // the fewest objects worth a unit (minPartObjects)
	queueSlots    int   // slots a unit's queue holds (slotWindow / ListWorkers)
}

// run is the state of one Run: its plan, clients, the two passes' tallies
// and what the result reports besides them.
type run struct {
	*plan
	start        time.Time
	srcCl, dstCl *minio.Client
	// srcList and dstList list the sides (pkg/s3list: a fraction of
	// minio-go's CPU per listed object); the same client on one server.
	srcList, dstList *s3list.Client
	copier           *copier
	t                tally // the copy pass: what the result reports
	v                tally // the verify pass
	rec              recorder
	retries          atomic.Int64
	deleted          atomic.Int64
	phase            atomic.Value // string
	candidates       []string     // target-only keys, kept while at most MaxDelete (under candMu)
	candMu           sync.Mutex
	verified         bool
	// fromSet lists a backup set instead of the source (FromManifest);
	// listing records the copy pass for a backup set (Manifest), on a
	// target listed with its versions when it keeps them.
	fromSet        *setSource
	listing        *setListing
	listingDone    bool // the listing was written (or there is none to write)
	targetVersions bool
	// listMeta asks the target lister for metadata; checks counts the
	// Check decisions of the current pass.
	listMeta atomic.Bool
	checks   atomic.Int64
	// units are the parts of the range listed in parallel (units.go);
	// discoveryRequests counts the requests that found them; emptySource
	// tells the copy pass found the source empty (see sourceEmpty).
	units             []unit
	discoveryRequests int
	emptySource       bool
	// ranges and estimates are a plan's shards (--plan).
	ranges    []string
	estimates []int64
}

// Run mirrors the source to the target. It returns a result also with an
// error, saying how far it got. The error is a usage error when the
// options are wrong (nothing was done).
func Run(ctx context.Context, o Options) (*Result, error) {
	p, err := validate(o)
	if err != nil {
		return nil, err
	}
	r := &run{plan: p, start: time.Now()}
	r.phase.Store("copy")
	if r.srcCl, err = s3conf.NewMinio(p.srcCfg, p.workers); err != nil {
		return nil, err
	}
	if r.srcList, err = s3list.New(p.srcCfg, 2*p.listWorkers); err != nil {
		return nil, err
	}
	if p.serverSide {
		r.dstCl, r.dstList = r.srcCl, r.srcList
	} else if r.dstCl, err = s3conf.NewMinio(p.dstCfg, p.workers); err != nil {
		return nil, err
	} else if r.dstList, err = s3list.New(p.dstCfg, 2*p.listWorkers); err != nil {
		return nil, err
	}
	r.copier = newCopier(r)
	if o.Plan > 0 {
		err = r.planShards(ctx)
		return r.result(), err
	}
	if o.FromManifest != "" {
		if r.fromSet, err = readSet(ctx, r.srcCl, p.src, o.FromManifest); err != nil {
			return r.result(), err
		}
	}
	err = r.execute(ctx)
	return r.result(), err
}

func orDefault[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// execute runs the passes in order: the overlap check, copy, (remove),
// (verify).
func (r *run) execute(ctx context.Context) error {
	log := zerolog.Ctx(ctx)
	log.Info().Str("source", r.src.String()).Str("source_endpoint", r.srcCfg.String()).
		Str("target", r.dst.String()).Str("target_endpoint", r.dstCfg.String()).
		Bool("server_side", r.serverSide).Int("workers", r.workers).Bool("dry_run", r.o.DryRun).
		Bool("remove", r.o.Remove).Strs("exclude", r.excl.Patterns()).Str("key_range", r.rng.String()).
		Int("list_workers", r.listWorkers).Msg("mirror starting")
	if err := r.checkOverlap(ctx); err != nil {
		return err
	}
	if r.o.Manifest != "" {
		if err := r.beginListing(ctx); err != nil {
			return err
		}
		defer func() {
			if !r.listingDone {
				r.listing.abort(ctx)
			}
		}()
	}
	if err := r.planUnits(ctx); err != nil {
		return err
	}
	stopProgress := r.progress(ctx)
	defer stopProgress()

	err := r.walk(ctx, &r.t, copyPass{r})
	if lerr := r.listing.passDone(err == nil && r.t.errors.Load() == 0); lerr != nil && err == nil && r.t.errors.Load() == 0 {
		err = fmt.Errorf("the backup set's listing: %w", lerr)
	}
	if err != nil {
		if r.o.Remove && r.t.targetOnly.Load() > 0 {
			log.Warn().Int64("target_only", r.t.targetOnly.Load()).Msg("--remove: nothing deleted, the pass did not complete")
		}
		return err
	}
	if n := r.t.errors.Load(); n > 0 {
		msg := fmt.Sprintf("%d of %d objects failed", n, r.t.listed.Load()-r.t.excluded.Load())
		if r.o.Remove && r.t.targetOnly.Load() > 0 {
			msg += fmt.Sprintf("; --remove: none of the %d target-only objects deleted", r.t.targetOnly.Load())
		}
		return fmt.Errorf("%s; first: %v", msg, r.rec.first())
	}
	if r.emptySource, err = r.sourceEmpty(ctx); err != nil {
		return err
	}
	if r.emptySource && !r.o.AllowEmptySource {
		msg := fmt.Sprintf("the source %s holds no object (wrong bucket or prefix?): nothing mirrored", r.src)
		if r.o.Remove && r.t.targetOnly.Load() > 0 {
			msg += fmt.Sprintf("; --remove: none of the %d target objects deleted", r.t.targetOnly.Load())
		}
		return fmt.Errorf("%s (--allow-empty-source accepts an empty source)", msg)
	}
	if r.o.Remove {
		r.phase.Store("delete")
		if err := r.remove(ctx); err != nil {
			return err
		}
	} else if n := r.t.targetOnly.Load(); n > 0 {
		log.Info().Int64("target_only", n).Msg("target objects absent from the source are kept (no --remove)")
	}
	if r.o.Verify {
		if err := r.verify(ctx); err != nil {
			return err
		}
	}
	return r.commitListing(ctx)
}

// verify runs the verify pass and says what it found.
func (r *run) verify(ctx context.Context) error {
	r.phase.Store("verify")
	if err := r.walk(ctx, &r.v, verifyPass{r}); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if n := r.v.errors.Load(); n > 0 {
		return fmt.Errorf("verify: %d objects could not be checked; first: %v", n, r.rec.first())
	}
	if n := r.v.mismatches.Load(); n > 0 {
		return fmt.Errorf("verify: %d objects differ between source and target (first: %q)", n, r.rec.mismatched())
	}
	r.verified = true
	zerolog.Ctx(ctx).Info().Int64("checked", r.v.listed.Load()-r.v.excluded.Load()).Int64("new_since_start", r.v.newSince.Load()).
		Msg("verify: target matches the source")
	return nil
}
