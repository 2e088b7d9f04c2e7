// Package mirror makes a target bucket folder hold the same objects as a
// source bucket folder, on the same S3 server or across two: the data half
// of a StarRocks shared-data backup (MinIO → S3) and of its restore
// (S3 → MinIO).
//
// Both sides are listed at once as sorted streams (list.go) and merged as
// they arrive (merge.go), so memory does not grow with the number of
// objects. Each key gets one decision (diff.go: size, then ETags, then the
// source ETag this tool records on every object it writes; never the
// modification time). The walk over both listings (walk.go) is shared by
// the two passes (passes.go): the copy pass hands what differs to a pool
// of workers that copy (copy.go, multipart.go), server-side when both sides
// are the same endpoint and credentials, otherwise one streamed GET → PUT
// per object; the verify pass only reports it. Deletion is opt-in, happens
// only after a complete, error-free pass and is bounded (remove.go).
// Options are checked into a plan before any request (plan.go); a run
// whose locations could be one place on one server reached by two names is
// refused after a probe (overlap.go). Every request is retried by one
// policy (policy.go). Run knows nothing of the command line.
package mirror

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
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

	// Tuning that tests lower to reach the large-object paths with small
	// objects; zero means the default.
	singlePutMax  int64 // streamed: one PUT up to this size (defaultSinglePutMax)
	partSize      int64 // streamed multipart part size (defaultPartSize)
	copySizeLimit int64 // server-side CopyObject limit (maxCopySize)
	composePart   int64 // server-side ComposeObject part size
	listPage      int   // entries a listing page (pageSize)
	metadataAfter int64 // see maybeListMetadata (metadataAfter)
}

// run is the state of one Run: its plan, clients, the two passes' tallies
// and what the result reports besides them.
type run struct {
	*plan
	start        time.Time
	srcCl, dstCl *minio.Client
	copier       *copier
	t            tally // the copy pass: what the result reports
	v            tally // the verify pass
	rec          recorder
	retries      atomic.Int64
	deleted      atomic.Int64
	phase        atomic.Value // string
	candidates   []string     // target-only keys, kept while at most MaxDelete (merge goroutine only)
	verified     bool
	// listMeta asks the target lister for metadata; checks counts the
	// Check decisions of the current pass (merge goroutine only).
	listMeta atomic.Bool
	checks   int64
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
	if p.serverSide {
		r.dstCl = r.srcCl
	} else if r.dstCl, err = s3conf.NewMinio(p.dstCfg, p.workers); err != nil {
		return nil, err
	}
	r.copier = newCopier(r)
	err = r.execute(ctx)
	return r.result(), err
}

func orDefault(v, def int64) int64 {
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
		Bool("remove", r.o.Remove).Strs("exclude", r.excl.Patterns()).Msg("mirror starting")
	if err := r.checkOverlap(ctx); err != nil {
		return err
	}
	stopProgress := r.progress(ctx)
	defer stopProgress()

	if err := r.walk(ctx, &r.t, copyPass{r}); err != nil {
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
	if r.t.listed.Load()-r.t.excluded.Load() == 0 && !r.o.AllowEmptySource {
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
		return r.verify(ctx)
	}
	return nil
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
