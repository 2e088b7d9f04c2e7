// Package mirror makes a target bucket folder hold the same objects as a
// source bucket folder, on the same S3 server or across two: the data half
// of a StarRocks shared-data backup (MinIO → S3) and of its restore
// (S3 → MinIO).
//
// Both sides are listed at once as sorted streams and merged as they arrive
// (merge.go), so memory does not grow with the number of objects. Each key
// gets one decision (diff.go: size, then ETags, then the source ETag this
// tool records on every object it writes; never the modification time).
// A pool of workers copies (copy.go): server-side when both sides are the
// same endpoint and credentials, otherwise one streamed GET → PUT per
// object. Deletion is opt-in, happens only after a complete, error-free
// pass and is bounded (remove.go). Run knows nothing of the command line.
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
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Defaults of the command line (Options' zero values mean: no retries, no
// deletion allowed, no progress lines; Workers 0 means DefaultWorkers).
const (
	// DefaultWorkers was chosen with bench/mirror (docs/benchmarks.md):
	// copies of StarRocks' many small objects are bound by request
	// latency, not bandwidth.
	DefaultWorkers = 32
	// DefaultRetries is how many times a failed object copy, HEAD or
	// listing request is tried again, with backoff (0.5 s, 1 s, 2 s, ...).
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
	// Workers copy (or HEAD) that many objects at once; 0 means
	// DefaultWorkers.
	Workers int
	// Retries is how many times a failed object, HEAD or listing request
	// is tried again (0: none).
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

// Result is what a run did (also when it failed: how far it got). In a dry
// run, copied, bytes and deleted count what a real run would copy and
// delete.
type Result struct {
	Source         string `json:"source"` // s3://bucket/prefix/
	Target         string `json:"target"`
	SourceEndpoint string `json:"source_endpoint"`
	TargetEndpoint string `json:"target_endpoint"`
	ServerSide     bool   `json:"server_side"` // copies done by the server (same endpoint and credentials)
	DryRun         bool   `json:"dry_run"`
	Workers        int    `json:"workers"`
	// Listed counts the source objects listed, Excluded those of them
	// matched by an exclude pattern. When the listing completed,
	// listed = excluded + copied + skipped + vanished + errors.
	Listed   int64 `json:"listed"`
	Excluded int64 `json:"excluded"`
	Copied   int64 `json:"copied"`
	Skipped  int64 `json:"skipped"` // already the same at the target
	// Vanished counts objects deleted from the source between the listing
	// and their copy (StarRocks' vacuum does that): nothing to copy.
	Vanished int64 `json:"vanished"`
	// TargetListed counts the target objects listed; TargetOnly those
	// absent from the source (not excluded): deleted only with --remove.
	TargetListed int64 `json:"target_listed"`
	TargetOnly   int64 `json:"target_only"`
	Deleted      int64 `json:"deleted"`
	Bytes        int64 `json:"bytes"` // bytes copied
	// Errors counts objects that failed after their retries (copies,
	// HEADs, deletions); FailedKeys names the first few (full keys).
	Errors     int64    `json:"errors"`
	FailedKeys []string `json:"failed_keys"`
	Retries    int64    `json:"retries"` // requests tried again
	Heads      int64    `json:"heads"`   // target HEADs (when the listing did not carry metadata)
	// Verified is true when --verify compared both sides again and found
	// them the same; VerifyMismatches and MismatchedKeys say what differed.
	Verified         bool     `json:"verified"`
	VerifyMismatches int64    `json:"verify_mismatches"`
	MismatchedKeys   []string `json:"mismatched_keys,omitempty"`
	ObjectsPerS      float64  `json:"objects_per_s"` // objects copied per second of the run
	BytesPerS        float64  `json:"bytes_per_s"`   // bytes copied per second of the run
}

// plan is a validated run.
type plan struct {
	o              Options
	src, dst       Location
	srcCfg, dstCfg s3conf.Config
	excl           *Excludes
	workers        int
	serverSide     bool
	// metadataListing tells that the target may list user metadata
	// (MinIO does; AWS S3 does not), which the run turns on when many
	// objects would otherwise need a HEAD (see decide).
	metadataListing bool
}

// validate checks every option and resolves both endpoints before any
// request is made. All its errors are usage errors.
func validate(o Options) (*plan, error) {
	p := &plan{o: o}
	var err error
	if p.src, err = ParseLocation("source", o.SourcePath); err != nil {
		return nil, err
	}
	if p.dst, err = ParseLocation("target", o.TargetPath); err != nil {
		return nil, err
	}
	switch {
	case o.Workers < 0 || o.Workers > maxWorkers:
		return nil, usage.Errorf("--workers %d is out of range (1-%d)", o.Workers, maxWorkers)
	case o.Retries < 0 || o.Retries > maxRetries:
		return nil, usage.Errorf("--retries %d is out of range (0-%d)", o.Retries, maxRetries)
	case o.MaxDelete < 0:
		return nil, usage.Errorf("--max-delete %d is negative (0 allows no deletion)", o.MaxDelete)
	case o.ProgressInterval < 0:
		return nil, usage.Errorf("--progress-interval %s is negative (0 turns progress lines off)", o.ProgressInterval)
	case o.DryRun && o.Verify:
		return nil, usage.Errorf("--verify with --dry-run: a dry run copies nothing, so there is nothing to verify (its copied count already tells what differs)")
	}
	p.workers = o.Workers
	if p.workers == 0 {
		p.workers = DefaultWorkers
	}
	if p.excl, err = CompileExcludes(o.Excludes); err != nil {
		return nil, err
	}
	if p.srcCfg, err = o.Source.Resolve(); err != nil {
		return nil, fmt.Errorf("source endpoint: %w", err)
	}
	if p.dstCfg, err = o.Target.Resolve(); err != nil {
		return nil, fmt.Errorf("target endpoint: %w", err)
	}
	if p.srcCfg.Endpoint == p.dstCfg.Endpoint && overlaps(p.src, p.dst) {
		if p.src == p.dst {
			return nil, usage.Errorf("source and target are the same place (%s on %s)", p.src, p.srcCfg)
		}
		return nil, usage.Errorf("source %s and target %s overlap on %s: one is inside the other", p.src, p.dst, p.srcCfg)
	}
	p.serverSide = p.srcCfg.SameServer(p.dstCfg)
	p.metadataListing = !p.dstCfg.AWS()
	return p, nil
}

// tally counts one pass; atomics, because workers and the progress logger
// read and write it concurrently.
type tally struct {
	listed, excluded, skipped, copied, vanished, bytes  atomic.Int64
	targetListed, targetOnly, errors, heads, mismatches atomic.Int64
	newSince                                            atomic.Int64 // verify: source objects written after the run started
}

// run is the state of one Run.
type run struct {
	*plan
	start          time.Time
	srcCl, dstCl   *minio.Client
	copier         *copier
	t              tally // the copy pass: what the result reports
	v              tally // the verify pass
	retries        atomic.Int64
	deleted        atomic.Int64
	consecutive    atomic.Int64
	phase          atomic.Value // string
	mu             sync.Mutex
	failedKeys     []string
	firstErr       error
	mismatchedKeys []string
	candidates     []string // target-only keys, kept while at most MaxDelete
	dryLogged      atomic.Int64
	verified       bool
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
	r := &run{plan: p, start: time.Now(), failedKeys: []string{}}
	r.phase.Store("copy")
	if r.srcCl, err = s3conf.NewMinio(p.srcCfg, p.workers); err != nil {
		return nil, err
	}
	if p.serverSide {
		r.dstCl = r.srcCl
	} else if r.dstCl, err = s3conf.NewMinio(p.dstCfg, p.workers); err != nil {
		return nil, err
	}
	r.copier = &copier{
		src: r.srcCl, dst: r.dstCl, srcLoc: p.src, dstLoc: p.dst, serverSide: p.serverSide,
		singlePutMax: orDefault(o.singlePutMax, defaultSinglePutMax), partSize: orDefault(o.partSize, defaultPartSize),
		copySizeLimit: orDefault(o.copySizeLimit, maxCopySize), composePart: orDefault(o.composePart, defaultComposePart),
		buffers: make(chan []byte, min(defaultBigSlots, p.workers)),
	}
	for range cap(r.copier.buffers) {
		r.copier.buffers <- nil // allocated when first needed
	}
	err = r.execute(ctx)
	return r.result(), err
}

func orDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

func (r *run) execute(ctx context.Context) error {
	log := zerolog.Ctx(ctx)
	log.Info().Str("source", r.src.String()).Str("source_endpoint", r.srcCfg.String()).
		Str("target", r.dst.String()).Str("target_endpoint", r.dstCfg.String()).
		Bool("server_side", r.serverSide).Int("workers", r.workers).Bool("dry_run", r.o.DryRun).
		Bool("remove", r.o.Remove).Strs("exclude", r.excl.Patterns()).Msg("mirror starting")
	stopProgress := r.progress(ctx)
	defer stopProgress()

	if err := r.pass(ctx, false); err != nil {
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
		r.mu.Lock()
		first := r.firstErr
		r.mu.Unlock()
		return fmt.Errorf("%s; first: %v", msg, first)
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
		r.phase.Store("verify")
		if err := r.pass(ctx, true); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if n := r.v.errors.Load(); n > 0 {
			return fmt.Errorf("verify: %d objects could not be checked; first: %v", n, r.firstErr)
		}
		if n := r.v.mismatches.Load(); n > 0 {
			r.mu.Lock()
			keys := r.mismatchedKeys
			r.mu.Unlock()
			return fmt.Errorf("verify: %d objects differ between source and target (first: %q)", n, keys)
		}
		r.verified = true
		log.Info().Int64("checked", r.v.listed.Load()-r.v.excluded.Load()).Int64("new_since_start", r.v.newSince.Load()).
			Msg("verify: target matches the source")
	}
	return nil
}

// job is one source object the merge could not settle: copy it, or check
// the target's metadata first.
type job struct {
	src    Entry
	dst    Entry // valid for Check
	act    Action
	reason string
}

// pass lists both sides, merges and hands the objects to copy (or to
// check) to the workers. verify compares instead of copying.
func (r *run) pass(parent context.Context, verify bool) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	t := &r.t
	if verify {
		t = &r.v
	}
	srcCh, dstCh := make(chan page, pageQueue), make(chan page, pageQueue)
	wait := func(attempt int) { sleep(ctx, backoff(attempt)) }
	countRetry := func() { r.retries.Add(1) }
	r.checks = 0
	go (&lister{side: "source", client: r.srcCl, loc: r.src, retries: r.o.Retries, pageSize: r.o.listPage,
		backoff: wait, onRetry: countRetry}).run(ctx, srcCh)
	go (&lister{side: "target", client: r.dstCl, loc: r.dst, metadata: &r.listMeta, retries: r.o.Retries, pageSize: r.o.listPage,
		backoff: wait, onRetry: countRetry}).run(ctx, dstCh)

	jobs := make(chan job, r.workers)
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.do(ctx, cancel, t, j, verify)
			}
		}()
	}
	err := merge(ctx, newCursor("source", srcCh), newCursor("target", dstCh), func(s, d *Entry) error {
		return r.decide(ctx, t, jobs, s, d, verify)
	})
	close(jobs)
	wg.Wait()
	if perr := parent.Err(); perr != nil {
		return context.Cause(parent)
	}
	if cause := context.Cause(ctx); cause != nil {
		return cause // a worker stopped the pass (fatal error)
	}
	return err
}

