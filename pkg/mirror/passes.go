package mirror

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// copyPass copies what differs and keeps the target-only keys for
// --remove.
type copyPass struct{ r *run }

func (copyPass) leaveOut(*tally, *Entry) bool { return false }

func (c copyPass) queue(ctx context.Context) (*slotQueue, error) { return c.r.listing.queue(ctx) }

func (c copyPass) targetOnly(_ context.Context, t *tally, rel string) {
	r := c.r
	if !r.o.Remove {
		return
	}
	r.candMu.Lock()
	defer r.candMu.Unlock()
	if t.targetOnly.Load() <= int64(r.o.MaxDelete) {
		r.candidates = append(r.candidates, rel)
	} else {
		r.candidates = nil // over the limit: the run will refuse to delete, no key is needed
	}
}

func (c copyPass) differs(ctx context.Context, stop context.CancelCauseFunc, t *tally, j job) {
	r := c.r
	log := zerolog.Ctx(ctx)
	key := r.src.Key(j.src.Key)
	if r.o.DryRun {
		j.slot.drop()
		t.copied.Add(1)
		t.bytes.Add(j.src.Size)
		ev := log.Debug()
		if t.copied.Load() <= dryRunLogLimit {
			ev = log.Info()
		}
		ev.Str("key", key).Int64("size", j.src.Size).Str("reason", j.reason).Msg("dry run: would copy")
		return
	}
	var w written
	err := r.policy(func(attempt int, err error) {
		log.Debug().Str("key", key).Int("attempt", attempt).Str("error", err.Error()).Msg("copy failed; retrying")
	}).Do(ctx, func() (err error) {
		w, err = r.copier.copy(ctx, j.src)
		return err
	})
	switch {
	case err == nil:
		t.copied.Add(1)
		t.bytes.Add(w.Size)
		r.rec.consecutive.Store(0)
		j.slot.fill(backupset.Entry{Key: j.src.Key, Size: w.Size, SourceETag: w.SourceETag, ETag: w.ETag, VersionID: w.VersionID})
		log.Debug().Str("key", key).Int64("size", w.Size).Str("reason", j.reason).Msg("copied")
	case r.fromSet != nil && s3conf.KindOf(err) == s3conf.NoSuchKey:
		j.slot.drop()
		r.fail(ctx, stop, t, key, fmt.Errorf("%s is listed by backup set %s but missing at the source (version %q): the set is not restorable",
			key, r.fromSet.manifest.ID, j.src.VersionID))
	case r.fromSet != nil && s3conf.KindOf(err) == s3conf.PreconditionFailed:
		j.slot.drop()
		r.fail(ctx, stop, t, key, fmt.Errorf("%s no longer has the content backup set %s recorded (ETag %s) and the set records no version "+
			"(the off-site bucket keeps none): the set is not restorable", key, r.fromSet.manifest.ID, j.src.ETag))
	case s3conf.KindOf(err) == s3conf.NoSuchKey:
		j.slot.drop()
		t.vanished.Add(1)
		log.Warn().Str("key", key).Msg("source object deleted since the listing: not copied")
	default:
		j.slot.drop()
		r.fail(ctx, stop, t, key, err)
	}
}

// verifyPass compares only: whatever differs is a mismatch, and so is a
// target-only key left by --remove. Source objects written after the run
// started are left out: the copy pass could not have seen them.
type verifyPass struct{ r *run }

func (v verifyPass) leaveOut(t *tally, s *Entry) bool {
	if s.Modified.After(v.r.start) {
		t.newSince.Add(1)
		return true
	}
	return false
}

func (verifyPass) queue(context.Context) (*slotQueue, error) { return nil, nil }

func (v verifyPass) targetOnly(ctx context.Context, t *tally, rel string) {
	if v.r.o.Remove {
		v.mismatch(ctx, t, rel, "target-only object left by --remove")
	}
}

func (v verifyPass) differs(ctx context.Context, _ context.CancelCauseFunc, t *tally, j job) {
	v.mismatch(ctx, t, j.src.Key, j.reason)
}

func (v verifyPass) mismatch(ctx context.Context, t *tally, rel, reason string) {
	t.mismatches.Add(1)
	key := v.r.dst.Key(rel)
	v.r.rec.mismatch(key)
	zerolog.Ctx(ctx).Error().Str("key", key).Str("reason", reason).Msg("verify: target differs from source")
}
