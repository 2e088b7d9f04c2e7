package mirror

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

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
	Heads      int64    `json:"heads"`   // HEADs (when the listing did not carry metadata)
	// AbortedUploads counts incomplete multipart uploads of keys this run
	// copied, left at the target by an earlier run that was stopped
	// mid-copy (killed, or its target unreachable when it tried to abort
	// them), and aborted now before the key was copied again.
	AbortedUploads int64 `json:"aborted_uploads"`
	// Verified is true when --verify compared both sides again and found
	// them the same; VerifyMismatches and MismatchedKeys say what differed.
	Verified         bool     `json:"verified"`
	VerifyMismatches int64    `json:"verify_mismatches"`
	MismatchedKeys   []string `json:"mismatched_keys,omitempty"`
	// ManifestKey is the backup set listing written (--manifest) or the set
	// read (--from-manifest); ManifestObjects counts its entries.
	ManifestKey     string  `json:"manifest_key,omitempty"`
	ManifestObjects int64   `json:"manifest_objects,omitempty"`
	ManifestBytes   int64   `json:"manifest_bytes,omitempty"`
	Versioned       bool    `json:"target_versioned,omitempty"`
	ObjectsPerS     float64 `json:"objects_per_s"` // objects copied per second of the run
	BytesPerS       float64 `json:"bytes_per_s"`   // bytes copied per second of the run
	// KeyRange is the run's part of the key space (--key-range, ".." for
	// all of it), as KeyRange.String writes it. Units counts the parts it
	// was listed in (in parallel, --list-workers), DiscoveryRequests the
	// listing requests that found them (or a plan's).
	KeyRange          string `json:"key_range"`
	Units             int    `json:"units"`
	DiscoveryRequests int    `json:"discovery_requests"`
	// Ranges (--plan) are the shards' key ranges, in key order, tiling the
	// key range, to be passed verbatim to --key-range; Estimates the
	// objects each is expected to hold.
	Ranges    []string `json:"ranges,omitempty"`
	Estimates []int64  `json:"estimates,omitempty"`
}

// tally counts one pass; atomics, because workers and the progress logger
// read and write it concurrently.
type tally struct {
	listed, excluded, skipped, copied, vanished, bytes  atomic.Int64
	targetListed, targetOnly, errors, heads, mismatches atomic.Int64
	newSince                                            atomic.Int64 // verify: source objects written after the run started
}

// recorder keeps the keys that failed or differed and the first error,
// for the result and the final message.
type recorder struct {
	mu             sync.Mutex
	failedKeys     []string
	mismatchedKeys []string
	firstErr       error
	consecutive    atomic.Int64 // objects failed since the last success
}

// failed records a key that failed for good; keys holds its full key(s).
func (c *recorder) failed(err error, keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failedKeys = appendBounded(c.failedKeys, keys...)
	if c.firstErr == nil {
		c.firstErr = err
	}
}

func (c *recorder) mismatch(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mismatchedKeys = appendBounded(c.mismatchedKeys, key)
}

func (c *recorder) first() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstErr
}

func (c *recorder) mismatched() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.mismatchedKeys...)
}

// appendBounded appends keys while the list holds fewer than maxListedKeys.
func appendBounded(list []string, keys ...string) []string {
	for _, k := range keys {
		if len(list) >= maxListedKeys {
			break
		}
		list = append(list, k)
	}
	return list
}

// fail records an object that failed for good, and stops the pass when
// the error dooms the others too.
func (r *run) fail(ctx context.Context, stop context.CancelCauseFunc, t *tally, key string, err error) {
	if ctx.Err() != nil {
		return // the pass is stopping: not this object's failure
	}
	t.errors.Add(1)
	r.rec.failed(err, key)
	zerolog.Ctx(ctx).Error().Str("key", key).Str("error", err.Error()).Msg("object failed")
	switch n := r.rec.consecutive.Add(1); {
	case fatal(err):
		stop(err)
	case n >= maxConsecutiveFailures:
		stop(fmt.Errorf("%d objects failed in a row, stopping; last: %w", n, err))
	}
}

// result builds the Result from the counters.
func (r *run) result() *Result {
	sec := time.Since(r.start).Seconds()
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	res := &Result{
		Source: r.src.String(), Target: r.dst.String(),
		SourceEndpoint: r.srcCfg.String(), TargetEndpoint: r.dstCfg.String(),
		ServerSide: r.serverSide, DryRun: r.o.DryRun, Workers: r.workers,
		Listed: r.t.listed.Load(), Excluded: r.t.excluded.Load(), Copied: r.t.copied.Load(),
		Skipped: r.t.skipped.Load(), Vanished: r.t.vanished.Load(),
		TargetListed: r.t.targetListed.Load(), TargetOnly: r.t.targetOnly.Load(), Deleted: r.deleted.Load(),
		Bytes: r.t.bytes.Load(), Errors: r.t.errors.Load() + r.v.errors.Load(),
		FailedKeys: append([]string{}, r.rec.failedKeys...), Retries: r.retries.Load(),
		Heads: r.t.heads.Load() + r.v.heads.Load(), AbortedUploads: r.copier.aborted.Load(),
		Verified: r.verified, VerifyMismatches: r.v.mismatches.Load(),
		MismatchedKeys: append([]string(nil), r.rec.mismatchedKeys...),
		KeyRange:       r.rng.String(), Units: len(r.units), DiscoveryRequests: r.discoveryRequests,
		Ranges: r.ranges, Estimates: r.estimates,
	}
	switch {
	case r.listing != nil && r.listingDone:
		res.ManifestKey, res.Versioned = r.o.Manifest, r.targetVersions
		res.ManifestObjects, res.ManifestBytes = r.listing.w.Count()
	case r.fromSet != nil:
		res.ManifestKey, res.ManifestObjects, res.ManifestBytes = r.fromSet.key, r.fromSet.manifest.Objects, r.fromSet.manifest.Bytes
	}
	if sec > 0 {
		res.ObjectsPerS = round1(float64(res.Copied) / sec)
		res.BytesPerS = round1(float64(res.Bytes) / sec)
	}
	return res
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