// decide handles one merged key in the merge goroutine.
func (r *run) decide(ctx context.Context, t *tally, jobs chan<- job, s, d *Entry, verify bool) error {
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
		if verify {
			if r.o.Remove {
				r.mismatch(ctx, t, rel, "target-only object left by --remove")
			}
			return nil
		}
		if r.o.Remove {
			if t.targetOnly.Load() <= int64(r.o.MaxDelete) {
				r.candidates = append(r.candidates, rel)
			} else {
				r.candidates = nil // over the limit: the run will refuse to delete, no key is needed
			}
		}
		return nil
	}
	if verify && s.Modified.After(r.start) {
		t.newSince.Add(1) // written while the copy ran: not expected at the target
		return nil
	}
	act, reason := Decide(*s, d)
	if act == Skip {
		t.skipped.Add(1)
		return nil
	}
	if act == Check {
		r.checks++
		r.maybeListMetadata(ctx, t)
	}
	j := job{src: *s, act: act, reason: reason}
	if act == Check {
		j.dst = *d
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
	if !r.metadataListing || r.listMeta.Load() || n < orDefault(r.o.metadataAfter, metadataAfter) || float64(r.checks) <= metadataShare*float64(n) {
		return
	}
	r.listMeta.Store(true)
	zerolog.Ctx(ctx).Info().Int64("checks", r.checks).Int64("target_listed", n).
		Msg("many target objects need a HEAD: listing the target with its metadata from here on")
}

