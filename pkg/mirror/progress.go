package mirror

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

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
				r.logProgress(ctx)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func (r *run) logProgress(ctx context.Context) {
	sec := time.Since(r.start).Seconds()
	copied, bytes := r.t.copied.Load(), r.t.bytes.Load()
	zerolog.Ctx(ctx).Info().Str("phase", r.phase.Load().(string)).
		Int64("listed", r.t.listed.Load()).Int64("target_listed", r.t.targetListed.Load()).
		Int64("copied", copied).Int64("skipped", r.t.skipped.Load()).Int64("bytes", bytes).
		Int64("errors", r.t.errors.Load()+r.v.errors.Load()).Int64("retries", r.retries.Load()).
		Float64("objects_per_s", round1(float64(copied)/sec)).Float64("bytes_per_s", round1(float64(bytes)/sec)).
		Msg("progress")
}
