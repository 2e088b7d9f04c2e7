// Package retry is the project's one retry policy: how many times a failed
// request is tried, how long to wait between tries (exponential backoff
// with jitter), which errors are worth another try, and a wait that ends
// with its context. pkg/mirror retries its listings, copies, HEADs and
// deletions with it, and pkg/s3conf gives its backoff to the AWS SDK's
// retryer, so that both SDKs and the tasks wait the same way.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Defaults of a Policy's zero fields.
const (
	DefaultBase   = 500 * time.Millisecond
	DefaultMax    = 8 * time.Second
	DefaultJitter = 0.25
)

// Policy says how a failed operation is tried again. The zero Policy tries
// once (no retry).
type Policy struct {
	// Retries is how many times a failed operation is tried again (0:
	// none), counted without progress (see Attempts.Reset).
	Retries int
	// Base is the wait before the first retry, doubled for each further
	// one up to Max (defaults DefaultBase, DefaultMax).
	Base, Max time.Duration
	// Jitter spreads each wait by ± this fraction (default DefaultJitter;
	// negative: none), so that many clients failing together do not retry
	// in step.
	Jitter float64
	// Retryable tells whether another try can help (nil: every error).
	// Configuration errors (a wrong region, refused credentials, a missing
	// bucket) must say no: trying again only delays the message.
	Retryable func(error) bool
	// OnRetry is called before each wait (attempt 1, 2, ...), to count or
	// log retries.
	OnRetry func(attempt int, err error)
}

// Delay returns the wait before retry attempt n (1, 2, ...): Base, 2×Base,
// 4×Base, ... up to Max, spread by Jitter.
func (p Policy) Delay(n int) time.Duration {
	base, maxd, jitter := p.Base, p.Max, p.Jitter
	if base <= 0 {
		base = DefaultBase
	}
	if maxd <= 0 {
		maxd = DefaultMax
	}
	if jitter == 0 {
		jitter = DefaultJitter
	}
	d := maxd
	if n >= 1 && n < 31 && base<<(n-1) > 0 && base<<(n-1) < maxd {
		d = base << (n - 1)
	}
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 - jitter + 2*jitter*rand.Float64()))
	}
	return d
}

// Do runs op until it succeeds, fails with an error Retryable refuses,
// fails Retries+1 times, or ctx ends. It returns op's last error (nil on
// success), marked as having had its retries (see GaveUp), or the
// context's cause when ctx ended before op could run.
func (p Policy) Do(ctx context.Context, op func() error) error {
	a := p.Start()
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		err := op()
		if err == nil {
			return nil
		}
		if !a.Wait(ctx, err) {
			if GaveUp(err) {
				return err
			}
			return exhausted{err}
		}
	}
}

// exhausted marks an error returned by Do: it had its retries, and an
// outer loop (a whole object around its parts) must not multiply them.
type exhausted struct{ error }

func (e exhausted) Unwrap() error { return e.error }

// GaveUp reports whether err was returned by Do, its retries spent (or
// not worth any): no Policy retries it again.
func GaveUp(err error) bool { return errors.As(err, new(exhausted)) }

// Attempts counts the failures of one operation under a Policy, for loops
// that Do does not fit (a listing that resumes after the last key it got).
type Attempts struct {
	p Policy
	n int
}

// Start begins counting the failures of one operation.
func (p Policy) Start() *Attempts { return &Attempts{p: p} }

// Wait records a failure: it returns false at once when err is not worth
// another try, the retries are used up or ctx has ended; otherwise it
// waits the backoff and returns true unless ctx ended meanwhile.
func (a *Attempts) Wait(ctx context.Context, err error) bool {
	if ctx.Err() != nil || a.n >= a.p.Retries || GaveUp(err) || (a.p.Retryable != nil && !a.p.Retryable(err)) {
		return false
	}
	a.n++
	if a.p.OnRetry != nil {
		a.p.OnRetry(a.n, err)
	}
	return Sleep(ctx, a.p.Delay(a.n)) == nil
}

// Failed returns how many retries were used so far.
func (a *Attempts) Failed() int { return a.n }

// Reset starts the count again after progress (a listing that got new
// keys before it failed again is not stuck).
func (a *Attempts) Reset() { a.n = 0 }

// Sleep waits d or until ctx ends, and then returns the context's cause.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