// do runs one job in a worker.
func (r *run) do(ctx context.Context, stop context.CancelCauseFunc, t *tally, j job, verify bool) {
	if ctx.Err() != nil {
		return
	}
	if j.act == Check {
		dst, err := r.head(ctx, t, j.src.Key)
		if err != nil {
			r.fail(ctx, stop, t, r.dst.Key(j.src.Key), err)
			return
		}
		j.act, j.reason = Decide(j.src, dst)
		if j.act == Skip {
			t.skipped.Add(1)
			return
		}
	}
	if verify {
		r.mismatch(ctx, t, j.src.Key, j.reason)
		return
	}
	if r.o.DryRun {
		t.copied.Add(1)
		t.bytes.Add(j.src.Size)
		ev := zerolog.Ctx(ctx).Debug()
		if r.dryLogged.Add(1) <= dryRunLogLimit {
			ev = zerolog.Ctx(ctx).Info()
		}
		ev.Str("key", r.src.Key(j.src.Key)).Int64("size", j.src.Size).Str("reason", j.reason).Msg("dry run: would copy")
		return
	}
	for attempt := 1; ; attempt++ {
		size, err := r.copier.copy(ctx, j.src.Key, j.src.Size)
		if err == nil {
			t.copied.Add(1)
			t.bytes.Add(size)
			r.consecutive.Store(0)
			zerolog.Ctx(ctx).Debug().Str("key", r.src.Key(j.src.Key)).Int64("size", size).Str("reason", j.reason).Msg("copied")
			return
		}
		if s3conf.KindOf(err) == s3conf.NoSuchKey {
			t.vanished.Add(1)
			zerolog.Ctx(ctx).Warn().Str("key", r.src.Key(j.src.Key)).Msg("source object deleted since the listing: not copied")
			return
		}
		if attempt > r.o.Retries || !retryable(err) || ctx.Err() != nil {
			r.fail(ctx, stop, t, r.src.Key(j.src.Key), err)
			return
		}
		r.retries.Add(1)
		zerolog.Ctx(ctx).Debug().Str("key", r.src.Key(j.src.Key)).Int("attempt", attempt).Err(err).Msg("copy failed; retrying")
		sleep(ctx, backoff(attempt))
	}
}

// head reads the target object's size, ETag and recorded source ETag (nil
// when it is gone), with retries.
func (r *run) head(ctx context.Context, t *tally, rel string) (*Entry, error) {
	for attempt := 1; ; attempt++ {
		t.heads.Add(1)
		st, err := r.dstCl.StatObject(ctx, r.dst.Bucket, r.dst.Key(rel), minio.StatObjectOptions{})
		if err == nil {
			return &Entry{Key: rel, Size: st.Size, ETag: NormalizeETag(st.ETag), Modified: st.LastModified,
				MetaKnown: true, Recorded: recorded(st.UserMetadata)}, nil
		}
		err = s3conf.Explain(err, "read target "+r.dst.URL(rel))
		if s3conf.KindOf(err) == s3conf.NoSuchKey {
			return nil, nil
		}
		if attempt > r.o.Retries || !retryable(err) || ctx.Err() != nil {
			return nil, err
		}
		r.retries.Add(1)
		sleep(ctx, backoff(attempt))
	}
}

// fail records an object that failed for good, and stops the pass when
// the error dooms the others too.
func (r *run) fail(ctx context.Context, stop context.CancelCauseFunc, t *tally, key string, err error) {
	if ctx.Err() != nil {
		return // the pass is stopping: not this object's failure
	}
	t.errors.Add(1)
	r.mu.Lock()
	if len(r.failedKeys) < maxListedKeys {
		r.failedKeys = append(r.failedKeys, key)
	}
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
	zerolog.Ctx(ctx).Error().Str("key", key).Str("error", err.Error()).Msg("object failed")
	switch n := r.consecutive.Add(1); {
	case fatal(err):
		stop(err)
	case n >= maxConsecutiveFailures:
		stop(fmt.Errorf("%d objects failed in a row, stopping; last: %w", n, err))
	}
}

// mismatch records a difference found by verify.
func (r *run) mismatch(ctx context.Context, t *tally, rel, reason string) {
	t.mismatches.Add(1)
	r.mu.Lock()
	if len(r.mismatchedKeys) < maxListedKeys {
		r.mismatchedKeys = append(r.mismatchedKeys, r.dst.Key(rel))
	}
	r.mu.Unlock()
	zerolog.Ctx(ctx).Error().Str("key", r.dst.Key(rel)).Str("reason", reason).Msg("verify: target differs from source")
}

// progress logs a progress line every interval until the returned function
// is called.
func (r *run) progress(ctx context.Context) func() {
	if r.o.ProgressInterval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(r.o.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				sec := time.Since(r.start).Seconds()
				copied, bytes := r.t.copied.Load(), r.t.bytes.Load()
				zerolog.Ctx(ctx).Info().Str("phase", r.phase.Load().(string)).
					Int64("listed", r.t.listed.Load()).Int64("target_listed", r.t.targetListed.Load()).
					Int64("copied", copied).Int64("skipped", r.t.skipped.Load()).Int64("bytes", bytes).
					Int64("errors", r.t.errors.Load()+r.v.errors.Load()).Int64("retries", r.retries.Load()).
					Float64("objects_per_s", round1(float64(copied)/sec)).Float64("bytes_per_s", round1(float64(bytes)/sec)).
					Msg("progress")
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// result builds the Result from the counters.
func (r *run) result() *Result {
	sec := time.Since(r.start).Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Source: r.src.String(), Target: r.dst.String(),
		SourceEndpoint: r.srcCfg.String(), TargetEndpoint: r.dstCfg.String(),
		ServerSide: r.serverSide, DryRun: r.o.DryRun, Workers: r.workers,
		Listed: r.t.listed.Load(), Excluded: r.t.excluded.Load(), Copied: r.t.copied.Load(),
		Skipped: r.t.skipped.Load(), Vanished: r.t.vanished.Load(),
		TargetListed: r.t.targetListed.Load(), TargetOnly: r.t.targetOnly.Load(), Deleted: r.deleted.Load(),
		Bytes: r.t.bytes.Load(), Errors: r.t.errors.Load() + r.v.errors.Load(),
		FailedKeys: append([]string{}, r.failedKeys...), Retries: r.retries.Load(),
		Heads:    r.t.heads.Load() + r.v.heads.Load(),
		Verified: r.verified, VerifyMismatches: r.v.mismatches.Load(),
		MismatchedKeys: append([]string(nil), r.mismatchedKeys...),
	}
	if sec > 0 {
		res.ObjectsPerS = round1(float64(res.Copied) / sec)
		res.BytesPerS = round1(float64(res.Bytes) / sec)
	}
	return res
}
